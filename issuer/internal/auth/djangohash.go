package auth

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Password hashes imported from Django (issuer users import-django) are kept
// as Django wrote them, "algorithm$...", and verified at login with the cost
// parameters written in them; the first successful login replaces the hash
// with the issuer's argon2id. The formats verified are Django's
// pbkdf2_sha256, pbkdf2_sha1, argon2 (argon2id and argon2i, version 19),
// bcrypt_sha256, bcrypt and scrypt. Anything else is imported without a
// usable password (UnusablePassword).
//
// A hash is parsed once at import, where a malformed one refuses its row,
// and again at each login, where it cannot be malformed any more. The cost
// parameters are bounded (the Max* constants): a Django hash with a larger
// cost would let one login hold a CPU or memory for a long time, so it is
// refused at import as malformed. Each bound is about sixteen times the cost
// of Django's own default for its algorithm (2.5 times for argon2's memory).
const (
	// MaxPBKDF2Iterations: Django 5.0 writes 720000, Django 6.0 1200000.
	MaxPBKDF2Iterations = 12_000_000
	// MaxBcryptCost: Django writes 12 (2^12 rounds).
	MaxBcryptCost = 16
	// MaxArgon2Memory (KiB) and MaxArgon2Passes: Django writes m=102400
	// (100 MiB), t=2, p=8.
	MaxArgon2Memory  = 256 * 1024
	MaxArgon2Passes  = 32
	MaxArgon2Threads = 64
	// MaxScryptWork bounds N·r·p (its memory, 128·N·r bytes, is then at most
	// 256 MiB): Django writes N=16384, r=8, p=1, that is 2^17.
	MaxScryptWork = 1 << 21
)

// UnusablePassword is the password hash of a user who has no usable
// password (imported with Django's unusable "!..." or a format the issuer
// does not verify). No password matches it; a login against it costs and
// answers exactly what a login of an unknown user does.
const UnusablePassword = "!"

// ErrNoUsablePassword: a Django password field that is unusable ("!...",
// empty) or in a format the issuer does not verify (md5, sha1, crypt, an
// argon2 version other than 19...). The user is imported with
// UnusablePassword and gets in by resetting the password.
var ErrNoUsablePassword = errors.New("no usable password")

// errMalformed: a hash malformed for its own algorithm; its row is refused.
var errMalformed = errors.New("malformed")

// djangoHash is a parsed Django password hash of a verified format.
type djangoHash struct {
	algorithm string
	// pbkdf2_*: the hash function, iterations and salt (the salt's text
	// bytes, as Django uses it); key is the stored digest.
	newHash    func() hash.Hash
	iterations int
	salt, key  []byte
	// argon2: variant "argon2id" or "argon2i" and the cost parameters.
	variant string
	params  PasswordParams
	// bcrypt*: the "$2b$12$..." string; sha256 when the password is
	// first hashed with SHA-256 and hex-encoded (bcrypt_sha256).
	bcrypt []byte
	sha256 bool
	// scrypt: N (work factor), r (block size), p (parallelism).
	n, r, p int
}

// CheckDjangoHash says whether the issuer can verify a Django password
// field: nil and the algorithm when it can, an error wrapping
// ErrNoUsablePassword when the user must be imported without a usable
// password, and any other error (naming the algorithm and what is wrong,
// never the hash) when the hash is malformed for its algorithm.
func CheckDjangoHash(encoded string) (algorithm string, err error) {
	h, err := parseDjangoHash(encoded)
	return h.algorithm, err
}

// IsDjangoHash reports whether a stored password hash is a Django one
// (anything but the issuer's own argon2id PHC string and UnusablePassword).
func IsDjangoHash(stored string) bool {
	return stored != UnusablePassword && !strings.HasPrefix(stored, "$argon2id$")
}

