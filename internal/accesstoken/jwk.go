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

// NewJWKS is the key set of keys, in order, each as NewJWK describes it;
// an empty set has an empty list of keys, never null.
func NewJWKS(keys ...*rsa.PublicKey) JWKS {
	doc := JWKS{Keys: make([]JWK, 0, len(keys))}
	for _, k := range keys {
		doc.Keys = append(doc.Keys, NewJWK(k))
	}
	return doc
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
		return nil, fmt.Errorf("%w: jwk %s: kty %q is not RSA", ErrUnusableKey, quote(k.Kid), k.Kty)
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, fmt.Errorf("%w: jwk %s: use %q is not sig", ErrUnusableKey, quote(k.Kid), k.Use)
	}
	if k.Alg != "" && k.Alg != Algorithm {
		return nil, fmt.Errorf("%w: jwk %s: alg %q is not %s", ErrUnusableKey, quote(k.Kid), k.Alg, Algorithm)
	}
	n, err := base64.RawURLEncoding.Strict().DecodeString(k.N)
	if err != nil {
		return nil, fmt.Errorf("%w: jwk %s: n: %w", ErrUnusableKey, quote(k.Kid), err)
	}
	e, err := base64.RawURLEncoding.Strict().DecodeString(k.E)
	if err != nil {
		return nil, fmt.Errorf("%w: jwk %s: e: %w", ErrUnusableKey, quote(k.Kid), err)
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: jwk %s: exponent is not acceptable", ErrUnusableKey, quote(k.Kid))
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}
	if pub.N.BitLen() < MinKeyBits {
		return nil, fmt.Errorf("%w: jwk %s: modulus of %d bits is below %d", ErrUnusableKey, quote(k.Kid), pub.N.BitLen(), MinKeyBits)
	}
	return pub, nil
}

// ParseJWKS decodes a JWKS document into the set of its keys that can
// verify access tokens, leaving out the others; [DecodeJWKS] also says which
// it left out and why, for the log.
func ParseJWKS(data []byte) (KeySet, error) {
	set, _, err := DecodeJWKS(data)
	return set, err
}

// SkippedKey is a key of a JWKS that cannot verify access tokens, and why.
type SkippedKey struct {
	Kid string // as published, possibly empty
	Err error  // wraps ErrUnusableKey
}

// DecodeJWKS decodes a JWKS document into the set of its keys that can
// verify RS256 tokens, and lists the keys it skipped: an issuer may publish
// keys for other uses (an EC key, an encryption key) beside its signing
// keys, and one such key must not stop the others from being used or from
// being withdrawn. A document that is not a JWKS is an error; so is one
// with no usable key, or a kid named twice for different keys (wrapping
// ErrUnusableKey): which key the kid means cannot be told, and a broken
// publication must be noticed rather than half-applied. The same key listed
// twice is accepted: an issuer may publish its current key among its
// retired ones.
func DecodeJWKS(data []byte) (KeySet, []SkippedKey, error) {
	var doc struct {
		Keys *[]JWK `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("decode jwks: %w", err)
	}
	if doc.Keys == nil {
		return nil, nil, errors.New("decode jwks: not a JWK set: no keys member")
	}
	set := make(KeySet, len(*doc.Keys))
	var skipped []SkippedKey
	for _, k := range *doc.Keys {
		if k.Kid == "" {
			skipped = append(skipped, SkippedKey{Err: fmt.Errorf("%w: a key has no kid", ErrUnusableKey)})
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			skipped = append(skipped, SkippedKey{Kid: k.Kid, Err: err})
			continue
		}
		if prev, ok := set[k.Kid]; ok && !prev.Equal(pub) {
			return nil, nil, fmt.Errorf("decode jwks: %w: kid %s names two different keys", ErrUnusableKey, quote(k.Kid))
		}
		set[k.Kid] = pub
	}
	if len(set) == 0 {
		err := fmt.Errorf("decode jwks: %w: no usable key among %d", ErrUnusableKey, len(*doc.Keys))
		if len(skipped) > 0 {
			err = fmt.Errorf("%w (first skipped: %w)", err, skipped[0].Err)
		}
		return nil, skipped, err
	}
	return set, skipped, nil
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
