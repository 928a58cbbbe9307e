package accesstoken_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/medinsights/auth/internal/accesstoken"
)

// The example key of RFC 7638 section 3.1 and its thumbprint.
const (
	rfc7638N = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638E = "AQAB"
	// rfc7638Thumbprint is the base64url SHA-256 thumbprint RFC 7638
	// section 3.1 gives for that key.
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

func TestThumbprintMatchesRFC7638(t *testing.T) {
	t.Parallel()
	pub, err := accesstoken.JWK{Kty: "RSA", Alg: "RS256", Kid: "2011-04-29", N: rfc7638N, E: rfc7638E}.PublicKey()
	if err != nil {
		t.Fatalf("PublicKey: %v", err)
	}
	if got := accesstoken.Thumbprint(pub); got != rfc7638Thumbprint {
		t.Errorf("Thumbprint = %q, want %q", got, rfc7638Thumbprint)
	}
	want := accesstoken.JWK{Kty: "RSA", Use: "sig", Alg: "RS256", Kid: rfc7638Thumbprint, N: rfc7638N, E: rfc7638E}
	if got := accesstoken.NewJWK(pub); got != want {
		t.Errorf("NewJWK = %+v, want %+v", got, want)
	}
}

func TestNewJWKRoundTrips(t *testing.T) {
	t.Parallel()
	f := setup(t)
	doc, err := json.Marshal(accesstoken.NewJWKS(&f.key.PublicKey, &f.other.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if empty, _ := json.Marshal(accesstoken.NewJWKS()); string(empty) != `{"keys":[]}` {
		t.Errorf("an empty set is %s", empty)
	}
	for _, member := range []string{`"kty":"RSA"`, `"use":"sig"`, `"alg":"RS256"`, `"kid":"` + f.kid + `"`, `"e":"AQAB"`} {
		if !strings.Contains(string(doc), member) {
			t.Errorf("JWKS %s lacks %s", doc, member)
		}
	}
	set, err := accesstoken.ParseJWKS(doc)
	if err != nil {
		t.Fatalf("ParseJWKS: %v", err)
	}
	otherKid := accesstoken.Thumbprint(&f.other.PublicKey)
	if len(set) != 2 || !set[f.kid].Equal(&f.key.PublicKey) || !set[otherKid].Equal(&f.other.PublicKey) {
		t.Errorf("ParseJWKS = %v, want both keys under their thumbprints", set)
	}
}

// jwksWith is a JWKS document holding the issuer's key with fields changed
// by edit.
func jwksWith(f fixture, edit func(k *accesstoken.JWK)) string {
	k := accesstoken.NewJWK(&f.key.PublicKey)
	edit(&k)
	doc, _ := json.Marshal(accesstoken.JWKS{Keys: []accesstoken.JWK{k}})
	return string(doc)
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	f := setup(t)
	short := accesstoken.NewJWK(&rsa.PublicKey{N: new(big.Int).Rsh(f.key.N, 1), E: 65537}) // 2047 bits
	shortDoc, _ := json.Marshal(accesstoken.JWKS{Keys: []accesstoken.JWK{short}})
	good, _ := json.Marshal(accesstoken.NewJWK(&f.key.PublicKey))
	other := accesstoken.NewJWK(&f.other.PublicKey)
	other.Kid = f.kid
	otherUnderKid, _ := json.Marshal(other)

	tests := []struct {
		name     string
		doc      string
		wantKids []string
		wantErr  error // nil with wantKids nil means any non-sentinel error
	}{
		{name: "the issuer's key", doc: jwksWith(f, func(*accesstoken.JWK) {}), wantKids: []string{f.kid}},
		{name: "no use and no alg", doc: jwksWith(f, func(k *accesstoken.JWK) { k.Use, k.Alg = "", "" }), wantKids: []string{f.kid}},
		{name: "any kid", doc: jwksWith(f, func(k *accesstoken.JWK) { k.Kid = "2026-11" }), wantKids: []string{"2026-11"}},
		{name: "no keys", doc: `{"keys":[]}`, wantErr: accesstoken.ErrUnusableKey},
		{name: "the same key twice", doc: `{"keys":[` + string(good) + `,` + string(good) + `]}`, wantKids: []string{f.kid}},
		{name: "unknown members are ignored", doc: strings.Replace(jwksWith(f, func(*accesstoken.JWK) {}), `"kty"`, `"key_ops":["verify"],"kty"`, 1), wantKids: []string{f.kid}},
		{name: "two keys under one kid", doc: `{"keys":[` + string(good) + `,` + string(otherUnderKid) + `]}`, wantErr: accesstoken.ErrUnusableKey},
		{name: "kty EC", doc: jwksWith(f, func(k *accesstoken.JWK) { k.Kty = "EC" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "kty oct", doc: jwksWith(f, func(k *accesstoken.JWK) { k.Kty = "oct" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "kty in lower case", doc: jwksWith(f, func(k *accesstoken.JWK) { k.Kty = "rsa" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "use enc", doc: jwksWith(f, func(k *accesstoken.JWK) { k.Use = "enc" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "alg RS512", doc: jwksWith(f, func(k *accesstoken.JWK) { k.Alg = "RS512" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "alg HS256", doc: jwksWith(f, func(k *accesstoken.JWK) { k.Alg = "HS256" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "no kid", doc: jwksWith(f, func(k *accesstoken.JWK) { k.Kid = "" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "modulus of 2047 bits", doc: string(shortDoc), wantErr: accesstoken.ErrUnusableKey},
		{name: "no modulus", doc: jwksWith(f, func(k *accesstoken.JWK) { k.N = "" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "modulus in standard base64", doc: jwksWith(f, func(k *accesstoken.JWK) { k.N = strings.NewReplacer("-", "+", "_", "/").Replace(k.N) + "+/" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "modulus padded", doc: jwksWith(f, func(k *accesstoken.JWK) { k.N += "==" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "exponent 1", doc: jwksWith(f, func(k *accesstoken.JWK) { k.E = "AQ" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "exponent 2 (even)", doc: jwksWith(f, func(k *accesstoken.JWK) { k.E = "Ag" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "exponent 2^32+1", doc: jwksWith(f, func(k *accesstoken.JWK) { k.E = "AQAAAAE" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "no exponent", doc: jwksWith(f, func(k *accesstoken.JWK) { k.E = "" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "exponent not canonical", doc: jwksWith(f, func(k *accesstoken.JWK) { k.E = "AQB" }), wantErr: accesstoken.ErrUnusableKey},
		{name: "not JSON", doc: `keys: []`},
		{name: "keys not an array", doc: `{"keys":{}}`},
		{name: "no keys member", doc: `{}`},
		{name: "keys null", doc: `{"keys":null}`},
		{name: "a single JWK, not a set", doc: string(good)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set, err := accesstoken.ParseJWKS([]byte(tc.doc))
			if tc.wantKids != nil {
				if err != nil {
					t.Fatalf("ParseJWKS: %v", err)
				}
				if len(set) != len(tc.wantKids) {
					t.Fatalf("ParseJWKS gave %d keys, want %v", len(set), tc.wantKids)
				}
				for _, kid := range tc.wantKids {
					if _, ok := set.PublicKey(kid); !ok {
						t.Errorf("kid %q missing from %v", kid, set)
					}
				}
				return
			}
			if err == nil || set != nil {
				t.Fatalf("ParseJWKS = %v, %v; want an error", set, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("ParseJWKS error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && errors.Is(err, accesstoken.ErrUnusableKey) {
				t.Errorf("ParseJWKS error = %v, want a decoding error, not %v", err, accesstoken.ErrUnusableKey)
			}
		})
	}
}

// TestDecodeJWKSSkipsUnusableKeys: keys the gateway cannot use are left out
// and reported, and the usable ones are the set, so that an issuer
// publishing an EC or encryption key beside its signing key does not freeze
// the gateway on its last good set (withdrawn keys included).
func TestDecodeJWKSSkipsUnusableKeys(t *testing.T) {
	t.Parallel()
	f := setup(t)
	jwk := func(edit func(*accesstoken.JWK)) accesstoken.JWK {
		k := accesstoken.NewJWK(&f.other.PublicKey)
		edit(&k)
		return k
	}
	short := accesstoken.NewJWK(&rsa.PublicKey{N: new(big.Int).Rsh(f.key.N, 1), E: 65537})
	short.Kid = "short"
	doc, _ := json.Marshal(accesstoken.JWKS{Keys: []accesstoken.JWK{
		jwk(func(k *accesstoken.JWK) { k.Kty, k.Kid = "EC", "ec-1" }),
		accesstoken.NewJWK(&f.key.PublicKey),
		jwk(func(k *accesstoken.JWK) { k.Use, k.Kid = "enc", "enc-1" }),
		short,
		jwk(func(k *accesstoken.JWK) { k.Kid = "" }),
	}})
	set, skipped, err := accesstoken.DecodeJWKS(doc)
	if err != nil {
		t.Fatalf("DecodeJWKS: %v", err)
	}
	if _, ok := set.PublicKey(f.kid); !ok || len(set) != 1 {
		t.Errorf("set %v, want only the signing key %s", set, f.kid)
	}
	wantSkipped := []string{"ec-1", "enc-1", "short", ""}
	if len(skipped) != len(wantSkipped) {
		t.Fatalf("skipped %v, want kids %q", skipped, wantSkipped)
	}
	for i, sk := range skipped {
		if sk.Kid != wantSkipped[i] || !errors.Is(sk.Err, accesstoken.ErrUnusableKey) {
			t.Errorf("skipped[%d] = {%q, %v}, want {%q, %v}", i, sk.Kid, sk.Err, wantSkipped[i], accesstoken.ErrUnusableKey)
		}
	}
	if set2, err := accesstoken.ParseJWKS(doc); err != nil || len(set2) != 1 {
		t.Errorf("ParseJWKS = %v, %v; want the one usable key", set2, err)
	}

	// A kid shared by two different usable keys still fails the document.
	twice := accesstoken.NewJWK(&f.other.PublicKey)
	twice.Kid = f.kid
	doc, _ = json.Marshal(accesstoken.JWKS{Keys: []accesstoken.JWK{accesstoken.NewJWK(&f.key.PublicKey), jwk(func(k *accesstoken.JWK) { k.Kty = "EC" }), twice}})
	if set, _, err := accesstoken.DecodeJWKS(doc); err == nil || !errors.Is(err, accesstoken.ErrUnusableKey) {
		t.Errorf("DecodeJWKS with a kid naming two keys = %v, %v; want %v", set, err, accesstoken.ErrUnusableKey)
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pkix, err := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPKIX, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	shortPKIX, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).Rsh(f.key.N, 1), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}

	tests := []struct {
		name    string
		pem     string
		wantKey bool
		wantErr error // nil with wantKey false means any non-sentinel error
	}{
		{name: "PKIX", pem: block("PUBLIC KEY", pkix), wantKey: true},
		{name: "PKCS #1", pem: block("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&f.key.PublicKey)), wantKey: true},
		{name: "PKIX after other text", pem: "issuer key, 2026-11\n" + block("PUBLIC KEY", pkix), wantKey: true},
		{name: "EC key", pem: block("PUBLIC KEY", ecPKIX), wantErr: accesstoken.ErrUnusableKey},
		{name: "modulus of 2047 bits", pem: block("PUBLIC KEY", shortPKIX), wantErr: accesstoken.ErrUnusableKey},
		{name: "no PEM block", pem: "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"},
		{name: "empty", pem: ""},
		{name: "a private key", pem: block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.key))},
		{name: "a certificate block", pem: block("CERTIFICATE", pkix)},
		{name: "PKCS #1 bytes in a PKIX block", pem: block("PUBLIC KEY", x509.MarshalPKCS1PublicKey(&f.key.PublicKey))},
		{name: "garbage DER", pem: block("PUBLIC KEY", []byte("not DER"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pub, err := accesstoken.ParsePublicKeyPEM([]byte(tc.pem))
			if tc.wantKey {
				if err != nil {
					t.Fatalf("ParsePublicKeyPEM: %v", err)
				}
				if !pub.Equal(&f.key.PublicKey) {
					t.Errorf("ParsePublicKeyPEM returned another key")
				}
				return
			}
			if err == nil || pub != nil {
				t.Fatalf("ParsePublicKeyPEM = %v, %v; want an error", pub, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("ParsePublicKeyPEM error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && errors.Is(err, accesstoken.ErrUnusableKey) {
				t.Errorf("ParsePublicKeyPEM error = %v, want a decoding error, not %v", err, accesstoken.ErrUnusableKey)
			}
		})
	}
}
