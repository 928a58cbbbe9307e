package accesstoken_test

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/medinsights/auth/internal/accesstoken"
)

// sentinels are every error Parse may wrap; a refusal wraps exactly one.
var sentinels = []error{
	accesstoken.ErrMalformed, accesstoken.ErrHeader, accesstoken.ErrUnknownKey,
	accesstoken.ErrSignature, accesstoken.ErrExpired, accesstoken.ErrNotYetValid,
	accesstoken.ErrIssuer, accesstoken.ErrAudience, accesstoken.ErrLifetime,
	accesstoken.ErrInvalidClaims,
}

// parseCase is one token and the verdict on it.
type parseCase struct {
	name  string
	token func(tb testing.TB, f fixture) string
	at    time.Duration // the verifier's clock, relative to testNow; zero means defaultAt
	want  error         // the sentinel of the refusal; nil means accepted
}

const defaultAt = time.Minute // a minute after issue: well inside every window

// withClaims is a token with the issuer's header and the given payload JSON.
func withClaims(o object) func(testing.TB, fixture) string {
	return func(tb testing.TB, f fixture) string { return token(tb, f.key, f.header(), o.String()) }
}

// withPayload is a token with the issuer's header and a raw payload.
func withPayload(payload string) func(testing.TB, fixture) string {
	return func(tb testing.TB, f fixture) string { return token(tb, f.key, f.header(), payload) }
}

// withHeader is a token with the issuer's claims under a raw header; %s in
// header is replaced by the kid.
func withHeader(header string) func(testing.TB, fixture) string {
	return func(tb testing.TB, f fixture) string {
		return token(tb, f.key, strings.ReplaceAll(header, "%s", f.kid), validClaims().String())
	}
}

// edit changes the issuer's valid token with fn.
func edit(fn func(string) string) func(testing.TB, fixture) string {
	return func(tb testing.TB, f fixture) string { return fn(f.valid(tb)) }
}

// segments splits a compact token into its three parts.
func segments(tok string) (h, p, s string) {
	parts := strings.SplitN(tok, ".", 3)
	return parts[0], parts[1], parts[2]
}

// sized is a valid token of exactly n bytes, padded through jti.
func sized(n int) func(testing.TB, fixture) string {
	return func(tb testing.TB, f fixture) string {
		enc := base64.RawURLEncoding
		sigLen := enc.EncodedLen(f.key.Size())
		for spaces := range 3 {
			header := "{" + strings.Repeat(" ", spaces) + f.header()[1:]
			for pad := range n {
				payload := validClaims().with("jti", `"`+strings.Repeat("j", pad+1)+`"`).String()
				total := enc.EncodedLen(len(header)) + enc.EncodedLen(len(payload)) + sigLen + 2
				if total == n {
					return token(tb, f.key, header, payload)
				}
				if total > n {
					break
				}
			}
		}
		tb.Fatalf("no token of %d bytes", n)
		return ""
	}
}

// unaligned pads JSON with spaces after its opening brace until its
// base64url form has unused trailing bits.
func unaligned(json string) string {
	for len(json)%3 == 0 {
		json = "{ " + json[1:]
	}
	return json
}