func parseDjangoHash(encoded string) (djangoHash, error) {
	if encoded == "" || strings.HasPrefix(encoded, "!") {
		return djangoHash{}, fmt.Errorf("%w: unusable password", ErrNoUsablePassword)
	}
	algorithm, rest, ok := strings.Cut(encoded, "$")
	if !ok {
		return djangoHash{}, fmt.Errorf("%w: format not supported", ErrNoUsablePassword)
	}
	h := djangoHash{algorithm: algorithm}
	var err error
	switch algorithm {
	case "pbkdf2_sha256":
		err = h.parsePBKDF2(sha256.New, rest)
	case "pbkdf2_sha1":
		err = h.parsePBKDF2(sha1.New, rest)
	case "argon2":
		err = h.parseArgon2(rest)
	case "bcrypt_sha256", "bcrypt":
		h.sha256 = algorithm == "bcrypt_sha256"
		err = h.parseBcrypt(rest)
	case "scrypt":
		err = h.parseScrypt(rest)
	default:
		return djangoHash{algorithm: algorithm}, fmt.Errorf("%w: %s is not a supported format", ErrNoUsablePassword, safeName(algorithm))
	}
	if err != nil && !errors.Is(err, ErrNoUsablePassword) {
		err = fmt.Errorf("%s hash %w: %w", algorithm, errMalformed, err)
	}
	return h, err
}

// safeName is an algorithm name fit for a report line: Django's names are
// short lower-case identifiers; anything else is not echoed.
func safeName(s string) string {
	if algorithmNameRE.MatchString(s) {
		return s
	}
	return "the algorithm"
}

var algorithmNameRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// djangoSaltRE is a salt Django's make_password accepts: it is used as text,
// and must not hold "$". Django's own salts are 12 to 22 letters and digits.
var djangoSaltRE = regexp.MustCompile(`^[^$]{1,128}$`)

// parsePBKDF2 reads "iterations$salt$base64(key)" (Django's
// PBKDF2PasswordHasher and PBKDF2SHA1PasswordHasher).
func (h *djangoHash) parsePBKDF2(newHash func() hash.Hash, rest string) error {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return errors.New("want iterations$salt$hash")
	}
	iter, err := boundedInt(parts[0], "iteration count", 1, MaxPBKDF2Iterations)
	if err != nil {
		return err
	}
	if !djangoSaltRE.MatchString(parts[1]) {
		return errors.New("bad salt")
	}
	key, err := base64.StdEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(key) != newHash().Size() {
		return errors.New("bad base64 digest")
	}
	h.newHash, h.iterations, h.salt, h.key = newHash, iter, []byte(parts[1]), key
	return nil
}

// argon2ParamsRE is the parameter field of an argon2 PHC string.
var argon2ParamsRE = regexp.MustCompile(`^m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,10})$`)

