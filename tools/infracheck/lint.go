package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// yamlFiles are the YAML files yamllint checks. Helm templates are not YAML
// until rendered; helm lint covers them.
func yamlFiles(cfg *config) []string {
	var files []string
	for _, pattern := range []string{
		"docker-compose.yml", "kong/*.yml", "kong/*.yaml",
		"k8s/*/*.yaml", "k8s/*/*/*.yaml",
		"charts/*.yaml", "charts/*/Chart.yaml", "charts/*/values.yaml", "charts/*/ci/*.yaml",
		"tools/infracheck/crds/*.yaml", "tools/infracheck/yamllint.yaml",
	} {
		m, _ := filepath.Glob(cfg.path(pattern))
		files = append(files, m...)
	}
	slices.Sort(files)
	return slices.Compact(files)
}

func checkYAMLLint(cfg *config, f *findings) error {
	files := yamlFiles(cfg)
	if len(files) == 0 {
		f.add(".", "no YAML files found")
		return nil
	}
	args := append([]string{"-s", "-f", "parsable", "-c", cfg.path("tools/infracheck/yamllint.yaml")}, files...)
	out, ok, err := runTool(cfg.root, cfg.yamllint, args...)
	if err != nil {
		return err
	}
	if !ok || strings.TrimSpace(out) != "" {
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line != "" {
				f.add("yamllint", "%s", strings.TrimPrefix(line, cfg.root+string(os.PathSeparator)))
			}
		}
		if len(f.problems) == 0 {
			f.add("yamllint", "failed without output")
		}
	}
	return nil
}

// shellScripts: every shell script the deployment and CI run.
func shellScripts(cfg *config) []string {
	var files []string
	for _, pattern := range []string{"scripts/*.sh", "kong/*.sh", ".ci/run"} {
		m, _ := filepath.Glob(cfg.path(pattern))
		files = append(files, m...)
	}
	slices.Sort(files)
	return files
}

// checkShellcheck runs shellcheck at warning severity: errors and warnings
// fail, style notes do not.
func checkShellcheck(cfg *config, f *findings) error {
	files := shellScripts(cfg)
	if len(files) == 0 {
		return nil
	}
	args := append([]string{"-S", "warning", "-f", "gcc"}, files...)
	out, ok, err := runTool(cfg.root, cfg.shellcheck, args...)
	if err != nil {
		return err
	}
	if !ok {
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line != "" {
				f.add("shellcheck", "%s", strings.TrimPrefix(line, cfg.root+string(os.PathSeparator)))
			}
		}
		if len(f.problems) == 0 {
			f.add("shellcheck", "failed without output")
		}
	}
	return nil
}
