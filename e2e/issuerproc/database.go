package issuerproc

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// ServerPIDs returns the database server's processes: its postmaster (from
// postmaster.pid in its data directory, which must be on this machine) and
// the postmaster's children, for measuring its CPU and memory.
func (d *Database) ServerPIDs(t testing.TB) []int {
	t.Helper()
	var dir string
	d.withConn(t, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SHOW data_directory`).Scan(&dir)
	})
	raw, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatalf("read postmaster.pid: %v", err)
	}
	master, err := strconv.Atoi(strings.SplitN(string(raw), "\n", 2)[0])
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pids := []int{master}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := ProcStat(pid); len(f) > 1 && f[1] == strconv.Itoa(master) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ProcStat returns the fields of /proc/PID/stat after the command name
// (state, ppid, ...; utime and stime are the 12th and 13th), or nil when
// the process is gone.
func ProcStat(pid int) []string {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(raw), ')')
	return strings.Fields(string(raw[i+1:]))
}