// parseArgon2 reads Django's Argon2PasswordHasher form: "argon2" followed by
// argon2-cffi's PHC string, "$variant$v=19$m=..,t=..,p=..$salt$hash"
// (unpadded base64). Version 16 (hashes without "v=", from argon2-cffi
// before 16.0) and argon2d cannot be verified here: no usable password.
func (h *djangoHash) parseArgon2(rest string) error {
	parts := strings.Split(rest, "$")
	if len(parts) == 4 && (parts[0] == "argon2i" || parts[0] == "argon2id") && strings.HasPrefix(parts[1], "m=") {
		return fmt.Errorf("%w: argon2 version 16 is not supported", ErrNoUsablePassword)
	}
	if len(parts) != 5 { // rest starts after "argon2$": parts[0] is the variant
		return errors.New("want $variant$v=19$m=..,t=..,p=..$salt$hash")
	}
	switch parts[0] {
	case "argon2id", "argon2i":
	case "argon2d":
		return fmt.Errorf("%w: argon2d is not supported", ErrNoUsablePassword)
	default:
		return errors.New("unknown variant")
	}
	switch parts[1] {
	case "v=19":
	case "v=16":
		return fmt.Errorf("%w: argon2 version 16 is not supported", ErrNoUsablePassword)
	default:
		return errors.New("bad version")
	}
	m := argon2ParamsRE.FindStringSubmatch(parts[2])
	if m == nil {
		return errors.New("bad parameters")
	}
	threads, err := boundedInt(m[3], "parallelism", 1, MaxArgon2Threads)
	if err != nil {
		return err
	}
	mem, err := boundedInt(m[1], "memory cost", 8*threads, MaxArgon2Memory)
	if err != nil {
		return err
	}
	passes, err := boundedInt(m[2], "time cost", 1, MaxArgon2Passes)
	if err != nil {
		return err
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(salt) < 8 || len(salt) > 1024 {
		return errors.New("bad base64 salt")
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(key) < 4 || len(key) > 1024 {
		return errors.New("bad base64 hash")
	}
	h.variant, h.salt, h.key = parts[0], salt, key
	h.params = PasswordParams{Memory: uint32(mem), Time: uint32(passes), Threads: uint8(threads)}
	return nil
}

// bcryptRE is a bcrypt string as Django stores it after its prefix: version,
// two-digit cost, 22 characters of salt and 31 of hash in bcrypt's base64.
var bcryptRE = regexp.MustCompile(`^\$2[aby]\$([0-9]{2})\$[./A-Za-z0-9]{53}$`)

// parseBcrypt reads "$2b$12$..." after "bcrypt$" or "bcrypt_sha256$".
func (h *djangoHash) parseBcrypt(rest string) error {
	m := bcryptRE.FindStringSubmatch(rest)
	if m == nil {
		return errors.New("want $2b$NN$ and 53 characters")
	}
	if _, err := boundedInt(m[1], "cost", bcrypt.MinCost, MaxBcryptCost); err != nil {
		return err
	}
	h.bcrypt = []byte(rest)
	return nil
}

// parseScrypt reads "N$salt$r$p$base64(key)" (Django 4.0's
// ScryptPasswordHasher: 64-byte key, standard base64).
func (h *djangoHash) parseScrypt(rest string) error {
	parts := strings.Split(rest, "$")
	if len(parts) != 5 {
		return errors.New("want N$salt$r$p$hash")
	}
	n, err := boundedInt(parts[0], "work factor", 2, MaxScryptWork)
	if err != nil {
		return err
	}
	if n&(n-1) != 0 {
		return errors.New("work factor is not a power of 2")
	}
	r, err := boundedInt(parts[2], "block size", 1, MaxScryptWork)
	if err != nil {
		return err
	}
	p, err := boundedInt(parts[3], "parallelism", 1, MaxScryptWork)
	if err != nil {
		return err
	}
	if n*r*p > MaxScryptWork {
		return fmt.Errorf("cost N·r·p above %d", MaxScryptWork)
	}
	if !djangoSaltRE.MatchString(parts[1]) {
		return errors.New("bad salt")
	}
	key, err := base64.StdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(key) < 16 || len(key) > 1024 {
		return errors.New("bad base64 hash")
	}
	h.n, h.r, h.p, h.salt, h.key = n, r, p, []byte(parts[1]), key
	return nil
}

// boundedInt parses a decimal in [lo, hi]; what names it in the error.
func boundedInt(s, what string, lo, hi int) (int, error) {
	if len(s) == 0 || len(s) > 10 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad %s", what)
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%s outside %d..%d", what, lo, hi)
	}
	return v, nil
}

// verifyDjangoHash reports whether password matches a Django hash, in time
// that depends only on the hash's parameters; the comparison is constant
// time.
func verifyDjangoHash(encoded, password string) (bool, error) {
	h, err := parseDjangoHash(encoded)
	if err != nil {
		return false, err
	}
	return h.verify(password), nil
}

func (h djangoHash) verify(password string) bool {
	var got []byte
	switch h.algorithm {
	case "pbkdf2_sha256", "pbkdf2_sha1":
		var err error
		if got, err = pbkdf2.Key(h.newHash, password, h.salt, h.iterations, len(h.key)); err != nil {
			return false
		}
	case "argon2":
		if h.variant == "argon2id" {
			got = argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
		} else {
			got = argon2.Key([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
		}
	case "bcrypt_sha256", "bcrypt":
		pw := []byte(password)
		if h.sha256 {
			sum := sha256.Sum256(pw)
			pw = []byte(hex.EncodeToString(sum[:]))
		} else if len(pw) > 72 {
			pw = pw[:72] // bcrypt reads 72 bytes; Django's bcrypt hasher passes the password whole
		}
		return bcrypt.CompareHashAndPassword(h.bcrypt, pw) == nil // constant-time compare inside
	case "scrypt":
		var err error
		if got, err = scrypt.Key([]byte(password), h.salt, h.n, h.r, h.p, len(h.key)); err != nil {
			return false
		}
	default:
		return false
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1
}
