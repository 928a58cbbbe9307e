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
	env := map[string]string{"DATABASE_URL": testdb.New(t), "JWT_PRIVATE_KEY_PATH": priv, "LISTEN_ADDR": addr, "SHUTDOWN_TIMEOUT": "10", "SHUTDOWN_DRAIN_DELAY": "0"}
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
		e := command.Env{Stdout: stdout, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }}
		command.SetConnState(&e, func(_ net.Conn, s http.ConnState) {
			if s == http.StateActive {
				select {
				case active <- struct{}{}:
				default:
				}
			}
		})
		exited <- command.Main(ctx, []string{"serve"}, e)
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
	waitStopped(t, exited, base)
}

// waitStopped waits for serve to exit 0 and checks nothing answers on base
// any more.
func waitStopped(t *testing.T, exited <-chan int, base string) {
	t.Helper()
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
	// A role the user does not hold: exit 1, said so, no session ended.
	sid2, refresh2 := uuid.New(), make([]byte, 32)
	refresh2[0] = 1
	if _, err := st.SessionCreate(ctx, store.NewSession{ID: sid2, UserID: u.ID, PasswordHash: u.PasswordHash, RefreshHash: refresh2, Now: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = run(t, env, "users", "revoke-role", "alice", "admin")
	if code != 1 || !strings.Contains(stderr, `alice does not hold the role "admin"`) || !strings.Contains(stderr, "no session ended") || out != "" {
		t.Fatalf("revoke-role of a role not held: exit %d %q %q", code, out, stderr)
	}
	if s, _ := st.SessionGetByID(ctx, sid2); s.RevokedAt != nil {
		t.Fatalf("revoke-role of a role not held ended the session %+v", s)
	}
	if code, _, stderr := run(t, env, "users", "grant-role", "nobody", "clinician"); code != 1 || !strings.Contains(stderr, "user not found") {
		t.Fatalf("unknown user: exit %d %q", code, stderr)
	}
}

// Start-up warnings: without SMTP_URL, verification tokens go to the log,
// and serve says so loudly; each variable of the Django service's .env gets
// one warning naming what replaces it, and never its value.
func TestServeStartUpWarnings(t *testing.T) {
	t.Parallel()
	out := startupLogs(t, map[string]string{"SECRET_KEY": "django-insecure-s3cr3t", "DEBUG": "True", "ALLOWED_HOSTS": "*"})
	if !strings.Contains(out, "set SMTP_URL in production") {
		t.Fatalf("no start-up warning about verification tokens in the log:\n%s", out)
	}
	for _, name := range []string{"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"} {
		if n := strings.Count(out, `"variable":"`+name+`"`); n != 1 {
			t.Errorf("%s: %d warnings, want 1:\n%s", name, n, out)
		}
	}
	if strings.Contains(out, "s3cr3t") {
		t.Fatalf("the SECRET_KEY value is in the log:\n%s", out)
	}
}

// startupLogs starts serve with the environment of serverEnv and extra,
// stops it once ready, and returns what it logged.
func startupLogs(t *testing.T, extra map[string]string) string {
	t.Helper()
	env := serverEnv(t)
	for k, v := range extra {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testlog.Buffer
	exited := make(chan int, 1)
	go func() {
		exited <- command.Main(ctx, []string{"serve"}, command.Env{Stdout: &logs, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }})
	}()
	waitReady(t, "http://"+env["LISTEN_ADDR"])
	cancel()
	waitStopped(t, exited, "http://"+env["LISTEN_ADDR"])
	return logs.String()
}

// Serve warns loudly at start-up about every weaker setting: tokens in the
// log instead of mail (SMTP_URL unset), throttling off, and client
// addresses that cannot be told apart behind a proxy (TRUSTED_PROXIES
// unset).
func TestServeWarnsAboutWeakerSettings(t *testing.T) {
	t.Parallel()
	const (
		smtp    = "VERIFICATION AND PASSWORD RESET TOKENS ARE WRITTEN TO THE LOG"
		off     = "THROTTLE_ENABLED=false: LOGIN, MAIL AND REGISTRATION THROTTLING IS OFF"
		proxies = "TRUSTED_PROXIES is unset"
	)
	for _, c := range []struct {
		name        string
		env         map[string]string
		warn, quiet []string
	}{
		{"defaults", nil, []string{smtp, proxies}, []string{off}},
		{"throttle off", map[string]string{"THROTTLE_ENABLED": "false"}, []string{smtp, off}, []string{proxies}},
		{"behind a trusted proxy", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8"}, []string{smtp}, []string{off, proxies}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			logs := startupLogs(t, c.env)
			for _, w := range c.warn {
				if !strings.Contains(logs, w) {
					t.Errorf("no start-up warning %q in:\n%s", w, logs)
				}
			}
			for _, q := range c.quiet {
				if strings.Contains(logs, q) {
					t.Errorf("unexpected start-up warning %q", q)
				}
			}
		})
	}
}

// A rolling update loses no request: after SIGTERM the server fails
// readiness for SHUTDOWN_DRAIN_DELAY while it still answers every request,
// new connections included, so endpoints drop it before it stops accepting.
func TestServeAnswersEveryRequestSentDuringShutdown(t *testing.T) {
	t.Parallel()
	env := serverEnv(t)
	// A drain far longer than the test, ended by the test once every
	// request is answered: no request depends on the machine's speed.
	env["SHUTDOWN_DRAIN_DELAY"] = "120"
	base := "http://" + env["LISTEN_ADDR"]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	endDrain := make(chan struct{})
	cenv := command.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }}
	command.SetDrainEnd(&cenv, endDrain)
	exited := make(chan int, 1)
	go func() { exited <- command.Main(ctx, []string{"serve"}, cenv) }()
	waitReady(t, base)
	// A client with a kept-alive connection, as Kong holds to its upstreams.
	kept := &http.Client{}
	if resp, err := kept.Get(base + "/api/auth/health/"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	cancel() // what SIGTERM does
	// Readiness failing is the signal the drain has begun.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/api/auth/ready/")
		if err != nil {
			t.Fatalf("readiness during the drain: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readiness still passes 10 s after SIGTERM")
		}
	}

	// Requests sent now, each on a new connection, as a load balancer that
	// has not yet seen the readiness change would send them.
	type answer struct {
		path   string
		status int
		err    error
	}
	requests := []struct{ method, path, body string }{
		{"GET", "/api/auth/health/", ""},
		{"GET", "/.well-known/jwks.json", ""},
		{"POST", "/api/auth/register/", `{"username":"bob","email":"bob@example.org","password":"correct horse battery staple"}`},
		{"POST", "/api/auth/login/", `{"username":"nobody","password":"correct horse battery staple"}`},
	}
	want := map[string]int{"/api/auth/health/": 200, "/.well-known/jwks.json": 200, "/api/auth/register/": 201, "/api/auth/login/": 401}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	answers := make(chan answer, len(requests))
	for _, r := range requests {
		go func() {
			req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := fresh.Do(req)
			if err != nil {
				answers <- answer{path: r.path, err: err}
				return
			}
			resp.Body.Close()
			answers <- answer{path: r.path, status: resp.StatusCode}
		}()
	}
	for range requests {
		a := <-answers
		if a.err != nil || a.status != want[a.path] {
			t.Errorf("%s during the drain: status %d, error %v; want %d", a.path, a.status, a.err, want[a.path])
		}
	}
	// The kept-alive connection gets its answer and is told to close, so
	// the client's next request opens a connection elsewhere.
	resp, err := kept.Get(base + "/api/auth/health/")
	if err != nil {
		t.Fatalf("kept-alive connection during the drain: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("kept-alive connection during the drain: status %d, Connection: close %v; want 200 and true", resp.StatusCode, resp.Close)
	}
	select {
	case code := <-exited:
		t.Fatalf("serve exited (%d) before the drain was over", code)
	default:
	}

	close(endDrain)
	waitStopped(t, exited, base)
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
