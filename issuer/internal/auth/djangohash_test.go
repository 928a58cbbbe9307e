package auth_test

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/medinsights/auth/issuer/internal/auth"
)

// djangoVector is one make_password output of a real Django
// (testdata/django/hashers.json, written by scripts/django-vectors).
type djangoVector struct {
	Hasher   string `json:"hasher"`
	Password string `json:"password"`
	Encoded  string `json:"encoded"`
}

func readJSON(t testing.TB, path string, dst any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, dst); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// unverified are the Django hashers the issuer does not verify: their users
// are imported without a usable password.
var unverified = map[string]bool{"md5": true, "sha1": true, "unsalted_md5": true, "unsalted_sha1": true, "crypt": true}

func TestDjangoHashersVectors(t *testing.T) {
	t.Parallel()
	var vectors []djangoVector
	readJSON(t, "testdata/django/hashers.json", &vectors)
	seen := map[string]bool{}
	for _, v := range vectors {
		seen[v.Hasher] = true
		t.Run(v.Hasher+"/"+v.Password, func(t *testing.T) {
			t.Parallel()
			checkDjangoVector(t, v.Encoded, v.Password, unverified[v.Hasher])
		})
	}
	for _, h := range []string{"pbkdf2_sha256_django50", "pbkdf2_sha1", "argon2id", "argon2i", "bcrypt_sha256", "bcrypt", "scrypt"} {
		if !seen[h] {
			t.Errorf("no vector for %s", h)
		}
	}
}

// TestDjangoPublishedVectors checks the vectors Django's own test suite
// publishes (tests/auth_tests/test_hashers.py; the 720000-iteration one is
// Django 5.0's test_pbkdf2).
func TestDjangoPublishedVectors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		encoded, password string
		unusable          bool
	}{
		{encoded: "pbkdf2_sha256$720000$seasalt$eDupbcisD1UuIiou3hMuMu8oe/XwnpDw45r6AA5iv0E=", password: "lètmein"},
		{encoded: "pbkdf2_sha256$600000$seasalt2$OSllgFdJjYQjb0RfMzrx8u0XYl4Fkt+wKpI1yq4lZlo=", password: "lètmein"},
		{encoded: "pbkdf2_sha1$600000$seasalt2$2CLsaL1MZhq6JOG6QOHtVbiopHE=", password: "lètmein"},
		{encoded: "scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==", password: "lètmein"},
		{encoded: "scrypt$16384$seasalt$8$5$ECMIUp+LMxMSK8xB/IVyba+KYGTI7FTnet025q/1f/vBAVnnP3hdYqJuRi+mJn6ji6ze3Fbb7JEFPKGpuEf5vw==", password: "lètmein"},
		{encoded: "argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", password: "secret"},
		// argon2 version 16 (no "v="), md5, unsalted md5 and sha1, crypt:
		// formats the issuer does not verify.
		{encoded: "argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg", password: "secret", unusable: true},
		{encoded: "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3", password: "lètmein", unusable: true},
		{encoded: "88a434c88cca4e900f7874cd98123f43", password: "lètmein", unusable: true},
		{encoded: "sha1$$6d138ca3ae545631b3abd71a4f076ce759c5700b", password: "lètmein", unusable: true},
		{encoded: "crypt$$ab1Hv2Lg7ltQo", password: "lètmei", unusable: true},
	} {
		t.Run(c.encoded[:strings.IndexAny(c.encoded+"$", "$")], func(t *testing.T) {
			t.Parallel()
			checkDjangoVector(t, c.encoded, c.password, c.unusable)
		})
	}
}

