package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/internal/testlog"
	"github.com/medinsights/auth/issuer/internal/api"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/command"
	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/metrics"
	"github.com/medinsights/auth/issuer/internal/signer"
	"github.com/medinsights/auth/issuer/internal/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// httptest servers' idle keep-alive connections close asynchronously.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// setup returns an issuer on its own database whose API records into m,
// served on a loopback server of its own.
func setup(t *testing.T) (*issuertest.Issuer, *metrics.Metrics) {
	t.Helper()
	var is *issuertest.Issuer // the metrics observe its auth service, and read its pool
	m := metrics.New(metrics.Options{PoolStatsFunc: func() store.PoolStats { return is.Store.PoolStats() }})
	is = issuertest.New(t, issuertest.Options{Events: m})
	h, err := api.New(api.Options{
		Auth: is.Auth, Store: is.Store, Signer: is.Signer, Logger: slog.New(slog.DiscardHandler),
		Issuer: issuertest.IssuerURL, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	withMetrics := *is
	withMetrics.Server, withMetrics.Handler = srv, h
	return &withMetrics, m
}

// scrape GETs /metrics from h and returns the text exposition.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, metrics.Path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// sample returns the value of the series named exactly line (name and
// labels, in the exposition's order), or "" when it is absent.
func sample(text, series string) string {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}

func TestRequestsAreCountedByRoutePattern(t *testing.T) {
	t.Parallel()
	is, m := setup(t)
	is.Register(t, "alice", "correct horse battery staple")
	is.Login(t, "alice", "correct horse battery staple")
	for _, path := range []string{"/api/auth/login/", "/api/auth/login"} {
		if r := is.Post(t, path, map[string]string{"username": "alice", "password": "wrong horse battery staple"}, ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("POST %s with a wrong password: %d, want 401", path, r.Status)
		}
	}
	if r := is.Get(t, "/api/auth/patients/4711/?name=Doe", ""); r.Status != http.StatusNotFound {
		t.Fatalf("unknown path: %d, want 404", r.Status)
	}
	if r := is.Do(t, issuertest.Request{Method: "BREW", Path: "/api/auth/login/"}); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("BREW: %d, want 405", r.Status)
	}
	text := scrape(t, m.Handler())

	tests := []struct {
		name   string
		series string
		want   string
	}{
		{"both forms of a path count as one route", `medinsights_http_requests_total{method="POST",route="/api/auth/login",status="401"}`, "2"},
		{"a success has its own status", `medinsights_http_requests_total{method="POST",route="/api/auth/login",status="200"}`, "1"},
		{"registration", `medinsights_http_requests_total{method="POST",route="/api/auth/register",status="201"}`, "1"},
		{"an unknown path is the catch-all pattern", `medinsights_http_requests_total{method="GET",route="/",status="404"}`, "1"},
		{"an unknown method is other", `medinsights_http_requests_total{method="other",route="/api/auth/login",status="405"}`, "1"},
		{"latency per route and method", `medinsights_http_request_duration_seconds_count{method="POST",route="/api/auth/login"}`, "3"},
		{"login succeeded", `medinsights_auth_events_total{event="login_succeeded",reason=""}`, "1"},
		{"login failed", `medinsights_auth_events_total{event="login_failed",reason="bad_password"}`, "2"},
		{"events start at zero", `medinsights_auth_events_total{event="refresh_rotated",reason=""}`, "0"},
	}
	for _, tt := range tests {
		if got := sample(text, tt.series); got != tt.want {
			t.Errorf("%s: %s = %q, want %q", tt.name, tt.series, got, tt.want)
		}
	}
	if got := sample(text, "medinsights_db_pool_max_connections"); got == "" || got == "0" {
		t.Errorf("medinsights_db_pool_max_connections = %q, want the pool's ceiling", got)
	}
	for _, raw := range []string{"/api/auth/patients", "4711", "Doe", "BREW"} {
		if strings.Contains(text, raw) {
			t.Errorf("the exposition holds %q from a request: labels must come from patterns only", raw)
		}
	}
}

func TestSessionEventsByReason(t *testing.T) {
	t.Parallel()
	is, m := setup(t)
	is.Register(t, "bob", "correct horse battery staple")
	first := is.Login(t, "bob", "correct horse battery staple")
	second := is.Refresh(t, first.Refresh)
	if r := is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": second.Refresh}, second.Access); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	third := is.Login(t, "bob", "correct horse battery staple")
	if r := is.Post(t, "/api/auth/logout-all/", nil, third.Access); r.Status != http.StatusNoContent {
		t.Fatalf("logout-all: %d %s", r.Status, r.Body)
	}
	text := scrape(t, m.Handler())
	tests := []struct {
		name, series, want string
	}{
		{"refresh", `medinsights_auth_events_total{event="refresh_rotated",reason=""}`, "1"},
		{"logout", `medinsights_auth_events_total{event="logout",reason=""}`, "1"},
		{"logout-all", `medinsights_auth_events_total{event="logout_all",reason=""}`, "1"},
		{"no password change", `medinsights_auth_events_total{event="password_changed",reason=""}`, "0"},
		{"logins", `medinsights_auth_events_total{event="login_succeeded",reason=""}`, "2"},
	}
	for _, tt := range tests {
		if got := sample(text, tt.series); got != tt.want {
			t.Errorf("%s: %s = %q, want %q", tt.name, tt.series, got, tt.want)
		}
	}
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveEnv is the environment of `issuer serve` on a migrated database of
// its own, with METRICS_ADDR set.
func serveEnv(t *testing.T) map[string]string {
	t.Helper()
	priv, _, err := signer.Generate(filepath.Join(t.TempDir(), "keys"), false)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"DATABASE_URL": testdb.New(t), "JWT_PRIVATE_KEY_PATH": priv, "SHUTDOWN_TIMEOUT": "5", "SHUTDOWN_DRAIN_DELAY": "0",
		"LISTEN_ADDR": freeAddr(t), "METRICS_ADDR": freeAddr(t),
	}
	if code := command.Main(context.Background(), []string{"migrate", "up"}, command.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }}); code != 0 {
		t.Fatalf("migrate up: exit %d", code)
	}
	return env
}

