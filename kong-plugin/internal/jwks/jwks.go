// Package jwks keeps, in the memory of a plugin-server process, the key set
// an issuer publishes at its JWKS URL, so the gateway verifies tokens without
// waiting on the network.
//
// A [Fetcher] fetches the set at once, then every interval, and sooner when
// a token names a key it does not hold (at most once per OnDemandInterval,
// which also answers made-up kids from memory). A failed fetch keeps the last
// good set and is retried with backoff. A request never waits: [Fetcher.Current]
// reads an immutable set through an atomic pointer.
//
// It has the shape of the revocation syncer (package revocation): [New]
// returns a stopped Fetcher, [Fetcher.Start] starts its goroutine with a
// context, [Fetcher.Close] cancels it and waits, and a panic in the goroutine
// is logged and the loop restarted after a pause that doubles. [For] returns
// the process-wide Fetcher of a URL and interval, shared by every plugin
// instance naming them; its goroutine belongs to the process, stops when no
// request has used it for a while (a configuration that was replaced), and
// starts again on use. A test that checks for leaked goroutines ignores it
// with
//
//	goleak.IgnoreAnyFunction("github.com/medinsights/auth/kong-plugin/internal/jwks.(*Fetcher).run")
package jwks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/kong-plugin/internal/sleep"
)

// Fetching policy.
const (
	// OnDemandInterval bounds fetches triggered by unknown kids: at most one
	// per interval, and for that long every unknown kid is answered from
	// memory (negative caching), so made-up kids cannot hammer the issuer.
	OnDemandInterval = 10 * time.Second
	fetchTimeout     = 5 * time.Second
	maxBody          = 1 << 20
	firstRetry       = 500 * time.Millisecond
	panicPauseMax    = time.Minute
	// idleAfter stops the goroutine of a Fetcher no request has used for
	// that long; the next request restarts it and is answered from the last
	// set meanwhile.
	idleAfter = 10 * time.Minute
)

