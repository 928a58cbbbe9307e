package jwks

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/medinsights/auth/internal/accesstoken"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

var (
	keysOnce sync.Once
	testKeys [2]*rsa.PrivateKey
)

func keys(t *testing.T) (*rsa.PublicKey, *rsa.PublicKey) {
	t.Helper()
	keysOnce.Do(func() {
		for i := range testKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys[i] = k
		}
	})
	return &testKeys[0].PublicKey, &testKeys[1].PublicKey
}

// stub publishes a changeable key set on 127.0.0.1.
type stub struct {
	mu    sync.Mutex
	keys  []*rsa.PublicKey
	extra []accesstoken.JWK // published as they are, after keys
	down  bool
	hits  atomic.Int64
}

func newStub(t *testing.T, keys ...*rsa.PublicKey) (*stub, string) {
	t.Helper()
	s := &stub{keys: keys}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		doc := accesstoken.NewJWKS(s.keys...)
		doc.Keys = append(doc.Keys, s.extra...)
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *stub) set(down bool, keys ...*rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down, s.keys = down, keys
}

// setup starts a Fetcher of its own (outside the process registry) and
// returns it with the channel its OnFetched signal writes every attempt to.
// The Fetcher is closed when the test ends.
func setup(t *testing.T, url string, interval time.Duration, client *http.Client) (*Fetcher, <-chan error) {
	t.Helper()
	fetched := make(chan error, 64)
	f, err := New(Options{URL: url, Interval: interval, Client: client, Logger: slog.New(slog.DiscardHandler),
		OnFetched: func(err error) {
			select {
			case fetched <- err:
			default: // a slow test reads the set itself
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	t.Cleanup(f.Close)
	return f, fetched
}

// next waits for the next fetch attempt and returns its error.
func next(t *testing.T, fetched <-chan error) error {
	t.Helper()
	select {
	case err := <-fetched:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no fetch within 10 s")
		return nil
	}
}

// until waits for fetch attempts until cond holds after one.
func until(t *testing.T, fetched <-chan error, what string, cond func() bool) {
	t.Helper()
	for range 100 {
		next(t, fetched)
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not after 100 fetches", what)
}

// TestSkipsUnusableKeys: a key the plugin cannot use, published beside the
// signing keys, is left out; it does not freeze the last good set, so a
// withdrawn key still stops verifying.
func TestSkipsUnusableKeys(t *testing.T) {
	t.Parallel()
	k0, k1 := keys(t)
	kid0, kid1 := accesstoken.Thumbprint(k0), accesstoken.Thumbprint(k1)
	ec := accesstoken.NewJWK(k1)
	ec.Kty, ec.Kid = "EC", "ec-1"
	enc := accesstoken.NewJWK(k1)
	enc.Use, enc.Kid = "enc", "enc-1"
	s, url := newStub(t, k0)
	s.mu.Lock()
	s.extra = []accesstoken.JWK{ec, enc}
	s.mu.Unlock()
	f, fetched := setup(t, url, 20*time.Millisecond, nil)

	if err := next(t, fetched); err != nil {
		t.Fatal(err)
	}
	if set, ready := f.Current(time.Now()); !ready || len(set) != 1 || set[kid0] == nil {
		t.Errorf("set %v, want only %s", set, kid0)
	}
	s.set(false, k1) // k0 withdrawn; the unusable keys stay
	until(t, fetched, "the withdrawn key gone", func() bool {
		set, _ := f.Current(time.Now())
		return set[kid0] == nil && set[kid1] != nil
	})
}

func TestReplacesAndKeepsTheLastGoodSet(t *testing.T) {
	t.Parallel()
	k0, k1 := keys(t)
	kid0, kid1 := accesstoken.Thumbprint(k0), accesstoken.Thumbprint(k1)
	s, url := newStub(t, k0)
	f, fetched := setup(t, url, 20*time.Millisecond, nil)
	if err := next(t, fetched); err != nil {
		t.Fatal(err)
	}

	// Replaced, not merged.
	s.set(false, k1)
	until(t, fetched, "key set replaced", func() bool {
		set, _ := f.Current(time.Now())
		return set[kid1] != nil && set[kid0] == nil
	})

	// Down: the last good set stays, and the failures are counted.
	s.set(true)
	until(t, fetched, "two failed refreshes", func() bool { return f.State().Failures >= 2 })
	if set, ok := f.Current(time.Now()); !ok || set[kid1] == nil {
		t.Errorf("last good key set lost while the JWKS is down")
	}
	if st := f.State(); st.Keys != 1 || st.Fetched.IsZero() {
		t.Errorf("state %+v", st)
	}
}

func TestOnDemandIsRateLimited(t *testing.T) {
	t.Parallel()
	k0, _ := keys(t)
	s, url := newStub(t, k0)
	f, fetched := setup(t, url, time.Hour, nil)
	if err := next(t, fetched); err != nil {
		t.Fatal(err)
	}

	before := s.hits.Load()
	now := time.Now()
	for range 100 {
		f.UnknownKey(now)
	}
	next(t, fetched)
	if got := s.hits.Load() - before; got != 1 {
		t.Errorf("%d fetches for 100 unknown kids, want 1", got)
	}
	// Within OnDemandInterval an unknown kid is answered from memory: no
	// wake-up is queued, so nothing can fetch before the hour is up.
	f.UnknownKey(now.Add(5 * time.Second))
	if len(f.wake) != 0 {
		t.Error("an unknown kid within 10 s of the last on-demand fetch queued another")
	}
	f.UnknownKey(now.Add(OnDemandInterval))
	next(t, fetched)
	if got := s.hits.Load() - before; got != 2 {
		t.Errorf("%d on-demand fetches, want 2", got)
	}
}

func TestNotReadyAndRetryAfter(t *testing.T) {
	t.Parallel()
	s, url := newStub(t)
	s.set(true)
	f, fetched := setup(t, url, time.Hour, nil)
	if err := next(t, fetched); err == nil {
		t.Fatal("a fetch from a JWKS answering 502 succeeded")
	}
	now := time.Now()
	if _, ok := f.Current(now); ok {
		t.Fatal("ready without a key set")
	}
	if ra := f.RetryAfter(now); ra < 1 || ra > 30 {
		t.Errorf("Retry-After %d, want 1..30", ra)
	}
	k0, _ := keys(t)
	s.set(false, k0)
	until(t, fetched, "key set after the issuer came back", func() bool { _, ok := f.Current(time.Now()); return ok })
}

func TestStopsWhenIdleAndRestartsOnUse(t *testing.T) {
	t.Parallel()
	k0, _ := keys(t)
	s, url := newStub(t, k0)
	f, fetched := setup(t, url, 20*time.Millisecond, nil)
	if err := next(t, fetched); err != nil {
		t.Fatal(err)
	}

	f.lastUsed.Store(time.Now().Add(-time.Hour).UnixNano()) // no request for an hour
	f.wg.Wait()                                             // the goroutine ends at its next wake-up
	if f.running.Load() {
		t.Fatal("the goroutine ended but the Fetcher says it runs")
	}
	hits := s.hits.Load()
	if _, ok := f.Current(time.Now()); !ok { // the last set answers at once, and restarts the goroutine
		t.Fatal("key set lost when the fetcher stopped")
	}
	next(t, fetched)
	if !f.running.Load() || s.hits.Load() <= hits {
		t.Error("a request did not restart the idle fetcher")
	}
}

// TestCloseStopsTheGoroutine: Close ends the goroutine (goleak in TestMain
// checks it is gone) and a closed Fetcher never starts again.
func TestCloseStopsTheGoroutine(t *testing.T) {
	t.Parallel()
	k0, _ := keys(t)
	s, url := newStub(t, k0)
	f, fetched := setup(t, url, time.Hour, nil)
	next(t, fetched)
	f.Close()
	hits := s.hits.Load()
	f.Current(time.Now())
	f.Start()
	if s.hits.Load() != hits {
		t.Error("a closed Fetcher started again")
	}
}

// panickingTransport panics on its first round trip, then sends requests on.
type panickingTransport struct{ calls atomic.Int32 }

func (p *panickingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.calls.Add(1) == 1 {
		panic("injected panic in the jwks client")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestRecoversFromAPanic: a panic in the fetcher's goroutine does not kill
// the plugin server, and the fetcher goes on to load the keys.
func TestRecoversFromAPanic(t *testing.T) {
	t.Parallel()
	k0, _ := keys(t)
	_, url := newStub(t, k0)
	tr := &panickingTransport{}
	f, fetched := setup(t, url, time.Minute, &http.Client{Transport: tr})
	if err := next(t, fetched); err != nil { // the attempt after the panic
		t.Fatal(err)
	}
	if set, ready := f.Current(time.Now()); !ready || set[accesstoken.Thumbprint(k0)] == nil {
		t.Error("no keys after the panic")
	}
	if n := tr.calls.Load(); n != 2 {
		t.Errorf("%d round trips, want 2 (one panicked)", n)
	}
}
