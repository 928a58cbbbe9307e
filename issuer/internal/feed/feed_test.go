package feed_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/medinsights/auth/issuer/internal/feed"
	"github.com/medinsights/auth/issuer/internal/feed/feedtest"
	"github.com/medinsights/auth/issuer/internal/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	feed  *feed.Feed
	store *store.Store
	url   string
	// heads receives the head of every window published (setupQuiet only).
	heads <-chan int64
}

// setup migrates a database of the test's own and starts a Feed on it
// (listening, rechecking every 200 ms) that stops when the test ends.
func setup(t *testing.T, o feed.Options) env {
	t.Helper()
	st, url := feedtest.NewStore(t)
	o.Store, o.Logger = st, discardLog
	if o.Recheck == 0 {
		o.Recheck = 200 * time.Millisecond
	}
	f := feed.New(o)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return env{feed: f, store: st, url: url}
}

var (
	revoke = feedtest.Revoke
	live   = feedtest.Live
)

// read calls Read with a bound on the test's time.
func read(t *testing.T, f *feed.Feed, after int64, wait time.Duration) feed.Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait+10*time.Second)
	defer cancel()
	p, err := f.Read(ctx, after, wait)
	if err != nil {
		t.Fatalf("Read(after=%d, wait=%v): %v", after, wait, err)
	}
	return p
}

// readResult is the answer of a Read run in a goroutine of its own.
type readResult struct {
	page feed.Page
	took time.Duration
	err  error
}

// readAsync runs Read in a goroutine and sends its answer; the test's own
// goroutine checks it (t.Fatal is never called from another goroutine).
func readAsync(ctx context.Context, f *feed.Feed, after int64, wait time.Duration) <-chan readResult {
	got := make(chan readResult, 1)
	go func() {
		start := time.Now()
		p, err := f.Read(ctx, after, wait)
		got <- readResult{p, time.Since(start), err}
	}()
	return got
}

// signals returns a hook and a wait for n calls of it.
func signals(t *testing.T) (hook func(), waitFor func(n int)) {
	ch := make(chan struct{}, 64)
	return func() { ch <- struct{}{} }, func(n int) {
		t.Helper()
		for range n {
			select {
			case <-ch:
			case <-time.After(15 * time.Second):
				t.Fatal("the code never reached the point the test waits for")
			}
		}
	}
}

func sidsOf(p feed.Page) []uuid.UUID {
	out := make([]uuid.UUID, len(p.Events))
	for i, e := range p.Events {
		out[i] = e.SessionID
	}
	return out
}

