package command_test

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/medinsights/auth/issuer/internal/issuertest"
)

const password = "correct horse battery staple"

// auditIssuer returns an issuer whose audit log holds n rows (n >= 0): a
// registration, then logins and failed logins.
func auditIssuer(t *testing.T, n int, o issuertest.Options) *issuertest.Issuer {
	t.Helper()
	is := issuertest.New(t, o)
	if n > 0 {
		is.Register(t, "alice", password)
	}
	for i := 1; i < n; i++ {
		if i%2 == 0 {
			is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": "not her password"}, "")
		} else {
			is.Login(t, "alice", password)
		}
	}
	return is
}

func verify(t *testing.T, is *issuertest.Issuer) (int, string, string) {
	t.Helper()
	return run(t, map[string]string{"DATABASE_URL": is.DatabaseURL}, "audit", "verify")
}

func TestAuditVerifyAcceptsAnIntactChain(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 7} {
		is := auditIssuer(t, n, issuertest.Options{})
		if code, out, stderr := verify(t, is); code != 0 || !strings.Contains(out, "verifies") {
			t.Fatalf("%d rows: exit %d, %q %q", n, code, out, stderr)
		}
	}
	// Rows with every column set, non-ASCII text among them: the Go
	// encoding agrees with the database's.
	is := auditIssuer(t, 1, issuertest.Options{})
	r := is.Do(t, issuertest.Request{Method: "POST", Path: "/api/auth/login/", Body: map[string]string{"username": "alice", "password": password},
		Header: map[string][]string{"User-Agent": {"Navigateur « spécial » 日本"}}})
	if r.Status != 200 {
		t.Fatalf("login: %d", r.Status)
	}
	if code, out, stderr := verify(t, is); code != 0 {
		t.Fatalf("exit %d, %q %q", code, out, stderr)
	}
}

// sqlError runs sql and returns its error (nil when it succeeds).
func sqlError(t *testing.T, is *issuertest.Issuer, sql string) error {
	t.Helper()
	var ignored any
	return issuertest.QueryRow(t, is.DatabaseURL, sql+" RETURNING 1", &ignored)
}

func TestAuditLogRefusesUpdateAndDelete(t *testing.T) {
	t.Parallel()
	is := auditIssuer(t, 3, issuertest.Options{})
	for _, sql := range []string{
		"UPDATE audit_log SET event = 'nothing' WHERE seq = 2",
		"DELETE FROM audit_log WHERE seq = 2",
		"DELETE FROM audit_log",
	} {
		if err := sqlError(t, is, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: %v, want refused as append-only", sql, err)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, is.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "TRUNCATE audit_log"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("TRUNCATE: %v, want refused", err)
	}
	// The prune's setting alone does not open the table: only rows at or
	// below the prune checkpoint can go.
	var ignored any
	err = issuertest.QueryRow(t, is.DatabaseURL, "WITH flag AS MATERIALIZED (SELECT set_config('medinsights.audit_prune', 'on', false)) DELETE FROM audit_log WHERE seq = 3 AND EXISTS (SELECT 1 FROM flag) RETURNING 1", &ignored)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("delete above the checkpoint with the prune's setting: %v", err)
	}
	if code, _, _ := verify(t, is); code != 0 {
		t.Fatal("refused changes broke the chain")
	}
}

func TestAuditVerifyNamesTheRowAlteredByHand(t *testing.T) {
	t.Parallel()
	is := auditIssuer(t, 6, issuertest.Options{})
	issuertest.Exec(t, is.DatabaseURL, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_guard")
	issuertest.Exec(t, is.DatabaseURL, `UPDATE audit_log SET detail = '{"reason": "nothing happened"}' WHERE seq = 4`)
	code, _, stderr := verify(t, is)
	if code != 1 || !strings.Contains(stderr, "row 4:") || !strings.Contains(stderr, "hash does not match") {
		t.Fatalf("exit %d, stderr %q; want 1 naming row 4", code, stderr)
	}
}

func TestAuditVerifyFindsARowDeletedByHandAsAGap(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, sql, want string
	}{
		{"in the middle", "DELETE FROM audit_log WHERE seq = 3", "row 3: missing"},
		{"the first", "DELETE FROM audit_log WHERE seq = 1", "row 1: missing"},
		{"the last", "DELETE FROM audit_log WHERE seq = 5", "row 5: missing"},
		{"a row rewritten with its hash recomputed by the database", "UPDATE audit_log SET event = 'login_succeeded', hash = sha256(hash) WHERE seq = 2", "row 2:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			is := auditIssuer(t, 5, issuertest.Options{})
			issuertest.Exec(t, is.DatabaseURL, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_guard")
			issuertest.Exec(t, is.DatabaseURL, tt.sql)
			if code, _, stderr := verify(t, is); code != 1 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr, tt.want)
			}
		})
	}
}

