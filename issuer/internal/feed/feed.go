// Package feed serves the revocation feed: the sessions revoked before their
// access tokens expire, read by every gateway node so it can refuse those
// tokens at once (GET /api/auth/revocations/, see the README).
//
// The events are written by the store in the same transaction as the
// revocation that causes them, numbered from a counter taken under a row
// lock at the end of that transaction, so sequence order is commit order and
// a reader that has seen event N never later finds a new event below N.
//
// A reader with nothing new to read may wait: [Feed.Read] holds it until an
// event is committed by any issuer replica. Each issuer process keeps one
// PostgreSQL connection that LISTENs for the notification every revocation
// sends at commit, and wakes all waiting readers at once; a once-a-second
// check of the counter covers a notification lost while that connection was
// down. [Feed.Run] also prunes the events no token can need any more.
package feed

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/medinsights/auth/issuer/internal/store"
)

const (
	// MaxWait is the longest a reader may ask to wait.
	MaxWait = 30 * time.Second

	pageSizeDefault   = 10_000
	recheckDefault    = time.Second
	pruneEveryDefault = time.Minute
	// retentionDefault keeps an event listed, and in the table, for six
	// minutes past its expiry, like the gateway's own grace: a gateway
	// accepts a token up to its clock skew (at most 300 s) past exp, and its
	// clock may lag the issuer's, so a gateway that starts then must still
	// learn of the revocation.
	retentionDefault = 6 * time.Minute
	reconnectDelay   = time.Second
)

// Options configures a Feed.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger // nil: slog.Default()
	// PageSize bounds the events of one answer that is not a snapshot
	// (default 10,000); a reader behind by more reads several pages.
	PageSize int32
	// Recheck is how often the counter is checked for events whose
	// notification was lost (default 1 s).
	Recheck time.Duration
	// PruneEvery is how often dead events are deleted (default 1 min).
	PruneEvery time.Duration
	// Retention is how long past its expiry an event is still served and
	// kept (default 6 min: the widest gateway clock skew plus a minute).
	Retention time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Hooks are for tests, which wait on them instead of sleeping.
	Hooks Hooks
}

// Hooks are called at points tests wait for; each may be nil. They run on
// the feed's goroutines and must not block.
type Hooks struct {
	// Waiting runs when a reader found nothing new and starts waiting.
	Waiting func()
	// Joined runs when a reader joins a shared snapshot read that has not
	// started yet.
	Joined func()
	// Polled runs with every counter value the recheck reads.
	Polled func(lastSeq int64)
}

// Feed reads the revocation events and tells waiting readers when there are
// new ones. It is safe for concurrent use.
type Feed struct {
	store      *store.Store
	log        *slog.Logger
	pageSize   int32
	recheck    time.Duration
	pruneEvery time.Duration
	retention  time.Duration
	now        func() time.Time

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when the feed may have new events

	// Concurrent first reads (after=0) share database reads: when a fleet of
	// gateways restarts at once, the issuer reads and holds the live
	// revocations about twice, not once per gateway. A reader joins only a
	// read that starts after it arrived (see read): one running read, and
	// one queued behind it for the readers arriving meanwhile.
	snapshotMu       sync.Mutex
	snapshotRunning  *snapshotRead // nil when no shared read runs
	snapshotQueued   *snapshotRead // starts when the running one ends
	snapshotReadFunc func(ctx context.Context) (store.FeedPage, error)

	stopOnce sync.Once
	stopping chan struct{} // closed by Stop: waiting readers answer at once

	hooks Hooks
}

// New returns a Feed. Call Run to follow the database and prune; until then
// (or without it) readers are answered but a waiting reader is woken only at
// the end of its wait.
func New(o Options) *Feed {
	if o.Now == nil {
		o.Now = time.Now
	}
	f := &Feed{
		store:      o.Store,
		log:        cmp.Or(o.Logger, slog.Default()),
		pageSize:   cmp.Or(o.PageSize, pageSizeDefault),
		recheck:    cmp.Or(o.Recheck, recheckDefault),
		pruneEvery: cmp.Or(o.PruneEvery, pruneEveryDefault),
		retention:  cmp.Or(o.Retention, retentionDefault),
		now:        o.Now,
		changed:    make(chan struct{}),
		stopping:   make(chan struct{}),
		hooks:      o.Hooks,
	}
	f.snapshotReadFunc = func(ctx context.Context) (store.FeedPage, error) {
		return f.store.RevocationFeedRead(ctx, 0, f.now().Add(-f.retention), f.pageSize)
	}
	return f
}

// Page is one answer of the feed.
type Page struct {
	store.FeedPage
	// More says the page is full, so events may already follow its cursor:
	// the reader must ask again at once, and must not count itself up to
	// date as of its request until it gets a page that is not full.
	More bool
}

// Read answers a reader whose cursor is after: a snapshot or the events
// after it (see store.RevocationFeedRead). With nothing new it waits up to
// wait for an event, and answers at once when Stop is called; when ctx ends
// (the reader left) it returns ctx's error.
func (f *Feed) Read(ctx context.Context, after int64, wait time.Duration) (Page, error) {
	p, err := f.wait(ctx, after, wait)
	return Page{FeedPage: p, More: !p.Snapshot && len(p.Events) >= int(f.pageSize)}, err
}

