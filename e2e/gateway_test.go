package e2e_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/e2e/issuerproc"
	"github.com/medinsights/auth/kong-plugin/kongtest"
)

func TestMain(m *testing.M) { os.Exit(kongtest.Main(m)) }

// gatewayConfig is a plugin instance's configuration that verifies the
// tokens of db's issuers with the keys of jwks and follows the feed of feed.
func gatewayConfig(db *issuerproc.Database, jwks, feed *issuerproc.Issuer, maxStaleness int, failMode string) map[string]any {
	return map[string]any{
		"jwks_url":                         jwks.JWKSURL(),
		"issuer":                           issuerproc.IssuerClaim,
		"audiences":                        []string{issuerproc.Audience},
		"revocation_url":                   feed.FeedURL(),
		"revocation_token":                 db.FeedToken,
		"revocation_max_staleness_seconds": maxStaleness,
		"revocation_fail_mode":             failMode,
	}
}

// startGateway starts the plugin server and one instance of cfg.
func startGateway(t testing.TB, cfg map[string]any) (*kongtest.Server, *kongtest.Instance) {
	t.Helper()
	srv := kongtest.Start(t, kongtest.PluginBinary(t))
	return srv, srv.MustStartInstance(t, cfg)
}

// access sends one request carrying token through the access phase.
func access(t testing.TB, inst *kongtest.Instance, token string) *kongtest.Result {
	t.Helper()
	return inst.MustAccess(t, kongtest.Request{Path: "/patients", Headers: kongtest.Headers("Authorization", "Bearer "+token)})
}

func passed(r *kongtest.Result) bool { return !r.Exited }

func describe(r *kongtest.Result) string {
	if !r.Exited {
		return "passed to the upstream"
	}
	return http.StatusText(r.Status) + " " + string(r.Body)
}

// waitPassing waits until the gateway lets token through: its keys are
// fetched and its revocation set synced.
func waitPassing(t testing.TB, inst *kongtest.Instance, token string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := access(t, inst, token)
		if passed(r) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway never let a live token through: %s\n%s", describe(r), inst.Server.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitRefused waits until the gateway refuses token as a revoked one (401
// invalid_token) and returns how long that took; it fails t when the
// gateway answers anything but a pass, 503 or 401, or still passes it 10 s on.
func waitRefused(t testing.TB, inst *kongtest.Instance, token string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for {
		r := access(t, inst, token)
		if r.Exited && r.Status == http.StatusUnauthorized {
			assertInvalidToken(t, r)
			return time.Since(start)
		}
		if r.Exited && r.Status != http.StatusServiceUnavailable {
			t.Fatalf("a revoked token got %s, want 401", describe(r))
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway still answers %s for a revoked token 10 s after its revocation\n%s", describe(r), inst.Server.Output())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func assertInvalidToken(t testing.TB, r *kongtest.Result) {
	t.Helper()
	if got := strings.Join(r.Headers["www-authenticate"], " "); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q, want an RFC 6750 invalid_token challenge", got)
	}
}

func assertPasses(t testing.TB, inst *kongtest.Instance, token, what string) {
	t.Helper()
	if r := access(t, inst, token); !passed(r) {
		t.Errorf("%s: %s, want it passed", what, describe(r))
	}
}
