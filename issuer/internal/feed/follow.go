package feed

import (
	"context"
	"errors"
	"time"
)

// ErrSlowReader ends a stream whose reader fell behind the window: its
// writes were so slow that the events it has not read left the window. It
// reconnects from its cursor and reads the database, like any reader behind
// the window.
var ErrSlowReader = errors.New("revocation stream: the reader fell behind the window")

// StreamWriter receives what a stream sends, in order. An error ends the
// stream.
type StreamWriter interface {
	// Page sends a snapshot, or events after the stream's cursor; p.Cursor is
	// the cursor that follows it.
	Page(p Page) error
	// Heartbeat says the reader holds every event up to cursor, and that
	// every revocation committed more than lag ago is among them.
	Heartbeat(cursor int64, lag time.Duration) error
}

// StreamOptions bound a stream.
type StreamOptions struct {
	// Heartbeat is the interval between heartbeats; the first one is sent as
	// soon as the stream has caught up.
	Heartbeat time.Duration
	// Lifetime ends the stream (the caller adds the jitter).
	Lifetime time.Duration
}

// Follow streams the feed from cursor after to sw until the lifetime ends,
// Stop is called (both return nil), ctx ends, or sw fails. It sends what
// the long poll would (a snapshot for a cursor of 0 or behind
// pruned_through, then the events after it), and then every event as the
// window receives it, with a heartbeat every o.Heartbeat once caught up.
// Catching up from behind the window reads the database (see Read); a
// reader that falls behind the window afterwards gets ErrSlowReader.
func (f *Feed) Follow(ctx context.Context, after int64, o StreamOptions, sw StreamWriter) error {
	arrival := time.Now()
	life := time.NewTimer(o.Lifetime)
	defer life.Stop()
	beat := time.NewTicker(o.Heartbeat)
	defer beat.Stop()
	cursor, live, beatDue := after, false, true
	for first := true; ; first = false {
		w := f.win.Load()
		var wake <-chan struct{}
		switch {
		case first && after == 0:
			// A snapshot first, whatever the window holds.
		case w.hi < 0 || cursor > w.hi && w.syncedAt.Before(arrival):
			// No window yet, or one not read since the reader arrived that
			// may still reach its cursor.
			f.requestFill()
			wake = w.changed
		case live && cursor < w.lo:
			return ErrSlowReader
		}
		if wake == nil && (first && after == 0 || !w.holds(cursor)) {
			// Behind the window, or ahead of a fresh one (the reader followed
			// another database: the database answers a snapshot).
			p, err := f.fallback(ctx, cursor, w)
			if err != nil {
				return err
			}
			if p.Snapshot || p.Cursor != cursor || len(p.Events) > 0 {
				if err := sw.Page(p); err != nil {
					return err
				}
				cursor = p.Cursor
				continue
			}
			wake = w.news // the database has nothing the window lacks yet
		}
		if wake == nil { // the window holds the cursor
			events, next := w.after(cursor, int(f.pageSize), f.aliveAfter())
			if next != cursor {
				if err := sw.Page(Page{FeedPage: storePage(next, events)}); err != nil {
					return err
				}
				cursor, live = next, true
				continue
			}
			live = true
			if beatDue {
				if err := sw.Heartbeat(cursor, time.Since(w.syncedAt)); err != nil {
					return err
				}
				beatDue = false
			}
			wake = w.news
		}
		select {
		case <-wake:
		case <-beat.C:
			beatDue = true
		case <-life.C:
			return nil
		case <-f.stopping:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