func sameIDs(a, b []uuid.UUID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadSnapshotThenEventsAfterTheCursor(t *testing.T) {
	t.Parallel()
	e := setup(t, feed.Options{})
	first := revoke(t, e.url, true, live(), live(), live())

	snap := read(t, e.feed, 0, 0)
	if !snap.Snapshot || snap.Cursor != 3 || !sameIDs(sidsOf(snap), first) {
		t.Fatalf("snapshot = {cursor %d, snapshot %v, %d events}, want {3, true, the 3 revoked}", snap.Cursor, snap.Snapshot, len(snap.Events))
	}

	second := revoke(t, e.url, true, live(), live())
	delta := read(t, e.feed, 3, 0)
	if delta.Snapshot || delta.Cursor != 5 || !sameIDs(sidsOf(delta), second) {
		t.Fatalf("delta = {cursor %d, snapshot %v, %d events}, want {5, false, the 2 new}", delta.Cursor, delta.Snapshot, len(delta.Events))
	}
	if delta.Events[0].Seq != 4 || delta.Events[1].Seq != 5 {
		t.Errorf("delta seqs = %d, %d, want 4, 5", delta.Events[0].Seq, delta.Events[1].Seq)
	}

	idle := read(t, e.feed, 5, 0)
	if idle.Snapshot || idle.Cursor != 5 || len(idle.Events) != 0 {
		t.Errorf("nothing new = {cursor %d, snapshot %v, %d events}, want {5, false, 0}", idle.Cursor, idle.Snapshot, len(idle.Events))
	}
}

func TestReadLeavesOutDeadEventsButMovesTheCursor(t *testing.T) {
	t.Parallel()
	e := setup(t, feed.Options{})
	longDead := time.Now().Add(-time.Hour)
	justExpired := time.Now().Add(-5 * time.Minute) // within the six minutes of retention: a gateway with a 300 s skew still accepts its tokens
	sids := revoke(t, e.url, true, longDead, justExpired, live())

	snap := read(t, e.feed, 0, 0)
	if snap.Cursor != 3 || !sameIDs(sidsOf(snap), sids[1:]) {
		t.Errorf("snapshot = cursor %d, %d events; want cursor 3 and the 2 alive (within retention)", snap.Cursor, len(snap.Events))
	}
	revoke(t, e.url, true, longDead)
	delta := read(t, e.feed, 3, 5*time.Second)
	if delta.Snapshot || delta.Cursor != 4 || len(delta.Events) != 0 {
		t.Errorf("delta of a dead event = {cursor %d, snapshot %v, %d events}, want {4, false, 0}: the cursor moves past it", delta.Cursor, delta.Snapshot, len(delta.Events))
	}
}

func TestReadPagesLongDeltas(t *testing.T) {
	t.Parallel()
	e := setup(t, feed.Options{PageSize: 2})
	revoke(t, e.url, true, live())
	sids := revoke(t, e.url, true, live(), live(), live(), live(), live())

	var got []uuid.UUID
	after := int64(1)
	for _, want := range []struct {
		cursor int64
		more   bool // a full page: events may follow it
	}{{cursor: 3, more: true}, {cursor: 5, more: true}, {cursor: 6, more: false}} {
		p := read(t, e.feed, after, 0)
		if p.Snapshot || p.Cursor != want.cursor || p.More != want.more {
			t.Fatalf("page after %d = {cursor %d, snapshot %v, more %v}, want {%d, false, %v}", after, p.Cursor, p.Snapshot, p.More, want.cursor, want.more)
		}
		got = append(got, sidsOf(p)...)
		after = p.Cursor
	}
	if !sameIDs(got, sids) {
		t.Errorf("pages listed %d events, want the 5 in seq order", len(got))
	}
	// A snapshot is never paged: a gateway must get every live event at once.
	if snap := read(t, e.feed, 0, 0); len(snap.Events) != 6 || snap.More {
		t.Errorf("snapshot lists %d events (more %v), want all 6 and no more", len(snap.Events), snap.More)
	}
}

func TestReadAnswersASnapshotForACursorItCannotServe(t *testing.T) {
	t.Parallel()
	e := setup(t, feed.Options{})
	dead := time.Now().Add(-time.Hour)
	revoke(t, e.url, true, dead, dead)      // 1, 2
	alive := revoke(t, e.url, true, live()) // 3
	n, err := e.store.RevocationFeedPrune(context.Background(), time.Now().Add(-time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("prune = %d, %v; want 2 events deleted", n, err)
	}
	tests := []struct {
		name         string
		after        int64
		wantSnapshot bool
	}{
		{name: "zero", after: 0, wantSnapshot: true},
		{name: "below pruned_through", after: 1, wantSnapshot: true},
		{name: "at pruned_through", after: 2, wantSnapshot: false},
		{name: "at last_seq", after: 3, wantSnapshot: false},
		{name: "past last_seq (another database)", after: 99, wantSnapshot: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := read(t, e.feed, tt.after, 0)
			if p.Snapshot != tt.wantSnapshot || p.Cursor != 3 {
				t.Errorf("Read(after=%d) = {cursor %d, snapshot %v}, want {3, %v}", tt.after, p.Cursor, p.Snapshot, tt.wantSnapshot)
			}
			if p.Snapshot && !sameIDs(sidsOf(p), alive) {
				t.Errorf("snapshot lists %d events, want only the live one", len(p.Events))
			}
		})
	}
}

func TestPruneAdvancesPrunedThroughOnlyUpwards(t *testing.T) {
	t.Parallel()
	e := setup(t, feed.Options{})
	dead := time.Now().Add(-time.Hour)
	revoke(t, e.url, true, live(), dead, dead, live()) // dead: 2, 3
	ctx := context.Background()
	for range 2 { // a second prune finds nothing and must not lower pruned_through
		if _, err := e.store.RevocationFeedPrune(ctx, time.Now()); err != nil {
			t.Fatalf("prune: %v", err)
		}
	}
	conn, err := pgx.Connect(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var prunedThrough, left int64
	if err := conn.QueryRow(ctx, `SELECT pruned_through, (SELECT count(*) FROM revocation_events) FROM revocation_feed`).Scan(&prunedThrough, &left); err != nil {
		t.Fatal(err)
	}
	if prunedThrough != 3 || left != 2 {
		t.Errorf("pruned_through = %d with %d events left, want 3 with 2", prunedThrough, left)
	}
}

func TestReadWaitsForACommitFromAnotherConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		notify bool // false: only the once-a-second recheck can see it
	}{
		{name: "notified", notify: true},
		{name: "notification lost", notify: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			waiting, waitFor := signals(t)
			polled := make(chan int64, 64)
			e := setup(t, feed.Options{Hooks: feed.Hooks{Waiting: waiting, Published: func(last int64) {
				select { // never blocks the recheck
				case polled <- last:
				default:
				}
			}}})
			revoke(t, e.url, true, live())
			const wait = 20 * time.Second
			got := readAsync(context.Background(), e.feed, 1, wait)
			waitFor(1)                         // the reader waits
			for last := int64(0); last != 1; { // the recheck knows the counter before the commit
				select {
				case last = <-polled:
				case <-time.After(15 * time.Second):
					t.Fatal("the recheck never read the counter")
				}
			}
			sids := revoke(t, e.url, tt.notify, live())
			select {
			case r := <-got:
				if r.page.Cursor != 2 || !sameIDs(sidsOf(r.page), sids) {
					t.Errorf("woken read = cursor %d, %d events; want cursor 2 and the new event", r.page.Cursor, len(r.page.Events))
				}
				if r.took >= wait {
					t.Errorf("read took %v: it waited out its wait instead of answering the commit", r.took)
				}
			case <-time.After(wait + 5*time.Second):
				t.Fatal("the waiting read never answered")
			}
		})
	}
}

