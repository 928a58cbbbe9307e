package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/issuer/internal/store"
)

// blockedLogouts is a store whose logouts queue behind a first one that is
// held at the revocation feed row's lock until release is called.
type blockedLogouts struct {
	st      *store.Store
	url     string
	userID  uuid.UUID
	caller  uuid.UUID
	release func()
	first   chan error
	queued  chan int // the queue's length each time a logout queues
	batches chan int // the size of each batch as it starts
}

// waitQueued waits until n logouts queue behind the blocked batch.
func (b *blockedLogouts) waitQueued(t *testing.T, n int) {
	t.Helper()
	for {
		select {
		case q := <-b.queued:
			if q >= n {
				return
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("fewer than %d logouts queued", n)
		}
	}
}

func hashOf(id uuid.UUID) []byte { h := make([]byte, 32); copy(h, id[:]); return h }

func setupBlockedLogouts(t *testing.T) *blockedLogouts {
	t.Helper()
	ctx := context.Background()
	url := testdb.New(t)
	if _, err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	st, err := store.New(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	u := newUser(t, st, "alice", "alice@example.org")
	b := &blockedLogouts{st: st, url: url, userID: u.ID, caller: newSession(t, st, u.ID), first: make(chan error, 1), queued: make(chan int, 64), batches: make(chan int, 64)}
	store.SetLogoutQueuedFunc(st, func(n int) { b.queued <- n })
	store.SetLogoutBatchFunc(st, func(n int) { b.batches <- n })

	lock, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close(context.Background()) })
	tx, err := lock.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM revocation_feed FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	released := false
	b.release = func() {
		if !released {
			released = true
			_ = tx.Rollback(ctx)
		}
	}
	t.Cleanup(b.release)
	victim := newSession(t, st, u.ID)
	now := time.Now()
	go func() {
		_, err := st.RevokeForLogout(ctx, b.logout(victim, now))
		b.first <- err
	}()
	// Wait until the first logout leads a batch: it cannot end before
	// release (its statement needs the lock held above), and every logout
	// after it queues behind it, which is all the tests need, whether or
	// not its statement has reached the lock yet.
	select {
	case n := <-b.batches:
		if n != 1 {
			t.Fatalf("the first logout ran in a batch of %d", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first logout never started its batch")
	}
	return b
}

func (b *blockedLogouts) logout(session uuid.UUID, at time.Time) store.Logout {
	return store.Logout{UserID: b.userID, CallerSessionID: b.caller, RefreshHash: hashOf(session), Reason: "logout", At: at, EventExpiresAt: at.Add(time.Minute)}
}

func (b *blockedLogouts) revokedAt(t *testing.T, session uuid.UUID) (revokedAt, eventExpires *time.Time) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT revoked_at FROM sessions WHERE id = $1", session).Scan(&revokedAt); err != nil {
		t.Fatal(err)
	}
	err = conn.QueryRow(ctx, "SELECT expires_at FROM revocation_events WHERE session_id = $1", session).Scan(&eventExpires)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return revokedAt, eventExpires
}

func TestWaitingLogoutReturnsWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	b := setupBlockedLogouts(t)
	victim := newSession(t, b.st, b.userID)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.st.RevokeForLogout(ctx, b.logout(victim, time.Now()))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting logout: %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("waiting logout returned after %v, while the batch before it was still blocked", waited)
	}
	b.release()
	if err := <-b.first; err != nil {
		t.Fatal(err)
	}
	if at, _ := b.revokedAt(t, victim); at != nil {
		t.Fatal("a logout that gave up before its batch still revoked its session")
	}
	// The batcher is not wedged: the next logout runs.
	r, err := b.st.RevokeForLogout(context.Background(), b.logout(victim, time.Now()))
	if err != nil || !r.Revoked {
		t.Fatalf("logout after: %+v %v, want revoked", r, err)
	}
}

func TestBatchedLogoutsKeepTheirOwnTimes(t *testing.T) {
	t.Parallel()
	b := setupBlockedLogouts(t)
	base := time.Now().Truncate(time.Second)
	sessions := []uuid.UUID{newSession(t, b.st, b.userID), newSession(t, b.st, b.userID)}
	errs := make(chan error, len(sessions))
	for i, s := range sessions {
		go func() {
			_, err := b.st.RevokeForLogout(context.Background(), b.logout(s, base.Add(time.Duration(i+1)*time.Second)))
			errs <- err
		}()
	}
	b.waitQueued(t, 2) // both queue behind the blocked batch
	b.release()
	for range sessions {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range sessions {
		want := base.Add(time.Duration(i+1) * time.Second)
		at, exp := b.revokedAt(t, s)
		if at == nil || !at.Equal(want) || exp == nil || !exp.Equal(want.Add(time.Minute)) {
			t.Errorf("session %d revoked at %v, event expiring %v; want %v and %v", i, at, exp, want, want.Add(time.Minute))
		}
	}
}

func TestOneBadLogoutDoesNotFailItsBatch(t *testing.T) {
	t.Parallel()
	b := setupBlockedLogouts(t)
	good, bad := newSession(t, b.st, b.userID), newSession(t, b.st, b.userID)
	type result struct {
		r   store.LogoutResult
		err error
	}
	goodDone, badDone := make(chan result, 1), make(chan result, 1)
	go func() {
		r, err := b.st.RevokeForLogout(context.Background(), b.logout(good, time.Now()))
		goodDone <- result{r, err}
	}()
	go func() {
		l := b.logout(bad, time.Now())
		l.Reason = "bad\x00reason" // PostgreSQL text cannot hold NUL: the statement fails
		r, err := b.st.RevokeForLogout(context.Background(), l)
		badDone <- result{r, err}
	}()
	b.waitQueued(t, 2) // both queue behind the blocked batch
	b.release()
	if g := <-goodDone; g.err != nil || !g.r.Revoked {
		t.Fatalf("good logout batched with a bad one: %+v %v, want revoked", g.r, g.err)
	}
	if r := <-badDone; r.err == nil {
		t.Fatal("bad logout succeeded")
	}
}
