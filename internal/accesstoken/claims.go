package accesstoken

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithm is the only signing algorithm a MedInsights access token may use.
const Algorithm = "RS256"

// TokenType is the JOSE "typ" header of an access token (RFC 9068 section 2.1).
const TokenType = "at+jwt"

// MaxTokenSize bounds the length of a token accepted for parsing, in bytes.
const MaxTokenSize = 8 << 10

// Claims are the claims of a MedInsights access token.
//
// The registered claims iss, sub, aud, exp, nbf, iat and jti come from
// jwt.RegisteredClaims; sid names the session the token belongs to, so that
// revoking the session revokes the token.
type Claims struct {
	jwt.RegisteredClaims
	SessionID     string   `json:"sid"`
	Roles         []string `json:"roles"`
	Username      string   `json:"username"`
	EmailVerified bool     `json:"email_verified"`
}

// claimNames lists every claim a token may carry. Any other name, including a
// name that differs from one of these only in case, refuses the token:
// encoding/json matches names case-insensitively (and folds "ſ" to "s"), so
// "SUB" would otherwise silently fill Subject.
var claimNames = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "roles", "username", "email_verified"}

const (
	claimIss = iota
	claimSub
	claimAud
	claimExp
	claimNbf
	claimIat
	claimJti
	claimSid
	claimRoles
	claimUsername
	claimEmailVerified
)

// Validate checks what golang-jwt's validator does not: the claims this
// project requires besides exp, iss and aud, that sub and sid are UUIDs in
// canonical form, and that every value which a gateway copies into an
// upstream header is plain printable text. It runs
// after the signature and the registered time claims have been checked.
func (c Claims) Validate() error {
	switch {
	case c.Subject == "":
		return fmt.Errorf("%w: sub is missing", ErrInvalidClaims)
	case c.SessionID == "":
		return fmt.Errorf("%w: sid is missing", ErrInvalidClaims)
	case c.ID == "":
		return fmt.Errorf("%w: jti is missing", ErrInvalidClaims)
	case c.IssuedAt == nil:
		return fmt.Errorf("%w: iat is missing", ErrInvalidClaims)
	case c.NotBefore == nil:
		return fmt.Errorf("%w: nbf is missing", ErrInvalidClaims)
	case c.Username == "":
		return fmt.Errorf("%w: username is missing", ErrInvalidClaims)
	}
	// The issuer names users and sessions by UUID. A sid in any other form
	// could never match a revocation, so the token would outlive a logout
	// at the gateway.
	if !canonicalUUID(c.Subject) {
		return fmt.Errorf("%w: sub is not a UUID in canonical form", ErrInvalidClaims)
	}
	if !canonicalUUID(c.SessionID) {
		return fmt.Errorf("%w: sid is not a UUID in canonical form", ErrInvalidClaims)
	}
	if !HeaderSafe(c.Username) {
		return fmt.Errorf("%w: username is not header-safe text", ErrInvalidClaims)
	}
	for _, r := range c.Roles {
		if r == "" || !HeaderSafe(r) {
			return fmt.Errorf("%w: a role is empty or not header-safe text", ErrInvalidClaims)
		}
	}
	return nil
}

// canonicalUUID reports whether s is a UUID in the canonical form the issuer
// writes: 8-4-4-4-12 lower-case hex digits (RFC 9562 section 4).
func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// HeaderSafe reports whether s may be copied into an HTTP header value that
// holds a comma-separated list: valid UTF-8, printable, no control character
// (so no CR or LF), no comma, and no leading or trailing space.
func HeaderSafe(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == ',' {
			ascii = false
			break
		}
	}
	if ascii {
		return true
	}
	if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if r == ',' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
