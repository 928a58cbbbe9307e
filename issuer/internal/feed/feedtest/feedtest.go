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

// Revoke records one revocation event per expiry of a made-up session in
// one statement on a connection of its own, with revocation_events_record,
// as the revoking statements do; notify false simulates a lost
// notification. It returns the revoked session ids, in seq order.
func Revoke(t testing.TB, url string, notify bool, expiries ...time.Time) []uuid.UUID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, RecordSQL+` ORDER BY e.seq`, expiries, notify)
	sids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(sids) != len(expiries) {
		t.Fatalf("record revocations: %d recorded, %v", len(sids), err)
	}
	return sids
}

// RecordSQL records one revocation event of a made-up session and user per
// expiry in $1 (timestamptz[]), notifying when $2, with the revoking
// statements' revocation_events_record, and returns the session ids.
const RecordSQL = `SELECT e.session_id FROM revocation_events_record(ARRAY(
	SELECT ROW(gen_random_uuid(), gen_random_uuid(), 'logout', now(), x.exp)::revocation
	FROM unnest($1::timestamptz[]) WITH ORDINALITY AS x (exp, n) ORDER BY x.n), $2) AS e`

// RevokeMany records n events expiring at exp in one statement, for load tests.
func RevokeMany(t testing.TB, url string, n int, exp time.Time) {
	t.Helper()
	expiries := make([]time.Time, n)
	for i := range expiries {
		expiries[i] = exp
	}
	Revoke(t, url, true, expiries...)
}

// Live is an expiry a quarter of an hour away.
func Live() time.Time { return time.Now().Add(15 * time.Minute) }
