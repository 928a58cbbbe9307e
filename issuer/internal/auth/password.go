package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultPasswordParams is one of OWASP's equivalent minimums for argon2id
// (m=12 MiB, t=3, p=1). It costs the same CPU as the better-known m=19 MiB,
// t=2, and holds a third less memory per hash in flight, which is what
// bounds the issuer's memory under login load (docs/password-policy.md,
// "Memory"). Changing the parameters later is safe: a stored hash with other
// parameters is replaced at the user's next login.
var DefaultPasswordParams = PasswordParams{Memory: 12288, Time: 3, Threads: 1}

// MinPasswordParams is the floor PasswordParams.Check enforces: OWASP's
// table of equivalent argon2id settings runs from m=46 MiB, t=1 to m=7 MiB,
// t=5, so the memory is at least 7 MiB and memory x passes at least
// 7 MiB x 5.
var MinPasswordParams = PasswordParams{Memory: 7168, Time: 5, Threads: 1}

// MaxPasswordParams is the ceiling on the cost of one argon2id hash: 1 GiB
// and 100 passes. Check refuses a setting above it, and VerifyPassword a
// stored hash above it, which the issuer never writes: one login must not
// hold gigabytes or a CPU for seconds because a row says so.
var MaxPasswordParams = PasswordParams{Memory: 1 << 20, Time: 100, Threads: 255}

// Check reports whether p is at least as costly as OWASP asks (see
// MinPasswordParams), and no costlier than MaxPasswordParams.
func (p PasswordParams) Check() error {
	switch {
	case p.Threads == 0:
		return errors.New("argon2id needs at least one thread")
	case p.Memory < MinPasswordParams.Memory:
		return fmt.Errorf("argon2id memory %d KiB is below OWASP's minimum of %d KiB", p.Memory, MinPasswordParams.Memory)
	case p.Memory > MaxPasswordParams.Memory:
		return fmt.Errorf("argon2id memory %d KiB is over 1 GiB", p.Memory)
	case p.Time > MaxPasswordParams.Time:
		return fmt.Errorf("argon2id passes %d are over %d", p.Time, MaxPasswordParams.Time)
	case uint64(p.Memory)*uint64(p.Time) < uint64(MinPasswordParams.Memory)*uint64(MinPasswordParams.Time):
		return fmt.Errorf("argon2id m=%d KiB, t=%d is below OWASP's minimum: memory x passes must be at least %d KiB (m=7 MiB with t=5, m=12 MiB with t=3, m=19 MiB with t=2)",
			p.Memory, p.Time, MinPasswordParams.Memory*MinPasswordParams.Time)
	}
	return nil
}

const (
	saltLen = 16
	keyLen  = 32
)

var errBadHash = errors.New("password hash is not an argon2id PHC string")

// HashPassword hashes password with argon2id and returns the PHC string
// $argon2id$v=19$m=...,t=...,p=...$salt$hash (unpadded standard base64).
func HashPassword(p PasswordParams, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the stored hash, in time
// that depends only on the hash's parameters, and whether the hash should be
// replaced: an argon2id PHC string whose parameters are not want (weaker or
// merely different: the configured parameters are the policy, and every
// hash converges on them as its user logs in), or any hash imported from
// Django (see CheckDjangoHash).
func VerifyPassword(want PasswordParams, phc, password string) (ok, rehash bool, err error) {
	if IsDjangoHash(phc) {
		ok, err := verifyDjangoHash(phc, password)
		return ok, true, err
	}
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	rehash = p != want || len(key) != keyLen
	return ok, rehash, nil
}

func parsePHC(phc string) (p PasswordParams, salt, key []byte, err error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Threads == 0 || p.Memory > MaxPasswordParams.Memory || p.Time > MaxPasswordParams.Time {
		return p, nil, nil, errBadHash
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