// hmacWithPublicKey is the classic key-confusion forgery: HS256, keyed with
// the PEM text of the issuer's public key, which every verifier may read.
func hmacWithPublicKey(tb testing.TB, f fixture) string {
	der, err := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	input := b64(`{"alg":"HS256","typ":"at+jwt","kid":"`+f.kid+`"}`) + "." + b64(validClaims().String())
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func rs512(tb testing.TB, f fixture) string {
	input := b64(`{"alg":"RS512","typ":"at+jwt","kid":"`+f.kid+`"}`) + "." + b64(validClaims().String())
	digest := sha512.Sum512([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, f.key, crypto.SHA512, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func ps256(tb testing.TB, f fixture) string {
	input := b64(`{"alg":"PS256","typ":"at+jwt","kid":"`+f.kid+`"}`) + "." + b64(validClaims().String())
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPSS(rand.Reader, f.key, crypto.SHA256, digest[:], nil)
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func es256(tb testing.TB, f fixture) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	input := b64(`{"alg":"ES256","typ":"at+jwt","kid":"`+f.kid+`"}`) + "." + b64(validClaims().String())
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

var (
	exp = testNow.Add(testLifetime)
	iat = testNow
	nbf = testNow
)

// parseCases is the specification of Parse: every way a token is refused,
// and the near misses that are accepted. The fuzz targets use it as seeds.
func parseCases() []parseCase {
	c := validClaims()
	return []parseCase{
		{name: "the issuer's token", token: validToken, want: nil},

		// Size and characters, checked before any decoding.
		{name: "empty", token: edit(func(string) string { return "" }), want: accesstoken.ErrMalformed},
		{name: "exactly MaxTokenSize bytes", token: sized(accesstoken.MaxTokenSize), want: nil},
		{name: "one byte over MaxTokenSize", token: sized(accesstoken.MaxTokenSize + 1), want: accesstoken.ErrMalformed},
		{name: "a megabyte", token: edit(func(t string) string { return t + strings.Repeat("A", 1<<20) }), want: accesstoken.ErrMalformed},
		{name: "leading space", token: edit(func(t string) string { return " " + t }), want: accesstoken.ErrMalformed},
		{name: "trailing newline", token: edit(func(t string) string { return t + "\n" }), want: accesstoken.ErrMalformed},
		{name: "standard base64 plus", token: edit(func(t string) string { return "+" + t[1:] }), want: accesstoken.ErrMalformed},
		{name: "standard base64 slash", token: edit(func(t string) string { return t[:len(t)-1] + "/" }), want: accesstoken.ErrMalformed},
		{name: "padding", token: edit(func(t string) string { return t + "==" }), want: accesstoken.ErrMalformed},
		{name: "line feed inside the signature", token: edit(func(t string) string { return t[:len(t)-10] + "\n" + t[len(t)-10:] }), want: accesstoken.ErrMalformed},
		{name: "CR LF inside the payload", token: edit(func(t string) string {
			h, p, s := segments(t)
			return h + "." + p[:8] + "\r\n" + p[8:] + "." + s
		}), want: accesstoken.ErrMalformed},
		{name: "space inside the signature", token: edit(func(t string) string { return t[:len(t)-10] + " " + t[len(t)-10:] }), want: accesstoken.ErrMalformed},
		{name: "NUL byte", token: edit(func(t string) string { return t[:5] + "\x00" + t[5:] }), want: accesstoken.ErrMalformed},
		{name: "non-ASCII letter", token: edit(func(t string) string { return t[:5] + "é" + t[5:] }), want: accesstoken.ErrMalformed},

		// Segments.
		{name: "one segment", token: edit(func(t string) string { h, _, _ := segments(t); return h }), want: accesstoken.ErrMalformed},
		{name: "two segments", token: edit(func(t string) string { h, p, _ := segments(t); return h + "." + p }), want: accesstoken.ErrMalformed},
		{name: "four segments", token: edit(func(t string) string { return t + ".AAAA" }), want: accesstoken.ErrMalformed},
		{name: "five segments (JWE shape)", token: edit(func(t string) string { return t + ".AAAA.AAAA" }), want: accesstoken.ErrMalformed},
		{name: "empty header segment", token: edit(func(t string) string { _, p, s := segments(t); return "." + p + "." + s }), want: accesstoken.ErrMalformed},
		{name: "empty payload segment", token: edit(func(t string) string { h, _, s := segments(t); return h + ".." + s }), want: accesstoken.ErrMalformed},
		{name: "empty signature segment", token: edit(func(t string) string { h, p, _ := segments(t); return h + "." + p + "." }), want: accesstoken.ErrMalformed},
		{name: "only dots", token: edit(func(string) string { return ".." }), want: accesstoken.ErrMalformed},

		// Canonical base64url (RFC 7515 section 2: no padding; RFC 4648
		// section 3.5: unused bits are zero).
		{name: "non-canonical signature", token: func(tb testing.TB, f fixture) string {
			h, p, s := segments(f.valid(tb))
			return h + "." + p + "." + nonCanonical(tb, s)
		}, want: accesstoken.ErrMalformed},
		{name: "non-canonical header, correctly signed", token: func(tb testing.TB, f fixture) string {
			return signSegments(tb, f.key, nonCanonical(tb, b64(unaligned(f.header()))), b64(c.String()))
		}, want: accesstoken.ErrMalformed},
		{name: "non-canonical payload, correctly signed", token: func(tb testing.TB, f fixture) string {
			return signSegments(tb, f.key, b64(f.header()), nonCanonical(tb, b64(unaligned(c.String()))))
		}, want: accesstoken.ErrMalformed},
		{name: "segment of impossible length", token: edit(func(t string) string {
			h, p, s := segments(t)
			return h + "." + p + "." + s + "AAA"
		}), want: accesstoken.ErrMalformed},

		// The JOSE header: only alg RS256, typ at+jwt and kid (RFC 8725
		// sections 3.1, 3.10 and 3.11).
		{name: "header is not JSON", token: func(tb testing.TB, f fixture) string {
			return token(tb, f.key, "alg=RS256", c.String())
		}, want: accesstoken.ErrMalformed},
		{name: "header is an array", token: withHeader(`["RS256","at+jwt","%s"]`), want: accesstoken.ErrMalformed},
		{name: "header with data after it", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s"}{}`), want: accesstoken.ErrMalformed},
		{name: "header with white space", token: withHeader(" {\n\t\"alg\" : \"RS256\",\r\n \"typ\":\"at+jwt\" , \"kid\":\"%s\" } \n"), want: nil},
		{name: "header name written with an escape", token: withHeader(`{"\u0061lg":"RS256","typ":"at\u002bjwt","kid":"%s"}`), want: nil},
		{name: "alg none with a signature", token: withHeader(`{"alg":"none","typ":"at+jwt","kid":"%s"}`), want: accesstoken.ErrHeader},
		{name: "alg none without a signature", token: func(tb testing.TB, f fixture) string {
			return b64(`{"alg":"none","typ":"at+jwt","kid":"`+f.kid+`"}`) + "." + b64(c.String()) + "."
		}, want: accesstoken.ErrMalformed},
		{name: "alg HS256 keyed with the public key PEM", token: hmacWithPublicKey, want: accesstoken.ErrHeader},
		{name: "alg RS512", token: rs512, want: accesstoken.ErrHeader},
		{name: "alg PS256", token: ps256, want: accesstoken.ErrHeader},
		{name: "alg ES256", token: es256, want: accesstoken.ErrHeader},
		{name: "alg in lower case", token: withHeader(`{"alg":"rs256","typ":"at+jwt","kid":"%s"}`), want: accesstoken.ErrHeader},
		{name: "alg missing", token: withHeader(`{"typ":"at+jwt","kid":"%s"}`), want: accesstoken.ErrHeader},
		{name: "alg not a string", token: withHeader(`{"alg":["RS256"],"typ":"at+jwt","kid":"%s"}`), want: accesstoken.ErrMalformed},
		{name: "alg twice", token: withHeader(`{"alg":"RS256","alg":"RS256","typ":"at+jwt","kid":"%s"}`), want: accesstoken.ErrMalformed},
		{name: "alg twice, once escaped", token: withHeader(`{"alg":"RS256","\u0061lg":"none","typ":"at+jwt","kid":"%s"}`), want: accesstoken.ErrMalformed},
		{name: "ALG in upper case", token: withHeader(`{"ALG":"RS256","typ":"at+jwt","kid":"%s"}`), want: accesstoken.ErrHeader},
		{name: "typ missing", token: withHeader(`{"alg":"RS256","kid":"%s"}`), want: accesstoken.ErrHeader},
		{name: "typ JWT", token: withHeader(`{"alg":"RS256","typ":"JWT","kid":"%s"}`), want: accesstoken.ErrHeader},
		{name: "typ empty", token: withHeader(`{"alg":"RS256","typ":"","kid":"%s"}`), want: accesstoken.ErrHeader},
		{name: "typ AT+JWT (media types are case-insensitive)", token: withHeader(`{"alg":"RS256","typ":"AT+JWT","kid":"%s"}`), want: nil},
		{name: "typ application/at+jwt", token: withHeader(`{"alg":"RS256","typ":"application/at+jwt","kid":"%s"}`), want: nil},
		{name: "typ Application/AT+jwt", token: withHeader(`{"alg":"RS256","typ":"Application/AT+jwt","kid":"%s"}`), want: nil},
		{name: "typ at+jwt with parameters", token: withHeader(`{"alg":"RS256","typ":"at+jwt; charset=utf-8","kid":"%s"}`), want: accesstoken.ErrHeader},
		{name: "typ twice", token: withHeader(`{"alg":"RS256","typ":"JWT","typ":"at+jwt","kid":"%s"}`), want: accesstoken.ErrMalformed},
		{name: "crit", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","crit":["exp"],"exp":1}`), want: accesstoken.ErrHeader},
		{name: "empty crit", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","crit":[]}`), want: accesstoken.ErrHeader},
		{name: "jku", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","jku":"https://attacker.example/jwks.json"}`), want: accesstoken.ErrHeader},
		{name: "x5u", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","x5u":"https://attacker.example/cert.pem"}`), want: accesstoken.ErrHeader},
		{name: "jwk", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}`), want: accesstoken.ErrHeader},
		{name: "x5c", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","x5c":["MIIB"]}`), want: accesstoken.ErrHeader},
		{name: "x5t#S256", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","x5t#S256":"AAAA"}`), want: accesstoken.ErrHeader},
		{name: "cty", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","cty":"JWT"}`), want: accesstoken.ErrHeader},
		{name: "b64 false (RFC 7797)", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","b64":false}`), want: accesstoken.ErrHeader},
		{name: "unknown header parameter", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","foo":"bar"}`), want: accesstoken.ErrHeader},
		{name: "kid missing", token: withHeader(`{"alg":"RS256","typ":"at+jwt"}`), want: accesstoken.ErrHeader},
		{name: "kid empty", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":""}`), want: accesstoken.ErrHeader},
		{name: "kid a number", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":7}`), want: accesstoken.ErrMalformed},
		{name: "kid null", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":null}`), want: accesstoken.ErrMalformed},
		{name: "kid with a NUL", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s\u0000"}`), want: accesstoken.ErrMalformed},
		{name: "Kid in mixed case", token: withHeader(`{"alg":"RS256","typ":"at+jwt","Kid":"%s"}`), want: accesstoken.ErrHeader},

		// Keys and signatures.
		{name: "unknown kid", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"not-a-published-key"}`), want: accesstoken.ErrUnknownKey},
		{name: "kid of an unpublished key, signed by it", token: func(tb testing.TB, f fixture) string {
			return token(tb, f.other, `{"alg":"RS256","typ":"at+jwt","kid":"`+accesstoken.Thumbprint(&f.other.PublicKey)+`"}`, c.String())
		}, want: accesstoken.ErrUnknownKey},
		{name: "signed by another key under the published kid", token: func(tb testing.TB, f fixture) string {
			return token(tb, f.other, f.header(), c.String())
		}, want: accesstoken.ErrSignature},
		{name: "signature with one character changed", token: edit(func(t string) string {
			h, p, s := segments(t)
			swap := "A"
			if s[10] == 'A' {
				swap = "B"
			}
			return h + "." + p + "." + s[:10] + swap + s[11:]
		}), want: accesstoken.ErrSignature},
		{name: "signature one byte short", token: edit(func(t string) string {
			h, p, s := segments(t)
			sig, _ := base64.RawURLEncoding.DecodeString(s)
			return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(sig[:len(sig)-1])
		}), want: accesstoken.ErrSignature},
		{name: "payload swapped under a valid signature", token: func(tb testing.TB, f fixture) string {
			h, _, s := segments(f.valid(tb))
			return h + "." + b64(c.with("roles", `["admin"]`).String()) + "." + s
		}, want: accesstoken.ErrSignature},

		// Issuer and audience.
		{name: "wrong iss", token: withClaims(c.with("iss", `"http://attacker.example"`)), want: accesstoken.ErrIssuer},
		{name: "iss with a trailing slash", token: withClaims(c.with("iss", strconv.Quote(testIssuer+"/"))), want: accesstoken.ErrIssuer},
		{name: "iss missing", token: withClaims(c.without("iss")), want: accesstoken.ErrInvalidClaims},
		{name: "aud as a string", token: withClaims(c.with("aud", `"medinsights"`)), want: nil},
		{name: "aud as an array with another audience", token: withClaims(c.with("aud", `["billing","medinsights"]`)), want: nil},
		{name: "wrong aud as a string", token: withClaims(c.with("aud", `"billing"`)), want: accesstoken.ErrAudience},
		{name: "wrong aud as an array", token: withClaims(c.with("aud", `["billing","MedInsights"]`)), want: accesstoken.ErrAudience},
		{name: "aud empty array", token: withClaims(c.with("aud", `[]`)), want: accesstoken.ErrInvalidClaims},
		{name: "aud missing", token: withClaims(c.without("aud")), want: accesstoken.ErrInvalidClaims},
		{name: "aud null", token: withClaims(c.with("aud", `null`)), want: accesstoken.ErrMalformed},
		{name: "aud a number", token: withClaims(c.with("aud", `1`)), want: accesstoken.ErrMalformed},
		{name: "aud array holding a number", token: withClaims(c.with("aud", `["medinsights",1]`)), want: accesstoken.ErrMalformed},

		// Time claims, with 30 s of leeway (RFC 7519 sections 4.1.4 to 4.1.6).
		{name: "exp within the leeway", at: testLifetime + testLeeway - time.Second, token: validToken, want: nil},
		{name: "exp at the end of the leeway", at: testLifetime + testLeeway, token: validToken, want: accesstoken.ErrExpired},
		{name: "exp long past", at: 24 * time.Hour, token: validToken, want: accesstoken.ErrExpired},
		{name: "nbf at the start of the leeway", at: -testLeeway, token: validToken, want: nil},
		{name: "nbf before the leeway", at: -testLeeway - time.Second, token: withClaims(c.with("iat", unix(iat.Add(-time.Hour)))), want: accesstoken.ErrNotYetValid},
		{name: "iat in the future within the leeway", token: withClaims(c.with("iat", unix(iat.Add(defaultAt+testLeeway)))), want: nil},
		{name: "iat in the future beyond the leeway", token: withClaims(c.with("iat", unix(iat.Add(defaultAt+testLeeway+time.Second)))), want: accesstoken.ErrNotYetValid},
		{name: "exp with a fraction", token: withClaims(c.with("exp", unix(exp)+".5")), want: nil},
		{name: "exp in exponent notation", token: withClaims(c.with("exp", strconv.FormatFloat(float64(exp.Unix()), 'e', -1, 64))), want: nil},
		{name: "exp as a string", token: withClaims(c.with("exp", strconv.Quote(unix(exp)))), want: accesstoken.ErrMalformed},
		{name: "exp null", token: withClaims(c.with("exp", `null`)), want: accesstoken.ErrMalformed},
		{name: "exp true", token: withClaims(c.with("exp", `true`)), want: accesstoken.ErrMalformed},
		{name: "exp beyond float64", token: withClaims(c.with("exp", `1e400`)), want: accesstoken.ErrMalformed},
		{name: "exp beyond year 9999", token: withClaims(c.with("exp", `1e300`)), want: accesstoken.ErrMalformed},
		{name: "exp negative", token: withClaims(c.with("exp", `-1`)), want: accesstoken.ErrMalformed},
		{name: "exp with a leading zero", token: withClaims(c.with("exp", "0"+unix(exp))), want: accesstoken.ErrMalformed},
		{name: "exp with a plus sign", token: withClaims(c.with("exp", "+"+unix(exp))), want: accesstoken.ErrMalformed},
		{name: "exp missing", token: withClaims(c.without("exp")), want: accesstoken.ErrInvalidClaims},
		{name: "nbf missing", token: withClaims(c.without("nbf")), want: accesstoken.ErrInvalidClaims},
		{name: "iat missing", token: withClaims(c.without("iat")), want: accesstoken.ErrInvalidClaims},
		{name: "iat as a string", token: withClaims(c.with("iat", `"now"`)), want: accesstoken.ErrMalformed},
		{name: "lifetime of exactly MaxLifetime", token: withClaims(c.with("exp", unix(iat.Add(testLifetime)))), want: nil},
		{name: "lifetime one second over MaxLifetime", token: withClaims(c.with("exp", unix(iat.Add(testLifetime+time.Second)))), want: accesstoken.ErrLifetime},
		{name: "lifetime of a year", token: withClaims(c.with("exp", unix(iat.Add(365*24*time.Hour)))), want: accesstoken.ErrLifetime},

		// The project's own required claims.
		{name: "sub missing", token: withClaims(c.without("sub")), want: accesstoken.ErrInvalidClaims},
		{name: "sub empty", token: withClaims(c.with("sub", `""`)), want: accesstoken.ErrInvalidClaims},
		{name: "sid missing", token: withClaims(c.without("sid")), want: accesstoken.ErrInvalidClaims},
		{name: "jti missing", token: withClaims(c.without("jti")), want: accesstoken.ErrInvalidClaims},
		// The issuer signs only UUIDs: a sid in another form could never be revoked.
		{name: "sub not a UUID", token: withClaims(c.with("sub", `"user-1"`)), want: accesstoken.ErrInvalidClaims},
		{name: "sub UUID in upper case", token: withClaims(c.with("sub", `"7F1C2A4E-0000-4000-8000-000000000001"`)), want: accesstoken.ErrInvalidClaims},
		{name: "sub UUID without hyphens", token: withClaims(c.with("sub", `"7f1c2a4e000040008000000000000001"`)), want: accesstoken.ErrInvalidClaims},
		{name: "sub UUID in braces", token: withClaims(c.with("sub", `"{7f1c2a4e-0000-4000-8000-000000000001}"`)), want: accesstoken.ErrInvalidClaims},
		{name: "sid empty", token: withClaims(c.with("sid", `""`)), want: accesstoken.ErrInvalidClaims},
		{name: "sid not a UUID", token: withClaims(c.with("sid", `"sid-1"`)), want: accesstoken.ErrInvalidClaims},
		{name: "sid UUID with a trailing character", token: withClaims(c.with("sid", `"0b6f3c8e-2222-4000-8000-0000000000031"`)), want: accesstoken.ErrInvalidClaims},
		{name: "sid UUID with a non-hex digit", token: withClaims(c.with("sid", `"0b6f3c8e-2222-4000-8000-00000000000g"`)), want: accesstoken.ErrInvalidClaims},
		{name: "sid hyphen misplaced", token: withClaims(c.with("sid", `"0b6f3c8e2-222-4000-8000-000000000003"`)), want: accesstoken.ErrInvalidClaims},
		{name: "sid the nil UUID", token: withClaims(c.with("sid", `"00000000-0000-0000-0000-000000000000"`)), want: nil},
		{name: "username missing", token: withClaims(c.without("username")), want: accesstoken.ErrInvalidClaims},
		{name: "roles missing", token: withClaims(c.without("roles")), want: nil},
		{name: "roles empty", token: withClaims(c.with("roles", `[]`)), want: nil},
		{name: "email_verified missing", token: withClaims(c.without("email_verified")), want: nil},

		// Claim names: encoding/json would accept all of these silently.
		{name: "sub twice", token: withClaims(c.plus("sub", `"00000000-0000-4000-8000-000000000000"`)), want: accesstoken.ErrMalformed},
		{name: "sub twice, once escaped", token: withClaims(c.plus(`s\u0075b`, `"00000000-0000-4000-8000-000000000000"`)), want: accesstoken.ErrMalformed},
		{name: "roles twice, once escaped in upper-case hex", token: withClaims(c.plus(`r\u006Fles`, `["admin"]`)), want: accesstoken.ErrMalformed},
		{name: "exp twice", token: withClaims(c.plus("exp", unix(exp.Add(time.Hour)))), want: accesstoken.ErrMalformed},
		{name: "sub name written with an escape", token: withClaims(c.rename("sub", `s\u0075b`)), want: nil},
		{name: "SUB in upper case", token: withClaims(c.rename("sub", "SUB")), want: accesstoken.ErrInvalidClaims},
		{name: "Exp capitalised", token: withClaims(c.rename("exp", "Exp")), want: accesstoken.ErrInvalidClaims},
		{name: "Roles beside roles", token: withClaims(c.plus("Roles", `["admin"]`)), want: accesstoken.ErrInvalidClaims},
		{name: "sub spelt with a long s (encoding/json folds it to sub)", token: withClaims(c.plus("\u017fub", `"x"`)), want: accesstoken.ErrInvalidClaims},
		{name: "unknown claim", token: withClaims(c.plus("admin", `true`)), want: accesstoken.ErrInvalidClaims},
		{name: "scope claim", token: withClaims(c.plus("scope", `"openid"`)), want: accesstoken.ErrInvalidClaims},
		{name: "empty claim name", token: withClaims(c.plus("", `""`)), want: accesstoken.ErrInvalidClaims},

		// Claim values: types and characters.
		{name: "sub with CR LF", token: withClaims(c.with("sub", `"user\r\nX-User-Roles: admin"`)), want: accesstoken.ErrMalformed},
		{name: "username with LF", token: withClaims(c.with("username", `"alice\n"`)), want: accesstoken.ErrMalformed},
		{name: "username with an escaped NUL", token: withClaims(c.with("username", `"alice\u0000"`)), want: accesstoken.ErrMalformed},
		{name: "role with a tab", token: withClaims(c.with("roles", `["pat\tient"]`)), want: accesstoken.ErrMalformed},
		{name: "jti with DEL", token: withClaims(c.with("jti", "\"j\x7f\"")), want: accesstoken.ErrMalformed},
		{name: "iss with a raw newline", token: withClaims(c.with("iss", "\"http://localhost:8001\n\"")), want: accesstoken.ErrMalformed},
		{name: "aud with a CR", token: withClaims(c.with("aud", `["medinsights\r"]`)), want: accesstoken.ErrMalformed},
		{name: "username with invalid UTF-8", token: withClaims(c.with("username", "\"alice\xff\"")), want: accesstoken.ErrMalformed},
		{name: "username with a lone surrogate", token: withClaims(c.with("username", `"alice\ud800"`)), want: accesstoken.ErrMalformed},
		{name: "username with a bad escape", token: withClaims(c.with("username", `"alice\x41"`)), want: accesstoken.ErrMalformed},
		{name: "username with a surrogate pair", token: withClaims(c.with("username", `"alice\ud83d\ude00"`)), want: nil},
		{name: "username with escaped slash and accents", token: withClaims(c.with("username", `"\u00e9lise\/r\u00e9"`)), want: nil},
		{name: "username with a line separator", token: withClaims(c.with("username", `"alice\u2028"`)), want: accesstoken.ErrInvalidClaims},
		{name: "role with a C1 control", token: withClaims(c.with("roles", `["patient\u0085"]`)), want: accesstoken.ErrInvalidClaims},
		{name: "sub with a comma", token: withClaims(c.with("sub", `"a,b"`)), want: accesstoken.ErrInvalidClaims},
		{name: "username with a comma", token: withClaims(c.with("username", `"alice,admin"`)), want: accesstoken.ErrInvalidClaims},
		{name: "role with a comma", token: withClaims(c.with("roles", `["patient,admin"]`)), want: accesstoken.ErrInvalidClaims},
		{name: "role empty", token: withClaims(c.with("roles", `["patient",""]`)), want: accesstoken.ErrInvalidClaims},
		{name: "role with a leading space", token: withClaims(c.with("roles", `[" admin"]`)), want: accesstoken.ErrInvalidClaims},
		{name: "username with a trailing space", token: withClaims(c.with("username", `"alice "`)), want: accesstoken.ErrInvalidClaims},
		{name: "roles a string", token: withClaims(c.with("roles", `"patient"`)), want: accesstoken.ErrMalformed},
		{name: "roles null", token: withClaims(c.with("roles", `null`)), want: accesstoken.ErrMalformed},
		{name: "roles an object", token: withClaims(c.with("roles", `{"patient":true}`)), want: accesstoken.ErrMalformed},
		{name: "roles holding a number", token: withClaims(c.with("roles", `["patient",1]`)), want: accesstoken.ErrMalformed},
		{name: "roles holding an array", token: withClaims(c.with("roles", `[["admin"]]`)), want: accesstoken.ErrMalformed},
		{name: "roles with a trailing comma", token: withClaims(c.with("roles", `["patient",]`)), want: accesstoken.ErrMalformed},
		{name: "sub a number", token: withClaims(c.with("sub", `42`)), want: accesstoken.ErrMalformed},
		{name: "sub an object", token: withClaims(c.with("sub", `{"id":"x"}`)), want: accesstoken.ErrMalformed},
		{name: "sid null", token: withClaims(c.with("sid", `null`)), want: accesstoken.ErrMalformed},
		{name: "email_verified a string", token: withClaims(c.with("email_verified", `"true"`)), want: accesstoken.ErrMalformed},
		{name: "email_verified a number", token: withClaims(c.with("email_verified", `1`)), want: accesstoken.ErrMalformed},

		// The payload as a whole.
		{name: "payload with white space", token: withPayload(" \n" + strings.ReplaceAll(c.String(), ",", " ,\t") + "\r\n"), want: nil},
		{name: "payload with data after the object", token: withPayload(c.String() + " x"), want: accesstoken.ErrMalformed},
		{name: "payload with a second object", token: withPayload(c.String() + "{}"), want: accesstoken.ErrMalformed},
		{name: "payload with a trailing comma", token: withPayload(c.String()[:len(c.String())-1] + ",}"), want: accesstoken.ErrMalformed},
		{name: "payload cut short", token: withPayload(c.String()[:len(c.String())-1]), want: accesstoken.ErrMalformed},
		{name: "payload an array", token: withPayload("[" + c.String() + "]"), want: accesstoken.ErrMalformed},
		{name: "payload a string", token: withPayload(strconv.Quote(c.String())), want: accesstoken.ErrMalformed},
		{name: "payload null", token: withPayload("null"), want: accesstoken.ErrMalformed},
		{name: "payload a number", token: withPayload("42"), want: accesstoken.ErrMalformed},
		{name: "payload an empty object", token: withPayload("{}"), want: accesstoken.ErrInvalidClaims},
		{name: "payload not JSON", token: withPayload("sub=alice"), want: accesstoken.ErrMalformed},
		{name: "payload with a byte order mark", token: withPayload("\ufeff" + c.String()), want: accesstoken.ErrMalformed},
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, tc := range parseCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := cmp.Or(tc.at, defaultAt)
			tok := tc.token(t, f)
			claims, err := f.parser(t, testNow.Add(at)).Parse(tok, f.keys)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v, want the token accepted", err)
				}
				if claims == nil {
					t.Fatal("Parse accepted the token but returned no claims")
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse error = %v, want %v", err, tc.want)
			}
			for _, s := range sentinels {
				if s != tc.want && errors.Is(err, s) {
					t.Errorf("Parse error = %v also matches %v", err, s)
				}
			}
			if claims != nil {
				t.Errorf("Parse refused the token but returned claims %+v", claims)
			}
			if tok != "" && strings.Contains(err.Error(), tok) || (len(tok) > 40 && strings.Contains(err.Error(), tok[len(tok)-40:])) {
				t.Errorf("error %q carries the token", err)
			}
		})
	}
}

func TestParseReturnsTheClaims(t *testing.T) {
	t.Parallel()
	f := setup(t)

	got, err := f.parser(t, testNow.Add(defaultAt)).Parse(f.valid(t), f.keys)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   "7f1c2a4e-0000-4000-8000-000000000001",
			Audience:  jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(nbf),
			IssuedAt:  jwt.NewNumericDate(iat),
			ID:        "0b6f3c8e-1111-4000-8000-000000000002",
		},
		SessionID:     "0b6f3c8e-2222-4000-8000-000000000003",
		Roles:         []string{"patient", "clinician"},
		Username:      "alice@example.org",
		EmailVerified: true,
	}
	if !sameClaims(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
}

func TestParseDecodesEscapes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name     string
		username string // raw JSON
		want     string
	}{
		{name: "plain", username: `"alice"`, want: "alice"},
		{name: "escaped solidus", username: `"a\/b"`, want: "a/b"},
		{name: "escaped quote", username: `"a\"b"`, want: `a"b`},
		{name: "escaped backslash", username: `"a\\b"`, want: `a\b`},
		{name: "two-byte UTF-8, raw", username: `"élise"`, want: "élise"},
		{name: "two-byte UTF-8, escaped", username: `"\u00e9lise"`, want: "élise"},
		{name: "three-byte UTF-8, escaped", username: `"\u6f22\u5b57"`, want: "漢字"},
		{name: "surrogate pair", username: `"\uD83D\uDE00"`, want: "😀"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := token(t, f.key, f.header(), validClaims().with("username", tc.username).String())
			claims, err := f.parser(t, testNow.Add(defaultAt)).Parse(tok, f.keys)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if claims.Username != tc.want {
				t.Errorf("Username = %q, want %q", claims.Username, tc.want)
			}
		})
	}
}

// TestParseAgreesWithSign checks the two halves of the contract meet: what
// Sign writes, Parse accepts unchanged.
func TestParseAgreesWithSign(t *testing.T) {
	t.Parallel()
	f := setup(t)
	want := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: testIssuer, Subject: "7f1c2a4e-0000-4000-8000-000000000001", Audience: jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(exp), NotBefore: jwt.NewNumericDate(nbf), IssuedAt: jwt.NewNumericDate(iat), ID: "jti-1",
		},
		SessionID: "0b6f3c8e-2222-4000-8000-000000000003", Roles: []string{"patient"}, Username: "élise+test@example.org", EmailVerified: false,
	}
	tok, err := accesstoken.Sign(f.key, f.kid, want)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	h, _, _ := segments(tok)
	header, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	if wantHeader := `{"alg":"RS256","kid":"` + f.kid + `","typ":"at+jwt"}`; string(header) != wantHeader {
		t.Errorf("header = %s, want %s", header, wantHeader)
	}
	if kid, err := accesstoken.KeyID(tok); err != nil || kid != f.kid {
		t.Errorf("KeyID = %q, %v; want %q", kid, err, f.kid)
	}
	got, err := f.parser(t, testNow.Add(defaultAt)).Parse(tok, f.keys)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !sameClaims(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name    string
		token   func(testing.TB, fixture) string
		wantKid string
		wantErr error
	}{
		{name: "the issuer's token", token: validToken, wantKid: f.kid},
		{name: "unknown kid, unverified", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"k-2"}`), wantKid: "k-2"},
		{name: "signature is not verified", token: func(tb testing.TB, f fixture) string {
			return token(tb, f.other, f.header(), validClaims().String())
		}, wantKid: f.kid},
		{name: "signature not canonical base64url", token: func(tb testing.TB, f fixture) string {
			h, p, s := segments(f.valid(tb))
			return h + "." + p + "." + nonCanonical(tb, s)
		}, wantErr: accesstoken.ErrMalformed},
		{name: "payload with a character outside base64url", token: edit(func(t string) string {
			h, p, s := segments(t)
			return h + "." + p[:4] + "+" + p[5:] + "." + s
		}), wantErr: accesstoken.ErrMalformed},
		{name: "signature with a line feed", token: edit(func(t string) string {
			h, p, s := segments(t)
			return h + "." + p + "." + s[:100] + "\n" + s[100:]
		}), wantErr: accesstoken.ErrMalformed},
		{name: "too long", token: sized(accesstoken.MaxTokenSize + 1), wantErr: accesstoken.ErrMalformed},
		{name: "two segments", token: edit(func(t string) string { h, p, _ := segments(t); return h + "." + p }), wantErr: accesstoken.ErrMalformed},
		{name: "duplicate kid", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","kid":"k-2"}`), wantErr: accesstoken.ErrMalformed},
		{name: "jku", token: withHeader(`{"alg":"RS256","typ":"at+jwt","kid":"%s","jku":"https://attacker.example"}`), wantErr: accesstoken.ErrHeader},
		{name: "alg HS256", token: hmacWithPublicKey, wantErr: accesstoken.ErrHeader},
		{name: "kid missing", token: withHeader(`{"alg":"RS256","typ":"at+jwt"}`), wantErr: accesstoken.ErrHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kid, err := accesstoken.KeyID(tc.token(t, f))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("KeyID error = %v, want %v", err, tc.wantErr)
			}
			if kid != tc.wantKid && tc.wantErr == nil {
				t.Errorf("KeyID = %q, want %q", kid, tc.wantKid)
			}
		})
	}
}

func TestNewParserRefusesIncompleteOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts accesstoken.Options
	}{
		{name: "no issuer", opts: accesstoken.Options{Audiences: []string{testAudience}}},
		{name: "no audience", opts: accesstoken.Options{Issuer: testIssuer}},
		{name: "empty audience", opts: accesstoken.Options{Issuer: testIssuer, Audiences: []string{""}}},
		{name: "negative leeway", opts: accesstoken.Options{Issuer: testIssuer, Audiences: []string{testAudience}, Leeway: -time.Second}},
		{name: "negative lifetime", opts: accesstoken.Options{Issuer: testIssuer, Audiences: []string{testAudience}, MaxLifetime: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if p, err := accesstoken.NewParser(tc.opts); err == nil || p != nil {
				t.Errorf("NewParser = %v, %v; want an error", p, err)
			}
		})
	}
}

func TestHeaderSafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "uuid", in: "7f1c2a4e-0000-4000-8000-000000000001", want: true},
		{name: "email", in: "alice+test@example.org", want: true},
		{name: "inner space", in: "Dr Who", want: true},
		{name: "accents", in: "élise", want: true},
		{name: "empty", in: "", want: false},
		{name: "comma", in: "a,b", want: false},
		{name: "CR", in: "a\rb", want: false},
		{name: "LF", in: "a\nb", want: false},
		{name: "NUL", in: "a\x00b", want: false},
		{name: "tab", in: "a\tb", want: false},
		{name: "DEL", in: "a\x7fb", want: false},
		{name: "C1 control", in: "a\u0085b", want: false},
		{name: "line separator", in: "a\u2028b", want: false},
		{name: "leading space", in: " a", want: false},
		{name: "trailing space", in: "a ", want: false},
		{name: "invalid UTF-8", in: "a\xffb", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := accesstoken.HeaderSafe(tc.in); got != tc.want {
				t.Errorf("HeaderSafe(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// sameClaims compares claims field by field, times by instant.
func sameClaims(a, b *accesstoken.Claims) bool {
	sameTime := func(x, y *jwt.NumericDate) bool {
		return x == nil && y == nil || x != nil && y != nil && x.Equal(y.Time)
	}
	ra, rb := a.RegisteredClaims, b.RegisteredClaims
	if !sameTime(ra.ExpiresAt, rb.ExpiresAt) || !sameTime(ra.NotBefore, rb.NotBefore) || !sameTime(ra.IssuedAt, rb.IssuedAt) {
		return false
	}
	ra.ExpiresAt, ra.NotBefore, ra.IssuedAt = nil, nil, nil
	rb.ExpiresAt, rb.NotBefore, rb.IssuedAt = nil, nil, nil
	x, y := *a, *b
	x.RegisteredClaims, y.RegisteredClaims = ra, rb
	return reflect.DeepEqual(x, y)
}
