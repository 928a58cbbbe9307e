// Command infracheck validates MedInsights Auth's deployment artifacts
// offline, with the real tools and libraries that read them: BuildKit's
// Dockerfile parser and lint rules, compose-go, Kong's declarative format
// against the schema the built plugin prints, kustomize, Helm,
// kubectl-validate with Kubernetes' own schemas, a strict decode into
// k8s.io/api types, yamllint and shellcheck. It lives in its own Go module
// so none of those dependencies reach the product's go.mod.
//
// Usage (the Makefile's infra-check target passes every path):
//
//	go -C tools/infracheck run . -root ../.. -plugin ../../bin/medinsights-auth \
//	    -helm PATH -kubectl-validate PATH
//
// It prints one line per problem and exits 1 when there is any.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	var cfg config
	var only string
	flag.StringVar(&cfg.root, "root", ".", "repository root")
	flag.StringVar(&cfg.pluginBin, "plugin", "", "built medinsights-auth binary; its -dump schema checks kong/kong.yml")
	flag.StringVar(&cfg.pluginDump, "plugin-dump", "", "a saved -dump output to use instead of -plugin (tests)")
	flag.StringVar(&cfg.helm, "helm", "helm", "helm v3 binary")
	flag.StringVar(&cfg.kubectlValidate, "kubectl-validate", "kubectl-validate", "sigs.k8s.io/kubectl-validate binary")
	flag.StringVar(&cfg.yamllint, "yamllint", "yamllint", "yamllint binary")
	flag.StringVar(&cfg.shellcheck, "shellcheck", "shellcheck", "shellcheck binary")
	flag.StringVar(&only, "only", "", "comma-separated checks to run (default: all): "+strings.Join(checkNames(), ","))
	flag.Parse()

	root, err := filepath.Abs(cfg.root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "infracheck:", err)
		os.Exit(2)
	}
	cfg.root = root
	// Tools run in the root: make relative paths to binaries absolute.
	for _, p := range []*string{&cfg.pluginBin, &cfg.helm, &cfg.kubectlValidate, &cfg.yamllint, &cfg.shellcheck} {
		if strings.Contains(*p, string(filepath.Separator)) && !filepath.IsAbs(*p) {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	if cfg.pluginBin == "" && cfg.pluginDump == "" {
		fmt.Fprintln(os.Stderr, "infracheck: -plugin (the built medinsights-auth) is required: kong/kong.yml is checked against its -dump schema")
		os.Exit(2)
	}

	var names []string
	if only != "" {
		names = strings.Split(only, ",")
	}
	problems, err := run(&cfg, names)
	if err != nil {
		fmt.Fprintln(os.Stderr, "infracheck:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "infracheck: %d problem(s)\n", len(problems))
		os.Exit(1)
	}
	fmt.Println("infracheck: all deployment artifacts valid")
}
