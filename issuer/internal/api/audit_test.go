package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/store"
)

// auditRows returns every audit row, oldest first.
func auditRows(t *testing.T, is *issuertest.Issuer) []store.AuditRecord {
	t.Helper()
	rows, err := is.Store.AuditLogAfter(context.Background(), 0, time.Time{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// auditKey is an audit row's event and reason, as "event" or "event/reason".
func auditKey(r store.AuditRecord) string {
	var d struct{ Reason string }
	_ = json.Unmarshal([]byte(r.Detail), &d)
	if d.Reason == "" {
		return r.Event
	}
	return r.Event + "/" + d.Reason
}

// TestEveryEventIsAuditedOnce runs every audited flow once and finds
// exactly its rows, about the right user, in order, and no secret in any.
func TestEveryEventIsAuditedOnce(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	ctx := context.Background()
	var secrets []string
	keep := func(tk issuertest.Tokens) issuertest.Tokens {
		secrets = append(secrets, tk.Access, tk.Refresh)
		return tk
	}

	is.Register(t, "bob", password)
	bob := uuid.MustParse(userIDOf(t, is, "bob"))
	keep(is.Login(t, "bob", password))
	wantProblem(t, is.Post(t, "/api/auth/login/", map[string]string{"username": "bob", "password": "not the password"}, ""), 401, "invalid_credentials")
	wantProblem(t, is.Post(t, "/api/auth/login/", map[string]string{"username": "nobody", "password": password}, ""), 401, "invalid_credentials")
	if _, err := is.Auth.DisableUser(ctx, uuid.Nil, bob); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, is.Post(t, "/api/auth/login/", map[string]string{"username": "bob", "password": password}, ""), 401, "invalid_credentials")
	if _, err := is.Auth.EnableUser(ctx, uuid.Nil, bob); err != nil {
		t.Fatal(err)
	}
	b := keep(is.Login(t, "bob", password))
	rotated := keep(is.Refresh(t, b.Refresh)) // routine: not audited
	is.Clock.Advance(issuertest.ReuseInterval + time.Second)
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": b.Refresh}, ""), 401, "invalid_grant")
	c := keep(is.Login(t, "bob", password))
	wantStatus(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": c.Refresh}, c.Access), 204)
	d := keep(is.Login(t, "bob", password))
	wantStatus(t, is.Do(t, req{Method: http.MethodDelete, Path: "/api/auth/sessions/" + sessionID(t, is, d.Access), Token: d.Access}), 204)
	cur := keep(is.Login(t, "bob", password))
	const next = "the second passphrase"
	wantStatus(t, is.Post(t, "/api/auth/change-password/", map[string]string{"current_password": password, "new_password": next}, cur.Access), 200)
	verification := is.Mailer.LastToken(t, "bob@example.org")
	wantStatus(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": verification}, ""), 200)
	if _, err := is.Auth.GrantRole(ctx, "bob", "clinician"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := is.Auth.RevokeRole(ctx, "bob", "clinician"); err != nil {
		t.Fatal(err)
	}
	e := keep(is.Login(t, "bob", next))
	keep(is.Login(t, "bob", next))
	wantStatus(t, is.Post(t, "/api/auth/logout-all/", nil, e.Access), 204)
	keep(is.Login(t, "bob", next))
	if _, err := is.Auth.ForceLogout(ctx, uuid.Nil, bob); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, is.Post(t, "/api/auth/password-reset/", map[string]string{"email": "bob@example.org"}, ""), 202)
	if got := is.WaitReset(t); got != auth.ResetSent {
		t.Fatalf("reset outcome %q, want %q", got, auth.ResetSent)
	}
	reset := is.Mailer.Resets("bob@example.org")[0].Token
	const third = "a third long passphrase"
	wantStatus(t, is.Post(t, "/api/auth/password-reset/confirm/", map[string]string{"token": reset, "password": third}, ""), 200)
	secrets = append(secrets, reset, third)
	_ = rotated

	want := []string{
		"registered", "login_succeeded", "login_failed/bad_password", "login_failed/unknown_user",
		"user_disabled", "login_failed/disabled", "user_enabled", "login_succeeded",
		"refresh_reuse_detected/refresh_reuse", "login_succeeded", "logout/logout", "login_succeeded",
		"session_revoked/session_ended", "login_succeeded", "password_changed", "email_verified", "role_granted", "role_revoked",
		"login_succeeded", "login_succeeded", "logout_all/logout_all", "login_succeeded", "logout_forced",
		"password_reset_requested", "password_reset_completed",
	}
	rows := auditRows(t, is)
	var got []string
	for i, r := range rows {
		got = append(got, auditKey(r))
		if r.Seq != int64(i+1) {
			t.Errorf("row %d has seq %d", i, r.Seq)
		}
		if r.Event != "login_failed" || !strings.Contains(r.Detail, "unknown_user") {
			if r.SubjectID != bob {
				t.Errorf("row %d (%s) is about %s, want bob", r.Seq, r.Event, r.SubjectID)
			}
		}
		for _, s := range append(secrets, password, next, verification, "argon2") {
			if strings.Contains(r.Detail, s) || strings.Contains(r.Client.UserAgent, s) {
				t.Fatalf("row %d holds a secret", r.Seq)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit rows:\n%v\nwant\n%v", got, want)
	}
	// Every event the audit log records is named once in auth.EventNames.
	for _, r := range rows {
		if !slices.Contains(auth.EventNames(), r.Event) {
			t.Errorf("event %q is not in auth.EventNames", r.Event)
		}
	}
	if _, err := is.Auth.VerifyAudit(ctx); err != nil {
		t.Fatalf("the chain of real rows does not verify: %v", err)
	}
}

// Each change fails when its audit row cannot be written, and leaves
// nothing behind: there is never a change without its event (nor, since
// the row is written in the change's transaction, an event without it).
func TestNoChangeSurvivesWithoutItsAuditRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// act makes the change with audit_log refusing inserts; check,
		// after the refusal is lifted, finds the change not made.
		act, check func(t *testing.T, is *issuertest.Issuer, alice issuertest.Tokens)
	}{
		{"register", func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			wantProblem(t, is.Post(t, "/api/auth/register/", map[string]string{"username": "carol", "email": "carol@example.org", "password": password}, ""), 500, "internal_error")
		}, func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			if n := count(t, is, "SELECT count(*) FROM users WHERE username = 'carol'"); n != 0 {
				t.Fatal("carol was registered")
			}
		}},
		{"login", func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			wantProblem(t, is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": password}, ""), 500, "internal_error")
		}, func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			if n := count(t, is, "SELECT count(*) FROM sessions"); n != 1 {
				t.Fatalf("%d sessions, want alice's first one only", n)
			}
		}},
		{"logout", func(t *testing.T, is *issuertest.Issuer, a issuertest.Tokens) {
			wantProblem(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": a.Refresh}, a.Access), 500, "internal_error")
		}, stillLive},
		{"logout-all", func(t *testing.T, is *issuertest.Issuer, a issuertest.Tokens) {
			wantProblem(t, is.Post(t, "/api/auth/logout-all/", nil, a.Access), 500, "internal_error")
		}, stillLive},
		{"end a session", func(t *testing.T, is *issuertest.Issuer, a issuertest.Tokens) {
			wantProblem(t, is.Do(t, req{Method: http.MethodDelete, Path: "/api/auth/sessions/" + sessionID(t, is, a.Access), Token: a.Access}), 500, "internal_error")
		}, stillLive},
		{"refresh reuse", func(t *testing.T, is *issuertest.Issuer, a issuertest.Tokens) {
			issuertest.Exec(t, is.DatabaseURL, "UPDATE refresh_tokens SET retired_at = $1", is.Clock.Now().Add(-time.Hour))
			wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": a.Refresh}, ""), 500, "internal_error")
		}, stillLive},
		{"change password", func(t *testing.T, is *issuertest.Issuer, a issuertest.Tokens) {
			wantProblem(t, is.Post(t, "/api/auth/change-password/", map[string]string{"current_password": password, "new_password": "the second passphrase"}, a.Access), 500, "internal_error")
		}, func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) { is.Login(t, "alice", password) }},
		{"verify e-mail", func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			wantProblem(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": is.Mailer.LastToken(t, "alice@example.org")}, ""), 500, "internal_error")
		}, func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			wantStatus(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": is.Mailer.LastToken(t, "alice@example.org")}, ""), 200)
		}},
		{"grant role", func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			if _, err := is.Auth.GrantRole(ctx, "alice", "clinician"); err == nil {
				t.Fatal("granted")
			}
		}, rolesUnchanged},
		{"revoke role", func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			if _, _, err := is.Auth.RevokeRole(ctx, "alice", "patient"); err == nil {
				t.Fatal("revoked")
			}
		}, func(t *testing.T, is *issuertest.Issuer, a issuertest.Tokens) {
			rolesUnchanged(t, is, a)
			stillLive(t, is, a)
		}},
		{"disable", func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			if _, err := is.Auth.DisableUser(ctx, uuid.Nil, uuid.MustParse(userIDOf(t, is, "alice"))); err == nil {
				t.Fatal("disabled")
			}
		}, func(t *testing.T, is *issuertest.Issuer, a issuertest.Tokens) {
			stillLive(t, is, a)
			is.Login(t, "alice", password)
		}},
		{"set roles", func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			if _, err := is.Auth.SetRoles(ctx, uuid.Nil, uuid.MustParse(userIDOf(t, is, "alice")), []string{"clinician"}); err == nil {
				t.Fatal("set")
			}
		}, func(t *testing.T, is *issuertest.Issuer, a issuertest.Tokens) {
			rolesUnchanged(t, is, a)
			stillLive(t, is, a)
		}},
		{"force logout", func(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
			if _, err := is.Auth.ForceLogout(ctx, uuid.Nil, uuid.MustParse(userIDOf(t, is, "alice"))); err == nil {
				t.Fatal("logged out")
			}
		}, stillLive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			is := setup(t)
			alice := is.Login(t, "alice", password)
			rowsBefore := len(auditRows(t, is))
			restore := failInsertsInto(t, is, "audit_log")
			tt.act(t, is, alice)
			restore()
			if n := len(auditRows(t, is)); n != rowsBefore {
				t.Fatalf("%d audit rows, want %d", n, rowsBefore)
			}
			tt.check(t, is, alice)
		})
	}
}