func (f *Feed) wait(ctx context.Context, after int64, wait time.Duration) (store.FeedPage, error) {
	wait = min(wait, MaxWait)
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for first := true; ; first = false {
		changed := f.changedChan() // before reading, so no wake-up falls between
		page, err := f.read(ctx, after, first)
		if err != nil || wait <= 0 || len(page.Events) > 0 || page.Cursor != after {
			return page, err
		}
		if f.hooks.Waiting != nil {
			f.hooks.Waiting()
		}
		select {
		case <-changed:
		case <-deadline:
			return page, nil
		case <-f.stopping:
			return page, nil
		case <-ctx.Done():
			return page, ctx.Err()
		}
	}
}

// snapshotTimeout bounds a shared snapshot read, which no single reader's
// context may cancel.
const snapshotTimeout = 30 * time.Second

// read reads the page after the cursor. A reader's first read with after=0
// (always a snapshot) is shared with other readers, but only a database
// read that begins after this reader arrived: its answer then holds every
// revocation committed before the request, which a gateway relies on when it
// counts itself fresh as of the moment it sent it. A reader arriving while a
// shared read runs waits for it to end and shares the next one. A read
// after a wake-up is never shared: it must see the event that woke it. The
// page returned must not be modified.
func (f *Feed) read(ctx context.Context, after int64, first bool) (store.FeedPage, error) {
	if after != 0 || !first {
		return f.store.RevocationFeedRead(ctx, after, f.now().Add(-f.retention), f.pageSize)
	}
	r := f.joinSnapshotRead()
	select {
	case <-r.done:
		return r.page, r.err
	case <-ctx.Done():
		return store.FeedPage{}, ctx.Err()
	}
}

// snapshotRead is one shared database read of a snapshot; page and err are
// set before done is closed.
type snapshotRead struct {
	done chan struct{}
	page store.FeedPage
	err  error
}

// joinSnapshotRead returns a shared read that has not started yet: a new
// one started now when none runs, else the one queued behind the running one.
func (f *Feed) joinSnapshotRead() *snapshotRead {
	f.snapshotMu.Lock()
	defer f.snapshotMu.Unlock()
	if f.snapshotRunning == nil {
		f.snapshotRunning = &snapshotRead{done: make(chan struct{})}
		go f.runSnapshotRead(f.snapshotRunning)
		return f.snapshotRunning
	}
	if f.snapshotQueued == nil {
		f.snapshotQueued = &snapshotRead{done: make(chan struct{})}
	}
	if f.hooks.Joined != nil {
		f.hooks.Joined()
	}
	return f.snapshotQueued
}

// runSnapshotRead reads r, bounded by snapshotTimeout (no single reader's
// context may cancel it), then starts the queued read, if any.
func (f *Feed) runSnapshotRead(r *snapshotRead) {
	ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
	r.page, r.err = f.snapshotReadFunc(ctx)
	cancel()
	f.snapshotMu.Lock()
	next := f.snapshotQueued
	f.snapshotRunning, f.snapshotQueued = next, nil
	if next != nil {
		go f.runSnapshotRead(next)
	}
	f.snapshotMu.Unlock()
	close(r.done)
}

func (f *Feed) changedChan() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// wake tells every waiting reader to read again.
func (f *Feed) wake() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.changed)
	f.changed = make(chan struct{})
}

// Stop answers every waiting reader now, and every later one without
// waiting: the server is shutting down, and a gateway should reconnect to
// another replica rather than be cut off at the shutdown deadline. Register
// it with http.Server.RegisterOnShutdown.
func (f *Feed) Stop() {
	f.stopOnce.Do(func() { close(f.stopping) })
}

// Run follows the database until ctx ends: it LISTENs for revocations,
// checks the counter every Recheck, and prunes every PruneEvery. It then
// stops the feed (see Stop).
func (f *Feed) Run(ctx context.Context) {
	defer f.Stop()
	var wg sync.WaitGroup
	wg.Go(func() { f.listen(ctx) })
	wg.Go(func() { f.poll(ctx) })
	wg.Go(func() { f.prune(ctx) })
	wg.Wait()
}

func (f *Feed) listen(ctx context.Context) {
	var lastLog time.Time
	failures := 0
	err := f.store.ListenRevocations(ctx, store.RevocationListener{
		NotifiedFunc: func() {
			if failures > 0 {
				f.log.Info("revocation listener connected again", "failures", failures)
				failures = 0
			}
			f.wake()
		},
		// The first failure, then one line every 30 s: while the database is
		// down the listener retries every second.
		ErrorFunc: func(err error) {
			failures++
			if failures == 1 || time.Since(lastLog) >= 30*time.Second {
				f.log.Warn("revocation listener: reconnecting", "error", err, "failures", failures)
				lastLog = time.Now()
			}
		},
		ReconnectDelay: reconnectDelay,
	})
	if err != nil {
		f.log.Error("revocation listener stopped", "error", err)
	}
}

// poll wakes the readers when the counter moved: the safety net for a
// notification lost while the listening connection was down.
func (f *Feed) poll(ctx context.Context) {
	t := time.NewTicker(f.recheck)
	defer t.Stop()
	var known int64 = -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last, err := f.store.RevocationFeedLastSeq(ctx)
		if err != nil {
			continue // the listener and the requests report the database's state
		}
		if known >= 0 && last != known {
			f.wake()
		}
		known = last
		if f.hooks.Polled != nil {
			f.hooks.Polled(last)
		}
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
		n, err := f.store.RevocationFeedPrune(ctx, f.now().Add(-f.retention))
		switch {
		case err != nil && ctx.Err() == nil:
			f.log.Warn("prune revocation events", "error", err)
		case n > 0:
			f.log.Info("pruned expired revocation events", "events", n)
		}
	}
}
