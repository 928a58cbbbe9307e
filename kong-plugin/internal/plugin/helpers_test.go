package plugin

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"github.com/medinsights/auth/internal/accesstoken"
)

func TestMain(m *testing.M) {
	logger = slog.New(slog.DiscardHandler)
	goleak.VerifyTestMain(m,
		// go-pdk's test environment leaves its mock reading after a handler
		// that does not exit.
		goleak.IgnoreAnyFunction("github.com/Kong/go-pdk/bridge/bridgetest.MockFunc.func1"),
		// Process-wide by design: one refresh loop per JWKS URL, and the
		// JWKS client's idle keep-alive connections.
		goleak.IgnoreAnyFunction("github.com/medinsights/auth/kong-plugin/internal/jwks.(*Fetcher).run"),
		goleak.IgnoreAnyFunction("github.com/medinsights/auth/kong-plugin/internal/revocation.(*Syncer).run"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

const (
	testSubject  = "7f1c2a4e-0000-4000-8000-000000000001"
	testSession  = "0b6f3c8e-2222-4000-8000-000000000003"
	testIssuer   = "http://issuer.test"
	testAudience = "medinsights"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
	testKid string
)

// key returns an RSA-2048 key generated once per test process.
func key(tb testing.TB) (*rsa.PrivateKey, string) {
	tb.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey, testKid = k, accesstoken.Thumbprint(&k.PublicKey)
	})
	return testKey, testKid
}

func publicPEM(tb testing.TB) string {
	tb.Helper()
	k, _ := key(tb)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// epoch is the fixed clock of in-process tests.
var epoch = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func testClaims(now time.Time) *accesstoken.Claims {
	return &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: testIssuer, Subject: testSubject, Audience: jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)), IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), ID: "jti-1",
		},
		SessionID: testSession, Roles: []string{"patient", "clinician"}, Username: "alice@example.org",
	}
}

func signToken(tb testing.TB, edit func(*accesstoken.Claims)) string {
	tb.Helper()
	k, kid := key(tb)
	c := testClaims(epoch)
	if edit != nil {
		edit(c)
	}
	tok, err := accesstoken.Sign(k, kid, c)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// testSettings returns the settings of a valid configuration verifying with
// the test key at the clock now, with its own verifier and cache.
func testSettings(tb testing.TB, now func() time.Time, edit func(*settings)) *settings {
	tb.Helper()
	k, kid := key(tb)
	v, err := newVerifier(verifierKey{issuer: testIssuer, audiences: testAudience, skew: 30 * time.Second, maxLifetime: 15 * time.Minute},
		staticKeys{set: accesstoken.KeySet{kid: &k.PublicKey}, key: "test"}, now)
	if err != nil {
		tb.Fatal(err)
	}
	s := &settings{verifier: v, runOnPreflight: true, forwardToken: true, headerNames: []string{"authorization"}}
	if edit != nil {
		edit(s)
	}
	return s
}

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// get is a request with the given headers and no lazy PDK call allowed.
func get(tb testing.TB, headers map[string][]string) request {
	return request{
		headers:      headers,
		methodFunc:   func() (string, error) { tb.Error("unexpected get_method"); return "GET", nil },
		rawQueryFunc: func() (string, error) { tb.Error("unexpected get_raw_query"); return "", nil },
	}
}

func jwtDate(t time.Time) *jwt.NumericDate { return jwt.NewNumericDate(t) }
