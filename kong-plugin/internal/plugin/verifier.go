package plugin

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/medinsights/auth/internal/accesstoken"
)

// errKeysNotReady means no key set has arrived yet: the answer is 503, not
// 401, because the token may well be valid.
var errKeysNotReady = errors.New("no verification key set has been loaded yet")

// verifierKey holds every setting that changes whether a token is accepted.
// Instances whose keys are equal share one verifier and its cache; instances
// that differ in any of them never share a decision.
type verifierKey struct {
	issuer      string
	audiences   string // joined with NUL
	skew        time.Duration
	maxLifetime time.Duration
	keys        string // keySource.id
}

// verifier verifies tokens for one verifierKey and remembers the tokens it
// accepted until they expire.
type verifier struct {
	parser *accesstoken.Parser
	keys   keySource
	skew   time.Duration
	cache  *tokenCache
}

var (
	verifiersMu sync.Mutex
	verifiers   = map[verifierKey]*verifier{}
)

// verifierFor returns the process-wide verifier of k, creating it on first
// use. now is nil outside tests.
func verifierFor(k verifierKey, keys keySource, now func() time.Time) (*verifier, error) {
	verifiersMu.Lock()
	defer verifiersMu.Unlock()
	if v, ok := verifiers[k]; ok {
		return v, nil
	}
	v, err := newVerifier(k, keys, now)
	if err != nil {
		return nil, err
	}
	verifiers[k] = v
	return v, nil
}

func newVerifier(k verifierKey, keys keySource, now func() time.Time) (*verifier, error) {
	p, err := accesstoken.NewParser(accesstoken.Options{
		Issuer:      k.issuer,
		Audiences:   strings.Split(k.audiences, "\x00"),
		Leeway:      k.skew,
		MaxLifetime: k.maxLifetime,
		Now:         now,
	})
	if err != nil {
		return nil, fmt.Errorf("build token parser: %w", err)
	}
	return &verifier{parser: p, keys: keys, skew: k.skew, cache: newTokenCache(tokenCacheSize)}, nil
}

// identity is what a verified token tells the upstream. It is shared by every
// request carrying the same token and never modified.
type identity struct {
	subject  string
	username string
	roles    []string
	sid      string
	jti      string
	kid      string
	upstream map[string][]string // the identity headers, ready for set_headers

	expires time.Time      // exp plus the allowed skew
	key     *rsa.PublicKey // the key that verified it
}

// verify returns the identity of a valid token. A token seen before is
// answered from the cache after checking again that it has not expired and
// that its key is still published.
func (v *verifier) verify(token string, now time.Time) (*identity, error) {
	set, ready := v.keys.current(now)
	if !ready {
		return nil, errKeysNotReady
	}
	if id := v.cache.get(token); id != nil {
		if k := set[id.kid]; now.Before(id.expires) && k != nil && (k == id.key || k.Equal(id.key)) {
			return id, nil
		}
		v.cache.remove(token)
	}
	keys := &kidRecorder{set: set}
	claims, err := v.parser.Parse(token, keys)
	if err != nil {
		if errors.Is(err, accesstoken.ErrUnknownKey) {
			v.keys.unknownKey(now)
		}
		return nil, err
	}
	id := newIdentity(claims, keys.kid, set[keys.kid], v.skew)
	v.cache.put(token, id)
	return id, nil
}

// kidRecorder remembers the kid Parse looked up, sparing a second decoding
// of the token's header.
type kidRecorder struct {
	set accesstoken.KeySet
	kid string
}

func (r *kidRecorder) PublicKey(kid string) (*rsa.PublicKey, bool) {
	r.kid = kid
	return r.set.PublicKey(kid)
}

func newIdentity(c *accesstoken.Claims, kid string, key *rsa.PublicKey, skew time.Duration) *identity {
	id := &identity{
		subject:  c.Subject,
		username: c.Username,
		roles:    c.Roles,
		sid:      c.SessionID,
		jti:      c.ID,
		kid:      kid,
		expires:  c.ExpiresAt.Add(skew),
		key:      key,
		upstream: map[string][]string{
			headerUserID:   {c.Subject},
			headerUsername: {c.Username},
		},
	}
	if len(c.Roles) > 0 {
		id.upstream[headerRoles] = []string{strings.Join(c.Roles, ",")}
	}
	return id
}

// tokenCacheSize bounds the tokens remembered per verifier.
const tokenCacheSize = 16384

const cacheShards = 16

// tokenCache maps a token string to its identity. It is sharded to keep
// lock contention low when many connections verify at once, and bounded:
// a full shard drops its expired entries, then an eighth of the rest.
type tokenCache struct {
	shards [cacheShards]cacheShard
	limit  int // per shard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*identity
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{limit: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*identity)
	}
	return c
}

// shard picks a shard from the signature's second to last character, which
// is uniformly distributed for a signed token and free to compute.
func (c *tokenCache) shard(token string) *cacheShard {
	var b byte
	if len(token) >= 2 {
		b = token[len(token)-2]
	}
	return &c.shards[int(b)%cacheShards]
}

func (c *tokenCache) get(token string) *identity {
	s := c.shard(token)
	s.mu.RLock()
	id := s.m[token]
	s.mu.RUnlock()
	return id
}

func (c *tokenCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	delete(s.m, token)
	s.mu.Unlock()
}

func (c *tokenCache) put(token string, id *identity) {
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.limit {
		now := time.Now()
		for k, v := range s.m {
			if !now.Before(v.expires) {
				delete(s.m, k)
			}
		}
		for k := range s.m {
			if len(s.m) < c.limit-c.limit/8 {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[token] = id
}

// unverifiedJTI reads the jti of a token that failed verification, for the
// log line only: it is whatever the client sent, bounded in length.
func unverifiedJTI(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > accesstoken.MaxTokenSize {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		ID any `json:"jti"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	s, _ := c.ID.(string)
	if !accesstoken.HeaderSafe(s) {
		return ""
	}
	return truncateForLog(s)
}
