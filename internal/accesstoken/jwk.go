package accesstoken

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// MinKeyBits is the smallest RSA modulus accepted for a verification key.
const MinKeyBits = 2048

// JWK is the public half of an RSA signing key as published in a JWKS
// (RFC 7517, RFC 7518 section 6.3.1).
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS is a JSON Web Key Set document.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// NewJWK describes pub as a signing JWK whose kid is its RFC 7638 thumbprint.
func NewJWK(pub *rsa.PublicKey) JWK {
	return JWK{Kty: "RSA", Use: "sig", Alg: Algorithm, Kid: Thumbprint(pub), N: encodeInt(pub.N), E: encodeInt(big.NewInt(int64(pub.E)))}
}

// Thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url) of pub:
// the kid the issuer puts in every token it signs with the matching key.
func Thumbprint(pub *rsa.PublicKey) string {
	// RFC 7638 section 3.2: the required members in lexicographic order, no white space.
	doc := `{"e":"` + encodeInt(big.NewInt(int64(pub.E))) + `","kty":"RSA","n":"` + encodeInt(pub.N) + `"}`
	sum := sha256.Sum256([]byte(doc))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func encodeInt(i *big.Int) string { return base64.RawURLEncoding.EncodeToString(i.Bytes()) }

// PublicKey decodes the JWK into an RSA public key, refusing keys that are
// not RSA, not meant for signatures with RS256, or shorter than MinKeyBits.
func (k JWK) PublicKey() (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("%w: jwk %q: kty %q is not RSA", ErrUnusableKey, k.Kid, k.Kty)
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, fmt.Errorf("%w: jwk %q: use %q is not sig", ErrUnusableKey, k.Kid, k.Use)
	}
	if k.Alg != "" && k.Alg != Algorithm {
		return nil, fmt.Errorf("%w: jwk %q: alg %q is not %s", ErrUnusableKey, k.Kid, k.Alg, Algorithm)
	}
	n, err := base64.RawURLEncoding.Strict().DecodeString(k.N)
	if err != nil {
		return nil, fmt.Errorf("%w: jwk %q: n: %w", ErrUnusableKey, k.Kid, err)
	}
	e, err := base64.RawURLEncoding.Strict().DecodeString(k.E)
	if err != nil {
		return nil, fmt.Errorf("%w: jwk %q: e: %w", ErrUnusableKey, k.Kid, err)
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: jwk %q: exponent is not acceptable", ErrUnusableKey, k.Kid)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}
	if pub.N.BitLen() < MinKeyBits {
		return nil, fmt.Errorf("%w: jwk %q: modulus of %d bits is below %d", ErrUnusableKey, k.Kid, pub.N.BitLen(), MinKeyBits)
	}
	return pub, nil
}

// ParseJWKS decodes a JWKS document into a KeySet. A key that cannot verify
// RS256 tokens, or a kid named twice for different keys, makes the whole
// document an error wrapping ErrUnusableKey, so that a broken publication is
// noticed rather than half-applied. The same key listed twice is accepted:
// an issuer may publish its current key among its retired ones.
func ParseJWKS(data []byte) (KeySet, error) {
	var doc JWKS
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	set := make(KeySet, len(doc.Keys))
	for _, k := range doc.Keys {
		if k.Kid == "" {
			return nil, fmt.Errorf("decode jwks: %w: a key has no kid", ErrUnusableKey)
		}
		pub, err := k.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("decode jwks: %w", err)
		}
		if prev, ok := set[k.Kid]; ok && !prev.Equal(pub) {
			return nil, fmt.Errorf("decode jwks: %w: kid %q names two different keys", ErrUnusableKey, k.Kid)
		}
		set[k.Kid] = pub
	}
	return set, nil
}

// ParsePublicKeyPEM decodes an RSA public key from PEM, as a PKIX
// "PUBLIC KEY" or a PKCS #1 "RSA PUBLIC KEY" block. A key that is not RSA or
// is shorter than MinKeyBits is refused with ErrUnusableKey.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("decode public key: no PEM block")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("decode public key: PEM block %q is not a public key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("decode public key: %w", err)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("decode public key: %w: not an RSA key", ErrUnusableKey)
	}
	if rsaPub.N.BitLen() < MinKeyBits {
		return nil, fmt.Errorf("decode public key: %w: modulus of %d bits is below %d", ErrUnusableKey, rsaPub.N.BitLen(), MinKeyBits)
	}
	return rsaPub, nil
}
