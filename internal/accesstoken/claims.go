package accesstoken

import (
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"github.com/medinsights/auth/internal/grammar"
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
	if !grammar.UUID(c.Subject) {
		return fmt.Errorf("%w: sub is not a UUID in canonical form", ErrInvalidClaims)
	}
	if !grammar.UUID(c.SessionID) {
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

// HeaderSafe reports whether s may be copied into an HTTP header value that
// holds a comma-separated list (see [grammar.HeaderSafe], the rule's one
// home, shared with the identity package that upstream services import).
func HeaderSafe(s string) bool { return grammar.HeaderSafe(s) }
