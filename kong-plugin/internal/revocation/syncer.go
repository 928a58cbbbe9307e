// Package revocation keeps, in the memory of a plugin-server process, the set
// of sessions the issuer has revoked, so the gateway refuses a logged-out
// session's access token at once instead of when it expires.
//
// A [Syncer] follows the issuer's revocation feed (GET /api/auth/revocations/):
// it loads a snapshot of every live revocation first, then follows the events
// after its cursor, applies them, and drops the ones whose tokens have all
// expired. It prefers the feed's stream (GET .../revocations/stream, one
// response held open, see stream.go), and long-polls when the issuer has no
// stream (404) or the staleness bound is too short for one. After an error
// it reconnects with exponential backoff and jitter, and waits at least the
// Retry-After of a 429 or 503. A request never waits on the feed: [Syncer.Revoked] reads an
// immutable set through an atomic pointer, and [Syncer.LastSync] tells the
// caller how stale that set may be, so it can refuse (or pass) when the feed
// has been unreachable for longer than it allows.
//
// There is one Syncer per feed URL and token per process ([For]), shared by
// every plugin instance naming them: Kong starts and drops instances at will,
// and each must not open a feed connection of its own. Its goroutine belongs
// to the process, not to an instance: it runs until the process exits, or
// until its feed has failed for a while with no instance using it (old
// settings after a token rotation), and starts again when used. A test that
// checks for leaked goroutines ignores it with
//
//	goleak.IgnoreAnyFunction("github.com/medinsights/auth/kong-plugin/internal/revocation.(*Syncer).run")
//
// This package uses only the standard library: the plugin never links pgx.
package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medinsights/auth/kong-plugin/internal/sleep"
)

const (
	// DefaultMaxStaleness is the staleness bound assumed when none is given
	// (the plugin's revocation_max_staleness_seconds default).
	DefaultMaxStaleness = 30 * time.Second

	// maxWait is the longest long poll the feed accepts (its wait is at most 30 s),
	// with room for a proxy's 30-second idle timeout.
	maxWait = 25 * time.Second

	// MaxClockSkew is the widest clock skew a plugin instance may allow
	// (clock_skew_seconds at most 300): such a gateway accepts a token up to
	// that long past its exp.
	MaxClockSkew = 300 * time.Second

	// expiryGrace keeps a revocation in force past the expiry the issuer gave
	// it (which is at or after the exp of every token of the session) for the
	// widest skew a gateway may allow plus a minute for a gateway clock that
	// lags the issuer's. The Syncer is shared by instances with different
	// skews, so it holds every entry for the widest: a token past its own
	// instance's skew is refused as expired anyway. It costs only memory.
	expiryGrace = int64(MaxClockSkew/time.Second) + 60

	// requestSlack is added to the wait to bound one request: a feed that
	// holds a request far past the wait it was asked for is treated as down.
	requestSlack = 10 * time.Second

	// maxPageBytes bounds one answer (a snapshot of a million revocations is
	// about 90 MB of JSON).
	maxPageBytes = 512 << 20

	// compactEvery is how often the set is rebuilt without its expired entries.
	compactEvery = time.Minute

	// emptyPause spaces out requests when the feed answers "nothing new" much
	// sooner than the wait asked for (a replica shutting down, a proxy cutting
	// the request short), so a misbehaving feed is never polled in a tight
	// loop. It is also the polling interval under a bound too short (below
	// 3 s) for a whole-second long poll.
	emptyPause = 250 * time.Millisecond

	backoffBase = 100 * time.Millisecond
	backoffCap  = 5 * time.Second

	// idleAfter is how long a failing Syncer goes on with no plugin
	// instance asking for it before it stops (see run).
	idleAfter = 10 * time.Minute
)

