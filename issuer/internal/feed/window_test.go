package feed_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/medinsights/auth/issuer/internal/feed"
	"github.com/medinsights/auth/issuer/internal/feed/feedtest"
	"github.com/medinsights/auth/issuer/internal/store"
)

// setupQuiet starts a Feed that reads the window only when notified
// (Recheck of an hour), and returns once its listener is connected: the
// window's first read and the read after LISTEN began are both published.
func setupQuiet(t *testing.T, o feed.Options) env {
	t.Helper()
	st, url := feedtest.NewStore(t)
	o.Store, o.Logger, o.Recheck = st, discardLog, time.Hour
	heads := make(chan int64, 1024)
	o.Hooks.Published = func(head int64) { heads <- head }
	f := feed.New(o)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	for range 2 { // the first read, and the one after the listener connected
		select {
		case <-heads:
		case <-time.After(15 * time.Second):
			t.Fatal("the window was not read twice at start")
		}
	}
	return env{feed: f, store: st, url: url, heads: heads}
}

// TestOneWindowReadPerEventHoweverManyReaders: fifty readers waiting for
// the next event cost one database read when it commits, not fifty.
func TestOneWindowReadPerEventHoweverManyReaders(t *testing.T) {
	t.Parallel()
	e := setupQuiet(t, feed.Options{})
	before, _ := e.feed.Reads()
	const readers = 50
	pages := make(chan feed.Page, readers)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p, err := e.feed.Read(ctx, 0, 0) // a snapshot (shared), cursor 0 on an empty feed
			if err == nil {
				p, err = e.feed.Read(ctx, 0, 15*time.Second) // waits: the feed is empty
			}
			if err != nil {
				t.Errorf("Read: %v", err)
			}
			pages <- p
		})
	}
	sids := revoke(t, e.url, true, live())
	wg.Wait()
	close(pages)
	// Readers may have had the event from a snapshot read: wait for the
	// window itself to hold it before counting its reads.
	for head := int64(0); head < 1; {
		select {
		case head = <-e.heads:
		case <-time.After(15 * time.Second):
			t.Fatal("the window never read the event")
		}
	}
	for p := range pages {
		if len(p.Events) != 1 || p.Events[0].SessionID != sids[0] || p.Cursor != 1 {
			t.Errorf("reader got cursor %d with %d events, want the one revocation", p.Cursor, len(p.Events))
		}
	}
	// One read for the event; a request for a fresher window made by a
	// reader meanwhile may add one, coalesced with every other such request.
	if after, _ := e.feed.Reads(); after-before < 1 || after-before > 2 {
		t.Errorf("%d window reads for one event and %d readers, want 1 (2 at most)", after-before, readers)
	}
}

// TestStreamsFollowTheWindow: a stream gets the events after its cursor as
// they commit, in order, from the window, and heartbeats once caught up.
func TestStreamsFollowTheWindow(t *testing.T) {
	t.Parallel()
	e := setupQuiet(t, feed.Options{})
	first := revoke(t, e.url, true, live(), live())
	rec := follow(t, e.feed, 0, time.Hour)
	snap := rec.next(t)
	if !snap.page.Snapshot || snap.page.Cursor != 2 || !sameIDs(sidsOf(snap.page), first) {
		t.Fatalf("first message: %+v, want the snapshot of the 2 revocations", snap)
	}
	if hb := rec.next(t); !hb.heartbeat || hb.cursor != 2 {
		t.Fatalf("second message: %+v, want a heartbeat at cursor 2", hb)
	}
	windowBefore, fallbackBefore := e.feed.Reads()
	more := revoke(t, e.url, true, live())
	m := rec.nextPage(t)
	if m.page.Snapshot || m.page.Cursor != 3 || !sameIDs(sidsOf(m.page), more) {
		t.Fatalf("third message: %+v, want the event at 3", m)
	}
	// One read for the event, and at most one more still pending from
	// the stream's catching up; never one from the database's fallback.
	if w, f := e.feed.Reads(); w-windowBefore < 1 || w-windowBefore > 2 || f != fallbackBefore {
		t.Errorf("reads for one event: window %d, fallback %d; want 1 (2 at most) and 0", w-windowBefore, f-fallbackBefore)
	}
}

// TestStreamResumesFromItsCursor: a stream cut after an event and opened
// again from that event's cursor gets what followed, with no snapshot and
// nothing twice.
func TestStreamResumesFromItsCursor(t *testing.T) {
	t.Parallel()
	e := setupQuiet(t, feed.Options{})
	revoke(t, e.url, true, live())
	rec := follow(t, e.feed, 0, time.Hour)
	cursor := rec.next(t).page.Cursor
	rec.cut()
	missed := revoke(t, e.url, true, live(), live()) // while no stream is open
	again := follow(t, e.feed, cursor, time.Hour)
	m := again.nextPage(t) // a heartbeat may come first, before the window has the 2 events
	if m.page.Snapshot || m.page.Cursor != 3 || !sameIDs(sidsOf(m.page), missed) {
		t.Fatalf("resumed stream: %+v, want the 2 events after cursor %d", m, cursor)
	}
}