func TestAuditRetentionPruneKeepsTheRestVerifiable(t *testing.T) {
	t.Parallel()
	const retention = 400 * 24 * time.Hour
	is := auditIssuer(t, 4, issuertest.Options{AuditRetention: retention})
	ctx := context.Background()
	if n, err := is.Auth.PruneAudit(ctx); err != nil || n != 0 {
		t.Fatalf("prune of young rows: %d, %v", n, err)
	}
	is.Clock.Advance(retention + time.Hour)
	is.Login(t, "alice", password) // row 5, young
	n, err := is.Auth.PruneAudit(ctx)
	if err != nil || n != 4 {
		t.Fatalf("prune: %d rows, %v; want the 4 old ones", n, err)
	}
	code, out, stderr := verify(t, is)
	if code != 0 || !strings.Contains(out, "1 rows (5..5), pruned through 4") {
		t.Fatalf("after prune: exit %d, %q %q", code, out, stderr)
	}
	if err := sqlError(t, is, "DELETE FROM audit_log WHERE seq = 5"); err == nil {
		t.Fatal("a row above the checkpoint was deleted")
	}
	// A gap right after the checkpoint is still found.
	is.Login(t, "alice", password) // row 6
	issuertest.Exec(t, is.DatabaseURL, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_guard")
	issuertest.Exec(t, is.DatabaseURL, "DELETE FROM audit_log WHERE seq = 5")
	if code, _, stderr := verify(t, is); code != 1 || !strings.Contains(stderr, "row 5: missing") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
}

func TestAuditExportWritesJSONLines(t *testing.T) {
	t.Parallel()
	is := auditIssuer(t, 3, issuertest.Options{})
	is.Clock.Advance(time.Hour)
	since := is.Clock.Now().UTC().Format(time.RFC3339)
	is.Login(t, "alice", password)
	env := map[string]string{"DATABASE_URL": is.DatabaseURL}

	lines := func(args ...string) []map[string]any {
		t.Helper()
		code, out, stderr := run(t, env, append([]string{"audit", "export"}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rows []map[string]any
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("not a JSON line: %q", sc.Text())
			}
			rows = append(rows, m)
		}
		return rows
	}
	all := lines()
	if len(all) != 4 || all[0]["event"] != "registered" || all[0]["seq"] != float64(1) || len(all[0]["hash"].(string)) != 64 {
		t.Fatalf("export: %v", all)
	}
	if _, err := uuid.Parse(all[0]["subject_id"].(string)); err != nil {
		t.Fatalf("subject_id: %v", all[0])
	}
	if recent := lines("--since", since); len(recent) != 1 || recent[0]["seq"] != float64(4) {
		t.Fatalf("--since %s: %v", since, recent)
	}
	if code, _, _ := run(t, env, "audit", "export", "--since", "yesterday"); code != 2 {
		t.Fatalf("a bad --since: exit %d, want 2", code)
	}
}

func TestUsersCommands(t *testing.T) {
	t.Parallel()
	is := auditIssuer(t, 2, issuertest.Options{})
	env := map[string]string{"DATABASE_URL": is.DatabaseURL}
	code, out, stderr := run(t, env, "users", "list", "--q", "ALI")
	if code != 0 || !strings.Contains(out, "alice@example.org") || !strings.Contains(out, "active") {
		t.Fatalf("list: exit %d, %q %q", code, out, stderr)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if code, out, _ := run(t, env, "users", "disable", id); code != 0 || !strings.Contains(out, "status: disabled") || !strings.Contains(out, "live sessions: 0") {
		t.Fatalf("disable: exit %d, %q", code, out)
	}
	if code, out, _ := run(t, env, "users", "enable", id); code != 0 || !strings.Contains(out, "status: active") {
		t.Fatalf("enable: exit %d, %q", code, out)
	}
	is.Login(t, "alice", password)
	if code, out, _ := run(t, env, "users", "show", id); code != 0 || !strings.Contains(out, "live sessions: 1") || strings.Contains(out, "last login: never") {
		t.Fatalf("show: exit %d, %q", code, out)
	}
	if code, _, stderr := run(t, env, "users", "show", uuid.NewString()); code != 1 || !strings.Contains(stderr, "user not found") {
		t.Fatalf("show unknown: exit %d, %q", code, stderr)
	}
	if code, _, _ := run(t, env, "users", "show", "alice"); code != 2 {
		t.Fatalf("show by name: exit %d, want 2 (usage)", code)
	}
}
