package auth_test

import (
	"strings"
	"testing"

	"github.com/medinsights/auth/issuer/internal/auth"
)

func TestPasswordHashIsAnArgon2idPHCString(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPassword(auth.DefaultPasswordParams, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
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
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "plaintext", "$argon2id$v=19$m=x$a$b"} {
		if _, _, err := auth.VerifyPassword(auth.DefaultPasswordParams, bad, "pw"); err == nil {
			t.Errorf("%q accepted as a hash", bad)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		password, username, email string
		ok                        bool
	}{
		{"correct horse battery", "alice", "alice@example.org", true},
		{"short", "alice", "alice@example.org", false},
		{strings.Repeat("x", 129), "alice", "alice@example.org", false},
		{strings.Repeat("é", 12), "alice", "alice@example.org", true}, // characters, not bytes
		{"my name is ALICE!!", "alice", "a@example.org", false},
		{"i am zebra99 here", "bob", "Zebra99@example.org", false},
		{"ab is short local", "bob", "ab@example.org", true}, // local parts under 3 characters are not compared
	} {
		err := auth.CheckPassword("password", c.password, c.username, c.email)
		if (err == nil) != c.ok {
			t.Errorf("CheckPassword(%q, %q, %q) = %v, want ok=%v", c.password, c.username, c.email, err, c.ok)
		}
	}
}
