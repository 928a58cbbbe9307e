package issuerproc

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RevocationState is what the database says about revocations.
type RevocationState struct {
	LastSeq int64
	// RevokedSessions are the sessions with revoked_at set.
	RevokedSessions map[string]bool
	// LiveEvents are the session ids of the events not yet expired.
	LiveEvents map[string]bool
}

// Revocations reads the revocation state in one snapshot of the database.
func (d *Database) Revocations(t testing.TB) RevocationState {
	t.Helper()
	st := RevocationState{RevokedSessions: map[string]bool{}, LiveEvents: map[string]bool{}}
	d.withConn(t, func(ctx context.Context, conn *pgx.Conn) error {
		return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT last_seq FROM revocation_feed`).Scan(&st.LastSeq); err != nil {
				return err
			}
			for query, into := range map[string]map[string]bool{
				`SELECT id::text FROM sessions WHERE revoked_at IS NOT NULL`:              st.RevokedSessions,
				`SELECT session_id::text FROM revocation_events WHERE expires_at > now()`: st.LiveEvents,
			} {
				rows, err := tx.Query(ctx, query)
				if err != nil {
					return err
				}
				ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return err
				}
				for _, id := range ids {
					into[id] = true
				}
			}
			return nil
		})
	})
	return st
}

// RevokeMany records n revocation events of made-up sessions, expiring at
// exp, in one statement, as the revoking statements do (for load tests).
func (d *Database) RevokeMany(t testing.TB, n int, exp time.Time) {
	t.Helper()
	d.withConn(t, func(ctx context.Context, conn *pgx.Conn) error {
		// revocation_events_record (migration 00012) is how every revoking
		// statement writes its events.
		_, err := conn.Exec(ctx, `SELECT count(*) FROM revocation_events_record(ARRAY(
			SELECT ROW(gen_random_uuid(), gen_random_uuid(), 'logout', now(), $2::timestamptz)::revocation
			FROM generate_series(1, $1::bigint)))`, n, exp)
		return err
	})
}

func (d *Database) withConn(t testing.TB, fn func(context.Context, *pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.URL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if err := fn(ctx, conn); err != nil {
		t.Fatalf("query the test database: %v", err)
	}
}