// Options configures a Syncer made with [New].
type Options struct {
	// URL is the feed, e.g. http://issuer:8001/api/auth/revocations/.
	URL string
	// Token is the feed's bearer credential (the issuer's REVOCATION_FEED_TOKEN).
	Token string
	// MaxStaleness is the caller's staleness bound; the long poll asks for a
	// third of it (at most 25 s), so an idle but healthy feed answers well
	// before the bound passes. Under 3 s, where a third is less than the
	// feed's one-second unit, the Syncer polls four times a second instead.
	// Zero means DefaultMaxStaleness.
	MaxStaleness time.Duration
	// Logger receives connection errors, recoveries and snapshot loads.
	// Nil means slog.Default().
	Logger *slog.Logger
	// Client overrides the HTTP client (tests). Nil means a client of the
	// Syncer's own that follows no redirect.
	Client *http.Client
	// OnApplied, when set, is called by the Syncer's goroutine after each
	// answer or stream message it applied, with the time it was received:
	// events holds the revocations of a delta, in feed order, and is nil
	// for a snapshot and a heartbeat (which may have moved LastSync). It is
	// how metrics observe propagation lag (now less Event.CommittedAt) and
	// freshness. It must return quickly and must not keep events.
	OnApplied func(events []Event, now time.Time)
	// Hooks are called at points tests wait on (all optional; none in
	// production).
	Hooks Hooks
}

// Hooks are functions the Syncer's goroutine calls at points a test waits
// on, instead of polling until the Syncer has probably got there. They are
// set before the Syncer starts and never change; an unset one costs a nil
// check. Each must return quickly.
type Hooks struct {
	// Applied is called after each answer or stream message the Syncer
	// applied: Revoked, Len and LastSync already show it.
	Applied func()
	// Failed is called after each failed attempt to follow the feed, with
	// its error, before the pause that follows it.
	Failed func(err error)
	// Stopped is called when the Syncer stops because its feed kept failing
	// while no plugin instance used it (see run), after it stopped counting
	// as running.
	Stopped func()
}

// Syncer follows one revocation feed. Its methods are safe for concurrent use.
type Syncer struct {
	url       *url.URL
	streamURL *url.URL
	token     string
	onApplied func([]Event, time.Time)
	hooks     Hooks
	log       *slog.Logger
	client    *http.Client

	waitSeconds atomic.Int64
	state       atomic.Pointer[set]
	lastSync    atomic.Int64 // Unix nanoseconds; 0 until the first snapshot

	backoffBase, backoffCap time.Duration
	idleAfter               time.Duration
	noStreamRetry           time.Duration

	// Lifecycle. A run goroutine is launched under mu; ctx ends it.
	mu      sync.Mutex
	ctx     context.Context
	stop    context.CancelFunc
	closed  bool
	running atomic.Bool // a run goroutine is active; written under mu
	wg      sync.WaitGroup
	used    atomic.Bool // LastSync was called since run last looked

	// Owned by the run goroutine.
	cursor      int64
	synced      bool // a snapshot has loaded since the start or the last reset
	confirmed   bool // the last answer was to a request sent after that snapshot loaded, and complete (not a full page)
	lastCompact time.Time
	// noStreamUntil: the issuer answered 404 for the stream; long-poll until
	// then. noStreamLogged: that was logged once already.
	noStreamUntil  time.Time
	noStreamLogged bool
}

// CheckURL reports whether raw can name a revocation feed: an absolute http
// or https URL with a host and no user information (the credential travels
// in the Authorization header, never in the URL).
func CheckURL(raw string) error {
	_, err := parseFeedURL(raw)
	return err
}

func parseFeedURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("revocation feed URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("revocation feed URL: must be an absolute http or https URL")
	}
	if u.User != nil {
		return nil, errors.New("revocation feed URL: must not carry user information")
	}
	if u.Fragment != "" {
		return nil, errors.New("revocation feed URL: must not carry a fragment")
	}
	return u, nil
}