// TestConcurrentStreamsShareOneSnapshot: many streams starting at once,
// while a snapshot read is under way, share the next read: two reads in
// all, and the same snapshot for every stream that came late.
func TestConcurrentStreamsShareOneSnapshot(t *testing.T) {
	t.Parallel()
	e := setupQuiet(t, feed.Options{})
	revoke(t, e.url, true, live(), live())
	inRead, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	feed.WrapSnapshotRead(e.feed, func(read func(context.Context) (store.FeedPage, error)) func(context.Context) (store.FeedPage, error) {
		return func(ctx context.Context) (store.FeedPage, error) {
			p, err := read(ctx)
			once.Do(func() { close(inRead); <-release })
			return p, err
		}
	})
	const streams = 30
	joined := make(chan struct{}, streams+1)
	feed.OnSnapshotJoined(e.feed, func() { joined <- struct{}{} })
	_, before := e.feed.Reads()
	first := follow(t, e.feed, 0, time.Hour)
	<-inRead
	late := make([]*recorder, streams)
	for i := range late {
		late[i] = follow(t, e.feed, 0, time.Hour)
	}
	for range streams + 1 {
		<-joined
	}
	close(release)
	if m := first.next(t); !m.page.Snapshot || m.page.Cursor != 2 {
		t.Errorf("first stream: %+v, want the snapshot at 2", m)
	}
	for i, r := range late {
		if m := r.next(t); !m.page.Snapshot || m.page.Cursor != 2 || len(m.page.Events) != 2 {
			t.Errorf("stream %d: %+v, want the snapshot at 2", i, m)
		}
	}
	if _, after := e.feed.Reads(); after-before != 2 {
		t.Errorf("%d snapshot reads for %d streams, want 2 (one running, one shared by the late streams)", after-before, streams+1)
	}
}

// TestReadersBehindTheWindowAreBounded: a cursor older than the window is
// read from the database, in a bounded number of slots; a reader that finds
// none free gets ErrBusy (answered 503 with Retry-After).
func TestReadersBehindTheWindowAreBounded(t *testing.T) {
	t.Parallel()
	e := setupQuiet(t, feed.Options{Capacity: 4, FallbackSlots: 1})
	revoke(t, e.url, true, live(), live(), live(), live(), live(), live()) // 6 events: the window keeps the last 3
	p := read(t, e.feed, 1, 0)
	if p.Snapshot || p.Cursor != 6 || len(p.Events) != 5 {
		t.Fatalf("Read(after=1): cursor %d, snapshot %v, %d events; want the 5 events after it", p.Cursor, p.Snapshot, len(p.Events))
	}
	if _, fallback := e.feed.Reads(); fallback != 1 {
		t.Errorf("%d fallback reads, want 1", fallback)
	}

	// Hold the one slot with a reader whose read is blocked by a lock.
	conn := lockEvents(t, e.url)
	held := make(chan error, 1)
	go func() { _, err := e.feed.Read(context.Background(), 1, 0); held <- err }()
	waitForLockWaiter(t, e.url)
	if _, err := e.feed.Read(context.Background(), 2, 0); !errors.Is(err, feed.ErrBusy) {
		t.Errorf("second reader behind the window: %v, want ErrBusy", err)
	}
	conn.release()
	if err := <-held; err != nil {
		t.Errorf("held reader: %v", err)
	}
}

// TestStopEndsStreams: Stop (the server's shutdown) ends every stream at
// once, with no error, so the gateway resumes elsewhere from its cursor.
func TestStopEndsStreams(t *testing.T) {
	t.Parallel()
	e := setupQuiet(t, feed.Options{})
	rec := follow(t, e.feed, 0, time.Hour)
	rec.next(t) // the snapshot
	e.feed.Stop()
	if err := rec.wait(t); err != nil {
		t.Errorf("Follow after Stop: %v, want nil", err)
	}
}

// TestStreamEndsAtItsLifetime: a stream ends by itself after its lifetime.
func TestStreamEndsAtItsLifetime(t *testing.T) {
	t.Parallel()
	e := setupQuiet(t, feed.Options{})
	rec := followFor(t, e.feed, 0, time.Hour, 100*time.Millisecond)
	if err := rec.wait(t); err != nil {
		t.Errorf("Follow at its lifetime: %v, want nil", err)
	}
}
