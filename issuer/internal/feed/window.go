package feed

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/medinsights/auth/issuer/internal/store"
)

// window is one published state of the process's in-memory window of
// recent events: every event with a sequence number in (lo, hi], in order,
// dead ones included. It is never modified once published (a newer window
// may share its backing array but only appends past its length), so any
// number of readers use it through an atomic pointer without a lock.
type window struct {
	events        []store.FeedEvent
	lo, hi        int64
	prunedThrough int64
	// syncedAt is when the last successful fill read began: every event
	// committed before it has a sequence number of at most hi.
	syncedAt time.Time
	// attemptAt and fillErr: when the last fill read began, and how it
	// failed (nil when it did not).
	attemptAt time.Time
	fillErr   error
	// changed is closed when a newer window is published (a fill ended);
	// news when one with a different hi or prunedThrough is: readers with
	// nothing new wait on news, so a fill that finds nothing wakes only
	// the readers waiting for a fresher window.
	changed chan struct{}
	news    chan struct{}
}

// covers reports whether the window can answer a reader at cursor after
// without the database: the cursor is in the window, and no event the
// reader has not seen may have been pruned (a cursor behind pruned_through
// gets a snapshot, by the feed's rule).
func (w *window) covers(after int64) bool {
	return after != 0 && w.holds(after)
}

// holds reports whether the window holds every event after the cursor that
// a reader who has seen up to it lacks: covers without the rule that a
// cursor of 0 asks for a snapshot (a stream past its snapshot of an empty
// feed is at 0).
func (w *window) holds(after int64) bool {
	return after >= w.lo && after <= w.hi && after >= w.prunedThrough
}

// after returns up to limit events after the cursor that are alive after
// aliveAfter, and the cursor that follows them: hi when the window holds
// nothing more, else the last event returned. The window must cover after.
func (w *window) after(after int64, limit int, aliveAfter time.Time) ([]store.FeedEvent, int64) {
	i, _ := slices.BinarySearchFunc(w.events, after, func(e store.FeedEvent, seq int64) int {
		return cmpInt(e.Seq, seq+1)
	})
	rest := w.events[i:]
	cursor := w.hi
	if len(rest) > limit {
		rest = rest[:limit]
		cursor = rest[len(rest)-1].Seq
	}
	return alive(rest, aliveAfter), cursor
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// alive returns the events alive after t: events itself when all are (the
// usual case, no copy), else a copy without the dead ones.
func alive(events []store.FeedEvent, t time.Time) []store.FeedEvent {
	for i, e := range events {
		if !e.ExpiresAt.After(t) {
			out := slices.Clone(events[:i])
			for _, e := range events[i+1:] {
				if e.ExpiresAt.After(t) {
					out = append(out, e)
				}
			}
			return out
		}
	}
	return events
}

// advanced returns the window that follows w after a fill read begun at
// start returned tail. A full page (len(tail.Events) == pageSize) moves hi
// to its last event only, and not syncedAt: events may follow it. A head
// behind hi means the database was replaced: the window starts again, empty,
// at the new head.
func (w *window) advanced(tail store.FeedTail, start time.Time, pageSize, capacity int) *window {
	next := &window{
		events: w.events, lo: w.lo, hi: w.hi, prunedThrough: tail.PrunedThrough,
		syncedAt: w.syncedAt, attemptAt: start, changed: make(chan struct{}), news: w.news,
	}
	defer func() {
		if next.hi != w.hi || next.prunedThrough != w.prunedThrough {
			next.news = make(chan struct{})
		}
	}()
	if tail.LastSeq < w.hi || w.hi < 0 { // the first fill, or a database replaced
		next.events, next.lo, next.hi = nil, tail.LastSeq, tail.LastSeq
		next.syncedAt = start
		return next
	}
	next.events = append(next.events, tail.Events...)
	if len(tail.Events) >= pageSize {
		next.hi = tail.Events[len(tail.Events)-1].Seq
	} else {
		next.hi = tail.LastSeq
		next.syncedAt = start
	}
	if len(next.events) > capacity {
		// Keep the newest three quarters in a new array, so the old one
		// (which readers may hold) is never written again and trimming is
		// amortised over a quarter of the capacity.
		drop := len(next.events) - capacity*3/4
		next.lo = next.events[drop-1].Seq
		next.events = slices.Clone(next.events[drop:])
	}
	return next
}

// failed returns w after a fill read begun at start failed with err.
func (w *window) failed(start time.Time, err error) *window {
	next := *w
	next.attemptAt, next.fillErr, next.changed = start, err, make(chan struct{})
	return &next
}

// emptyWindow is the state before the first fill: it covers no cursor.
func emptyWindow() *window {
	return &window{lo: math.MaxInt64, hi: -1, changed: make(chan struct{}), news: make(chan struct{})}
}

// requestFill asks the filler for a read; requests made while one is
// pending or running coalesce into one more read.
func (f *Feed) requestFill() {
	select {
	case f.fillRequests <- struct{}{}:
	default:
	}
}

// notified handles a notification: a read unless the window already holds
// the sequence number it announces (0: unknown, read).
func (f *Feed) notified(lastSeq int64) {
	if lastSeq > 0 && lastSeq <= f.win.Load().hi {
		return
	}
	f.requestFill()
}

// fillLoop is the one reader that fills the window: one database read per
// request (a notification, a reader that needs a fresher window), and one
// every Recheck without any: the safety net for a lost notification, and
// what keeps syncedAt, which heartbeats report, recent on an idle feed.
func (f *Feed) fillLoop(ctx context.Context) {
	t := time.NewTimer(0) // the first fill at once
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.fillRequests:
		case <-t.C:
		}
		f.fill(ctx)
		t.Reset(f.recheck)
	}
}

// fill reads what follows the window's head, pages until caught up, and
// publishes each result.
func (f *Feed) fill(ctx context.Context) {
	for ctx.Err() == nil {
		w := f.win.Load()
		after := w.hi
		if after < 0 {
			after = math.MaxInt64 // the first fill: the head only
		}
		start := time.Now()
		tail, err := f.store.RevocationFeedTail(ctx, after, f.pageSize)
		f.tailReads.Add(1)
		if err != nil {
			if ctx.Err() == nil {
				f.fillFailures.fail(err)
			}
			f.publish(w, w.failed(start, err))
			return
		}
		f.publish(w, w.advanced(tail, start, int(f.pageSize), f.capacity))
		f.fillFailures.ok()
		if len(tail.Events) < int(f.pageSize) {
			return
		}
	}
}

// publish replaces old (the current window) with next and wakes every
// reader waiting on old.
func (f *Feed) publish(old, next *window) {
	f.win.Store(next)
	close(old.changed)
	if next.news != old.news {
		close(old.news)
	}
	if f.hooks.Published != nil {
		f.hooks.Published(next.hi)
	}
}
