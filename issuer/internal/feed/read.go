package feed

import (
	"context"
	"sync"
	"time"

	"github.com/medinsights/auth/issuer/internal/store"
)

// Page is one answer of the feed.
type Page struct {
	store.FeedPage
	// More says the page is full, so events may already follow its cursor:
	// the reader must ask again at once, and must not count itself up to
	// date as of its request until it gets a page that is not full.
	More bool

	shared *snapshotRead // set on a snapshot shared by concurrent readers
}

// Encoded returns encode(p), computed once per key for a snapshot shared by
// concurrent readers: a thousand gateways restarting at once cost one
// encoding of the snapshot per format, not one each. The result must not be
// modified.
func (p Page) Encoded(key string, encode func(Page) []byte) []byte {
	if p.shared == nil {
		return encode(p)
	}
	r := p.shared
	r.encodeMu.Lock()
	defer r.encodeMu.Unlock()
	if b, ok := r.encoded[key]; ok {
		return b
	}
	b := encode(p)
	if r.encoded == nil {
		r.encoded = make(map[string][]byte)
	}
	r.encoded[key] = b
	return b
}

// Read answers a long-poll reader whose cursor is after: a snapshot or the
// events after it (see store.RevocationFeedRead). With nothing new it waits
// up to wait for an event, and answers at once when Stop is called; when
// ctx ends (the reader left) it returns ctx's error.
//
// Every answer holds every revocation committed before the request arrived
// (a gateway counts itself fresh as of the moment it sent it): an answer
// from the window waits, when the window's last read began before the
// request, for a read that begins after it, which readers share.
func (f *Feed) Read(ctx context.Context, after int64, wait time.Duration) (Page, error) {
	arrival := time.Now()
	wait = min(wait, MaxWait)
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	waiting, stopped := wait > 0, false
	for first := true; ; first = false {
		w := f.win.Load()
		p, ready, err := f.lookup(ctx, w, after, arrival, first, waiting, stopped)
		if err != nil {
			return Page{}, err
		}
		wake := w.changed
		if ready {
			if !waiting || len(p.Events) > 0 || p.Cursor != after {
				return p, nil
			}
			wake = w.news
		}
		if waiting && f.hooks.Waiting != nil {
			f.hooks.Waiting()
		}
		select {
		case <-wake:
		case <-deadline:
			waiting, deadline = false, nil
		case <-f.stopping:
			waiting, stopped = false, true
		case <-ctx.Done():
			return Page{}, ctx.Err()
		}
	}
}

// lookup answers a reader at cursor after from the window w when it can,
// else from the database. It is not ready (the caller waits for the next
// window) when the window covers the cursor but its last read began before
// arrival, or when the cursor is ahead of a window not read since arrival;
// force (the feed is stopping) reads the database instead. Before the
// first window (Run not started, or starting), a patient reader (one that
// may wait) waits for it; any other reads the database.
func (f *Feed) lookup(ctx context.Context, w *window, after int64, arrival time.Time, first, patient, force bool) (Page, bool, error) {
	stale := w.syncedAt.Before(arrival)
	if stale && w.fillErr != nil && !w.attemptAt.Before(arrival) {
		return Page{}, false, w.fillErr // the read this reader waited for failed
	}
	switch {
	case after == 0 && first:
	case w.hi < 0:
		if patient && !force {
			return Page{}, false, nil
		}
	case w.covers(after) && !stale:
		events, cursor := w.after(after, int(f.pageSize), f.aliveAfter())
		return Page{FeedPage: storePage(cursor, events), More: cursor < w.hi}, true, nil
	case w.covers(after) && after == w.hi && patient && !force:
		// Nothing new, and the reader may wait: the next read (an event's,
		// or the one every Recheck) makes the window fresh for it, so a
		// fleet re-arriving after each event costs no read of its own.
		return Page{}, false, nil
	case (w.covers(after) || after > w.hi) && stale && !force:
		f.requestFill()
		return Page{}, false, nil
	}
	p, err := f.fallback(ctx, after, w)
	return p, err == nil, err
}

func storePage(cursor int64, events []store.FeedEvent) store.FeedPage {
	return store.FeedPage{Cursor: cursor, Events: events}
}

// fallback reads the database for a reader the window cannot answer. A
// reader that needs a snapshot (cursor 0, or behind pruned_through) shares
// one; any other read takes one of the bounded slots, or fails with ErrBusy.
func (f *Feed) fallback(ctx context.Context, after int64, w *window) (Page, error) {
	if after == 0 || after < w.prunedThrough {
		return f.sharedSnapshot(ctx)
	}
	select {
	case f.fallbackSlots <- struct{}{}:
		defer func() { <-f.fallbackSlots }()
	default:
		return Page{}, ErrBusy
	}
	f.pageReads.Add(1)
	p, err := f.store.RevocationFeedRead(ctx, after, f.aliveAfter(), f.pageSize)
	return Page{FeedPage: p, More: !p.Snapshot && len(p.Events) >= int(f.pageSize)}, err
}

// snapshotTimeout bounds a shared snapshot read, which no single reader's
// context may cancel.
const snapshotTimeout = 30 * time.Second

// sharedSnapshot returns a snapshot read by a database read that begins
// after this call, shared with the other readers that need one: a reader
// arriving while a shared read runs waits for it to end and shares the next
// one, so a fleet of gateways restarting at once costs about two reads, and
// each answer still holds every revocation committed before its request.
// The page returned must not be modified.
func (f *Feed) sharedSnapshot(ctx context.Context) (Page, error) {
	r := f.joinSnapshotRead()
	select {
	case <-r.done:
		return Page{FeedPage: r.page, shared: r}, r.err
	case <-ctx.Done():
		return Page{}, ctx.Err()
	}
}

// snapshotRead is one shared database read of a snapshot; page and err are
// set before done is closed. encoded memoizes its encodings (Page.Encoded).
type snapshotRead struct {
	done chan struct{}
	page store.FeedPage
	err  error

	encodeMu sync.Mutex
	encoded  map[string][]byte
}

// joinSnapshotRead returns a shared read that has not started yet: a new
// one started now when none runs, else the one queued behind the running one.
func (f *Feed) joinSnapshotRead() *snapshotRead {
	f.snapshotMu.Lock()
	defer f.snapshotMu.Unlock()
	if f.hooks.Joined != nil {
		defer f.hooks.Joined()
	}
	if f.snapshotRunning == nil {
		f.snapshotRunning = &snapshotRead{done: make(chan struct{})}
		go f.runSnapshotRead(f.snapshotRunning)
		return f.snapshotRunning
	}
	if f.snapshotQueued == nil {
		f.snapshotQueued = &snapshotRead{done: make(chan struct{})}
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