// checkDjangoVector asserts that encoded verifies password and nothing
// else, and asks for a rehash; or, when unusable, that the issuer refuses to
// verify it and CheckDjangoHash says it has no usable password.
func checkDjangoVector(t *testing.T, encoded, password string, unusable bool) {
	t.Helper()
	_, err := auth.CheckDjangoHash(encoded)
	if unusable {
		if !errors.Is(err, auth.ErrNoUsablePassword) {
			t.Fatalf("CheckDjangoHash: %v, want ErrNoUsablePassword", err)
		}
		if ok, _, _ := auth.VerifyPassword(auth.DefaultPasswordParams, encoded, password); ok {
			t.Fatal("a hash the issuer does not verify matched")
		}
		return
	}
	if err != nil {
		t.Fatalf("CheckDjangoHash: %v", err)
	}
	ok, rehash, err := auth.VerifyPassword(auth.DefaultPasswordParams, encoded, password)
	if !ok || !rehash || err != nil {
		t.Fatalf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	// Not password+"z": plain bcrypt reads 72 bytes, in Django as here.
	for _, wrong := range []string{"z" + password, ""} {
		if wrong == password {
			continue
		}
		if ok, _, err := auth.VerifyPassword(auth.DefaultPasswordParams, encoded, wrong); ok || err != nil {
			t.Fatalf("wrong password %q: ok=%v err=%v", wrong, ok, err)
		}
	}
}

// TestDjangoHashMalformed: a hash malformed for its own algorithm is refused
// with a reason that names what is wrong and never echoes the hash.
func TestDjangoHashMalformed(t *testing.T) {
	t.Parallel()
	const key32 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	for _, c := range []struct{ name, encoded, reason string }{
		{"pbkdf2 iterations not a number", "pbkdf2_sha256$12x$salt$" + key32, "bad iteration count"},
		{"pbkdf2 zero iterations", "pbkdf2_sha256$0$salt$" + key32, "iteration count outside"},
		{"pbkdf2 absurd iterations", "pbkdf2_sha256$2000000000$salt$" + key32, "iteration count outside"},
		{"pbkdf2 bad base64", "pbkdf2_sha256$1000$salt$not*base64", "bad base64"},
		{"pbkdf2 digest of the wrong length", "pbkdf2_sha256$1000$salt$AAAA", "bad base64"},
		{"pbkdf2 missing field", "pbkdf2_sha1$1000$" + key32, "want iterations$salt$hash"},
		{"pbkdf2 empty salt", "pbkdf2_sha256$1000$$" + key32, "bad salt"},
		{"argon2 absurd memory", "argon2$argon2id$v=19$m=4194304,t=2,p=8$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", "memory cost outside"},
		{"argon2 absurd passes", "argon2$argon2id$v=19$m=1024,t=1000,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", "time cost outside"},
		{"argon2 memory below 8 per lane", "argon2$argon2id$v=19$m=8,t=1,p=2$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", "memory cost outside"},
		{"argon2 bad parameters", "argon2$argon2id$v=19$m=8;t=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", "bad parameters"},
		{"argon2 bad salt", "argon2$argon2id$v=19$m=8,t=1,p=1$!!$YC9+jJCrQhs5R6db7LlN8Q", "bad base64 salt"},
		{"argon2 unknown variant", "argon2$argon2x$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", "unknown variant"},
		{"bcrypt absurd cost", "bcrypt$$2b$31$Kvj4IY6s8JXIWh.PVwx98.itaGgc8BEuvfF8C2AAjsqSvJHMHQCAW", "cost outside"},
		{"bcrypt truncated", "bcrypt_sha256$$2b$12$Kvj4IY6s8JXIWh.PVwx98.itaGgc8BEuv", "want $2b$NN$"},
		{"scrypt N not a power of 2", "scrypt$1000$salt$8$1$" + key32, "not a power of 2"},
		{"scrypt absurd cost", "scrypt$1048576$salt$8$1$" + key32, "N·r·p above"},
		{"scrypt absurd work factor", "scrypt$4194304$salt$1$1$" + key32, "work factor outside"},
		{"scrypt absurd parallelism", "scrypt$16384$salt$8$64$" + key32, "N·r·p above"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.CheckDjangoHash(c.encoded)
			if err == nil || errors.Is(err, auth.ErrNoUsablePassword) {
				t.Fatalf("CheckDjangoHash: %v, want a malformed hash", err)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Errorf("reason %q, want it to say %q", err, c.reason)
			}
			if i := strings.LastIndex(c.encoded, "$"); strings.Contains(err.Error(), c.encoded[i:]) {
				t.Errorf("reason %q echoes the hash", err)
			}
			if ok, _, err := auth.VerifyPassword(auth.DefaultPasswordParams, c.encoded, "pw"); ok || err == nil {
				t.Errorf("VerifyPassword: ok=%v err=%v", ok, err)
			}
		})
	}
}

// FuzzDjangoHash: no input crashes the parser or the verifier, and no
// input both parses as unusable and verifies.
func FuzzDjangoHash(f *testing.F) {
	var vectors []djangoVector
	readJSON(f, "testdata/django/hashers.json", &vectors)
	for _, v := range vectors {
		if !strings.Contains(v.Hasher, "_django") && !strings.HasSuffix(v.Hasher, "_default") { // full cost: too slow to fuzz
			if !cheapEnough(v.Encoded) {
				f.Fatalf("seed %s would be skipped as too costly", v.Encoded)
			}
			f.Add(v.Encoded, v.Password)
		}
	}
	f.Add("!unusable", "")
	f.Add("argon2$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", "secret")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		if !cheapEnough(encoded) {
			return
		}
		_, err := auth.CheckDjangoHash(encoded)
		ok, _, verr := auth.VerifyPassword(auth.DefaultPasswordParams, encoded, password)
		if ok && (err != nil || verr != nil) {
			t.Fatalf("%q verified although CheckDjangoHash said %v", encoded, err)
		}
	})
}

// cheapEnough skips fuzz inputs whose cost, within the bounds, would make
// one execution take more than about a tenth of a second: the fuzzer looks
// for crashes, not slowness, and an execution still running when
// -fuzztime ends fails the run ("context deadline exceeded"). The cost is
// the product of every number that stands as a whole parameter (a field
// between $, = and ,): iterations, argon2's version, memory, passes and
// lanes, scrypt's N, r and p. Every seed vector is under the bound; a
// bcrypt cost above 6 is refused on its own, its cost being exponential.
func cheapEnough(encoded string) bool {
	if m := bcryptCostRE.FindStringSubmatch(encoded); m != nil && m[1] > "06" {
		return false
	}
	cost := 1.0
	for _, f := range strings.FieldsFunc(encoded, func(r rune) bool { return r == '$' || r == '=' || r == ',' }) {
		if n, err := strconv.ParseUint(f, 10, 64); err == nil {
			cost *= float64(max(n, 1))
		}
	}
	return cost <= maxFuzzCost
}

// maxFuzzCost bounds cheapEnough's product: 2^17 keeps every seed (the
// costliest, argon2i at v=19, m=1024, t=2, p=2, is 77,824).
const maxFuzzCost = 1 << 17

var bcryptCostRE = regexp.MustCompile(`\$2[aby]\$([0-9]{2})`)