func get(t *testing.T, method, url string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// `issuer serve` with METRICS_ADDR serves the exposition there and only
// there: the API port, the one Kong routes to, answers /metrics with 404.
func TestServeExposesMetricsOnItsOwnListener(t *testing.T) {
	t.Parallel()
	env := serveEnv(t)
	apiBase, metricsURL := "http://"+env["LISTEN_ADDR"], "http://"+env["METRICS_ADDR"]+metrics.Path
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan int, 1)
	var stdout testlog.Buffer
	go func() {
		exited <- command.Main(ctx, []string{"serve"}, command.Env{Stdout: &stdout, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }})
	}()
	// serve logs "serving" once both listeners are open and the key is
	// loaded; with the database up, the API is ready from then on.
	if !stdout.WaitFor(`"msg":"serving","addr"`, 1, 15*time.Second) {
		t.Fatalf("serve did not start within 15 s:\n%s", stdout.String())
	}
	if status, _, body := get(t, http.MethodGet, apiBase+"/api/auth/ready/"); status != http.StatusOK {
		t.Fatalf("GET /api/auth/ready/ once serving: %d %s", status, body)
	}

	// Six failed logins of one name from one address: five checked, the
	// sixth refused by the pair rule without a hash.
	for i := range 6 {
		resp, err := http.Post(apiBase+"/api/auth/login/", "application/json", strings.NewReader(`{"username":"nobody","password":"wrong password"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 429, false: 401}[i == 5]; resp.StatusCode != want {
			t.Fatalf("login %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}

	status, header, body := get(t, http.MethodGet, metricsURL)
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET metrics listener /metrics: %d %q", status, header.Get("Content-Type"))
	}
	for _, want := range []string{
		`medinsights_http_requests_total{method="GET",route="/api/auth/ready",status="200"}`,
		"# TYPE medinsights_http_request_duration_seconds histogram",
		`medinsights_auth_events_total{event="login_failed",reason="unknown_user"} 5`,
		`medinsights_throttle_decisions_total{decision="allowed",rule="login_pair"} 5`,
		`medinsights_throttle_decisions_total{decision="refused",rule="login_pair"} 1`,
		`medinsights_throttle_decisions_total{decision="allowed",rule="login_account"} 6`,
		`medinsights_throttle_decisions_total{decision="refused",rule="mail_per_day"} 0`,
		`medinsights_password_resets_total{outcome="sent"} 0`,
		"medinsights_password_hashes_total 5",
		"medinsights_db_pool_max_connections ",
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}

	tests := []struct {
		name, method, url string
		want              int
	}{
		{"the API port does not serve metrics", http.MethodGet, apiBase + "/metrics", http.StatusNotFound},
		{"nor with a trailing slash", http.MethodGet, apiBase + "/metrics/", http.StatusNotFound},
		{"the metrics listener does not serve the API", http.MethodGet, "http://" + env["METRICS_ADDR"] + "/api/auth/health/", http.StatusNotFound},
		{"the metrics listener is read-only", http.MethodPost, metricsURL, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		if status, _, _ := get(t, tt.method, tt.url); status != tt.want {
			t.Errorf("%s: %s %s = %d, want %d", tt.name, tt.method, tt.url, status, tt.want)
		}
	}

	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get(metricsURL); err == nil {
		t.Fatal("the metrics listener still answers after shutdown")
	}
}

func TestServeRefusesABadMetricsAddr(t *testing.T) {
	t.Parallel()
	listen := freeAddr(t)
	_, port, _ := net.SplitHostPort(listen)
	tests := []struct {
		name, addr, want string
	}{
		{"no port", "localhost", "METRICS_ADDR \"localhost\" is not host:port"},
		{"port out of range", ":70000", "METRICS_ADDR port \"70000\" is not a number from 1 to 65535"},
		{"the API port", "127.0.0.1:" + port, "METRICS_ADDR must use another port than LISTEN_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"DATABASE_URL": "postgres://unused/db", "JWT_PRIVATE_KEY_PATH": "unused.pem", "LISTEN_ADDR": listen, "METRICS_ADDR": tt.addr}
			var stderr strings.Builder
			code := command.Main(context.Background(), []string{"serve"}, command.Env{Stdout: io.Discard, Stderr: &stderr, Getenv: func(k string) string { return env[k] }})
			if code != 1 || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tt.want)
			}
		})
	}
}

func TestEventsAreCountedWhenTheAuthServiceReportsThem(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{})
	reuse := auth.Event{Name: auth.EventRefreshReuseDetected}
	series := `medinsights_auth_events_total{event="refresh_reuse_detected",reason=""}`
	if got := sample(scrape(t, m.Handler()), series); got != "0" {
		t.Fatalf("before: %s = %q, want 0", series, got)
	}
	m.Observe(context.Background(), reuse)
	m.Observe(context.Background(), reuse)
	if got := sample(scrape(t, m.Handler()), series); got != "2" {
		t.Fatalf("after two reuses: %s = %q, want 2", series, got)
	}
	var off *metrics.Metrics
	off.Observe(context.Background(), reuse) // metrics off: records nothing, does not panic
}