// defaultClient fetches every JWKS of the process: bounded in time, no
// redirects (a JWKS served from elsewhere is a misconfiguration or an attack).
var defaultClient = &http.Client{
	Timeout: fetchTimeout,
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   3 * time.Second,
		ResponseHeaderTimeout: fetchTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Options configures a Fetcher made with [New].
type Options struct {
	URL      string
	Interval time.Duration // between refreshes; required
	// Logger receives fetch failures and key set changes. Nil: slog.Default().
	Logger *slog.Logger
	// Client overrides the HTTP client (tests). Nil: one that follows no
	// redirect.
	Client *http.Client
	// OnFetched, when set, is called by the Fetcher's goroutine after each
	// fetch attempt with its error (nil: the set was replaced). It is the
	// signal tests wait on; it must return quickly.
	OnFetched func(err error)
}

// snapshot is one fetched key set.
type snapshot struct {
	set     accesstoken.KeySet
	fetched time.Time
}

// Fetcher keeps the key set of one JWKS URL fresh. Its methods are safe for
// concurrent use.
type Fetcher struct {
	url       string
	interval  time.Duration
	id        string
	log       *slog.Logger
	client    *http.Client
	onFetched func(error)
	idleAfter time.Duration

	snap         atomic.Pointer[snapshot]
	nextAttempt  atomic.Int64 // unix nanoseconds of the next fetch while no set has arrived
	lastOnDemand atomic.Int64 // unix nanoseconds of the last fetch an unknown kid asked for
	lastUsed     atomic.Int64 // unix nanoseconds, updated at most once a second
	failures     atomic.Int64
	wake         chan struct{}
	lastSkipped  string // owned by the run goroutine

	// Lifecycle, as the revocation Syncer's: a run goroutine is launched
	// under mu; ctx ends it.
	mu      sync.Mutex
	ctx     context.Context
	stop    context.CancelFunc
	closed  bool
	running atomic.Bool // written under mu
	wg      sync.WaitGroup
}

// New returns a Fetcher that has not started; [Fetcher.Start] starts it and
// [Fetcher.Close] stops it. Plugin code uses [For] instead.
func New(o Options) (*Fetcher, error) {
	if o.URL == "" || o.Interval <= 0 {
		return nil, errors.New("jwks: a URL and a positive interval are required")
	}
	f := &Fetcher{
		url:       o.URL,
		interval:  o.Interval,
		id:        "jwks:" + o.Interval.String() + ":" + o.URL,
		log:       cmp.Or(o.Logger, slog.Default()).With("jwks_url", o.URL),
		client:    cmp.Or(o.Client, defaultClient),
		onFetched: o.OnFetched,
		idleAfter: max(idleAfter, 3*o.Interval),
		wake:      make(chan struct{}, 1),
	}
	f.ctx, f.stop = context.WithCancel(context.Background())
	f.lastUsed.Store(time.Now().UnixNano())
	return f, nil
}

var registry = struct {
	sync.Mutex
	fetchers map[string]*Fetcher
}{fetchers: map[string]*Fetcher{}}

// For returns the process-wide Fetcher of url refreshed every interval,
// creating and starting it on first use. url must be valid (the plugin
// checks its configuration first); interval must be positive.
func For(url string, interval time.Duration, log *slog.Logger) *Fetcher {
	registry.Lock()
	defer registry.Unlock()
	id := "jwks:" + interval.String() + ":" + url
	if f, ok := registry.fetchers[id]; ok {
		f.touch(time.Now())
		return f
	}
	f, err := New(Options{URL: url, Interval: interval, Logger: log})
	if err != nil {
		panic(err) // a programming error: For is called with validated settings
	}
	registry.fetchers[id] = f
	f.Start()
	return f
}

// All returns the process's Fetchers made by For.
func All() []*Fetcher {
	registry.Lock()
	defer registry.Unlock()
	out := make([]*Fetcher, 0, len(registry.fetchers))
	for _, f := range registry.fetchers {
		out = append(out, f)
	}
	return out
}

// URL returns the JWKS URL.
func (f *Fetcher) URL() string { return f.url }

// ID identifies the Fetcher among the process's key sources.
func (f *Fetcher) ID() string { return f.id }

// Current returns the key set to verify with; ready is false until a first
// set has arrived. It never waits on the network, and marks the Fetcher in
// use (restarting an idle one).
func (f *Fetcher) Current(now time.Time) (set accesstoken.KeySet, ready bool) {
	f.touch(now)
	s := f.snap.Load()
	if s == nil {
		return nil, false
	}
	return s.set, true
}

// UnknownKey reports that a token named a kid missing from the set: the set
// is fetched again at once, at most once per OnDemandInterval.
func (f *Fetcher) UnknownKey(now time.Time) {
	last := f.lastOnDemand.Load()
	if now.UnixNano()-last < int64(OnDemandInterval) || !f.lastOnDemand.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// RetryAfter is the number of seconds a client should wait while no set
// has arrived: until the next attempt, 1 to 30.
func (f *Fetcher) RetryAfter(now time.Time) int {
	secs := int(time.Duration(f.nextAttempt.Load()-now.UnixNano()) / time.Second)
	return min(max(secs, 1), 30)
}

// State is what metrics read of a Fetcher.
type State struct {
	Fetched  time.Time // when the current set was fetched; zero before the first
	Keys     int
	Failures int64 // failed fetches since the process started
}

// State returns the Fetcher's current state.
func (f *Fetcher) State() State {
	st := State{Failures: f.failures.Load()}
	if s := f.snap.Load(); s != nil {
		st.Fetched, st.Keys = s.fetched, len(s.set)
	}
	return st
}

// Start starts fetching; calls while it runs do nothing.
func (f *Fetcher) Start() { f.launch() }

// Close stops a Fetcher made with [New] and waits for its goroutine to end.
// The Fetchers of [For] belong to the process and are never closed.
func (f *Fetcher) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.stop()
	f.wg.Wait()
}

// touch records use and makes sure the goroutine runs.
func (f *Fetcher) touch(now time.Time) {
	n := now.UnixNano()
	if n-f.lastUsed.Load() > int64(time.Second) {
		f.lastUsed.Store(n)
	}
	if !f.running.Load() {
		f.launch()
	}
}

func (f *Fetcher) launch() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.running.Load() {
		return
	}
	f.running.Store(true)
	f.wg.Add(1)
	go f.run(f.ctx)
}

