// Package feed serves the revocation feed: the sessions revoked before their
// access tokens expire, read by every gateway node so it can refuse those
// tokens at once (GET /api/auth/revocations/ and its stream, see
// docs/revocation-stream.md).
//
// The events are written by the store in the same transaction as the
// revocation that causes them, numbered from a counter taken under a row
// lock at the end of that transaction, so sequence order is commit order and
// a reader that has seen event N never later finds a new event below N.
//
// Each issuer process keeps an ordered, bounded window of the recent events
// in memory, filled by one reader: one PostgreSQL connection LISTENs for the
// notification every revocation sends at commit, and each notification costs
// one database read, however many gateways wait. Long polls ([Feed.Read])
// and streams ([Feed.Follow]) are answered from that window; only a cursor
// older than the window goes to the database, for a page or a snapshot, and
// that work is bounded (excess readers get [ErrBusy]). Every feed read uses
// the store's feed pool, never the connections logins and logouts need.
// [Feed.Run] also prunes the events no token can need any more.
package feed

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medinsights/auth/issuer/internal/store"
)

const (
	// MaxWait is the longest a reader may ask to wait.
	MaxWait = 30 * time.Second

	pageSizeDefault   = 10_000
	capacityDefault   = 100_000
	recheckDefault    = time.Second
	pruneEveryDefault = time.Minute
	// retentionDefault keeps an event listed, and in the table, for six
	// minutes past its expiry, like the gateway's own grace: a gateway
	// accepts a token up to its clock skew (at most 300 s) past exp, and its
	// clock may lag the issuer's, so a gateway that starts then must still
	// learn of the revocation.
	retentionDefault = 6 * time.Minute
	reconnectDelay   = time.Second
	// fallbackSlotsDefault bounds the page reads of readers behind the
	// window running at once (snapshots are shared, see read.go).
	fallbackSlotsDefault = 2
)

// ErrBusy is returned to a reader behind the window when the bounded
// database work for such readers is all in use: answer 503 with
// Retry-After, and the reader comes back.
var ErrBusy = errors.New("revocation feed: too many readers behind the window; retry shortly")

// Options configures a Feed.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger // nil: slog.Default()
	// PageSize bounds the events of one answer that is not a snapshot, and of
	// one fill read (default 10,000); a reader behind by more reads several
	// pages.
	PageSize int32
	// Capacity bounds the events the window holds (default 100,000, about
	// 8 MB); a cursor older than the window reads the database.
	Capacity int
	// Recheck is how long the window goes without a read before it reads
	// anyway (default 1 s): it catches a lost notification and keeps the
	// freshness that heartbeats report recent.
	Recheck time.Duration
	// PruneEvery is how often dead events are deleted (default 1 min).
	PruneEvery time.Duration
	// Retention is how long past its expiry an event is still served and
	// kept (default 6 min: the widest gateway clock skew plus a minute).
	Retention time.Duration
	// FallbackSlots bounds the database page reads of readers behind the
	// window running at once (default 2); more get ErrBusy.
	FallbackSlots int
	// Now is the clock that decides which events are alive (default
	// time.Now). The order of reads and requests uses the monotonic clock.
	Now func() time.Time
	// Hooks are called at points tests wait on (all optional).
	Hooks Hooks
}

// Feed reads the revocation events and tells waiting readers when there are
// new ones. It is safe for concurrent use.
type Feed struct {
	store      *store.Store
	log        *slog.Logger
	pageSize   int32
	capacity   int
	recheck    time.Duration
	pruneEvery time.Duration
	retention  time.Duration
	now        func() time.Time

	win          atomic.Pointer[window]
	fillRequests chan struct{} // capacity 1: requests coalesce
	tailReads    atomic.Int64  // window fill reads
	pageReads    atomic.Int64  // database reads for readers behind the window
	fillFailures failureLog    // owned by the fill loop

	fallbackSlots chan struct{}

	// Concurrent snapshots share database reads (see read.go).
	snapshotMu       sync.Mutex
	snapshotRunning  *snapshotRead // nil when no shared read runs
	snapshotQueued   *snapshotRead // starts when the running one ends
	snapshotReadFunc func(ctx context.Context) (store.FeedPage, error)

	stopOnce sync.Once
	stopping chan struct{} // closed by Stop: waiting readers answer, streams end

	hooks Hooks
}

