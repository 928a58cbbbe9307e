package main

import (
	"bytes"
	"path"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

var (
	makeVarRE = regexp.MustCompile(`(?m)^([A-Z_]+)\s*[:?]?=\s*(.*)$`)
	varRefRE  = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
)

// checkBuildFlags proves that the images ship what CI tests: every
// `go build` in a Dockerfile uses the Makefile's environment, flags and
// package for the same binary, with variables compared by name.
func checkBuildFlags(cfg *config, f *findings) error {
	mk, err := cfg.read("Makefile")
	if err != nil {
		f.add("Makefile", "%v", err)
		return nil
	}
	vars := map[string]string{}
	for _, m := range makeVarRE.FindAllSubmatch(mk, -1) {
		vars[string(m[1])] = strings.TrimSpace(string(m[2]))
	}
	if vars["GO_BUILD_FLAGS"] == "" {
		f.add("Makefile", "GO_BUILD_FLAGS is not defined")
		return nil
	}
	// Expand the Makefile's own constants; VERSION and COMMIT stay names.
	expand := func(s string) string {
		for range 3 {
			s = varRefRE.ReplaceAllStringFunc(s, func(ref string) string {
				name := varName(ref)
				switch name {
				case "MODULE", "GO_BUILD_FLAGS":
					return vars[name]
				}
				return ref
			})
		}
		return normalizeVars(s)
	}

	want := map[string]goBuild{} // by output binary name
	for _, line := range bytes.Split(mk, []byte("\n")) {
		if !bytes.Contains(line, []byte(" build ")) || !bytes.Contains(line, []byte("$(GO)")) {
			continue
		}
		b, err := parseGoBuild(expand(string(line)))
		if err != nil {
			continue
		}
		want[path.Base(b.output)] = b
	}
	if len(want) == 0 {
		f.add("Makefile", "no `$(GO) build ... -o OUTPUT ./PACKAGE` line found")
		return nil
	}

	for _, spec := range imageSpecs {
		w, ok := want[spec.binary]
		if !ok {
			f.add("Makefile", "does not build %s", spec.binary)
			continue
		}
		dt, err := cfg.read(spec.file)
		if err != nil {
			f.add(spec.file, "%v", err)
			continue
		}
		stages, ok := parseStages(f, spec.file, dt)
		if !ok {
			continue
		}
		found := false
		for _, st := range stages {
			for _, c := range st.Commands {
				r, ok := c.(*instructions.RunCommand)
				if !ok || !strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
					continue
				}
				got, err := parseGoBuild(normalizeVars(strings.Join(r.CmdLine, " ")))
				if err != nil {
					f.add(spec.file, "%v", err)
					continue
				}
				if path.Base(got.output) != spec.binary {
					continue
				}
				found = true
				if got.env != w.env {
					f.add(spec.file, "go build environment %q differs from the Makefile's %q", got.env, w.env)
				}
				if got.flags != w.flags {
					f.add(spec.file, "go build flags differ from the Makefile's GO_BUILD_FLAGS:\n    Dockerfile: %s\n    Makefile:   %s", got.flags, w.flags)
				}
				if got.pkg != w.pkg {
					f.add(spec.file, "builds %s from %s, the Makefile from %s", spec.binary, got.pkg, w.pkg)
				}
			}
		}
		if !found {
			f.add(spec.file, "no go build writes %s", spec.binary)
		}
	}
	return nil
}

func varName(ref string) string {
	m := varRefRE.FindStringSubmatch(ref)
	for _, g := range m[1:] {
		if g != "" {
			return g
		}
	}
	return ""
}

// normalizeVars writes every $(X), ${X} and $X as ${X}.
func normalizeVars(s string) string {
	return varRefRE.ReplaceAllStringFunc(s, func(ref string) string { return "${" + varName(ref) + "}" })
}