// run is the Fetcher's goroutine. A panic in it would kill the plugin server
// (go-pdk recovers nothing), or leave the keys to go stale: it is logged,
// and the loop starts again after a pause that doubles each time.
func (f *Fetcher) run(ctx context.Context) {
	defer f.wg.Done()
	pause := firstRetry
	for !f.loop(ctx) && ctx.Err() == nil {
		sleep.For(ctx, pause)
		pause = min(pause*2, panicPauseMax)
	}
}

// loop fetches now, then every interval or when woken by an unknown kid. A
// failed fetch keeps the last good set and is retried sooner, with backoff.
// It reports whether it ended (ctx done, or stopped while idle) rather than
// panicked.
func (f *Fetcher) loop(ctx context.Context) (ended bool) {
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("panic in the jwks fetcher; restarting it", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			ended = false
		}
	}()
	backoff := firstRetry
	for ctx.Err() == nil {
		wait := f.interval
		err := f.fetch(ctx)
		if ctx.Err() != nil {
			return true
		}
		if err != nil {
			f.failures.Add(1)
			f.log.Warn("jwks fetch failed; keeping the last good key set", "error", err.Error())
			wait = min(backoff, f.interval)
			backoff = min(backoff*2, f.interval)
		} else {
			backoff = firstRetry
		}
		if f.onFetched != nil {
			f.onFetched(err)
		}
		f.nextAttempt.Store(time.Now().Add(wait).UnixNano())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-f.wake:
		}
		t.Stop()
		if f.stopIfIdle() {
			return true
		}
	}
	return true
}

// stopIfIdle marks the Fetcher stopped when no request used it for
// idleAfter. touch reads running after writing lastUsed, and this clears
// running under mu, so a request racing the stop relaunches it.
func (f *Fetcher) stopIfIdle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(time.Unix(0, f.lastUsed.Load())) < f.idleAfter {
		return false
	}
	f.running.Store(false)
	return true
}

// fetch replaces the key set with the one the URL publishes now: a key the
// issuer stopped publishing stops verifying.
func (f *Fetcher) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("get jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get jwks: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("read jwks: %w", err)
	}
	if len(body) > maxBody {
		return errors.New("read jwks: document larger than 1 MiB")
	}
	set, skipped, err := accesstoken.DecodeJWKS(body)
	f.logSkipped(skipped)
	if err != nil {
		return err
	}
	old := f.snap.Swap(&snapshot{set: set, fetched: time.Now()})
	if old == nil || !sameKeys(old.set, set) {
		f.log.Info("jwks key set loaded", "kids", strings.Join(kids(set), ","))
	}
	return nil
}

// logSkipped reports the published keys that cannot verify tokens (an EC
// key, an encryption key, a short RSA key), when they change: the usable
// keys are applied without them.
func (f *Fetcher) logSkipped(skipped []accesstoken.SkippedKey) {
	reasons := make([]string, len(skipped))
	for i, k := range skipped {
		reasons[i] = k.Err.Error()
	}
	line := strings.Join(reasons, "; ")
	if line == f.lastSkipped {
		return
	}
	f.lastSkipped = line
	if line != "" {
		f.log.Warn("jwks keys skipped: they cannot verify access tokens", "skipped", len(skipped), "reasons", line)
	}
}

func sameKeys(a, b accesstoken.KeySet) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}

func kids(set accesstoken.KeySet) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return out
}
