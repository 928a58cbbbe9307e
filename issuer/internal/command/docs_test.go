package command_test

import (
	"os"
	"strings"
	"testing"

	"github.com/medinsights/auth/issuer/internal/command"
)

// TestCommandsAreDocumented fails when a command of the command line has no
// row in docs/operations.md's command table.
func TestCommandsAreDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	names := command.CommandNames()
	if len(names) == 0 {
		t.Fatal("no commands")
	}
	for _, name := range names {
		if !strings.Contains(doc, "\n| `issuer "+name+"`") && !strings.Contains(doc, "\n| `issuer "+name+" ") {
			t.Errorf("docs/operations.md has no row | `issuer %s ...` |", name)
		}
	}
}