func TestReadWaitEndsEmpty(t *testing.T) {
	t.Parallel()
	e := setup(t, feed.Options{})
	revoke(t, e.url, true, live())
	start := time.Now()
	p := read(t, e.feed, 1, time.Second)
	if took := time.Since(start); took < time.Second {
		t.Errorf("read with nothing new answered after %v, before its 1 s wait", took)
	}
	if p.Snapshot || p.Cursor != 1 || len(p.Events) != 0 {
		t.Errorf("read = {cursor %d, snapshot %v, %d events}, want {1, false, 0}", p.Cursor, p.Snapshot, len(p.Events))
	}
}

func TestReadOfAnEmptyFeedWaitsForItsFirstEvent(t *testing.T) {
	t.Parallel()
	waiting, waitFor := signals(t)
	e := setup(t, feed.Options{Hooks: feed.Hooks{Waiting: waiting}})
	got := readAsync(context.Background(), e.feed, 0, 20*time.Second)
	waitFor(1)
	sids := revoke(t, e.url, true, live())
	select {
	case r := <-got:
		p := r.page
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !p.Snapshot || p.Cursor != 1 || !sameIDs(sidsOf(p), sids) {
			t.Errorf("read = {cursor %d, snapshot %v, %d events}, want a snapshot at 1 with the event", p.Cursor, p.Snapshot, len(p.Events))
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the waiting read never answered")
	}
}

func TestStopAnswersWaitingReaders(t *testing.T) {
	t.Parallel()
	waiting, waitFor := signals(t)
	e := setup(t, feed.Options{Hooks: feed.Hooks{Waiting: waiting}})
	revoke(t, e.url, true, live())
	got := readAsync(context.Background(), e.feed, 1, 20*time.Second)
	waitFor(1)
	e.feed.Stop()
	select {
	case r := <-got:
		if r.err != nil || r.took > 10*time.Second {
			t.Errorf("reader answered %v (%v) after Stop", r.took, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Stop left a reader waiting")
	}
	start := time.Now()
	_ = read(t, e.feed, 1, 20*time.Second)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a reader after Stop waited %v", took)
	}
}

func TestReadReturnsWhenTheReaderLeaves(t *testing.T) {
	t.Parallel()
	waiting, waitFor := signals(t)
	e := setup(t, feed.Options{Hooks: feed.Hooks{Waiting: waiting}})
	revoke(t, e.url, true, live())
	ctx, cancel := context.WithCancel(context.Background())
	got := readAsync(ctx, e.feed, 1, 20*time.Second)
	waitFor(1)
	cancel()
	select {
	case r := <-got:
		if r.err == nil {
			t.Error("Read returned no error for a reader that left")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Read kept waiting for a reader that left")
	}
}

func TestConcurrentSnapshotsAgree(t *testing.T) {
	t.Parallel()
	e := setup(t, feed.Options{})
	sids := revoke(t, e.url, true, live(), live(), live())
	const readers = 16
	var pages []<-chan readResult
	for range readers {
		pages = append(pages, readAsync(context.Background(), e.feed, 0, 0))
	}
	for _, got := range pages {
		r := <-got
		p := r.page
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !p.Snapshot || p.Cursor != 3 || !sameIDs(sidsOf(p), sids) {
			t.Errorf("concurrent snapshot = {cursor %d, snapshot %v, %d events}, want {3, true, the 3 revoked}", p.Cursor, p.Snapshot, len(p.Events))
		}
	}
}

// TestSnapshotReadersNeverShareAReadBegunBeforeTheyArrived: a gateway counts
// itself fresh as of the moment it sent its request, so the snapshot it gets
// must hold every revocation committed before that moment. Readers arriving
// while a shared read runs share the next read instead, one for all of them.
func TestSnapshotReadersNeverShareAReadBegunBeforeTheyArrived(t *testing.T) {
	t.Parallel()
	joined, waitJoined := signals(t)
	e := setup(t, feed.Options{Hooks: feed.Hooks{Joined: joined}})
	first := revoke(t, e.url, true, live())
	var reads atomic.Int32
	inRead := make(chan struct{})
	release := make(chan struct{})
	feed.WrapSnapshotRead(e.feed, func(read func(context.Context) (store.FeedPage, error)) func(context.Context) (store.FeedPage, error) {
		return func(ctx context.Context) (store.FeedPage, error) {
			p, err := read(ctx)
			if reads.Add(1) == 1 { // the first read has its snapshot, then lingers
				close(inRead)
				<-release
			}
			return p, err
		}
	})

	early := readAsync(context.Background(), e.feed, 0, 0)
	<-inRead
	waitJoined(1)                            // the early reader's own join
	second := revoke(t, e.url, true, live()) // committed while the first read is under way
	const readers = 8
	var late []<-chan readResult
	for range readers {
		late = append(late, readAsync(context.Background(), e.feed, 0, 0))
	}
	waitJoined(readers) // the late readers wait for the queued read
	close(release)

	if r := <-early; r.err != nil || r.page.Cursor != 1 || !sameIDs(sidsOf(r.page), first) {
		t.Errorf("early reader: cursor %d, %d events (%v); want the snapshot at 1", r.page.Cursor, len(r.page.Events), r.err)
	}
	for _, got := range late {
		if r := <-got; r.err != nil || !r.page.Snapshot || r.page.Cursor != 2 || !sameIDs(sidsOf(r.page), append(first, second...)) {
			t.Errorf("late reader: cursor %d, %d events (%v); want the snapshot at 2 with the revocation committed before it arrived", r.page.Cursor, len(r.page.Events), r.err)
		}
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("%d database reads, want 2: the late readers share one", n)
	}
}
