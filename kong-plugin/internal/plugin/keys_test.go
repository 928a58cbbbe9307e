package plugin

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medinsights/auth/internal/accesstoken"
)

// jwksStub publishes a changeable key set on 127.0.0.1.
type jwksStub struct {
	mu    sync.Mutex
	keys  []*rsa.PublicKey
	extra []accesstoken.JWK // published as they are, after keys
	down  bool
	hits  atomic.Int64
}

func newJWKSStub(t *testing.T, keys ...*rsa.PublicKey) (*jwksStub, string) {
	t.Helper()
	s := &jwksStub{keys: keys}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		doc := accesstoken.JWKS{Keys: []accesstoken.JWK{}}
		for _, k := range s.keys {
			doc.Keys = append(doc.Keys, accesstoken.NewJWK(k))
		}
		doc.Keys = append(doc.Keys, s.extra...)
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *jwksStub) set(down bool, keys ...*rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down, s.keys = down, keys
}

// newFetcher is a fetcher outside the process registry, so that tests do
// not share it.
func newFetcher(url string, interval time.Duration) *jwksFetcher {
	f := &jwksFetcher{url: url, interval: interval, key: "test:" + url, wake: make(chan struct{}, 1)}
	f.touch(time.Now())
	return f
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestJWKSFetcherSkipsUnusableKeys: a key the plugin cannot use, published
// beside the signing keys, is left out; it does not freeze the last good
// set, so a withdrawn key still stops verifying.
func TestJWKSFetcherSkipsUnusableKeys(t *testing.T) {
	t.Parallel()
	k0, _ := key(t)
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid0, kid1 := accesstoken.Thumbprint(&k0.PublicKey), accesstoken.Thumbprint(&k1.PublicKey)
	ec := accesstoken.NewJWK(&k1.PublicKey)
	ec.Kty, ec.Kid = "EC", "ec-1"
	enc := accesstoken.NewJWK(&k1.PublicKey)
	enc.Use, enc.Kid = "enc", "enc-1"
	stub, url := newJWKSStub(t, &k0.PublicKey)
	stub.mu.Lock()
	stub.extra = []accesstoken.JWK{ec, enc}
	stub.mu.Unlock()
	f := newFetcher(url, 100*time.Millisecond)

	waitFor(t, "the usable key loaded", func() bool {
		set, ready := f.current(time.Now())
		return ready && set[kid0] != nil
	})
	if set, _ := f.current(time.Now()); len(set) != 1 {
		t.Errorf("set %v, want only %s", set, kid0)
	}
	stub.set(false, &k1.PublicKey) // k0 withdrawn; the unusable keys stay
	waitFor(t, "the withdrawn key gone", func() bool {
		set, _ := f.current(time.Now())
		return set[kid0] == nil && set[kid1] != nil
	})
}

func TestJWKSFetcherReplacesKeepsAndRefreshesOnDemand(t *testing.T) {
	t.Parallel()
	k0, _ := key(t)
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid0, kid1 := accesstoken.Thumbprint(&k0.PublicKey), accesstoken.Thumbprint(&k1.PublicKey)
	stub, url := newJWKSStub(t, &k0.PublicKey)
	f := newFetcher(url, 100*time.Millisecond)

	waitFor(t, "first key set", func() bool { _, ok := f.current(time.Now()); return ok })

	// Replaced, not merged.
	stub.set(false, &k1.PublicKey)
	waitFor(t, "key set replaced", func() bool {
		set, _ := f.current(time.Now())
		return set[kid1] != nil && set[kid0] == nil
	})

	// Down: the last good set stays.
	stub.set(true)
	before := stub.hits.Load()
	waitFor(t, "failed refreshes", func() bool { return stub.hits.Load() >= before+2 })
	if set, ok := f.current(time.Now()); !ok || set[kid1] == nil {
		t.Errorf("last good key set lost while the JWKS is down")
	}
}

func TestJWKSFetcherOnDemandIsRateLimited(t *testing.T) {
	t.Parallel()
	k0, _ := key(t)
	stub, url := newJWKSStub(t, &k0.PublicKey)
	f := newFetcher(url, time.Hour)
	waitFor(t, "first key set", func() bool { _, ok := f.current(time.Now()); return ok })

	before := stub.hits.Load()
	now := time.Now()
	for range 100 {
		f.unknownKey(now)
	}
	waitFor(t, "on-demand fetch", func() bool { return stub.hits.Load() == before+1 })
	f.unknownKey(now.Add(5 * time.Second))
	time.Sleep(200 * time.Millisecond)
	if got := stub.hits.Load() - before; got != 1 {
		t.Errorf("%d on-demand fetches within 10 s, want 1", got)
	}
	f.unknownKey(now.Add(jwksOnDemandInterval))
	waitFor(t, "next on-demand fetch after 10 s", func() bool { return stub.hits.Load() == before+2 })
}

func TestJWKSFetcherNotReadyAndRetryAfter(t *testing.T) {
	t.Parallel()
	stub, url := newJWKSStub(t)
	stub.set(true)
	f := newFetcher(url, time.Hour)
	waitFor(t, "a failed fetch", func() bool { return stub.hits.Load() >= 1 })
	now := time.Now()
	if _, ok := f.current(now); ok {
		t.Fatal("ready without a key set")
	}
	if ra := f.retryAfter(now); ra < 1 || ra > 30 {
		t.Errorf("Retry-After %d, want 1..30", ra)
	}
	k0, _ := key(t)
	stub.set(false, &k0.PublicKey)
	waitFor(t, "key set after the issuer came back", func() bool { _, ok := f.current(time.Now()); return ok })
}

func TestJWKSFetcherStopsWhenIdleAndRestartsOnUse(t *testing.T) {
	t.Parallel()
	k0, _ := key(t)
	stub, url := newJWKSStub(t, &k0.PublicKey)
	f := newFetcher(url, 50*time.Millisecond)
	waitFor(t, "first key set", func() bool { _, ok := f.current(time.Now()); return ok })

	f.lastUsed.Store(time.Now().Add(-time.Hour).UnixNano()) // no request for an hour
	waitFor(t, "idle goroutine stopped", func() bool { return !f.running.Load() })
	hits := stub.hits.Load()
	time.Sleep(200 * time.Millisecond)
	if stub.hits.Load() != hits {
		t.Errorf("an idle fetcher kept fetching")
	}
	if _, ok := f.current(time.Now()); !ok { // the last set answers at once
		t.Fatal("key set lost when the fetcher stopped")
	}
	waitFor(t, "restarted by a request", func() bool { return f.running.Load() && stub.hits.Load() > hits })
}

// panickingTransport panics on its first round trip, then sends requests on.
type panickingTransport struct{ calls atomic.Int32 }

func (p *panickingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.calls.Add(1) == 1 {
		panic("injected panic in the jwks client")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestJWKSFetcherRecoversFromAPanic: a panic in the fetcher's goroutine does
// not kill the plugin server, and the fetcher goes on to load the keys.
func TestJWKSFetcherRecoversFromAPanic(t *testing.T) {
	t.Parallel()
	k0, _ := key(t)
	_, url := newJWKSStub(t, &k0.PublicKey)
	tr := &panickingTransport{}
	f := &jwksFetcher{url: url, interval: time.Minute, key: "test-panic:" + url, wake: make(chan struct{}, 1),
		client: &http.Client{Transport: tr}}
	f.touch(time.Now())
	waitFor(t, "the keys after a panic", func() bool {
		set, ready := f.current(time.Now())
		return ready && set[accesstoken.Thumbprint(&k0.PublicKey)] != nil
	})
	if n := tr.calls.Load(); n != 2 {
		t.Errorf("%d round trips, want 2 (one panicked)", n)
	}
}
