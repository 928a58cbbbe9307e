package command_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/internal/testlog"
	"github.com/medinsights/auth/issuer/internal/command"
	"github.com/medinsights/auth/issuer/internal/signer"
	"github.com/medinsights/auth/issuer/internal/store"
)

// serverEnv is the environment of an issuer on a migrated database of its
// own, with a fresh key and a free loopback port.
func serverEnv(t *testing.T) map[string]string {
	t.Helper()
	priv, _, err := signer.Generate(filepath.Join(t.TempDir(), "keys"), false)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"DATABASE_URL": testdb.New(t), "JWT_PRIVATE_KEY_PATH": priv, "LISTEN_ADDR": addr, "SHUTDOWN_TIMEOUT": "10"}
	if code, out, stderr := run(t, env, "migrate", "up"); code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("migrate up: exit %d %s %s", code, out, stderr)
	}
	if code, out, _ := run(t, env, "migrate", "status"); code != 0 || strings.Contains(out, "pending") {
		t.Fatalf("migrate status: exit %d\n%s", code, out)
	}
	return env
}

// SIGTERM (here: the context ending, which is what the signal does) lets a
// request that is in flight finish before the server stops.
func TestServeDrainsInFlightRequestsOnShutdown(t *testing.T) {
	t.Parallel()
	env := serverEnv(t)
	base := "http://" + env["LISTEN_ADDR"]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan int, 1)
	active := make(chan struct{}, 16)
	shuttingDown := make(chan struct{})
	stdout := &lineWatcher{prefix: `"msg":"shutting down"`, seen: shuttingDown}
	go func() {
		exited <- command.Main(ctx, []string{"serve"}, command.Env{Stdout: stdout, Stderr: io.Discard, Getenv: func(k string) string { return env[k] },
			ConnStateFunc: func(_ net.Conn, s http.ConnState) {
				if s == http.StateActive {
					select {
					case active <- struct{}{}:
					default:
					}
				}
			}})
	}()
	waitReady(t, base)
	for len(active) > 0 { // the readiness checks' connections
		<-active
	}

	// A registration whose body is still arriving when shutdown begins.
	body, w := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/auth/register/", body)
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	fmt.Fprint(w, `{"username":"alice","email":"alice@example.org",`)
	<-active // the server is reading the request: the connection is active

	cancel()       // what SIGTERM does
	<-shuttingDown // the server has begun its shutdown
	fmt.Fprint(w, `"password":"correct horse battery staple"}`)
	w.Close()

	if status := <-answered; status != http.StatusCreated {
		t.Fatalf("in-flight request got %d, want 201", status)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get(base + "/api/auth/health/"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/api/auth/ready/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server not ready after 15 s")
}

func TestUsersGrantAndRevokeRole(t *testing.T) {
	t.Parallel()
	env := serverEnv(t)
	ctx := context.Background()
	st, err := store.New(ctx, store.Config{URL: env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	u, err := st.UserInsert(ctx, store.NewUser{ID: uuid.New(), Username: "alice", Email: "alice@example.org", PasswordHash: "x", Roles: []string{"patient"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	sid := uuid.New()
	if _, err := st.SessionCreate(ctx, store.NewSession{ID: sid, UserID: u.ID, PasswordHash: u.PasswordHash, RefreshHash: make([]byte, 32), Now: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := run(t, env, "users", "grant-role", "ALICE", "clinician")
	if code != 0 || !strings.Contains(out, "roles clinician,patient") {
		t.Fatalf("grant-role: exit %d %q %q", code, out, stderr)
	}
	if s, _ := st.SessionGetByID(ctx, sid); s.RevokedAt != nil {
		t.Fatal("grant-role ended a session")
	}
	code, out, stderr = run(t, env, "users", "revoke-role", "alice", "clinician")
	if code != 0 || !strings.Contains(out, "roles patient; 1 session(s) ended") {
		t.Fatalf("revoke-role: exit %d %q %q", code, out, stderr)
	}
	if s, _ := st.SessionGetByID(ctx, sid); s.RevokedAt == nil || s.RevokeReason != "role_change" {
		t.Fatalf("revoke-role left the session %+v", s)
	}
	if code, _, stderr := run(t, env, "users", "grant-role", "nobody", "clinician"); code != 1 || !strings.Contains(stderr, "user not found") {
		t.Fatalf("unknown user: exit %d %q", code, stderr)
	}
}

// Without SMTP_URL, verification tokens go to the log: serve says so at
// start-up, loudly.
func TestServeWarnsWhenVerificationTokensGoToTheLog(t *testing.T) {
	t.Parallel()
	env := serverEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testlog.Buffer
	exited := make(chan int, 1)
	go func() {
		exited <- command.Main(ctx, []string{"serve"}, command.Env{Stdout: &logs, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }})
	}()
	waitReady(t, "http://"+env["LISTEN_ADDR"])
	cancel()
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(logs.String(), "set SMTP_URL in production") {
		t.Fatalf("no start-up warning about verification tokens in the log:\n%s", logs.String())
	}
}

// lineWatcher is a log writer that closes seen at the first line holding
// prefix.
type lineWatcher struct {
	prefix string
	seen   chan struct{}
	mu     sync.Mutex
	done   bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done && strings.Contains(string(p), w.prefix) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}
