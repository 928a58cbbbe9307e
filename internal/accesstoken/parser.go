package accesstoken

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Keys finds the public key a token names in its "kid" header.
type Keys interface {
	PublicKey(kid string) (*rsa.PublicKey, bool)
}

// KeySet is a fixed set of public keys by kid.
type KeySet map[string]*rsa.PublicKey

// PublicKey implements Keys.
func (s KeySet) PublicKey(kid string) (*rsa.PublicKey, bool) {
	k, ok := s[kid]
	return k, ok
}

// Options configures a Parser. Issuer and at least one audience are required.
type Options struct {
	Issuer      string
	Audiences   []string      // the token's aud must name at least one of these
	Leeway      time.Duration // clock skew allowed on exp, nbf and iat
	MaxLifetime time.Duration // longest exp - iat accepted; zero means no bound
	Now         func() time.Time
}

// Parser verifies access tokens. It is safe for concurrent use.
type Parser struct {
	validator   *jwt.Validator
	maxLifetime time.Duration
}

// NewParser returns the one parser both binaries use: RS256 only, strict
// base64url, iss, aud, exp, nbf and iat required, exp, nbf and iat checked
// against the injected clock with the given leeway.
func NewParser(o Options) (*Parser, error) {
	if o.Issuer == "" {
		return nil, errors.New("accesstoken: issuer is required")
	}
	if len(o.Audiences) == 0 || slices.Contains(o.Audiences, "") {
		return nil, errors.New("accesstoken: at least one audience is required, and none may be empty")
	}
	if o.Leeway < 0 || o.MaxLifetime < 0 {
		return nil, errors.New("accesstoken: leeway and maximum lifetime may not be negative")
	}
	// The algorithm (WithValidMethods) and strict base64url
	// (WithStrictDecoding) are pinned by Parse itself, before golang-jwt
	// is called: see verify.
	opts := []jwt.ParserOption{
		jwt.WithIssuer(o.Issuer),
		jwt.WithAudience(o.Audiences...),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(o.Leeway),
	}
	if o.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(o.Now))
	}
	return &Parser{validator: jwt.NewValidator(opts...), maxLifetime: o.MaxLifetime}, nil
}

// verify is the RS256 signature check, golang-jwt's own: the only method a
// token may name, so no header can choose another (RFC 8725 section 3.1).
var verify = jwt.SigningMethodRS256

// Parse verifies token against keys and returns its claims.
//
// Parse refuses, in this order:
//   - more than MaxTokenSize bytes, a CR or LF, a number of segments other
//     than three, an empty segment;
//   - any segment that is not canonical base64url: a character outside the
//     alphabet, padding, or unused bits that are not zero (all three
//     segments are decoded before any JSON is read);
//   - a JOSE header other than alg, typ and kid (so crit, jku, x5u, jwk and
//     x5c are refused); alg other than RS256 (so "none" and the HMAC
//     algorithms are refused before a key is chosen); typ other than at+jwt
//     or application/at+jwt (case-insensitively); a missing kid;
//   - in the header or the claims: a member name that is unknown, appears
//     twice (also when spelt with escapes) or differs in case from a known
//     one; a value of the wrong JSON type (exp as a string); a control
//     character, invalid UTF-8 or an unpaired surrogate in a string; a time
//     claim outside year 0 to 9999 (Unix time); anything after the object;
//   - a kid that keys does not know (ErrUnknownKey: a caller may refresh
//     its keys and try again);
//   - a bad signature, checked by golang-jwt's RS256 method;
//   - iss, aud, exp, nbf or iat missing or not accepted, checked by
//     golang-jwt's validator with the leeway against the injected clock, and
//     the rest of the claims by Claims.Validate (sub, sid, jti, username
//     required; sub, username and roles header-safe);
//   - exp - iat longer than Options.MaxLifetime.
//
// The payload is decoded once, by the strict scanner; the key is looked up
// only once the claims have passed, so a token with made-up claims cannot
// make a caller fetch keys. Every error wraps exactly one of the sentinels in
// this package and never carries the token.
func (p *Parser) Parse(token string, keys Keys) (*Claims, error) {
	t, err := open(token)
	if err != nil {
		return nil, err
	}
	claims := new(Claims)
	if err := decodeClaims(t.payload, claims); err != nil {
		return nil, err
	}
	key, ok := keys.PublicKey(t.header.Kid)
	if !ok || key == nil {
		return nil, fmt.Errorf("%w: kid %s", ErrUnknownKey, quote(t.header.Kid))
	}
	if err := verify.Verify(t.signed, t.sig, key); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if err := p.validator.Validate(claims); err != nil {
		return nil, translate(err)
	}
	if lifetime := claims.ExpiresAt.Sub(claims.IssuedAt.Time); p.maxLifetime > 0 && lifetime > p.maxLifetime {
		return nil, fmt.Errorf("%w: exp - iat is %s", ErrLifetime, lifetime)
	}
	return claims, nil
}

// KeyID returns the kid a token names, without verifying anything but the
// token's size, shape, base64url and header. It lets a caller fetch an
// unknown key before calling Parse again; never trust anything else about
// such a token.
func KeyID(token string) (string, error) {
	t, err := open(token)
	if err != nil {
		return "", err
	}
	return t.header.Kid, nil
}

// translate maps the errors of golang-jwt's validator onto this package's
// sentinels, keeping the original in the chain for the log. When several
// claims fail, the first match in this list names the refusal.
func translate(err error) error {
	for _, m := range []struct{ from, to error }{
		{ErrInvalidClaims, ErrInvalidClaims},
		{jwt.ErrTokenExpired, ErrExpired},
		{jwt.ErrTokenNotValidYet, ErrNotYetValid},
		{jwt.ErrTokenUsedBeforeIssued, ErrNotYetValid},
		{jwt.ErrTokenInvalidIssuer, ErrIssuer},
		{jwt.ErrTokenInvalidAudience, ErrAudience},
		{jwt.ErrTokenRequiredClaimMissing, ErrInvalidClaims},
	} {
		if errors.Is(err, m.from) {
			if m.from == m.to {
				return err
			}
			return fmt.Errorf("%w: %w", m.to, err)
		}
	}
	return fmt.Errorf("%w: %w", ErrInvalidClaims, err)
}

// Sign returns the signed compact serialization of claims, with the RFC 9068
// header: alg RS256, typ at+jwt, and kid.
func Sign(key *rsa.PrivateKey, kid string, c *Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["typ"] = TokenType
	t.Header["kid"] = kid
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}
