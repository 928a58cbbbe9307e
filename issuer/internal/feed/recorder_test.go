package feed_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/medinsights/auth/issuer/internal/feed"
)

// message is one thing a stream sent.
type message struct {
	page      feed.Page
	heartbeat bool
	cursor    int64 // of a heartbeat
}

// recorder is a feed.StreamWriter that hands each message to the test.
type recorder struct {
	ctx    context.Context
	msgs   chan message
	done   chan error
	cancel context.CancelFunc
}

func (r *recorder) Page(p feed.Page) error { return r.send(message{page: p}) }

func (r *recorder) Heartbeat(cursor int64, _ time.Duration) error {
	return r.send(message{heartbeat: true, cursor: cursor})
}

func (r *recorder) send(m message) error {
	select {
	case r.msgs <- m:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// follow runs Follow from after into a recorder, with a heartbeat every
// beat and a lifetime of an hour; it is cut when the test ends.
func follow(t *testing.T, f *feed.Feed, after int64, beat time.Duration) *recorder {
	t.Helper()
	return followFor(t, f, after, beat, time.Hour)
}

func followFor(t *testing.T, f *feed.Feed, after int64, beat, lifetime time.Duration) *recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{ctx: ctx, msgs: make(chan message, 64), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- f.Follow(ctx, after, feed.StreamOptions{Heartbeat: beat, Lifetime: lifetime}, r) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// next returns the next message, failing t after 15 s.
func (r *recorder) next(t *testing.T) message {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case err := <-r.done:
		r.done <- err
		t.Fatalf("the stream ended: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("no message within 15 s")
	}
	return message{}
}

// nextPage returns the next message that is not a heartbeat.
func (r *recorder) nextPage(t *testing.T) message {
	t.Helper()
	for {
		if m := r.next(t); !m.heartbeat {
			return m
		}
	}
}

// cut ends the stream as a reader that goes away.
func (r *recorder) cut() { r.cancel() }

// wait returns Follow's result, failing t after 15 s.
func (r *recorder) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("the stream did not end within 15 s")
		return nil
	}
}

// heldLock is a transaction holding an exclusive lock on the feed's row
// table, so every read of the feed blocks until release.
type heldLock struct {
	conn *pgx.Conn
	tx   pgx.Tx
}

func lockEvents(t *testing.T, url string) *heldLock {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE revocation_feed IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	l := &heldLock{conn: conn, tx: tx}
	t.Cleanup(l.release)
	return l
}

func (l *heldLock) release() {
	if l.conn.IsClosed() {
		return
	}
	_ = l.tx.Rollback(context.Background())
	_ = l.conn.Close(context.Background())
}

// waitForLockWaiter returns once a session of the test's database waits
// for a lock.
func waitForLockWaiter(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for {
		var waiting int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks
			WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&waiting)
		if err != nil {
			t.Fatalf("no lock waiter: %v", err)
		}
		if waiting > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling pg_locks: the server has no signal for it
	}
}
