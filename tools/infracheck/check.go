package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// config names the repository and the external tools a run uses.
type config struct {
	root            string
	pluginBin       string
	pluginDump      string
	helm            string
	kubectlValidate string
	yamllint        string
	shellcheck      string
}

// problem is one finding: which check, in which file, what is wrong.
type problem struct {
	check string
	file  string
	msg   string
}

func (p problem) String() string {
	return fmt.Sprintf("%s: %s: %s", p.check, p.file, p.msg)
}

// findings collects the problems of one check.
type findings struct {
	check    string
	problems []problem
}

func (f *findings) add(file, format string, args ...any) {
	f.problems = append(f.problems, problem{check: f.check, file: file, msg: fmt.Sprintf(format, args...)})
}

// A check inspects one kind of artifact under cfg.root. An error means the
// check itself could not run (a missing tool), not that an artifact is bad.
type check struct {
	name string
	run  func(cfg *config, f *findings) error
}

var checks = []check{
	{"dockerfile", checkDockerfiles},
	{"buildflags", checkBuildFlags},
	{"compose", checkCompose},
	{"kong", checkKong},
	{"kustomize", checkKustomize},
	{"helm", checkHelm},
	{"argocd", checkArgoCD},
	{"monitoring", checkMonitoring},
	{"yamllint", checkYAMLLint},
	{"shellcheck", checkShellcheck},
}

func checkNames() []string {
	var names []string
	for _, c := range checks {
		names = append(names, c.name)
	}
	return names
}

// run runs the named checks (all when names is empty) and returns every
// problem found, in check order.
func run(cfg *config, names []string) ([]problem, error) {
	for _, n := range names {
		if !slices.Contains(checkNames(), n) {
			return nil, fmt.Errorf("unknown check %q (known: %s)", n, strings.Join(checkNames(), ", "))
		}
	}
	var all []problem
	for _, c := range checks {
		if len(names) > 0 && !slices.Contains(names, c.name) {
			continue
		}
		f := &findings{check: c.name}
		if err := c.run(cfg, f); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		all = append(all, f.problems...)
	}
	return all, nil
}

// toolTimeout bounds every external tool run.
const toolTimeout = 2 * time.Minute

// runTool runs an external tool in dir and returns its combined output and
// whether it exited 0. A tool that cannot be started is an error.
func runTool(dir, name string, args ...string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err == nil {
		return out.String(), true, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return out.String(), false, nil
	}
	return out.String(), false, fmt.Errorf("run %s: %w", name, err)
}

// rel returns path relative to the repository root, for messages.
func (cfg *config) rel(path string) string {
	if r, err := filepath.Rel(cfg.root, path); err == nil {
		return r
	}
	return path
}

func (cfg *config) path(rel string) string { return filepath.Join(cfg.root, rel) }

func (cfg *config) read(rel string) ([]byte, error) {
	return os.ReadFile(cfg.path(rel))
}

// firstLines shortens tool output for a problem message.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("... (%d more lines)", len(lines)-n))
	}
	return strings.Join(lines, "\n    ")
}
