package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/kong-plugin/internal/jwks"
)

// keySource supplies the verification keys of one configuration. Sources are
// process-wide and shared by every instance with the same settings.
type keySource interface {
	// id identifies the source among the process's verifiers.
	id() string
	// current returns the key set to verify with; ready is false until a
	// first set has arrived. It never waits on the network.
	current(now time.Time) (set accesstoken.KeySet, ready bool)
	// unknownKey reports that a token named a kid missing from the set.
	unknownKey(now time.Time)
	// retryAfter is the number of seconds a client should wait while the
	// source is not ready.
	retryAfter(now time.Time) int
}

// staticKeys are the PEM keys of public_keys, each under its RFC 7638
// thumbprint, the kid the issuer puts in its tokens.
type staticKeys struct {
	set accesstoken.KeySet
	key string
}

func staticKeysID(pems []string) string {
	h := sha256.New()
	for _, p := range pems {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "pem:" + hex.EncodeToString(h.Sum(nil))
}

func (s staticKeys) id() string                                   { return s.key }
func (s staticKeys) current(time.Time) (accesstoken.KeySet, bool) { return s.set, true }
func (staticKeys) unknownKey(time.Time)                           {}
func (staticKeys) retryAfter(time.Time) int                       { return 1 }

// jwksKeys are the keys of jwks_url, kept fresh by the process-wide
// fetcher of package jwks.
type jwksKeys struct{ f *jwks.Fetcher }

func (k jwksKeys) id() string                                       { return k.f.ID() }
func (k jwksKeys) current(now time.Time) (accesstoken.KeySet, bool) { return k.f.Current(now) }
func (k jwksKeys) unknownKey(now time.Time)                         { k.f.UnknownKey(now) }
func (k jwksKeys) retryAfter(now time.Time) int                     { return k.f.RetryAfter(now) }
