package auth_test

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/blocklist"
	"github.com/medinsights/auth/issuer/internal/issuertest"
)

func TestPasswordHashIsAnArgon2idPHCString(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPassword(auth.DefaultPasswordParams, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=12288,t=3,p=1$") {
		t.Fatalf("hash %s", h)
	}
	ok, rehash, err := auth.VerifyPassword(auth.DefaultPasswordParams, h, "correct horse battery staple")
	if !ok || rehash || err != nil {
		t.Fatalf("verify: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	if ok, _, _ := auth.VerifyPassword(auth.DefaultPasswordParams, h, "correct horse battery stapler"); ok {
		t.Fatal("a wrong password verified")
	}
	weak, _ := auth.HashPassword(auth.PasswordParams{Memory: 64, Time: 1, Threads: 1}, "pw")
	if ok, rehash, _ := auth.VerifyPassword(auth.DefaultPasswordParams, weak, "pw"); !ok || !rehash {
		t.Fatalf("a hash with weaker parameters: ok=%v rehash=%v", ok, rehash)
	}
	// A hash of an equivalent profile (the issuer's default before 12 MiB)
	// converges on the configured one too, and so does a costlier one: the
	// configuration is the policy.
	for _, other := range []auth.PasswordParams{{Memory: 19456, Time: 2, Threads: 1}, {Memory: 12288, Time: 4, Threads: 1}} {
		h, _ := auth.HashPassword(other, "pw")
		if ok, rehash, _ := auth.VerifyPassword(auth.DefaultPasswordParams, h, "pw"); !ok || !rehash {
			t.Fatalf("a hash with parameters %+v: ok=%v rehash=%v", other, ok, rehash)
		}
	}
	for _, bad := range []string{
		"", "$argon2i$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "plaintext", "$argon2id$v=19$m=x$a$b",
		// Costs over MaxPasswordParams: refused before any memory is taken
		// (4 GiB here, or a million passes).
		"$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=12288,t=1000000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if _, _, err := auth.VerifyPassword(auth.DefaultPasswordParams, bad, "pw"); err == nil {
			t.Errorf("%q accepted as a hash", bad)
		}
	}
}