// Hooks are functions the feed calls at points a test waits on, instead of
// sleeping until the feed has probably got there.
type Hooks struct {
	// Waiting is called each time a long-poll reader is about to wait for
	// news.
	Waiting func()
	// Published is called after each window the fill publishes (after every
	// read of the tail, including the once-a-Recheck one), with the window's
	// head: the highest sequence number it knows.
	Published func(head int64)
	// Joined is called after a reader joined a shared snapshot read.
	Joined func()
}

// New returns a Feed. Call Run to fill the window and prune; until then
// readers are answered from the database.
func New(o Options) *Feed {
	if o.Now == nil {
		o.Now = time.Now
	}
	f := &Feed{
		store:         o.Store,
		log:           cmp.Or(o.Logger, slog.Default()),
		pageSize:      cmp.Or(o.PageSize, pageSizeDefault),
		capacity:      cmp.Or(o.Capacity, capacityDefault),
		recheck:       cmp.Or(o.Recheck, recheckDefault),
		pruneEvery:    cmp.Or(o.PruneEvery, pruneEveryDefault),
		retention:     cmp.Or(o.Retention, retentionDefault),
		now:           o.Now,
		fillRequests:  make(chan struct{}, 1),
		fallbackSlots: make(chan struct{}, cmp.Or(o.FallbackSlots, fallbackSlotsDefault)),
		stopping:      make(chan struct{}),
		hooks:         o.Hooks,
	}
	f.fillFailures = failureLog{log: f.log, failed: "read revocation window", recovered: "revocation window reading again"}
	f.win.Store(emptyWindow())
	f.snapshotReadFunc = func(ctx context.Context) (store.FeedPage, error) {
		f.pageReads.Add(1)
		return f.store.RevocationFeedRead(ctx, 0, f.aliveAfter(), f.pageSize)
	}
	return f
}

// Reads counts the feed's database reads since it started: window, the
// reads that fill the window (one per notification it did not already hold,
// one per Recheck without any, one per page of a burst); fallback, the pages
// and snapshots read for readers the window could not answer.
func (f *Feed) Reads() (window, fallback int64) {
	return f.tailReads.Load(), f.pageReads.Load()
}

func (f *Feed) aliveAfter() time.Time { return f.now().Add(-f.retention) }

// Stop answers every waiting reader now, and every later one without
// waiting, and ends every stream: the server is shutting down, and a
// gateway should reconnect to another replica rather than be cut off at the
// shutdown deadline. Register it with http.Server.RegisterOnShutdown.
func (f *Feed) Stop() {
	f.stopOnce.Do(func() { close(f.stopping) })
}

// Stopping is closed when Stop is called.
func (f *Feed) Stopping() <-chan struct{} { return f.stopping }

// Run fills the window and prunes until ctx ends. It then stops the feed
// (see Stop).
func (f *Feed) Run(ctx context.Context) {
	defer f.Stop()
	var wg sync.WaitGroup
	wg.Go(func() { f.listen(ctx) })
	wg.Go(func() { f.fillLoop(ctx) })
	wg.Go(func() { f.prune(ctx) })
	wg.Wait()
}

func (f *Feed) listen(ctx context.Context) {
	failures := failureLog{log: f.log, failed: "revocation listener: reconnecting", recovered: "revocation listener connected again"}
	err := f.store.ListenRevocations(ctx, store.RevocationListener{
		NotifiedFunc: func(lastSeq int64) {
			failures.ok()
			f.notified(lastSeq)
		},
		ErrorFunc:      failures.fail, // the listener retries every second while the database is down
		ReconnectDelay: reconnectDelay,
	})
	if err != nil {
		f.log.Error("revocation listener stopped", "error", err)
	}
}

// failureLog logs a run of failures of one loop: the first, then one line
// every 30 s however often the loop retries, and the recovery. It belongs
// to the loop's goroutine.
type failureLog struct {
	log               *slog.Logger
	failed, recovered string
	failures          int
	lastLog           time.Time
}

func (l *failureLog) fail(err error) {
	l.failures++
	if l.failures == 1 || time.Since(l.lastLog) >= 30*time.Second {
		l.log.Warn(l.failed, "error", err, "failures", l.failures)
		l.lastLog = time.Now()
	}
}

func (l *failureLog) ok() {
	if l.failures > 0 {
		l.log.Info(l.recovered, "failures", l.failures)
		l.failures = 0
	}
}

func (f *Feed) prune(ctx context.Context) {
	t := time.NewTicker(f.pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := f.store.RevocationFeedPrune(ctx, f.aliveAfter())
		switch {
		case err != nil && ctx.Err() == nil:
			f.log.Warn("prune revocation events", "error", err)
		case n > 0:
			f.log.Info("pruned expired revocation events", "events", n)
		}
	}
}