// New returns a Syncer that has not started; [Syncer.Start] starts it and
// [Syncer.Close] stops it. Plugin code uses [For] instead.
func New(o Options) (*Syncer, error) {
	u, err := parseFeedURL(o.URL)
	if err != nil {
		return nil, err
	}
	if o.Token == "" {
		return nil, errors.New("revocation feed token is required")
	}
	s := &Syncer{
		url:         u,
		streamURL:   streamURLFor(u),
		onApplied:   o.OnApplied,
		hooks:       o.Hooks,
		token:       o.Token,
		log:         o.Logger,
		client:      o.Client,
		backoffBase: backoffBase,
		backoffCap:  backoffCap,
		idleAfter:   idleAfter,

		noStreamRetry: noStreamRetry,
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("revocation_feed", u.Redacted())
	if s.client == nil {
		s.client = newClient()
	}
	s.waitSeconds.Store(waitFor(o.MaxStaleness))
	s.state.Store(emptySet)
	return s, nil
}

func newClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 2
	t.ResponseHeaderTimeout = 0 // a long poll answers late by design; the request's context bounds it
	return &http.Client{
		Transport: t,
		// A redirect would send the feed credential somewhere the operator
		// did not name: refuse it and report the status instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// waitFor is the long-poll wait, in whole seconds, for a staleness bound:
// 0 (poll without waiting) when a third of the bound is under a second.
func waitFor(maxStaleness time.Duration) int64 {
	if maxStaleness <= 0 {
		maxStaleness = DefaultMaxStaleness
	}
	return int64(min(maxStaleness/3, maxWait) / time.Second)
}

// registry holds the process's syncers, one per feed URL and token.
var registry = struct {
	sync.Mutex
	syncers map[registryKey]*Syncer
}{syncers: make(map[registryKey]*Syncer)}

type registryKey struct{ url, token string }

// For returns the process-wide Syncer for the feed at rawURL with token,
// creating and starting it on the first call. Every plugin instance naming
// the same feed and token shares it; its goroutine outlives the instances.
// When instances give different staleness bounds, the long poll follows the
// shortest. A URL that [CheckURL] refuses gives a Syncer that never syncs
// (its LastSync stays zero), so the caller's stale-feed rule applies; the
// caller should have validated the URL first.
func For(rawURL, token string, maxStaleness time.Duration, log *slog.Logger) *Syncer {
	return Shared(Options{URL: rawURL, Token: token, MaxStaleness: maxStaleness, Logger: log})
}

// Shared is [For] with every option: the process-wide Syncer for o.URL and
// o.Token. The options of the call that creates it are kept (OnApplied
// included); later calls only lower the long-poll wait.
func Shared(o Options) *Syncer {
	rawURL, token, maxStaleness, log := o.URL, o.Token, o.MaxStaleness, o.Logger
	registry.Lock()
	defer registry.Unlock()
	key := registryKey{rawURL, token}
	if s, ok := registry.syncers[key]; ok {
		s.lowerWait(waitFor(maxStaleness))
		return s
	}
	s, err := New(o)
	if err != nil {
		if log == nil {
			log = slog.Default()
		}
		log.Error("revocation feed not followed: every token is treated as of unknown state", "error", err)
		s = &Syncer{}
		s.state.Store(emptySet)
		registry.syncers[key] = s
		return s
	}
	registry.syncers[key] = s
	s.Start()
	return s
}

func (s *Syncer) lowerWait(w int64) {
	for {
		cur := s.waitSeconds.Load()
		if w >= cur || s.waitSeconds.CompareAndSwap(cur, w) {
			return
		}
	}
}

// Revoked reports whether the session sid (a UUID, the token's "sid" claim)
// is revoked at now. It takes no lock and allocates nothing. A sid that is
// not a UUID is never in the set: the issuer signs only UUID session ids.
func (s *Syncer) Revoked(sid string, now time.Time) bool {
	id, ok := parseSessionID(sid)
	if !ok {
		return false
	}
	exp, ok := s.state.Load().expiresAt(id)
	return ok && now.Unix() < exp+expiryGrace
}

// LastSync returns the time as of which the set is known to hold every
// revocation the feed had: the start of the last request the feed answered
// among those sent while the Syncer already held a snapshot, and not full
// ("more": events may follow its cursor). A snapshot does not move it: the
// feed may answer a snapshot from a database read that began before the
// request was sent (a read shared with other gateways), so after loading one
// the Syncer asks for the events after its cursor at once, without waiting,
// and only that answer, read by the feed after the request arrived, makes it
// fresh. It is zero until then.
//
// Callers ask it on every request, which marks the Syncer in use: a Syncer
// that has stopped because nobody used it while its feed failed (see run)
// starts again.
func (s *Syncer) LastSync() time.Time {
	if !s.used.Load() { // written once per loop of run, not per request
		s.used.Store(true)
		if !s.running.Load() {
			s.launch()
		}
	}
	return s.lastSyncTime()
}

// Synced is LastSync without marking the Syncer in use: for metrics, whose
// scrapes must not keep an abandoned Syncer running.
func (s *Syncer) Synced() time.Time { return s.lastSyncTime() }

func (s *Syncer) lastSyncTime() time.Time {
	ns := s.lastSync.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Len returns the number of revoked sessions held.
func (s *Syncer) Len() int {
	return s.state.Load().len()
}

// Start starts following the feed; calls while it runs do nothing.
func (s *Syncer) Start() { s.launch() }

func (s *Syncer) launch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.url == nil || s.running.Load() {
		return
	}
	s.running.Store(true)
	s.wg.Add(1)
	go s.run(s.ctx)
}

// Close stops a Syncer made with [New] and waits for its goroutine to end.
// The Syncers of [For] belong to the process and are never closed.
func (s *Syncer) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
}

// run is the Syncer's goroutine: sync, and after an error back off.
//
// A Syncer whose feed keeps failing while no plugin instance has asked for
// it (through LastSync) for idleAfter stops: after a revocation_token
// rotation or a revocation_url change, the Syncer of the old settings would
// otherwise retry, and log, until the plugin server restarts. A healthy
// Syncer never stops (an idle long poll costs nothing), and a stopped one
// starts again when it is next used.
func (s *Syncer) run(ctx context.Context) {
	defer s.wg.Done()
	// A panic here would kill the plugin server (and every request of every
	// Kong worker with it), or leave the set to go stale for good: recover,
	// log, and follow the feed again after a pause that doubles each time.
	pause := s.backoffBase
	for !s.follow(ctx) && ctx.Err() == nil {
		sleep.For(ctx, pause)
		pause = min(pause*2, s.backoffCap)
	}
}

// follow is run's loop. It reports whether it ended (ctx done, or stopped
// while idle) rather than panicked.
func (s *Syncer) follow(ctx context.Context) (ended bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in the revocation syncer; restarting it", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			ended = false
		}
	}()
	failures := 0
	var lastErrLog time.Time
	lastUse := time.Now()
	for ctx.Err() == nil {
		if s.used.Swap(false) {
			lastUse = time.Now()
		}
		err := s.syncOnce(ctx)
		if ctx.Err() != nil {
			return true
		}
		if err == nil {
			if failures > 0 {
				s.log.Info("revocation feed reachable again", "failures", failures, "cursor", s.cursor)
			}
			failures = 0
			continue
		}
		failures++
		// The first failure and then one line every 30 s: a feed that is down
		// for an hour must not flood the log.
		if failures == 1 || time.Since(lastErrLog) >= 30*time.Second {
			s.log.Warn("revocation feed unreachable; retrying", "error", err, "failures", failures, "last_sync", s.lastSyncTime())
			lastErrLog = time.Now()
		}
		if s.hooks.Failed != nil {
			s.hooks.Failed(err)
		}
		if time.Since(lastUse) >= s.idleAfter && s.stopIdle() {
			s.log.Info("revocation feed unreachable and unused: stopped until a plugin instance uses it again", "idle", time.Since(lastUse).Round(time.Second))
			if s.hooks.Stopped != nil {
				s.hooks.Stopped()
			}
			return true
		}
		pause := s.backoff(failures)
		var busy *retryAfterError
		if errors.As(err, &busy) {
			pause = max(pause, busy.after+rand.N(busy.after/2+1))
		}
		sleep.For(ctx, pause)
	}
	return true
}