// PasswordParams.Check holds every setting to OWASP's table of argon2id
// minimums, and accepts each row of it.
func TestPasswordParamsCheck(t *testing.T) {
	t.Parallel()
	for _, ok := range []auth.PasswordParams{
		auth.DefaultPasswordParams,
		{Memory: 47104, Time: 1, Threads: 1}, {Memory: 19456, Time: 2, Threads: 1}, {Memory: 12288, Time: 3, Threads: 1},
		{Memory: 9216, Time: 4, Threads: 1}, {Memory: 7168, Time: 5, Threads: 1}, {Memory: 65536, Time: 3, Threads: 4},
	} {
		if err := ok.Check(); err != nil {
			t.Errorf("%+v refused: %v", ok, err)
		}
	}
	for _, bad := range []auth.PasswordParams{
		{Memory: 12288, Time: 2, Threads: 1}, {Memory: 19456, Time: 1, Threads: 1}, {Memory: 4096, Time: 10, Threads: 1},
		{Memory: 12288, Time: 3, Threads: 0}, {Memory: 2 << 20, Time: 1, Threads: 1}, {Memory: 12288, Time: 101, Threads: 1},
	} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// The password policy of registration, change and reset: lengths, the
// account's own names, zxcvbn with a field message that says why, and the
// breached-password list.
func TestCheckPassword(t *testing.T) {
	t.Parallel()
	list := compileBlocklist(t, "Tr0ub4dor&3xyz!\nan exposed but long passphrase\n")
	svc := issuertest.New(t, issuertest.Options{Blocklist: list}).Auth
	alice := auth.Account{Username: "alice", Email: "alice@example.org", FirstName: "Alice", LastName: "Liddell"}
	for _, c := range []struct {
		name, password string
		account        auth.Account
		code           string // "" : accepted
		message        string // part of the field message
	}{
		{name: "unrelated words", password: "correct horse battery staple", account: alice},
		{name: "characters, not bytes", password: "éèêëēėęÿûüùú", account: alice},
		{name: "short", password: "short", account: alice, code: "validation_failed", message: "at least 12 characters"},
		{name: "long", password: strings.Repeat("x", 129), account: alice, code: "validation_failed", message: "at most 128 characters"},
		{name: "contains the username", password: "my name is ALICE!!", account: alice, code: "validation_failed", message: "must not contain the username"},
		{name: "contains the local part", password: "i am zebra99 here", account: auth.Account{Username: "bob", Email: "Zebra99@example.org"}, code: "validation_failed", message: "must not contain the e-mail address"},
		{name: "local parts under 3 characters are not compared", password: "ab is short local", account: auth.Account{Username: "bob", Email: "ab@example.org"}},
		{name: "common word with digits", password: "government73", account: alice, code: "validation_failed", message: "is too easy to guess: a common word with digits"},
		{name: "common password", password: "password1234", account: alice, code: "validation_failed", message: "a common password"},
		{name: "keyboard pattern", password: "qwertyuiop[]", account: alice, code: "validation_failed", message: "a keyboard pattern"},
		{name: "repeated characters", password: "aaaaaaaaaaaaaaaa", account: alice, code: "validation_failed", message: "repeated characters"},
		{name: "the account's last name and a year", password: "Liddell2019!", account: alice, code: "validation_failed", message: "your username, e-mail address or name"},
		{name: "the service's name", password: "medinsights2024", account: alice, code: "validation_failed", message: "the name of this service"},
		{name: "zxcvbn judges the first 64 characters", password: strings.Repeat("a", 64) + "Xq7#pL9!vR2@", account: alice, code: "validation_failed", message: "repeated characters"},
		{name: "on the breached list", password: "an exposed but long passphrase", account: alice, code: auth.CodePasswordBreached, message: "data breaches"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := svc.CheckPassword("password", c.password, c.account)
			var v *auth.ValidationError
			switch {
			case c.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.code == "":
				return
			case !errors.As(err, &v):
				t.Fatalf("err %v, want a ValidationError", err)
			}
			if code := cmp.Or(v.Code, "validation_failed"); code != c.code {
				t.Errorf("code %q, want %q", code, c.code)
			}
			if msgs := strings.Join(v.Fields["password"], "; "); !strings.Contains(msgs, c.message) || strings.Contains(msgs, c.password) {
				t.Errorf("message %q, want it to say %q (and never the password)", msgs, c.message)
			}
		})
	}
}

// compileBlocklist compiles plain passwords, one a line, into a blocklist
// file and opens it.
func compileBlocklist(t testing.TB, passwords string) *blocklist.List {
	t.Helper()
	path := filepath.Join(t.TempDir(), "blocklist.bin")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocklist.Compile(strings.NewReader(passwords), out); err != nil {
		t.Fatal(err)
	}
	_ = out.Close()
	l, err := blocklist.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// BenchmarkCheckPassword is the whole policy check of a good passphrase and
// of a 128-character one (zxcvbn's cost grows with the length; it reads 64
// characters at most). cpu-ns/op is the steadier figure on a shared
// machine.
func BenchmarkCheckPassword(b *testing.B) {
	svc := issuertest.New(b, issuertest.Options{}).Auth
	alice := auth.Account{Username: "alice", Email: "alice@example.org", FirstName: "Alice", LastName: "Liddell"}
	for name, pw := range map[string]string{
		"28-chars":  "correct horse battery staple",
		"128-chars": strings.Repeat("correct horse battery staple ", 5)[:128],
	} {
		b.Run(name, func(b *testing.B) {
			cpu := processCPU(b)
			for b.Loop() {
				_ = svc.CheckPassword("password", pw, alice)
			}
			b.ReportMetric(float64((processCPU(b)-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
