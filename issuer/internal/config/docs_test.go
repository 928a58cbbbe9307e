package config_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/medinsights/auth/issuer/internal/config"
)

// TestVariablesAreDocumented fails when a variable the issuer reads is
// missing from docs/configuration.md's tables or from .env.example, or when
// .env.example sets a variable the issuer does not read.
func TestVariablesAreDocumented(t *testing.T) {
	t.Parallel()
	names := config.Variables()
	if !slices.Contains(names, "DATABASE_URL") || !slices.Contains(names, "SMTP_URL") || slices.Contains(names, "SECRET_KEY") {
		t.Fatalf("Variables() = %v: want the loader's names, DATABASE_URL and SMTP_URL among them, the Django service's left out", names)
	}

	doc := read(t, "../../../docs/configuration.md")
	for _, name := range names {
		// A table row that starts with the variable: | `NAME` | default | meaning |
		if !strings.Contains(doc, "\n| `"+name+"` |") {
			t.Errorf("docs/configuration.md has no table row for %s", name)
		}
	}

	// .env.example sets each variable, or shows it commented out: NAME= or #NAME=.
	var example []string
	for _, m := range regexp.MustCompile(`(?m)^#?([A-Z][A-Z0-9_]*)=`).FindAllStringSubmatch(read(t, "../../../.env.example"), -1) {
		example = append(example, m[1])
	}
	for _, name := range names {
		if !slices.Contains(example, name) {
			t.Errorf(".env.example has no line %s= (or #%s= when optional)", name, name)
		}
	}
	for _, name := range example {
		if !slices.Contains(names, name) {
			t.Errorf(".env.example sets %s, which the issuer does not read", name)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