// stopIdle marks the Syncer stopped unless it was used meanwhile. LastSync
// sets used before it reads running, and stopIdle clears running before it
// reads used, so one of the two always sees the other: a use is never lost
// between a stop and a launch.
func (s *Syncer) stopIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running.Store(false)
	if s.used.Load() {
		s.running.Store(true)
		return false
	}
	return true
}

// backoff is the pause after the n-th failure in a row: exponential from the
// base up to the cap, with "equal jitter" (half fixed, half random), so gateway
// nodes that lost the feed together do not reconnect together.
func (s *Syncer) backoff(n int) time.Duration {
	d := s.backoffCap
	if n < 31 {
		d = min(s.backoffBase<<(n-1), s.backoffCap)
	}
	return d/2 + rand.N(d/2+1)
}

// syncOnce follows one stream, or sends one long poll, and applies what it
// gets.
func (s *Syncer) syncOnce(ctx context.Context) error {
	if hb := s.streamHeartbeat(); hb > 0 && !time.Now().Before(s.noStreamUntil) {
		started := time.Now()
		err := s.followStream(ctx, hb)
		switch {
		case errors.Is(err, errNoStream):
			s.noStreamUntil = time.Now().Add(s.noStreamRetry)
			if !s.noStreamLogged {
				s.log.Warn("the issuer has no revocation stream (404): long-polling the feed instead", "stream", s.streamURL.Redacted())
				s.noStreamLogged = true
			}
			return s.longPoll(ctx)
		case err == nil && time.Since(started) < time.Second:
			sleep.For(ctx, emptyPause) // a stream ended at once (a replica stopping): no tight loop
		}
		return err
	}
	return s.longPoll(ctx)
}

