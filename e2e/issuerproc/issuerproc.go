// Package issuerproc runs the real issuer binary for end-to-end tests and
// benchmarks: a migrated database of the test's own, a signing key, one or
// more `issuer serve` processes on 127.0.0.1 sharing them, and a small
// client of the issuer's HTTP API.
package issuerproc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/internal/testlog"
	"github.com/medinsights/auth/kong-plugin/kongtest"
)

// Fixed claims of every issuer started here, so the processes of one
// database sign interchangeable tokens.
const (
	IssuerClaim = "http://issuer.e2e"
	Audience    = "medinsights"
	// FeedPath is the revocation feed's path.
	FeedPath = "/api/auth/revocations/"
)

// Database is a migrated database and a signing key shared by the issuer
// processes of one test.
type Database struct {
	URL       string
	FeedToken string // REVOCATION_FEED_TOKEN of every process
	keyPath   string
	bin       string
}

// NewDatabase creates and migrates a database of t's own and a signing key.
func NewDatabase(t testing.TB) *Database {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	d := &Database{
		URL:       testdb.New(t),
		FeedToken: base64.RawURLEncoding.EncodeToString(secret),
		bin:       kongtest.IssuerBinary(t),
	}
	dir := t.TempDir()
	d.keyPath = filepath.Join(dir, "private.pem")
	d.run(t, "keys", "generate", "--out", dir)
	d.run(t, "migrate", "up")
	return d
}

func (d *Database) env(addr string, extra []string) []string {
	env := append(os.Environ(),
		"DATABASE_URL="+d.URL,
		"JWT_PRIVATE_KEY_PATH="+d.keyPath,
		"JWT_ISSUER="+IssuerClaim,
		"JWT_AUDIENCE="+Audience,
		"LISTEN_ADDR="+addr,
		"REVOCATION_FEED_TOKEN="+d.FeedToken,
		"LOG_LEVEL=warn",
		"SHUTDOWN_TIMEOUT=5",
		"SHUTDOWN_DRAIN_DELAY=0",
	)
	return append(env, extra...)
}

// Command runs an `issuer` command line (e.g. users revoke-role) on the
// database, failing t when it fails.
func (d *Database) Command(t testing.TB, args ...string) { t.Helper(); d.run(t, args...) }

