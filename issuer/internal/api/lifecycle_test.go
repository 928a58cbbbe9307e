package api_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
)

// A trigger that raises on insert into table makes the statement that
// writes it fail half-way through its transaction.
func failInsertsInto(t *testing.T, is *issuertest.Issuer, table string) (restore func()) {
	t.Helper()
	issuertest.Exec(t, is.DatabaseURL, `CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`)
	issuertest.Exec(t, is.DatabaseURL, `CREATE TRIGGER fail_insert BEFORE INSERT ON `+table+` FOR EACH ROW EXECUTE FUNCTION fail_insert()`)
	return func() {
		issuertest.Exec(t, is.DatabaseURL, `DROP TRIGGER fail_insert ON `+table)
		issuertest.Exec(t, is.DatabaseURL, `DROP FUNCTION fail_insert()`)
	}
}

func count(t *testing.T, is *issuertest.Issuer, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := queryRow(t, is, sql, &n, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStateChangesAreAllOrNothing(t *testing.T) {
	t.Parallel()

	t.Run("register: the user is not kept when its verification token cannot be", func(t *testing.T) {
		t.Parallel()
		is := issuertest.New(t, issuertest.Options{})
		restore := failInsertsInto(t, is, "email_verifications")
		r := is.Post(t, "/api/auth/register/", map[string]string{"username": "alice", "email": "alice@example.org", "password": password}, "")
		wantProblem(t, r, 500, "internal_error")
		if strings.Contains(string(r.Body), "injected") || strings.Contains(string(r.Body), "email_verifications") {
			t.Fatalf("internal text leaked: %s", r.Body)
		}
		if n := count(t, is, "SELECT count(*) FROM users"); n != 0 {
			t.Fatalf("%d users left by a failed registration", n)
		}
		restore()
		is.Register(t, "alice", password)
	})

	t.Run("change-password: the password is unchanged when the revocation fails", func(t *testing.T) {
		t.Parallel()
		is := setup(t)
		current, other := is.Login(t, "alice", password), is.Login(t, "alice", password)
		restore := failInsertsInto(t, is, "revocation_events")
		r := is.Post(t, "/api/auth/change-password/", map[string]string{"current_password": password, "new_password": "another good passphrase"}, current.Access)
		wantProblem(t, r, 500, "internal_error")
		restore()
		wantStatus(t, is.Get(t, "/api/auth/me/", other.Access), 200)
		is.Login(t, "alice", password)
		if n := count(t, is, "SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL"); n != 0 {
			t.Fatalf("%d sessions revoked by a failed change", n)
		}
	})

	t.Run("refresh: the presented token stays live when its successor cannot be stored", func(t *testing.T) {
		t.Parallel()
		is := setup(t)
		tok := is.Login(t, "alice", password)
		restore := failInsertsInto(t, is, "refresh_tokens")
		wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": tok.Refresh}, ""), 500, "internal_error")
		restore()
		if n := count(t, is, "SELECT count(*) FROM refresh_tokens WHERE retired_at IS NOT NULL"); n != 0 {
			t.Fatal("the presented token was retired by a failed rotation")
		}
		is.Clock.Advance(time.Minute) // far beyond the reuse interval: it must still be live, not reuse
		is.Refresh(t, tok.Refresh)
	})

	t.Run("logout: the session stays live when its event cannot be recorded", func(t *testing.T) {
		t.Parallel()
		is := setup(t)
		a := is.Login(t, "alice", password)
		restore := failInsertsInto(t, is, "revocation_events")
		wantProblem(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": a.Refresh}, a.Access), 500, "internal_error")
		restore()
		wantStatus(t, is.Get(t, "/api/auth/me/", a.Access), 200)
		is.Refresh(t, a.Refresh)
	})

	t.Run("logout-all: no session ends when an event cannot be recorded", func(t *testing.T) {
		t.Parallel()
		is := setup(t)
		a, b := is.Login(t, "alice", password), is.Login(t, "alice", password)
		restore := failInsertsInto(t, is, "revocation_events")
		wantProblem(t, is.Post(t, "/api/auth/logout-all/", nil, a.Access), 500, "internal_error")
		restore()
		wantStatus(t, is.Get(t, "/api/auth/me/", a.Access), 200)
		wantStatus(t, is.Get(t, "/api/auth/me/", b.Access), 200)
		if n := count(t, is, "SELECT last_seq FROM revocation_feed"); n != 0 {
			t.Fatalf("feed advanced to %d by a failed revocation", n)
		}
	})
}

func TestEveryRevocationRecordsAnEvent(t *testing.T) {
	t.Parallel()
	is := setup(t)
	ctx := context.Background()
	wantExpiry := issuertest.AccessLifetime + issuertest.ClockSkew + time.Minute

	// logout: one event
	a := is.Login(t, "alice", password)
	wantStatus(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": a.Refresh}, a.Access), 204)
	// change-password: one per other session
	cur := is.Login(t, "alice", password)
	is.Login(t, "alice", password)
	is.Login(t, "alice", password)
	const next = "the second passphrase"
	wantStatus(t, is.Post(t, "/api/auth/change-password/", map[string]string{"current_password": password, "new_password": next}, cur.Access), 200)
	// refresh reuse: one
	r1 := is.Login(t, "alice", next)
	is.Refresh(t, r1.Refresh)
	is.Clock.Advance(time.Minute)
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": r1.Refresh}, ""), 401, "invalid_grant")
	// role change: every live session (cur, and one more)
	is.Login(t, "alice", next)
	if _, n, err := is.Auth.RevokeRole(ctx, "alice", "patient"); err != nil || n != 2 {
		t.Fatalf("revoke role: %d sessions, %v", n, err)
	}
	// logout-all: every session at that moment
	l1, _ := is.Login(t, "alice", next), is.Login(t, "alice", next)
	wantStatus(t, is.Post(t, "/api/auth/logout-all/", nil, l1.Access), 204)

	events := revocationEvents(t, is)
	wantReasons := []string{"logout", "password_change", "password_change", "refresh_reuse", "role_change", "role_change", "logout_all", "logout_all"}
	if len(events) != len(wantReasons) {
		t.Fatalf("%d events, want %d: %+v", len(events), len(wantReasons), events)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Errorf("event %d has seq %d: sequence numbers must be 1, 2, 3...", i, e.Seq)
		}
		if e.Reason != wantReasons[i] {
			t.Errorf("event %d reason %q, want %q", i, e.Reason, wantReasons[i])
		}
		if got := e.ExpiresAt.Sub(e.RevokedAt); got != wantExpiry {
			t.Errorf("event %d expires %s after revocation, want %s", i, got, wantExpiry)
		}
		if e.UserID.String() != a.UserID {
			t.Errorf("event %d user %s", i, e.UserID)
		}
		s, err := is.Store.SessionGetByID(ctx, e.SessionID)
		if err != nil || s.RevokedAt == nil || s.RevokeReason != e.Reason || !s.RevokedAt.Equal(e.RevokedAt) {
			t.Errorf("event %d: session %+v (%v) does not match", i, s, err)
		}
	}
	if last, err := is.Store.RevocationFeedLastSeq(ctx); err != nil || last != int64(len(events)) {
		t.Fatalf("feed last_seq %d (%v), want %d", last, err, len(events))
	}
	// Nothing to revoke (a logout of a session that already ended): no
	// event, no sequence number used, no notification.
	l2 := is.Login(t, "alice", next)
	wantStatus(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": l1.Refresh}, l2.Access), 204)
	if n := len(revocationEvents(t, is)); n != len(events) {
		t.Fatalf("%d events after a no-op logout, want %d", n, len(events))
	}
	if last, _ := is.Store.RevocationFeedLastSeq(ctx); last != int64(len(events)) {
		t.Fatalf("a no-op logout used sequence number %d", last)
	}
}

func TestRevocationsNotifyListeners(t *testing.T) {
	t.Parallel()
	is := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, is.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN medinsights_revocations"); err != nil {
		t.Fatal(err)
	}
	tok := is.Login(t, "alice", password)
	wantStatus(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": tok.Refresh}, tok.Access), 204)
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Payload != "1" {
		t.Fatalf("notification payload %q, want the last seq 1", n.Payload)
	}
}

// Statements per request, BEGIN and COMMIT included: few, one transaction,
// no per-request connection set-up. The throttle is on, as in production:
// a login reads its counters in the statement that finds the user (a
// success forgets its pair's counter in the statement that creates the
// session), a failure counts in one more statement, and refresh sends
// none; a registration counts its address in one statement before the
// work.
func TestStatementsPerRequest(t *testing.T) {
	t.Parallel()
	is := setup(t)
	measure := func(name string, max int64, f func()) {
		t.Helper()
		before := is.Statements.Count()
		f()
		if n := is.Statements.Count() - before; n > max {
			t.Errorf("%s sent %d statements, want at most %d", name, n, max)
		} else {
			t.Logf("%s: %d statements", name, n)
		}
	}
	var tok issuertest.Tokens
	measure("login", 2, func() { tok = is.Login(t, "alice", password) })
	var prev string
	measure("refresh", 1, func() { prev, tok = tok.Refresh, is.Refresh(t, tok.Refresh) })
	measure("refresh within the reuse interval", 5, func() { is.Refresh(t, prev) })
	measure("me", 1, func() { wantStatus(t, is.Get(t, "/api/auth/me/", tok.Access), 200) })
	measure("logout", 1, func() {
		wantStatus(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": tok.Refresh}, tok.Access), 204)
	})
	tok = is.Login(t, "alice", password)
	measure("logout-all", 2, func() { wantStatus(t, is.Post(t, "/api/auth/logout-all/", nil, tok.Access), 204) })
	measure("health", 0, func() { wantStatus(t, is.Get(t, "/api/auth/health/", ""), 200) })
	// The audit log adds one statement to register and to a failed login
	// (their audit rows); login and logout write theirs in the statement
	// they already run.
	measure("register", 6, func() { is.Register(t, "bob", password) })
	wrong := map[string]string{"username": "alice", "password": "not the password"}
	measure("login with a wrong password", 3, func() { wantStatus(t, is.Post(t, "/api/auth/login/", wrong, ""), 401) })
	for range auth.DefaultThrottle.LoginPair.MaxHits - 1 {
		wantStatus(t, is.Post(t, "/api/auth/login/", wrong, ""), 401)
	}
	// The first refusal of a block writes its audit row; the next ones are
	// the one read.
	measure("throttled login, first of its block", 2, func() { wantStatus(t, is.Post(t, "/api/auth/login/", wrong, ""), 429) })
	measure("throttled login", 1, func() { wantStatus(t, is.Post(t, "/api/auth/login/", wrong, ""), 429) })
}

// The database goes away mid-test (connections refused, existing ones
// terminated): requests get 503 with Retry-After, liveness stays 200, and
// when it comes back the same issuer serves again without a restart.
func TestDatabaseOutageGives503ThenRecovers(t *testing.T) {
	t.Parallel()
	is := setup(t)
	tok := is.Login(t, "alice", password)
	name := databaseName(t, is.DatabaseURL)
	server := testdb.ServerURL(t)

	issuertest.Exec(t, server, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false")
	issuertest.Exec(t, server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
	restored := false
	t.Cleanup(func() {
		if !restored {
			issuertest.Exec(t, server, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
		}
	})

	for _, r := range []resp{
		is.Get(t, "/api/auth/me/", tok.Access),
		is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": password}, ""),
		is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": tok.Refresh}, ""),
	} {
		wantProblem(t, r, http.StatusServiceUnavailable, "service_unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	}
	ready := is.Get(t, "/api/auth/ready/", "")
	wantProblem(t, ready, http.StatusServiceUnavailable, "not_ready")
	wantStatus(t, is.Get(t, "/api/auth/health/", ""), 200)

	issuertest.Exec(t, server, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
	restored = true
	wantReadyAgain(t, is)
	wantStatus(t, is.Get(t, "/api/auth/me/", tok.Access), 200)
	is.Refresh(t, tok.Refresh)
}

// wantReadyAgain fails t unless the issuer is ready again, once the
// database accepts connections, within one request more than its pool
// holds connections, sent back to back: nothing to wait for but the pool
// shedding the connections the outage killed, and each of those fails at
// most one request (pgxpool drops a connection whose use failed) while a
// new one succeeds.
func wantReadyAgain(t *testing.T, is *issuertest.Issuer) {
	t.Helper()
	tries := int(is.Store.PoolStats().MaxConns) + 1
	var r resp
	for range tries {
		if r = is.Get(t, "/api/auth/ready/", ""); r.Status == http.StatusOK {
			return
		}
	}
	t.Fatalf("not ready after %d requests once the database was back: %d %s", tries, r.Status, r.Body)
}

func databaseName(t *testing.T, u string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.Database, "test_") {
		t.Fatalf("refusing to take database %q offline", cfg.Database)
	}
	return cfg.Database
}

// The same, with the PostgreSQL server itself stopped and started again:
// a throwaway cluster of scripts/pg.sh in a directory of its own.
func TestDatabaseServerStoppedThenStartedGives503ThenRecovers(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("/tmp", "mi-pg-outage-")
	if err != nil {
		t.Fatal(err)
	}
	pg := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("../../../scripts/pg.sh", args...)
		cmd.Env = append(os.Environ(), "MEDINSIGHTS_PG_DIR="+dir, "MEDINSIGHTS_PG_DB=outage")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("scripts/pg.sh %v: %v %s", args, err, exitStderr(err))
		}
		return strings.TrimSpace(string(out))
	}
	url := pg("start")
	t.Cleanup(func() { pg("stop") })

	is := issuertest.New(t, issuertest.Options{DatabaseURL: url})
	is.Register(t, "alice", password)
	tok := is.Login(t, "alice", password)

	stopServer(t, dir)
	wantProblem(t, is.Get(t, "/api/auth/me/", tok.Access), http.StatusServiceUnavailable, "service_unavailable")
	r := is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": password}, "")
	wantProblem(t, r, http.StatusServiceUnavailable, "service_unavailable")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	wantProblem(t, is.Get(t, "/api/auth/ready/", ""), http.StatusServiceUnavailable, "not_ready")
	wantStatus(t, is.Get(t, "/api/auth/health/", ""), 200)

	pg("start") // returns once the server accepts connections (pg_ctl -w)
	wantReadyAgain(t, is)
	wantStatus(t, is.Get(t, "/api/auth/me/", tok.Access), 200)
	is.Refresh(t, tok.Refresh)
}

// stopServer stops the cluster in dir and keeps its data (pg.sh stop would
// delete it), as the server's owner.
func stopServer(t *testing.T, dir string) {
	t.Helper()
	pgCtl, err := exec.LookPath("pg_ctl")
	if err != nil {
		pgCtl = "/usr/lib/postgresql/15/bin/pg_ctl"
	}
	args := []string{pgCtl, "-D", dir + "/data", "-m", "fast", "-w", "stop"}
	if os.Geteuid() == 0 {
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v %s", err, out)
	}
}

func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
