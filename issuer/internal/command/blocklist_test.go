package command_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/internal/testlog"
	"github.com/medinsights/auth/issuer/internal/blocklist"
	"github.com/medinsights/auth/issuer/internal/command"
)

// compile-blocklist turns a list into a file serve can open; a missing
// input fails and leaves no output behind.
func TestPasswordsCompileBlocklist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "pwned.txt"), filepath.Join(dir, "blocklist.bin")
	// 5BAA61E4...: SHA-1 of "password", as in the Pwned Passwords download.
	if err := os.WriteFile(in, []byte("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\nan exposed passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, nil, "passwords", "compile-blocklist", in, out)
	if code != 0 || !strings.Contains(stdout, "2 entries") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	l, err := blocklist.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.Contains("password") || !l.Contains("an exposed passphrase") || l.Contains("another passphrase") {
		t.Fatal("the compiled list does not hold what it was given")
	}

	missing := filepath.Join(dir, "none.bin")
	if code, _, _ := run(t, nil, "passwords", "compile-blocklist", filepath.Join(dir, "absent.txt"), missing); code != 1 {
		t.Fatalf("missing input: exit %d, want 1", code)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 { // pwned.txt and blocklist.bin
		t.Fatalf("files left behind: %v", entries)
	}
}

// A configured blocklist that is missing or corrupt stops serve before it
// listens: it fails closed.
func TestServeRefusesToStartWithoutItsBlocklist(t *testing.T) {
	t.Parallel()
	corrupt := filepath.Join(t.TempDir(), "corrupt.bin")
	if err := os.WriteFile(corrupt, []byte("MIBLKLST not really a list at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"missing": filepath.Join(t.TempDir(), "absent.bin"), "corrupt": corrupt} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := serverEnv(t)
			env["PASSWORD_BLOCKLIST_FILE"] = path
			var logs testlog.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stderr strings.Builder
			code := command.Main(ctx, []string{"serve"}, command.Env{Stdout: &logs, Stderr: &stderr, Getenv: func(k string) string { return env[k] }})
			if code != 1 || !strings.Contains(stderr.String(), "PASSWORD_BLOCKLIST_FILE") {
				t.Fatalf("exit %d, stderr %q; want 1 naming PASSWORD_BLOCKLIST_FILE", code, stderr.String())
			}
			if strings.Contains(logs.String(), `"msg":"serving"`) {
				t.Fatal("serve listened without its blocklist")
			}
		})
	}
}
