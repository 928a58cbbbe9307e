package signer_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/issuer/internal/signer"
)

func TestGenerateWritesAKeyPairWithSafeModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	priv, pub, err := signer.Generate(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{priv: 0o600, pub: 0o644} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != mode {
			t.Fatalf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, mode)
		}
	}
	if _, _, err := signer.Generate(dir, false); err == nil {
		t.Fatal("Generate overwrote an existing key without --force")
	}
	s, err := signer.Load(priv, pub, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Keys()[s.KeyID()] == nil || len(s.JWKS().Keys) != 1 || s.JWKS().Keys[0].Kid != s.KeyID() {
		t.Fatalf("jwks %+v", s.JWKS())
	}
}

func TestLoadAcceptsPKCS1AndPKCS8AndChecksThePublicKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := write("pkcs1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	p8 := write("pkcs8.pem", "PRIVATE KEY", pkcs8)
	a, err1 := signer.Load(p1, "", "")
	b, err2 := signer.Load(p8, "", "")
	if err1 != nil || err2 != nil || a.KeyID() != b.KeyID() || a.KeyID() != accesstoken.Thumbprint(&key.PublicKey) {
		t.Fatalf("pkcs1 %v, pkcs8 %v", err1, err2)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherPub, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	if _, err := signer.Load(p1, write("other.pub", "PUBLIC KEY", otherPub), ""); err == nil {
		t.Fatal("a public key that is not the private key's own was accepted")
	}
	if _, err := signer.Load(filepath.Join(dir, "missing.pem"), "", ""); err == nil {
		t.Fatal("a missing key file was accepted")
	}
}

// A retired key is published and verifies the tokens it signed, so a key
// can be replaced with no downtime.
func TestRetiredKeysArePublishedAndVerify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	oldPriv, _, err := signer.Generate(filepath.Join(dir, "old"), false)
	if err != nil {
		t.Fatal(err)
	}
	newPriv, _, err := signer.Generate(filepath.Join(dir, "new"), false)
	if err != nil {
		t.Fatal(err)
	}
	old, err := signer.Load(oldPriv, "", "")
	if err != nil {
		t.Fatal(err)
	}
	retired := filepath.Join(dir, "retired")
	if err := os.MkdirAll(retired, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "old", "public.pem"), filepath.Join(retired, "old.pem")); err != nil {
		t.Fatal(err)
	}
	cur, err := signer.Load(newPriv, "", retired)
	if err != nil {
		t.Fatal(err)
	}
	if len(cur.JWKS().Keys) != 2 || cur.JWKS().Keys[0].Kid != cur.KeyID() {
		t.Fatalf("jwks %+v: want the signing key first, then the retired one", cur.JWKS())
	}
	now := time.Now()
	token, err := old.Sign(&accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: "i", Subject: "7f1c2a4e-0000-4000-8000-000000000001", Audience: jwt.ClaimStrings{"a"}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ID: "j"},
		SessionID: "0b6f3c8e-2222-4000-8000-000000000003", Roles: []string{}, Username: "u",
	})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := accesstoken.NewParser(accesstoken.Options{Issuer: "i", Audiences: []string{"a"}})
	if _, err := p.Parse(token, cur.Keys()); err != nil {
		t.Fatalf("token of the retired key refused: %v", err)
	}
}
