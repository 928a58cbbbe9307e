// Package signer holds the issuer's signing key: it loads it, names it (the
// kid is the key's RFC 7638 thumbprint), signs access tokens with it through
// accesstoken.Sign, and publishes it, with any retired keys that may still
// verify live tokens, as a JWKS.
package signer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/medinsights/auth/internal/accesstoken"
)

// KeyBits is the size of the keys Generate makes.
const KeyBits = 2048

// Signer signs access tokens with one private key. It is safe for concurrent use.
type Signer struct {
	key  *rsa.PrivateKey
	kid  string
	keys accesstoken.KeySet
	jwks accesstoken.JWKS
}

// New returns a signer for key, publishing retired as well in its JWKS and
// KeySet so that tokens they signed keep verifying until they expire.
func New(key *rsa.PrivateKey, retired ...*rsa.PublicKey) (*Signer, error) {
	if key == nil {
		return nil, errors.New("signer: no private key")
	}
	if key.N.BitLen() < accesstoken.MinKeyBits {
		return nil, fmt.Errorf("signer: key of %d bits is below %d", key.N.BitLen(), accesstoken.MinKeyBits)
	}
	key.Precompute()
	s := &Signer{key: key, kid: accesstoken.Thumbprint(&key.PublicKey), keys: accesstoken.KeySet{}}
	for _, pub := range append([]*rsa.PublicKey{&key.PublicKey}, retired...) {
		jwk := accesstoken.NewJWK(pub)
		if _, dup := s.keys[jwk.Kid]; dup {
			continue
		}
		s.keys[jwk.Kid] = pub
		s.jwks.Keys = append(s.jwks.Keys, jwk)
	}
	return s, nil
}

// Load reads the private key (PKCS #1 or PKCS #8 PEM) from privatePath. When
// publicPath is set, the public key there must be the private key's own.
// When retiredDir is set, every *.pem in it is a retired public key.
func Load(privatePath, publicPath, retiredDir string) (*Signer, error) {
	data, err := os.ReadFile(privatePath)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	key, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", privatePath, err)
	}
	if publicPath != "" {
		data, err := os.ReadFile(publicPath)
		if err != nil {
			return nil, fmt.Errorf("read public key: %w", err)
		}
		pub, err := accesstoken.ParsePublicKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", publicPath, err)
		}
		if !pub.Equal(&key.PublicKey) {
			return nil, fmt.Errorf("%s is not the public half of %s", publicPath, privatePath)
		}
	}
	var retired []*rsa.PublicKey
	if retiredDir != "" {
		paths, err := filepath.Glob(filepath.Join(retiredDir, "*.pem"))
		if err != nil {
			return nil, fmt.Errorf("list retired keys: %w", err)
		}
		if _, err := os.Stat(retiredDir); err != nil {
			return nil, fmt.Errorf("read retired keys: %w", err)
		}
		slices.Sort(paths)
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("read retired key: %w", err)
			}
			pub, err := accesstoken.ParsePublicKeyPEM(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			retired = append(retired, pub)
		}
	}
	return New(key, retired...)
}

// ParsePrivateKeyPEM decodes an RSA private key from a PKCS #1
// ("RSA PRIVATE KEY") or PKCS #8 ("PRIVATE KEY") PEM block.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("decode private key: no PEM block")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("decode private key: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("decode private key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("decode private key: not an RSA key")
		}
		return rk, nil
	}
	return nil, fmt.Errorf("decode private key: PEM block %q is not a private key", block.Type)
}

// KeyID returns the kid of the signing key.
func (s *Signer) KeyID() string { return s.kid }

// Keys returns every key that may verify a live token: the signing key and
// the retired ones.
func (s *Signer) Keys() accesstoken.KeySet { return s.keys }

// JWKS returns the published key set, signing key first.
func (s *Signer) JWKS() accesstoken.JWKS { return s.jwks }

// Sign signs claims as an access token.
func (s *Signer) Sign(c *accesstoken.Claims) (string, error) {
	return accesstoken.Sign(s.key, s.kid, c)
}

// Ready reports whether the signer can sign.
func (s *Signer) Ready() error {
	if s == nil || s.key == nil {
		return errors.New("no signing key loaded")
	}
	return nil
}

// Generate writes a new RSA-2048 key pair into dir: private.pem (PKCS #8,
// mode 0600) and public.pem (PKIX, mode 0644). It refuses to overwrite an
// existing private key unless force is set.
func Generate(dir string, force bool) (privatePath, publicPath string, err error) {
	privatePath, publicPath = filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem")
	if !force {
		if _, err := os.Stat(privatePath); err == nil {
			return "", "", fmt.Errorf("%s exists: pass --force to replace it", privatePath)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("encode private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("create key directory: %w", err)
	}
	if err := writeFile(privatePath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeFile(publicPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return "", "", err
	}
	return privatePath, publicPath, nil
}

// writeFile writes through a temporary file and a rename, so a reader never
// sees half a key, and sets the mode explicitly (the umask does not apply).
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
