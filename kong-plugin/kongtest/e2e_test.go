package kongtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/kong-plugin/kongtest"
)

// issuer is a running issuer process on its own database.
type issuer struct {
	URL string
	out *bytes.Buffer
}

// startIssuer generates a key, migrates a fresh database and serves the
// issuer on a free 127.0.0.1 port until t ends.
func startIssuer(t *testing.T) *issuer {
	t.Helper()
	bin := kongtest.IssuerBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	env := append(os.Environ(),
		"DATABASE_URL="+testdb.New(t),
		"JWT_PRIVATE_KEY_PATH="+filepath.Join(dir, "private.pem"),
		"JWT_ISSUER=http://"+addr,
		"JWT_AUDIENCE="+testAudience,
		"LISTEN_ADDR="+addr,
		"LOG_LEVEL=warn",
	)
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("issuer %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("keys", "generate", "--out", dir)
	run("migrate", "up")

	out := new(bytes.Buffer)
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("issuer output:\n%s", out)
		}
	})
	is := &issuer{URL: "http://" + addr, out: out}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(is.URL + "/api/auth/ready/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return is
			}
		}
		select {
		case <-done:
			t.Fatalf("issuer exited before it was ready:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("issuer not ready within 15 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// post sends a JSON body and decodes the JSON answer into out.
func (is *issuer) post(t *testing.T, path string, body, out any, want int) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, is.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d, want %d: %s", path, resp.StatusCode, want, raw.Bytes())
	}
	if out != nil {
		if err := json.Unmarshal(raw.Bytes(), out); err != nil {
			t.Fatalf("POST %s: decode: %v", path, err)
		}
	}
}

// TestEndToEndWithIssuer: the real issuer on real PostgreSQL issues a token
// at login, and the plugin, fetching the issuer's JWKS, tells the upstream
// who the caller is.
func TestEndToEndWithIssuer(t *testing.T) {
	t.Parallel()
	is := startIssuer(t)

	username := fmt.Sprintf("e2e-%d", time.Now().UnixNano()%1e9)
	var registered struct {
		User struct {
			ID    string   `json:"id"`
			Roles []string `json:"roles"`
		} `json:"user"`
	}
	is.post(t, "/api/auth/register/", map[string]string{
		"username": username, "email": username + "@example.org", "password": "correct horse battery staple",
	}, &registered, http.StatusCreated)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	is.post(t, "/api/auth/login/", map[string]string{"username": username, "password": "correct horse battery staple"}, &login, http.StatusOK)

	srv := kongtest.Start(t, kongtest.PluginBinary(t))
	inst := srv.MustStartInstance(t, map[string]any{
		"jwks_url":  is.URL + "/.well-known/jwks.json",
		"issuer":    is.URL,
		"audiences": []string{testAudience},
	})
	waitReady(t, inst, login.AccessToken)
	r := inst.MustAccess(t, bearer(login.AccessToken, "X-User-Id", "someone-else", "X_Consumer_Username", "root"))
	if r.Exited {
		t.Fatalf("the issuer's token was refused: %d %s\n%s", r.Status, r.Body, srv.Output())
	}
	assertIdentity(t, r, registered.User.ID, strings.Join(registered.User.Roles, ","), username)
	if len(r.Calls) > maxCalls+1 { // one clear_header for X_Consumer_Username
		t.Errorf("PDK calls %v", r.Calls)
	}

	// A token the issuer did not sign is still refused.
	assertRefused(t, inst.MustAccess(t, bearer(validToken(t, testKey(t, 0), nil))), 401, `Bearer realm="medinsights", error="invalid_token"`)
}
