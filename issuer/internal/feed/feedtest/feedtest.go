// Package feedtest gives tests of the revocation feed a migrated database of
// their own and a way to record revocations in it from another connection,
// the way the store's SessionRevoke does.
package feedtest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/issuer/internal/store"
)

// NewStore migrates a fresh database and opens a store on it; both go away
// when t ends. It returns the store and the database's URL.
func NewStore(t testing.TB) (*store.Store, string) {
	t.Helper()
	url := testdb.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := store.Migrate(ctx, url); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	st, err := store.New(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	return st, url
}

// Revoke records one revocation event per expiry in one transaction on a
// connection of its own, as SessionRevoke does: the counter advanced under
// its row lock, the events inserted, and (when notify is set) a notification
// delivered at commit. It returns the revoked session ids, in seq order.
func Revoke(t testing.TB, url string, notify bool, expiries ...time.Time) []uuid.UUID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	sids := make([]uuid.UUID, len(expiries))
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var last int64
		if err := tx.QueryRow(ctx, `UPDATE revocation_feed SET last_seq = last_seq + $1 RETURNING last_seq`, len(expiries)).Scan(&last); err != nil {
			return err
		}
		first := last - int64(len(expiries)) + 1
		for i, exp := range expiries {
			sids[i] = uuid.New()
			if _, err := tx.Exec(ctx, `INSERT INTO revocation_events (seq, session_id, user_id, reason, revoked_at, expires_at)
				VALUES ($1, $2, $3, 'logout', now(), $4)`, first+int64(i), sids[i], uuid.New(), exp); err != nil {
				return err
			}
		}
		if notify {
			_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2::bigint::text)`, store.RevocationChannel, last)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("record revocation: %v", err)
	}
	return sids
}

// RevokeMany records n events expiring at exp in batches, for load tests.
func RevokeMany(t testing.TB, url string, n int, exp time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `
		WITH feed AS (UPDATE revocation_feed SET last_seq = last_seq + $1 RETURNING last_seq)
		INSERT INTO revocation_events (seq, session_id, user_id, reason, revoked_at, expires_at)
		SELECT feed.last_seq - $1 + i, gen_random_uuid(), gen_random_uuid(), 'logout', now(), $2
		FROM feed CROSS JOIN generate_series(1, $1::bigint) AS i`, n, exp)
	if err != nil {
		t.Fatalf("record %d revocations: %v", n, err)
	}
}

// Live is an expiry a quarter of an hour away.
func Live() time.Time { return time.Now().Add(15 * time.Minute) }