// stillLive checks that alice's session was not revoked and no revocation
// event was recorded.
func stillLive(t *testing.T, is *issuertest.Issuer, alice issuertest.Tokens) {
	t.Helper()
	wantStatus(t, is.Get(t, "/api/auth/me/", alice.Access), 200)
	if n := count(t, is, "SELECT last_seq FROM revocation_feed"); n != 0 {
		t.Fatalf("feed advanced to %d", n)
	}
}

func rolesUnchanged(t *testing.T, is *issuertest.Issuer, _ issuertest.Tokens) {
	t.Helper()
	u, err := is.Store.UserGetByUsername(context.Background(), "alice")
	if err != nil || fmt.Sprint(u.Roles) != "[patient]" {
		t.Fatalf("roles %v (%v), want [patient]", u.Roles, err)
	}
}

// throttledLogins counts the login_failed/throttled events observed.
type throttledLogins struct {
	auth.NoEvents
	n atomic.Int64
}

func (c *throttledLogins) Observe(_ context.Context, e auth.Event) {
	if e.Name == auth.EventLoginFailed && e.Reason == auth.LoginFailedThrottled {
		c.n.Add(1)
	}
}

// A throttled login is audited as login_failed/throttled on the first
// refusal of each block, with the refusing rules and the block's end; the
// refusals after it within the same block are not (the metrics, which
// observe every one, count them), and a new block (the doubled delay) is
// audited again. An unknown account's block is audited the same way, about
// no user.
func TestThrottledLoginIsAuditedOncePerBlock(t *testing.T) {
	t.Parallel()
	observed := new(throttledLogins)
	is := throttledIssuer(t, issuertest.Options{Events: observed})
	alice := uuid.MustParse(userIDOf(t, is, "alice"))
	const attacker = "198.51.100.31"
	before := len(auditRows(t, is))
	for _, name := range []string{"alice", "nobody"} {
		for range 5 {
			wantProblem(t, loginFrom(t, is, attacker, name, wrongPassword), 401, "invalid_credentials")
		}
		for _, pw := range []string{wrongPassword, password, wrongPassword} {
			wantThrottled(t, loginFrom(t, is, attacker, name, pw), time.Minute)
		}
	}
	blockEnd := is.Clock.Now().Add(time.Minute)
	is.Clock.Advance(time.Minute + time.Second)
	wantProblem(t, loginFrom(t, is, attacker, "alice", wrongPassword), 401, "invalid_credentials")
	for range 2 {
		wantThrottled(t, loginFrom(t, is, attacker, "alice", password), 2*time.Minute)
	}

	if n := observed.n.Load(); n != 8 {
		t.Errorf("%d throttled logins observed, want all 8", n)
	}
	rows := auditRows(t, is)[before:]
	var got []string
	for _, r := range rows {
		got = append(got, auditKey(r))
	}
	fails := []string{"login_failed/bad_password", "login_failed/bad_password", "login_failed/bad_password", "login_failed/bad_password", "login_failed/bad_password"}
	unknown := []string{"login_failed/unknown_user", "login_failed/unknown_user", "login_failed/unknown_user", "login_failed/unknown_user", "login_failed/unknown_user"}
	want := slices.Concat(fails, []string{"login_failed/throttled"}, unknown, []string{"login_failed/throttled"},
		[]string{"login_failed/bad_password", "login_failed/throttled"})
	if !slices.Equal(got, want) {
		t.Fatalf("audit rows\n%v\nwant\n%v", got, want)
	}
	for i, c := range []struct {
		row     int
		subject uuid.UUID
		until   time.Time
	}{{5, alice, blockEnd}, {11, uuid.Nil, blockEnd}, {13, alice, is.Clock.Now().Add(2 * time.Minute)}} {
		r := rows[c.row]
		var d struct {
			Rules        []string `json:"rules"`
			BlockedUntil string   `json:"blocked_until"`
		}
		if err := json.Unmarshal([]byte(r.Detail), &d); err != nil {
			t.Fatal(err)
		}
		if r.SubjectID != c.subject || !slices.Equal(d.Rules, []string{auth.RuleLoginPair}) || d.BlockedUntil != c.until.UTC().Format(time.RFC3339) ||
			r.Client.Addr != attacker {
			t.Errorf("throttled row %d: subject %s, client %q, detail %s; want subject %s, rules [login_pair], until %s",
				i, r.SubjectID, r.Client.Addr, r.Detail, c.subject, c.until.UTC().Format(time.RFC3339))
		}
	}
}
