package accesstoken_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/medinsights/auth/internal/accesstoken"
)

// seedTokens adds the issuer's token and every token of the Parse
// specification, refused or not, to the corpus.
func seedTokens(f *testing.F, fx fixture) {
	f.Helper()
	for _, tc := range parseCases() {
		if tok := tc.token(f, fx); len(tok) <= 2*accesstoken.MaxTokenSize {
			f.Add(tok)
		}
	}
	f.Add("")
	f.Add("..")
	f.Add(strings.Repeat("A", accesstoken.MaxTokenSize+1))
}

// refusedOnce checks the contract of every refusal: exactly one sentinel,
// and the token is not echoed.
func refusedOnce(t *testing.T, tok string, err error, allowed ...error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q wraps %d sentinels, want exactly one", err, n)
	}
	if len(allowed) > 0 {
		ok := false
		for _, s := range allowed {
			ok = ok || errors.Is(err, s)
		}
		if !ok {
			t.Fatalf("error %q is not one of %v", err, allowed)
		}
	}
	if len(tok) >= 16 && strings.Contains(err.Error(), tok) {
		t.Fatalf("error %q carries the token", err)
	}
}

// FuzzParse feeds Parse arbitrary strings. It must never panic; a refusal
// wraps exactly one sentinel; an accepted token must carry a valid RS256
// signature by the issuer's key over its first two segments, a header that
// encoding/json reads as exactly {alg: RS256, typ, kid}, claims that
// encoding/json decodes to the same values, and header-safe identity claims.
func FuzzParse(f *testing.F) {
	fx := setup(f)
	seedTokens(f, fx)
	p := fx.parser(f, testNow.Add(defaultAt))

	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := p.Parse(tok, fx.keys)
		if err != nil {
			if claims != nil {
				t.Fatalf("Parse refused with %v but returned claims", err)
			}
			refusedOnce(t, tok, err)
			return
		}

		h, payload, sig := segments(tok)
		rawSig, err := base64.RawURLEncoding.Strict().DecodeString(sig)
		if err != nil {
			t.Fatalf("accepted a signature that is not canonical base64url: %v", err)
		}
		digest := sha256.Sum256([]byte(h + "." + payload))
		if err := rsa.VerifyPKCS1v15(&fx.key.PublicKey, crypto.SHA256, digest[:], rawSig); err != nil {
			t.Fatalf("accepted a token whose signature does not verify: %v", err)
		}

		header := decodeJSON[map[string]any](t, h)
		if len(header) != 3 || header["alg"] != "RS256" || header["kid"] != fx.kid {
			t.Fatalf("accepted header %v", header)
		}
		if typ, _ := header["typ"].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
			t.Fatalf("accepted typ %q", typ)
		}
		if kid, err := accesstoken.KeyID(tok); err != nil || kid != fx.kid {
			t.Fatalf("KeyID = %q, %v on an accepted token", kid, err)
		}

		reference := decodeJSON[accesstoken.Claims](t, payload)
		if !sameClaims(claims, &reference) {
			t.Fatalf("Parse = %+v, encoding/json reads %+v", claims, reference)
		}
		if !accesstoken.HeaderSafe(claims.Subject) || !accesstoken.HeaderSafe(claims.Username) {
			t.Fatalf("accepted sub %q, username %q", claims.Subject, claims.Username)
		}
		for _, r := range claims.Roles {
			if !accesstoken.HeaderSafe(r) {
				t.Fatalf("accepted role %q", r)
			}
		}
	})
}

// FuzzKeyID feeds KeyID arbitrary strings. Headers need no signature, so
// the fuzzer reaches every corner of the strict header scanner here; what it
// accepts must mean the same to encoding/json: an object of exactly alg
// RS256, typ and a non-empty kid, which is the kid returned.
func FuzzKeyID(f *testing.F) {
	fx := setup(f)
	seedTokens(f, fx)
	for _, h := range []string{
		`{"alg":"RS256","typ":"at+jwt","kid":"k"}`,
		`{"kid":"k","typ":"AT+JWT","alg":"RS256"}`,
		`{"alg":"RS256","typ":"application/at+jwt","kid":"\u006b\ud83d\ude00"}`,
		`{"alg":"RS256","typ":"at+jwt","kid":"k","kid":"k2"}`,
		`{"alg":"RS256","typ":"at+jwt","k\u0069d":"k","kid":"k2"}`,
		`{"alg":"RS256","typ":"at+jwt","KID":"k"}`,
		`{"alg":"RS256","typ":"at+jwt","kid":"k\ud800"}`,
		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k\xff\"}",
		` { "alg" : "RS256" , "typ" : "at+jwt" , "kid" : "k" } `,
	} {
		f.Add(b64(h) + ".e30.AAAA")
	}

	f.Fuzz(func(t *testing.T, tok string) {
		kid, err := accesstoken.KeyID(tok)
		if err != nil {
			if kid != "" {
				t.Fatalf("KeyID refused with %v but returned %q", err, kid)
			}
			refusedOnce(t, tok, err, accesstoken.ErrMalformed, accesstoken.ErrHeader)
			return
		}
		if len(tok) > accesstoken.MaxTokenSize || strings.Count(tok, ".") != 2 {
			t.Fatalf("accepted a token of %d bytes and %d dots", len(tok), strings.Count(tok, "."))
		}
		h, _, _ := segments(tok)
		header := decodeJSON[map[string]any](t, h)
		if len(header) != 3 || header["alg"] != "RS256" || header["kid"] != kid || kid == "" {
			t.Fatalf("KeyID = %q for header %v", kid, header)
		}
		if !duplicateFree(t, h) {
			t.Fatalf("accepted a header with a duplicate name: %v", header)
		}
	})
}

// decodeJSON is the reference reading of a segment: encoding/json.
func decodeJSON[T any](t *testing.T, seg string) T {
	t.Helper()
	var v T
	raw, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		t.Fatalf("accepted a segment that is not canonical base64url: %v", err)
	}
	if !json.Valid(raw) {
		t.Fatalf("accepted invalid JSON %q", raw)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("accepted JSON that encoding/json refuses: %v", err)
	}
	return v
}

// duplicateFree reports whether the top-level names of a JSON object
// segment, unescaped by encoding/json, are all distinct.
func duplicateFree(t *testing.T, seg string) bool {
	t.Helper()
	raw, _ := base64.RawURLEncoding.DecodeString(seg)
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		name := tok.(string)
		if seen[name] {
			return false
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return true
}
