//go:build linux

package accesstoken_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/medinsights/auth/internal/cputime"
)

// BenchmarkParseVsRSAVerifyCPU is BenchmarkParseVsRSAVerify measured in
// thread CPU time, in alternating blocks, so that other processes on a
// shared machine do not count: parse/rsa-cpu is the ratio of the CPU time
// of one Parse of a first-seen token to that of one bare RSA-2048
// verification.
func BenchmarkParseVsRSAVerifyCPU(b *testing.B) {
	key, token, p, keys := benchSetup(b)
	digest := sha256.Sum256([]byte("header.payload"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	parse, verify := cputime.Alternate(b, 20, func() {
		if _, err := p.Parse(token, keys); err != nil {
			b.Fatal(err)
		}
	}, func() {
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(parse/verify, "parse/rsa-cpu")
	b.ReportMetric(parse-verify, "overhead-cpu-ns/op")
}