func (d *Database) run(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(d.bin, args...)
	cmd.Env = d.env("127.0.0.1:8001", nil) // not listened on: the commands need only a valid value
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("issuer %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Issuer is one `issuer serve` process, stopped when the test ends.
type Issuer struct {
	URL  string // http://127.0.0.1:port
	db   *Database
	addr string
	env  []string
	http *http.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *testlog.Buffer
	done chan struct{}
}

// Start serves the issuer on a free port of 127.0.0.1, with extra
// environment variables (e.g. REFRESH_REUSE_INTERVAL=0), and waits until it
// is ready.
func (d *Database) Start(t testing.TB, extraEnv ...string) *Issuer {
	t.Helper()
	addr := freeAddr(t)
	i := &Issuer{
		URL: "http://" + addr, db: d, addr: addr, env: d.env(addr, extraEnv),
		http: &http.Client{Timeout: 30 * time.Second},
	}
	i.Restart(t)
	t.Cleanup(func() {
		i.Stop(t)
		if t.Failed() {
			t.Logf("issuer %s output:\n%s", i.addr, i.Output())
		}
	})
	return i
}

// Restart starts a stopped issuer again on the same address.
func (i *Issuer) Restart(t testing.TB) {
	t.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.done != nil {
		select {
		case <-i.done:
		default:
			t.Fatalf("issuer %s is already running", i.addr)
		}
	}
	i.out = new(testlog.Buffer)
	cmd := exec.Command(i.db.bin, "serve")
	cmd.Env = i.env
	cmd.Stdout, cmd.Stderr = i.out, i.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start issuer: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	i.cmd, i.done = cmd, done

	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := i.http.Get(i.URL + "/api/auth/ready/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("issuer exited before it was ready:\n%s", i.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("issuer not ready within 20 s: %v\n%s", err, i.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits for the process to drain and exit (SIGKILL
// after 15 s). Stopping a stopped issuer does nothing.
func (i *Issuer) Stop(t testing.TB) {
	t.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.done == nil {
		return
	}
	_ = i.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-i.done:
	case <-time.After(15 * time.Second):
		_ = i.cmd.Process.Kill()
		<-i.done
		t.Errorf("issuer %s did not stop within 15 s of SIGTERM", i.addr)
	}
	i.http.CloseIdleConnections()
}

// PID is the current process's id (0 when it never started).
func (i *Issuer) PID() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.cmd == nil || i.cmd.Process == nil {
		return 0
	}
	return i.cmd.Process.Pid
}

// Output is what the current process wrote so far.
func (i *Issuer) Output() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.out.String()
}

// FeedURL is this process's revocation feed.
func (i *Issuer) FeedURL() string { return i.URL + FeedPath }

// JWKSURL is this process's JWKS.
func (i *Issuer) JWKSURL() string { return i.URL + "/.well-known/jwks.json" }

// Tokens is a token response.
type Tokens struct {
	Access    string `json:"access_token"`
	Refresh   string `json:"refresh_token"`
	SessionID string `json:"-"` // the access token's sid
	User      struct {
		ID    string   `json:"id"`
		Roles []string `json:"roles"`
	} `json:"user"`
}

// Password is the password of every user Register creates.
const Password = "correct horse battery staple"

// Register creates a user named name.
func (i *Issuer) Register(t testing.TB, name string) {
	t.Helper()
	i.mustCall(t, http.MethodPost, "/api/auth/register/", "", map[string]string{
		"username": name, "email": name + "@example.org", "password": Password,
	}, http.StatusCreated, nil)
}

// NewUser registers a user with a random name and returns the name.
func (i *Issuer) NewUser(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "user-" + hex.EncodeToString(b)
	i.Register(t, name)
	return name
}

// Login logs name in with password and returns its tokens; it fails t
// unless the issuer answers 200. Call it from the test's goroutine only:
// elsewhere use TryLogin.
func (i *Issuer) Login(t testing.TB, name, password string) Tokens {
	t.Helper()
	tok, err := i.TryLogin(name, password)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TryLogin is Login for any goroutine: it returns what Login would fail t
// with.
func (i *Issuer) TryLogin(name, password string) (Tokens, error) {
	var tok Tokens
	const path = "/api/auth/login/"
	status, err := i.send(http.MethodPost, path, "", map[string]string{"username": name, "password": password}, &tok)
	if err != nil {
		return Tokens{}, err
	}
	if status != http.StatusOK {
		return Tokens{}, fmt.Errorf("%s %s: status %d, want %d", http.MethodPost, path, status, http.StatusOK)
	}
	if tok.SessionID, err = sessionID(tok.Access); err != nil {
		return Tokens{}, err
	}
	return tok, nil
}

// Refresh rotates a refresh token. It returns the status and, on 200, the
// new tokens.
func (i *Issuer) Refresh(t testing.TB, refresh string) (Tokens, int) {
	t.Helper()
	var tok Tokens
	status := i.call(t, http.MethodPost, "/api/auth/refresh/", "", map[string]string{"refresh_token": refresh}, &tok)
	if status == http.StatusOK {
		tok.SessionID = SessionID(t, tok.Access)
	}
	return tok, status
}

// Logout ends the session of tok (204 expected).
func (i *Issuer) Logout(t testing.TB, tok Tokens) {
	t.Helper()
	i.mustCall(t, http.MethodPost, "/api/auth/logout/", tok.Access, map[string]string{"refresh_token": tok.Refresh}, http.StatusNoContent, nil)
}

// LogoutAll ends every session of tok's user (204 expected).
func (i *Issuer) LogoutAll(t testing.TB, tok Tokens) {
	t.Helper()
	i.mustCall(t, http.MethodPost, "/api/auth/logout-all/", tok.Access, nil, http.StatusNoContent, nil)
}

// ChangePassword changes the password of tok's user (200 expected),
// ending its other sessions.
func (i *Issuer) ChangePassword(t testing.TB, tok Tokens, current, next string) {
	t.Helper()
	i.mustCall(t, http.MethodPost, "/api/auth/change-password/", tok.Access, map[string]string{
		"current_password": current, "new_password": next,
	}, http.StatusOK, nil)
}

// EndSession ends the session sessionID of tok's user (204 expected).
func (i *Issuer) EndSession(t testing.TB, tok Tokens, sessionID string) {
	t.Helper()
	i.mustCall(t, http.MethodDelete, "/api/auth/sessions/"+sessionID+"/", tok.Access, nil, http.StatusNoContent, nil)
}

// DisableUser disables the user userID with the access token of an
// administrator (200 expected), ending every session of theirs.
func (i *Issuer) DisableUser(t testing.TB, admin Tokens, userID string) {
	t.Helper()
	i.mustCall(t, http.MethodPost, "/api/auth/admin/users/"+userID+"/disable/", admin.Access, nil, http.StatusOK, nil)
}

func (i *Issuer) mustCall(t testing.TB, method, path, bearer string, body any, want int, out any) {
	t.Helper()
	if got := i.call(t, method, path, bearer, body, out); got != want {
		t.Fatalf("%s %s: status %d, want %d", method, path, got, want)
	}
}

// call sends a JSON request and decodes a 2xx JSON answer into out; it
// fails t when the request cannot be made or its answer read.
func (i *Issuer) call(t testing.TB, method, path, bearer string, body, out any) int {
	t.Helper()
	status, err := i.send(method, path, bearer, body, out)
	if err != nil {
		t.Fatal(err)
	}
	return status
}

// send is call for any goroutine: it returns what call would fail t with.
func (i *Issuer) send(method, path, bearer string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, i.URL+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := i.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, fmt.Errorf("%s %s: decode %q: %w", method, path, raw, err)
		}
	}
	return resp.StatusCode, nil
}

// SessionID reads the sid claim of an access token, without verifying it.
func SessionID(t testing.TB, token string) string {
	t.Helper()
	sid, err := sessionID(token)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

func sessionID(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("access token has %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("access token payload: %w", err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", fmt.Errorf("access token payload: %w", err)
	}
	if c.SID == "" {
		return "", errors.New("access token has no sid")
	}
	return c.SID, nil
}

// FreeAddr returns a 127.0.0.1 address with a port free right now (for
// METRICS_ADDR).
func FreeAddr(t testing.TB) string { t.Helper(); return freeAddr(t) }

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