// applied calls Options.OnApplied and Hooks.Applied.
func (s *Syncer) applied(events []Event, now time.Time) {
	if s.onApplied != nil {
		s.onApplied(events, now)
	}
	if s.hooks.Applied != nil {
		s.hooks.Applied()
	}
}

// apply folds one answer into the set. A snapshot replaces the set (a
// revocation the issuer no longer lists must not linger); a delta is merged.
// held says the request was sent while a snapshot was held: only then does
// the answer move LastSync to started, and only when it is complete: a full
// page ("more") holds events up to its cursor, not every one committed
// before the request.
func (s *Syncer) apply(p page, after int64, started time.Time, held bool) error {
	now := time.Now()
	dropBefore := now.Unix() - expiryGrace
	switch {
	case p.snapshot:
		for id, exp := range p.events {
			if exp <= dropBefore {
				delete(p.events, id)
			}
		}
		s.state.Store(&set{base: p.events})
		s.lastCompact = now
		s.log.Info("revocation snapshot loaded", "sessions", len(p.events), "cursor", p.cursor, "took", time.Since(started).Round(time.Millisecond))
	case !s.synced:
		return fmt.Errorf("%w: the first answer is not a snapshot", errFeedProtocol)
	case p.cursor < after:
		// The feed went back in time without sending a snapshot. Start over
		// from a snapshot rather than miss the events it will number again.
		s.synced, s.confirmed = false, false
		return fmt.Errorf("%w: cursor went back from %d to %d", errFeedProtocol, after, p.cursor)
	default:
		next := s.state.Load().with(p.events, dropBefore)
		if now.Sub(s.lastCompact) >= compactEvery {
			if next.hasExpired(dropBefore) {
				next = next.compact(dropBefore)
			}
			s.lastCompact = now
		}
		s.state.Store(next)
		if p.count > 0 {
			s.log.Debug("revocations applied", "events", p.count, "cursor", p.cursor)
		}
	}
	s.cursor = p.cursor
	s.synced, s.confirmed = true, held && !p.more
	if s.confirmed {
		s.lastSync.Store(started.UnixNano())
	}
	return nil
}
