package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/medinsights/auth/issuer/internal/store/dbsqlc"
)

// RevocationChannel is the PostgreSQL notification channel SessionRevoke
// notifies, with the new last sequence number as payload, when its
// transaction commits.
const RevocationChannel = "medinsights_revocations"

// FeedEvent is one revocation as the feed serves it.
type FeedEvent struct {
	Seq       int64
	SessionID uuid.UUID
	ExpiresAt time.Time
	// CommittedAt is when the revoking transaction committed (the
	// clock_timestamp() of its last statement, see migration 00009).
	CommittedAt time.Time
}

// FeedTail is what follows a cursor, read for the issuer's window of
// recent events: the feed's head and the events after the cursor, dead ones
// included, from one snapshot.
type FeedTail struct {
	LastSeq       int64
	PrunedThrough int64
	Events        []FeedEvent
}

// FeedPage is one answer of the revocation feed: a snapshot of every live
// event, or the events after a cursor. Cursor is the sequence number the
// reader passes next.
type FeedPage struct {
	Cursor   int64
	Snapshot bool
	Events   []FeedEvent
}

// RevocationFeedRead reads the feed after the cursor, in one read-only
// REPEATABLE READ transaction, so the cursor and the events agree. It
// answers a snapshot of every event alive after aliveAfter when after is 0,
// below pruned_through (events the reader has not seen may be gone), or
// above last_seq (the reader followed another database); otherwise up to
// maxEvents events after it, with the cursor at the last one listed when
// the page is full and at last_seq when it is not.
func (s *Store) RevocationFeedRead(ctx context.Context, after int64, aliveAfter time.Time, maxEvents int32) (FeedPage, error) {
	var page FeedPage
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, s.feedPool, opts, func(tx pgx.Tx) error {
		page = FeedPage{}
		head, err := s.q.RevocationFeedHead(ctx, tx)
		if err != nil {
			return fmt.Errorf("read feed head: %w", err)
		}
		page.Cursor = head.LastSeq
		if after == 0 || after < head.PrunedThrough || after > head.LastSeq {
			page.Snapshot = true
			rows, err := s.q.RevocationFeedSnapshot(ctx, tx, dbsqlc.RevocationFeedSnapshotParams{
				Through: head.LastSeq, AliveAfter: aliveAfter,
			})
			if err != nil {
				return fmt.Errorf("read feed snapshot: %w", err)
			}
			page.Events = make([]FeedEvent, len(rows))
			for i, r := range rows {
				page.Events[i] = FeedEvent(r)
			}
			return nil
		}
		rows, err := s.q.RevocationFeedAfter(ctx, tx, dbsqlc.RevocationFeedAfterParams{
			After: after, Through: head.LastSeq, AliveAfter: aliveAfter, MaxEvents: maxEvents,
		})
		if err != nil {
			return fmt.Errorf("read feed events: %w", err)
		}
		page.Events = make([]FeedEvent, len(rows))
		for i, r := range rows {
			page.Events[i] = FeedEvent(r)
		}
		if len(rows) == int(maxEvents) {
			page.Cursor = rows[len(rows)-1].Seq
		}
		return nil
	})
	return page, interpretError(err)
}

// RevocationFeedLastSeq returns the last sequence number handed out.
func (s *Store) RevocationFeedLastSeq(ctx context.Context) (int64, error) {
	head, err := s.q.RevocationFeedHead(ctx, s.feedPool)
	return head.LastSeq, interpretError(err)
}

// RevocationFeedTail reads the head and up to maxEvents events after the
// cursor, in one statement on the feed's pool: the one read that fills an
// issuer's window.
func (s *Store) RevocationFeedTail(ctx context.Context, after int64, maxEvents int32) (FeedTail, error) {
	rows, err := s.q.RevocationFeedTail(ctx, s.feedPool, dbsqlc.RevocationFeedTailParams{After: after, MaxEvents: maxEvents})
	if err != nil {
		return FeedTail{}, interpretError(err)
	}
	if len(rows) == 0 {
		return FeedTail{}, fmt.Errorf("read feed tail: %w", ErrNotFound) // the feed row is gone: a broken schema
	}
	tail := FeedTail{LastSeq: rows[0].LastSeq, PrunedThrough: rows[0].PrunedThrough}
	for _, r := range rows {
		if r.Seq == 0 {
			continue // the one row of an empty tail
		}
		tail.Events = append(tail.Events, FeedEvent{Seq: r.Seq, SessionID: r.SessionID, ExpiresAt: r.ExpiresAt, CommittedAt: r.CommittedAt})
	}
	return tail, nil
}

// RevocationFeedPrune deletes the events dead at deadBefore and advances
// pruned_through, in one statement. It returns how many it deleted.
func (s *Store) RevocationFeedPrune(ctx context.Context, deadBefore time.Time) (int64, error) {
	row, err := s.q.RevocationFeedPrune(ctx, s.feedPool, deadBefore)
	return row.Pruned, interpretError(err)
}

// RevocationListener reacts to the feed's notifications.
type RevocationListener struct {
	// NotifiedFunc runs for every notification on RevocationChannel with the
	// last sequence number it carries, and once after each (re)connection
	// with 0, when notifications sent while the connection was down may have
	// been missed.
	NotifiedFunc func(lastSeq int64)
	// ErrorFunc receives connection and LISTEN errors (required); the
	// listener reconnects after ReconnectDelay.
	ErrorFunc      func(error)
	ReconnectDelay time.Duration
}

// ListenRevocations holds one connection of its own (outside the pool) that
// LISTENs on RevocationChannel, until ctx ends.
func (s *Store) ListenRevocations(ctx context.Context, l RevocationListener) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.Tracer = nil // statement counts are about requests, not this connection
	listener := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			conn, err := pgx.ConnectConfig(ctx, cfg)
			return conn, interpretError(err)
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil { // not the shutdown itself
				l.ErrorFunc(err)
			}
		},
		ReconnectDelay: l.ReconnectDelay,
	}
	listener.Handle(RevocationChannel, revocationHandler(l.NotifiedFunc))
	err := listener.Listen(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// revocationHandler implements pgxlisten's Handler and BacklogHandler.
type revocationHandler func(lastSeq int64)

func (h revocationHandler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	seq, _ := strconv.ParseInt(n.Payload, 10, 64) // a payload that is not a number reads as unknown (0)
	h(seq)
	return nil
}

func (h revocationHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h(0)
	return nil
}
