package kongtest_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/kong-plugin/kongtest"
)

func TestMain(m *testing.M) { os.Exit(kongtest.Main(m)) }

const (
	testIssuer   = "http://issuer.test"
	testAudience = "medinsights"
)

// signingKey is an RSA key and its kid (the RFC 7638 thumbprint).
type signingKey struct {
	priv *rsa.PrivateKey
	kid  string
}

var (
	keysOnce sync.Once
	keys     [3]signingKey
)

// testKey returns one of three RSA-2048 keys generated once per process.
func testKey(t testing.TB, i int) signingKey {
	t.Helper()
	keysOnce.Do(func() {
		for j := range keys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys[j] = signingKey{priv: k, kid: accesstoken.Thumbprint(&k.PublicKey)}
		}
	})
	return keys[i]
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomUUID returns a random version 4 UUID in canonical form, the form of
// the issuer's user and session ids.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// userID returns a fixed user id (a UUID) numbered n.
func userID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// claims returns valid claims for now; edit them to make a bad token.
func claims(now time.Time) *accesstoken.Claims {
	return &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   randomUUID(),
			Audience:  jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        "jti-" + randomID(),
		},
		SessionID: randomUUID(),
		Roles:     []string{"patient"},
		Username:  "alice@example.org",
	}
}

// sign signs c with k.
func sign(t testing.TB, k signingKey, c *accesstoken.Claims) string {
	t.Helper()
	tok, err := accesstoken.Sign(k.priv, k.kid, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// validToken signs fresh valid claims, edited by edit when non-nil.
func validToken(t testing.TB, k signingKey, edit func(*accesstoken.Claims)) string {
	t.Helper()
	c := claims(time.Now())
	if edit != nil {
		edit(c)
	}
	return sign(t, k, c)
}

// signRaw signs an arbitrary header and payload with RS256, for tokens
// accesstoken.Sign would never produce.
func signRaw(t testing.TB, k signingKey, header, payload any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// jwksServer publishes a key set on 127.0.0.1 and can be changed or made to
// fail during a test.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []*rsa.PublicKey
	down    bool
	hits    atomic.Int64
	fetched chan struct{} // one signal per request answered
}

func newJWKS(t testing.TB, ks ...signingKey) *jwksServer {
	t.Helper()
	s := &jwksServer{fetched: make(chan struct{}, 1024)}
	s.set(ks...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		defer func() {
			select {
			case s.fetched <- struct{}{}:
			default:
			}
		}()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		doc := accesstoken.NewJWKS(s.keys...)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(ks ...signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = nil
	for _, k := range ks {
		s.keys = append(s.keys, &k.priv.PublicKey)
	}
}

// waitHits waits, on the server's own signal, until it has answered n
// requests in all, and fails t after 10 s.
func (s *jwksServer) waitHits(t testing.TB, n int64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for s.hits.Load() < n {
		select {
		case <-s.fetched:
		case <-deadline:
			t.Fatalf("the JWKS server answered %d requests in 10 s, want %d", s.hits.Load(), n)
		}
	}
}

func (s *jwksServer) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// config returns a minimal valid configuration verifying with the JWKS at
// url; extra entries are added or replace.
func config(url string, extra map[string]any) map[string]any {
	c := map[string]any{"jwks_url": url, "issuer": testIssuer, "audiences": []string{testAudience}}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// setup starts the plugin server and an instance verifying with a fresh
// JWKS server publishing key 0, and waits until the plugin logs that the
// first key set arrived.
func setup(t *testing.T, extra map[string]any) (*kongtest.Server, *kongtest.Instance, *jwksServer) {
	t.Helper()
	jwks := newJWKS(t, testKey(t, 0))
	srv := kongtest.Start(t, kongtest.PluginBinary(t))
	inst := srv.MustStartInstance(t, config(jwks.URL, extra))
	srv.WaitOutput(t, keysLoaded, 1)
	return srv, inst, jwks
}

// keysLoaded is the line the plugin logs when a key set arrives or changes:
// the signal tests wait on instead of retrying until the 503s stop.
const keysLoaded = "jwks key set loaded"

// bearer is a GET carrying tok in Authorization, plus extra header pairs.
func bearer(tok string, extra ...string) kongtest.Request {
	return kongtest.Request{Headers: append(kongtest.Headers("Host", "api.test", "Authorization", "Bearer "+tok), kongtest.Headers(extra...)...)}
}

func jwtTime(t time.Time) *jwt.NumericDate { return jwt.NewNumericDate(t) }

// noneToken is an unsigned token (alg none).
func noneToken(payload any) string {
	h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "at+jwt"})
	p, _ := json.Marshal(payload)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// hmacToken signs with HS256 using the RSA public key's PEM as the secret:
// the key-confusion attack on verifiers that trust the token's alg.
func hmacToken(t testing.TB, header, payload any, k signingKey) string {
	t.Helper()
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(payload)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	mac := hmac.New(sha256.New, []byte(publicPEM(t, k)))
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func publicPEM(t testing.TB, k signingKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
