package auth_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/store"
)

// BenchmarkImportDjango100k imports a Django user table of 100,000 rows
// (pbkdf2_sha256 hashes at 720000 iterations, as Django 5.0 writes them;
// importing parses a hash, it never computes one) into an empty issuer:
// reading the source, checking every row and writing every user, as
// `issuer users import-django` does. The goal is under 60 s.
func BenchmarkImportDjango100k(b *testing.B) {
	const rows = 100_000
	ctx := context.Background()
	source := testdb.New(b)
	issuertest.Exec(b, source, `
		CREATE TABLE authentication_user (
			id bigint PRIMARY KEY, password varchar(128) NOT NULL, last_login timestamptz,
			is_superuser boolean NOT NULL, username varchar(150) NOT NULL UNIQUE,
			first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL, email varchar(254) NOT NULL,
			is_staff boolean NOT NULL, is_active boolean NOT NULL, date_joined timestamptz NOT NULL,
			email_verified boolean NOT NULL);
		INSERT INTO authentication_user
		SELECT i, 'pbkdf2_sha256$720000$' || substr(md5(i::text), 1, 22) || '$eDupbcisD1UuIiou3hMuMu8oe/XwnpDw45r6AA5iv0E=',
			now() - i * interval '1 minute', i % 1000 = 0, 'user' || i, 'First' || i, 'Last' || i, 'user' || i || '@example.org',
			i % 100 = 0, i % 50 <> 0, now() - i * interval '1 hour', i % 2 = 0
		FROM generate_series(1, 100000) AS i`)
	var took time.Duration
	for range b.N {
		b.StopTimer()
		is := issuertest.New(b, issuertest.Options{})
		b.StartTimer()
		start := time.Now()
		got, err := store.ReadDjangoUsers(ctx, source, "authentication_user")
		if err != nil {
			b.Fatal(err)
		}
		rep, err := is.Auth.ImportDjango(ctx, "authentication_user", got, false)
		if err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		if rep.Imported != rows {
			b.Fatalf("imported %d of %d (refused %d)", rep.Imported, rows, len(rep.Refused))
		}
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "s/100k-users")
}

// BenchmarkLoginDjangoHash is the first login of an imported user, for
// each Django format at Django's default cost, beside a login with the
// issuer's own argon2id (DefaultPasswordParams): the legacy hash verified,
// replaced by an argon2id hash and the session created, in the service
// (no HTTP). Each iteration puts the Django hash back first, untimed.
func BenchmarkLoginDjangoHash(b *testing.B) {
	var vectors []djangoVector
	readJSON(b, "testdata/django/hashers.json", &vectors)
	encoded := map[string]djangoVector{}
	for _, v := range vectors {
		encoded[v.Hasher] = v
	}
	is := issuertest.New(b, issuertest.Options{Password: auth.DefaultPasswordParams})
	is.Register(b, "alice", "correct horse battery")
	ctx := context.Background()
	u, err := is.Store.UserGetByUsername(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	argon2id := u.PasswordHash
	for _, c := range []struct{ name, hasher string }{
		{"argon2id-issuer", ""},
		{"pbkdf2_sha256-720000", "pbkdf2_sha256_django50"},
		{"pbkdf2_sha256-260000", "pbkdf2_sha256_django32"},
		{"pbkdf2_sha1-720000", "pbkdf2_sha1_django50"},
		{"argon2id-django", "argon2id_django_default"},
		{"argon2i-django", "argon2i_default"},
		{"bcrypt_sha256-12", "bcrypt_sha256_default"},
		{"bcrypt-12", "bcrypt_default"},
		{"scrypt-16384-8-1", "scrypt_default"},
	} {
		b.Run(c.name, func(b *testing.B) {
			hash, password := argon2id, "correct horse battery"
			if c.hasher != "" {
				v, ok := encoded[c.hasher]
				if !ok {
					b.Fatalf("no vector %s", c.hasher)
				}
				hash, password = v.Encoded, v.Password
			}
			var cpu time.Duration
			for range b.N {
				b.StopTimer()
				if _, err := is.Store.UserSetPasswordHash(ctx, u.ID, hash, time.Now()); err != nil {
					b.Fatal(err)
				}
				start := processCPU(b)
				b.StartTimer()
				if _, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: password}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += processCPU(b) - start
				b.StartTimer()
			}
			// The CPU the login spent in this process (the hashing, mostly),
			// which the machine's load does not inflate as it does ns/op.
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
