package kongtest_test

import (
	"strings"
	"testing"

	"github.com/medinsights/auth/e2e/issuerproc"
	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/kong-plugin/kongtest"
)

// TestEndToEndWithIssuer: the real issuer on real PostgreSQL issues a token
// at login, and the plugin, fetching the issuer's JWKS, tells the upstream
// who the caller is.
func TestEndToEndWithIssuer(t *testing.T) {
	t.Parallel()
	is := issuerproc.NewDatabase(t).Start(t)
	username := is.NewUser(t)
	login := is.Login(t, username, issuerproc.Password)

	srv := kongtest.Start(t, kongtest.PluginBinary(t))
	inst := srv.MustStartInstance(t, map[string]any{
		"jwks_url":  is.JWKSURL(),
		"issuer":    issuerproc.IssuerClaim,
		"audiences": []string{issuerproc.Audience},
	})
	srv.WaitOutput(t, keysLoaded, 1)
	r := inst.MustAccess(t, bearer(login.Access, "X-User-Id", "someone-else", "X_Consumer_Username", "root"))
	if r.Exited {
		t.Fatalf("the issuer's token was refused: %d %s\n%s", r.Status, r.Body, srv.Output())
	}
	assertIdentity(t, r, login.User.ID, strings.Join(login.User.Roles, ","), username)
	if len(r.Calls) > maxCalls+1 { // one clear_header for X_Consumer_Username
		t.Errorf("PDK calls %v", r.Calls)
	}

	// A token the issuer did not sign is still refused, even with the
	// issuer's iss and aud.
	foreign := validToken(t, testKey(t, 0), func(c *accesstoken.Claims) {
		c.Issuer = issuerproc.IssuerClaim
		c.Audience = []string{issuerproc.Audience}
	})
	assertRefused(t, inst.MustAccess(t, bearer(foreign)), 401, `Bearer realm="medinsights", error="invalid_token"`)
}
