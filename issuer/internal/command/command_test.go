package command_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/medinsights/auth/issuer/internal/command"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := command.Main(context.Background(), args, command.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return code, out.String(), errb.String()
}

func TestUnknownCommandPrintsUsageAndExits2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"frobnicate"}, {"frobnicate", "now"}} {
		code, _, stderr := run(t, nil, args...)
		if code != 2 || !strings.Contains(stderr, "usage:\n  issuer serve ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// A known command with missing or extra arguments prints its own usage,
// not "unknown command"; a known first word prints the commands under it.
func TestCommandWithBadArgumentsPrintsItsUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string // lines of the usage printed
	}{
		{[]string{"users", "revoke-role", "alice"}, []string{"issuer users revoke-role USERNAME ROLE"}},
		{[]string{"users", "grant-role", "alice", "admin", "extra"}, []string{"issuer users grant-role USERNAME ROLE"}},
		{[]string{"keys", "generate"}, []string{"issuer keys generate --out DIR [--force]"}},
		{[]string{"version", "now"}, []string{"issuer version"}},
		{[]string{"users"}, []string{"issuer users grant-role USERNAME ROLE", "issuer users revoke-role USERNAME ROLE"}},
		{[]string{"migrate"}, []string{"issuer migrate up", "issuer migrate status"}},
		{[]string{"migrate", "sideways"}, []string{"issuer migrate up", "issuer migrate status"}},
	}
	for _, tt := range tests {
		code, _, stderr := run(t, nil, tt.args...)
		if code != 2 || strings.Contains(stderr, "unknown command") || strings.Contains(stderr, "issuer serve") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and only this command's usage", tt.args, code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, "  "+w+" ") {
				t.Errorf("%v: usage lacks %q:\n%s", tt.args, w, stderr)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	code, out, _ := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "issuer ") {
		t.Fatalf("exit %d, %q", code, out)
	}
}

func TestKeysGenerate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	if code, _, stderr := run(t, nil, "keys", "generate", "--out", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	fi, err := os.Stat(filepath.Join(dir, "private.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private.pem: %v %v", fi.Mode(), err)
	}
	if code, _, _ := run(t, nil, "keys", "generate", "--out", dir); code != 1 {
		t.Fatalf("overwrite without --force: exit %d, want 1", code)
	}
	if code, _, _ := run(t, nil, "keys", "generate", "--out", dir, "--force"); code != 0 {
		t.Fatalf("--force: exit %d", code)
	}
}

func TestBadConfigurationNamesTheVariable(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, map[string]string{"JWT_ALGORITHM": "HS256"}, "serve")
	if code != 1 || !strings.Contains(stderr, "JWT_ALGORITHM") || !strings.Contains(stderr, "DATABASE_URL") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestUsersRoleRefusesAnUnsafeRole(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x"}, "users", "grant-role", "alice", "Admin,Root")
	if code != 2 || !strings.Contains(stderr, "not a role") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var ready atomic.Bool
	ready.Store(true)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/auth/ready/" || !ready.Load() {
			w.WriteHeader(503)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if code, _, stderr := run(t, map[string]string{"LISTEN_ADDR": ":" + port}, "healthcheck"); code != 0 {
		t.Fatalf("ready server: exit %d %s", code, stderr)
	}
	ready.Store(false)
	if code, _, _ := run(t, map[string]string{"LISTEN_ADDR": ":" + port}, "healthcheck"); code != 1 {
		t.Fatalf("unready server: exit %d, want 1", code)
	}
}
