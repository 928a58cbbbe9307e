package e2e_test

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/e2e/issuerproc"
	"github.com/medinsights/auth/e2e/testgateway"
)

// chromiumDefault is where Debian's chromium package puts the browser
// (.ci/run installs it); CHROMIUM overrides it.
const chromiumDefault = "/usr/bin/chromium"

// TestBrowserClient runs the browser client's scenarios
// (clients/web/test/browser.test.mjs) in headless Chromium. The page is
// served from another origin than the gateway, as a frontend on :5173 and
// Kong on :8000 are; the gateway plays Kong (testgateway) in front of the
// real issuer on PostgreSQL and routes /patients through the real plugin
// binary to an upstream that shows the identity it receives.
func TestBrowserClient(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	web := filepath.Join(root, "clients", "web")
	browser := cmp.Or(os.Getenv("CHROMIUM"), chromiumDefault)
	if _, err := os.Stat(browser); err != nil {
		t.Fatalf("no Chromium at %s (apt-get install chromium, as .ci/run does, or set CHROMIUM): %v", browser, err)
	}
	buildWebClient(t, web)

	pages := serveLocalhost(t, http.FileServer(http.Dir(filepath.Join(web, "test", "pages"))), http.StripPrefix("/dist/", http.FileServer(http.Dir(filepath.Join(web, "dist")))))
	foreign := serveLocalhost(t, http.FileServer(http.Dir(filepath.Join(web, "test", "pages"))), nil)

	db := issuerproc.NewDatabase(t)
	is := db.Start(t, "CORS_ALLOWED_ORIGINS="+pages)
	_, inst := startGateway(t, gatewayConfig(db, is, is, 30, "closed"))
	warmUp := is.Login(t, is.NewUser(t), issuerproc.Password)
	waitPassing(t, inst, warmUp.Access)

	cors, err := testgateway.CORSFromKongYAML(filepath.Join(root, "kong", "kong.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !cors.Credentials || !slices.Contains(cors.Headers, "X-MedInsights-CSRF") {
		t.Fatalf("kong/kong.yml's cors must allow credentials and X-MedInsights-CSRF: %+v", cors)
	}
	// Everything else as shipped; the origins are the deployment's, here
	// the test page's.
	cors.Origins = []string{pages}
	gw := testgateway.Start(t, testgateway.Options{
		CORS: cors, Issuer: is.URL, Plugin: inst, Protected: []string{"/patients"},
		Upstream: identityEcho(t), RefreshCookie: "medinsights_refresh",
	})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "test/browser.test.mjs")
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"GATEWAY_URL="+localhost(gw.URL), "CONTROL_URL="+gw.ControlURL,
		"PAGE_ORIGIN="+pages, "FOREIGN_ORIGIN="+foreign, "CHROMIUM="+browser)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test test/browser.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser scenarios failed: %v", err)
	}
	if strings.Contains(is.Output(), "refresh token reused") {
		t.Errorf("the issuer detected a refresh token reuse:\n%s", is.Output())
	}
}

// buildWebClient installs the client's dev dependencies from its lockfile
// when they are missing or older than it, and builds it.
func buildWebClient(t *testing.T, web string) {
	t.Helper()
	lock, err := os.Stat(filepath.Join(web, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if installed, err := os.Stat(filepath.Join(web, "node_modules", ".package-lock.json")); err != nil || installed.ModTime().Before(lock.ModTime()) {
		run(t, web, "npm", "ci", "--no-audit", "--no-fund")
	}
	run(t, web, "npm", "run", "build")
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// serveLocalhost serves h (and dist under /dist/ when set) and returns its
// origin spelled with localhost: the pages and the gateway are then of one
// site, as a frontend and its API usually are, and browsers count
// http://localhost as a secure context (Web Locks need one).
func serveLocalhost(t *testing.T, h, dist http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", h)
	if dist != nil {
		mux.Handle("/dist/", dist)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return localhost(srv.URL)
}

func localhost(u string) string {
	return strings.Replace(u, "127.0.0.1", "localhost", 1)
}

// identityEcho is the upstream: it answers with the identity headers the
// plugin set.
func identityEcho(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"user_id": r.Header.Get("X-User-Id"), "roles": r.Header.Get("X-User-Roles"), "username": r.Header.Get("X-Consumer-Username"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
