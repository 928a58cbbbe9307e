package accesstoken

import "errors"

// Sentinel errors returned by [Parser.Parse]. Every one of them means the
// token is refused; they differ only so that the reason can be logged. Check
// them with errors.Is.
var (
	ErrMalformed     = errors.New("token is malformed")
	ErrHeader        = errors.New("token header is not allowed")
	ErrUnknownKey    = errors.New("token signing key is unknown")
	ErrSignature     = errors.New("token signature is invalid")
	ErrExpired       = errors.New("token is expired")
	ErrNotYetValid   = errors.New("token is not valid yet")
	ErrIssuer        = errors.New("token issuer is not accepted")
	ErrAudience      = errors.New("token audience is not accepted")
	ErrLifetime      = errors.New("token lifetime is too long")
	ErrInvalidClaims = errors.New("token claims are invalid")
)

// ErrUnusableKey is wrapped by ParseJWKS, JWK.PublicKey and
// ParsePublicKeyPEM when a key cannot verify access tokens: not RSA, not
// meant for RS256 signatures, shorter than MinKeyBits, with a bad exponent,
// or (in a JWKS) without a kid or with a kid shared by two different keys.
var ErrUnusableKey = errors.New("key cannot verify access tokens")
