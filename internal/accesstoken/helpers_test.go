package accesstoken_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medinsights/auth/internal/accesstoken"
)

const (
	testIssuer   = "http://localhost:8001"
	testAudience = "medinsights"
	testLeeway   = 30 * time.Second
	testLifetime = 15 * time.Minute
)

// testNow is the instant every fixture token is issued at.
var testNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// testKeys are generated once per test binary: RSA key generation is far
// slower than everything the tests verify.
var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(fmt.Sprintf("generate test key: %v", err))
		}
		keys[i] = k
	}
	return keys
})

// fixture is what a token test needs: the issuer's signing key and its kid,
// an unrelated key, and the key set a verifier holds.
type fixture struct {
	key   *rsa.PrivateKey // the issuer's key, published under kid
	other *rsa.PrivateKey // a key the verifier does not know
	kid   string
	keys  accesstoken.KeySet
}

func setup(tb testing.TB) fixture {
	tb.Helper()
	k := testKeys()
	kid := accesstoken.Thumbprint(&k[0].PublicKey)
	return fixture{key: k[0], other: k[1], kid: kid, keys: accesstoken.KeySet{kid: &k[0].PublicKey}}
}

// parser returns the production parser with its clock fixed at now.
func (f fixture) parser(tb testing.TB, now time.Time) *accesstoken.Parser {
	tb.Helper()
	p, err := accesstoken.NewParser(accesstoken.Options{
		Issuer:      testIssuer,
		Audiences:   []string{testAudience},
		Leeway:      testLeeway,
		MaxLifetime: testLifetime,
		Now:         func() time.Time { return now },
	})
	if err != nil {
		tb.Fatalf("NewParser: %v", err)
	}
	return p
}

// header is the JOSE header the issuer writes.
func (f fixture) header() string {
	return `{"alg":"RS256","typ":"at+jwt","kid":"` + f.kid + `"}`
}

// member is one name/value pair of a JSON object, the value as raw JSON, so
// that a test can write exactly the bytes it means: duplicates, escapes,
// wrong types.
type member struct{ name, value string }

type object []member

// validClaims are the claims the issuer writes for a login at testNow.
func validClaims() object {
	return object{
		{"iss", strconv.Quote(testIssuer)},
		{"sub", `"7f1c2a4e-0000-4000-8000-000000000001"`},
		{"aud", `["medinsights"]`},
		{"exp", unix(testNow.Add(testLifetime))},
		{"nbf", unix(testNow)},
		{"iat", unix(testNow)},
		{"jti", `"0b6f3c8e-1111-4000-8000-000000000002"`},
		{"sid", `"0b6f3c8e-2222-4000-8000-000000000003"`},
		{"roles", `["patient","clinician"]`},
		{"username", `"alice@example.org"`},
		{"email_verified", `true`},
	}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// with replaces the value of name, or appends the member when absent.
func (o object) with(name, value string) object {
	out := make(object, 0, len(o)+1)
	found := false
	for _, m := range o {
		if m.name == name {
			m.value, found = value, true
		}
		out = append(out, m)
	}
	if !found {
		out = append(out, member{name, value})
	}
	return out
}

// without drops name.
func (o object) without(name string) object {
	out := make(object, 0, len(o))
	for _, m := range o {
		if m.name != name {
			out = append(out, m)
		}
	}
	return out
}

// rename changes the name of a member, keeping its value and position.
func (o object) rename(from, to string) object {
	out := make(object, 0, len(o))
	for _, m := range o {
		if m.name == from {
			m.name = to
		}
		out = append(out, m)
	}
	return out
}

// plus appends a member even when the name is already present.
func (o object) plus(name, value string) object {
	return append(append(object{}, o...), member{name, value})
}

func (o object) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + m.name + `":` + m.value)
	}
	b.WriteByte('}')
	return b.String()
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signSegments signs the already encoded header and payload segments with
// RS256 under key and returns the compact token.
func signSegments(tb testing.TB, key *rsa.PrivateKey, header, payload string) string {
	tb.Helper()
	input := header + "." + payload
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// token signs the given header and payload JSON, byte for byte, with key.
func token(tb testing.TB, key *rsa.PrivateKey, header, payload string) string {
	tb.Helper()
	return signSegments(tb, key, b64(header), b64(payload))
}

// valid is a token the issuer could have produced at testNow.
func (f fixture) valid(tb testing.TB) string {
	tb.Helper()
	return token(tb, f.key, f.header(), validClaims().String())
}

// nonCanonical changes the last character of an unpadded base64url segment
// so that the unused trailing bits are not zero: a lenient decoder yields the
// same bytes, a strict one refuses it.
func nonCanonical(tb testing.TB, seg string) string {
	tb.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 == 0 {
		tb.Fatalf("segment of length %d has no unused bits", len(seg))
	}
	i := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[i|1])
}

// validToken is fixture.valid in the shape of a parseCase's token func.
func validToken(tb testing.TB, f fixture) string { return f.valid(tb) }
