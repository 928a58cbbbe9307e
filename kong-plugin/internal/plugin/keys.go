package plugin

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medinsights/auth/internal/accesstoken"
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

// JWKS fetching policy.
const (
	// jwksOnDemandInterval bounds fetches triggered by unknown kids: at most
	// one per interval, and for that long every unknown kid is answered from
	// memory (negative caching), so made-up kids cannot hammer the issuer.
	jwksOnDemandInterval = 10 * time.Second
	jwksFetchTimeout     = 5 * time.Second
	jwksMaxBody          = 1 << 20
	jwksFirstRetry       = 500 * time.Millisecond
	jwksPanicPauseMax    = time.Minute
	// jwksIdleAfter stops the refresh goroutine of a URL no request has used
	// for that long (a configuration that was replaced); the next request
	// restarts it and is answered from the last set meanwhile.
	jwksIdleAfter = 10 * time.Minute
)

// jwksClient fetches every JWKS of the process: bounded in time, no
// redirects (a JWKS served from elsewhere is a misconfiguration or an attack).
var jwksClient = &http.Client{
	Timeout: jwksFetchTimeout,
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   3 * time.Second,
		ResponseHeaderTimeout: jwksFetchTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// keySnapshot is one fetched key set.
type keySnapshot struct {
	set     accesstoken.KeySet
	fetched time.Time
}

// jwksFetcher keeps the key set of one JWKS URL fresh in the background.
// Requests read the last good set and never wait for a fetch.
type jwksFetcher struct {
	url      string
	interval time.Duration
	key      string
	client   *http.Client // nil: jwksClient

	snap         atomic.Pointer[keySnapshot]
	nextAttempt  atomic.Int64 // unix nanoseconds of the next fetch while no set has arrived
	lastOnDemand atomic.Int64 // unix nanoseconds of the last fetch an unknown kid asked for
	lastUsed     atomic.Int64 // unix nanoseconds, updated at most once a second
	failures     atomic.Int64 // failed fetches, for metrics
	wake         chan struct{}
	lastSkipped  string // owned by the run goroutine

	mu      sync.Mutex  // serializes starting and stopping the goroutine
	running atomic.Bool // written under mu
}

var (
	fetchersMu sync.Mutex
	fetchers   = map[string]*jwksFetcher{}
)

// jwksFor returns the process-wide fetcher of url refreshed every interval,
// creating and starting it on first use.
func jwksFor(url string, interval time.Duration) *jwksFetcher {
	key := "jwks:" + interval.String() + ":" + url
	fetchersMu.Lock()
	f, ok := fetchers[key]
	if !ok {
		f = &jwksFetcher{url: url, interval: interval, key: key, wake: make(chan struct{}, 1)}
		fetchers[key] = f
	}
	fetchersMu.Unlock()
	f.touch(time.Now())
	return f
}

func (f *jwksFetcher) id() string { return f.key }

// fetcherState is what metrics read of a fetcher.
type fetcherState struct {
	fetched  time.Time // zero before the first set
	keys     int
	failures int64
}

func (f *jwksFetcher) state() fetcherState {
	st := fetcherState{failures: f.failures.Load()}
	if s := f.snap.Load(); s != nil {
		st.fetched, st.keys = s.fetched, len(s.set)
	}
	return st
}

func (f *jwksFetcher) current(now time.Time) (accesstoken.KeySet, bool) {
	f.touch(now)
	s := f.snap.Load()
	if s == nil {
		return nil, false
	}
	return s.set, true
}

func (f *jwksFetcher) unknownKey(now time.Time) {
	last := f.lastOnDemand.Load()
	if now.UnixNano()-last < int64(jwksOnDemandInterval) || !f.lastOnDemand.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *jwksFetcher) retryAfter(now time.Time) int {
	secs := int(time.Duration(f.nextAttempt.Load()-now.UnixNano()) / time.Second)
	return min(max(secs, 1), 30)
}

// touch records use and makes sure the refresh goroutine runs.
func (f *jwksFetcher) touch(now time.Time) {
	n := now.UnixNano()
	if n-f.lastUsed.Load() > int64(time.Second) {
		f.lastUsed.Store(n)
	}
	if f.running.Load() {
		return
	}
	f.mu.Lock()
	if !f.running.Load() {
		f.running.Store(true)
		go f.run()
	}
	f.mu.Unlock()
}

// run keeps the fetch loop going. A panic in it would kill the plugin
// server (go-pdk recovers nothing), or leave the keys to go stale: it is
// logged, and the loop starts again after a pause that doubles each time.
func (f *jwksFetcher) run() {
	pause := jwksFirstRetry
	for !f.loop() {
		time.Sleep(pause)
		pause = min(pause*2, jwksPanicPauseMax)
	}
}

// loop fetches now, then every interval or when woken by an unknown kid. A
// failed fetch keeps the last good set and is retried sooner, with backoff.
// It reports whether it ended (stopped while idle) rather than panicked.
func (f *jwksFetcher) loop() (ended bool) {
	defer func() {
		if r := recover(); r != nil {
			logger.Error("panic in the jwks fetcher; restarting it", "jwks_url", f.url, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			ended = false
		}
	}()
	backoff := jwksFirstRetry
	for {
		wait := f.interval
		if err := f.fetch(); err != nil {
			f.failures.Add(1)
			logger.Warn("jwks fetch failed; keeping the last good key set", "jwks_url", f.url, "error", err.Error())
			wait = min(backoff, f.interval)
			backoff = min(backoff*2, f.interval)
		} else {
			backoff = jwksFirstRetry
		}
		f.nextAttempt.Store(time.Now().Add(wait).UnixNano())
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-f.wake:
			t.Stop()
		}
		if f.stopIfIdle() {
			return true
		}
	}
}

func (f *jwksFetcher) stopIfIdle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	idle := max(jwksIdleAfter, 3*f.interval)
	if time.Since(time.Unix(0, f.lastUsed.Load())) < idle {
		return false
	}
	f.running.Store(false)
	return true
}

// fetch replaces the key set with the one the URL publishes now: a key the
// issuer stopped publishing stops verifying.
func (f *jwksFetcher) fetch() error {
	ctx, cancel := context.WithTimeout(context.Background(), jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := cmp.Or(f.client, jwksClient).Do(req)
	if err != nil {
		return fmt.Errorf("get jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get jwks: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBody+1))
	if err != nil {
		return fmt.Errorf("read jwks: %w", err)
	}
	if len(body) > jwksMaxBody {
		return errors.New("read jwks: document larger than 1 MiB")
	}
	set, skipped, err := accesstoken.DecodeJWKS(body)
	f.logSkipped(skipped)
	if err != nil {
		return err
	}
	old := f.snap.Swap(&keySnapshot{set: set, fetched: time.Now()})
	if old == nil || !sameKids(old.set, set) {
		logger.Info("jwks key set loaded", "jwks_url", f.url, "kids", strings.Join(kids(set), ","))
	}
	return nil
}

// logSkipped reports the published keys that cannot verify tokens (an EC
// key, an encryption key, a short RSA key), when they change: the usable
// keys are applied without them.
func (f *jwksFetcher) logSkipped(skipped []accesstoken.SkippedKey) {
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
		logger.Warn("jwks keys skipped: they cannot verify access tokens", "jwks_url", f.url, "skipped", len(skipped), "reasons", line)
	}
}

func sameKids(a, b accesstoken.KeySet) bool {
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
