package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/store"
)

// setupAdmin returns an issuer (built with o, when given) with alice (a
// patient) and root (an admin), and root's tokens.
func setupAdmin(t *testing.T, o ...issuertest.Options) (*issuertest.Issuer, issuertest.Tokens) {
	t.Helper()
	is := issuertest.New(t, append(o, issuertest.Options{})[0])
	is.Register(t, "alice", password)
	is.Register(t, "root", password)
	if _, err := is.Auth.GrantRole(context.Background(), "root", "admin"); err != nil {
		t.Fatal(err)
	}
	return is, is.Login(t, "root", password)
}

func userIDOf(t *testing.T, is *issuertest.Issuer, username string) string {
	t.Helper()
	u, err := is.Store.UserGetByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID.String()
}

func adminUser(t *testing.T, r resp) map[string]any {
	t.Helper()
	u, _ := r.JSON["user"].(map[string]any)
	if u == nil {
		t.Fatalf("no user in %s", r.Body)
	}
	return u
}

func TestAdminDisablesEnablesAndReRolesAUser(t *testing.T) {
	t.Parallel()
	is, root := setupAdmin(t)
	ctx := context.Background()
	alice := is.Login(t, "alice", password)
	alice2 := is.Login(t, "alice", password)
	id := userIDOf(t, is, "alice")
	base := "/api/auth/admin/users/" + id

	show := is.Get(t, base+"/", root.Access)
	wantStatus(t, show, 200)
	u := adminUser(t, show)
	if u["status"] != "active" || u["live_sessions"] != float64(2) || u["last_login_at"] == nil || u["username"] != "alice" {
		t.Fatalf("show: %s", show.Body)
	}
	for _, secret := range []string{"password", "hash", "argon2", alice.Access, alice.Refresh} {
		if strings.Contains(string(show.Body), secret) {
			t.Fatalf("show reveals %q: %s", secret, show.Body)
		}
	}

	// Disable: every session ends (with events), logins fail like a wrong password.
	r := is.Post(t, base+"/disable/", nil, root.Access)
	wantStatus(t, r, 200)
	if adminUser(t, r)["status"] != "disabled" {
		t.Fatalf("disable: %s", r.Body)
	}
	wantProblem(t, is.Get(t, "/api/auth/me/", alice.Access), 401, "invalid_token")
	wantProblem(t, is.Get(t, "/api/auth/me/", alice2.Access), 401, "invalid_token")
	if n := len(revocationEvents(t, is)); n != 2 {
		t.Fatalf("%d revocation events, want 2", n)
	}
	disabled := is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": password}, "")
	wrong := is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": "not her password"}, "")
	wantProblem(t, disabled, 401, "invalid_credentials")
	if string(disabled.Body) != string(wrong.Body) {
		t.Fatalf("a disabled user's login differs from a wrong password:\n%s\n%s", disabled.Body, wrong.Body)
	}
	if u := adminUser(t, is.Get(t, base, root.Access)); u["live_sessions"] != float64(0) || u["disabled_at"] == nil {
		t.Fatalf("after disable: %v", u)
	}

	// Enable: logins work again.
	wantStatus(t, is.Post(t, base+"/enable/", nil, root.Access), 200)
	alice = is.Login(t, "alice", password)

	// Re-role: adding keeps sessions; removing ends them.
	r = is.Do(t, req{Method: http.MethodPut, Path: base + "/roles/", Body: map[string]any{"roles": []string{"patient", "clinician"}}, Token: root.Access})
	wantStatus(t, r, 200)
	if fmt.Sprint(adminUser(t, r)["roles"]) != "[clinician patient]" {
		t.Fatalf("roles: %s", r.Body)
	}
	wantStatus(t, is.Get(t, "/api/auth/me/", alice.Access), 200)
	r = is.Do(t, req{Method: http.MethodPut, Path: base + "/roles/", Body: map[string]any{"roles": []string{"clinician"}}, Token: root.Access})
	wantStatus(t, r, 200)
	wantProblem(t, is.Get(t, "/api/auth/me/", alice.Access), 401, "invalid_token")
	if got, _ := is.Store.UserGetByID(ctx, uuid.MustParse(id)); fmt.Sprint(got.Roles) != "[clinician]" {
		t.Fatalf("stored roles %v", got.Roles)
	}

	// Force logout everywhere.
	is.Login(t, "alice", password)
	is.Login(t, "alice", password)
	r = is.Do(t, req{Method: http.MethodDelete, Path: base + "/sessions/", Token: root.Access})
	wantStatus(t, r, 200)
	if r.JSON["sessions_ended"] != float64(2) {
		t.Fatalf("force logout: %s", r.Body)
	}

	// Every admin action is in the audit log with the acting admin.
	rootID := userIDOf(t, is, "root")
	r = is.Get(t, "/api/auth/admin/audit/?user="+id+"&limit=100", root.Access)
	wantStatus(t, r, 200)
	var byAdmin []string
	readRows := len(r.JSON["events"].([]any))
	for _, e := range r.JSON["events"].([]any) {
		e := e.(map[string]any)
		if e["actor_id"] == rootID {
			byAdmin = append([]string{e["event"].(string)}, byAdmin...)
		}
	}
	// Reads too: each look at the user (show) is on record before the
	// answer, and so is the read of the audit log itself (not in its own
	// answer), and a search.
	want := "[user_viewed user_disabled user_viewed user_enabled role_granted role_revoked logout_forced]"
	if fmt.Sprint(byAdmin) != want {
		t.Fatalf("admin actions audited: %v, want %s", byAdmin, want)
	}
	wantStatus(t, is.Get(t, "/api/auth/admin/users/?q=ali", root.Access), 200)
	r = is.Get(t, "/api/auth/admin/audit/?limit=2", root.Access)
	wantStatus(t, r, 200)
	events := r.JSON["events"].([]any)
	search, read := events[0].(map[string]any), events[1].(map[string]any)
	if search["event"] != "users_searched" || search["actor_id"] != rootID || search["subject_id"] != nil ||
		fmt.Sprint(search["detail"]) != "map[after: query:ali results:1]" {
		t.Fatalf("the search's audit row: %v", search)
	}
	if read["event"] != "audit_read" || read["actor_id"] != rootID || read["subject_id"] != id ||
		fmt.Sprint(read["detail"]) != fmt.Sprintf("map[rows:%d]", readRows) {
		t.Fatalf("the audit read's audit row: %v", read)
	}
}

func TestAdminCannotLockThemselvesOut(t *testing.T) {
	t.Parallel()
	is, root := setupAdmin(t)
	base := "/api/auth/admin/users/" + userIDOf(t, is, "root")
	wantProblem(t, is.Post(t, base+"/disable/", nil, root.Access), 409, "self_lockout")
	wantProblem(t, is.Do(t, req{Method: http.MethodPut, Path: base + "/roles/", Body: map[string]any{"roles": []string{"patient"}}, Token: root.Access}), 409, "self_lockout")
	wantStatus(t, is.Get(t, "/api/auth/me/", root.Access), 200)
	// Keeping admin while changing the rest is allowed.
	wantStatus(t, is.Do(t, req{Method: http.MethodPut, Path: base + "/roles/", Body: map[string]any{"roles": []string{"admin", "clinician"}}, Token: root.Access}), 200)
}

// adminCalls are one call of every admin endpoint on the user path id.
func adminCalls(id string) []req {
	base := "/api/auth/admin/users/" + id
	return []req{
		{Method: http.MethodGet, Path: base + "/"},
		{Method: http.MethodPost, Path: base + "/disable/"},
		{Method: http.MethodPost, Path: base + "/enable/"},
		{Method: http.MethodPut, Path: base + "/roles/", Body: map[string]any{"roles": []string{"patient"}}},
		{Method: http.MethodDelete, Path: base + "/sessions/"},
		{Method: http.MethodPost, Path: base + "/password-reset/"},
	}
}

func TestNonAdminsCannotUseTheAdminAPI(t *testing.T) {
	t.Parallel()
	is, _ := setupAdmin(t)
	alice := is.Login(t, "alice", password)
	calls := append(adminCalls(userIDOf(t, is, "root")),
		req{Method: http.MethodGet, Path: "/api/auth/admin/users/"},
		req{Method: http.MethodGet, Path: "/api/auth/admin/audit/"})
	for _, c := range calls {
		c.Token = alice.Access
		wantProblem(t, is.Do(t, c), 403, "insufficient_role")
		c.Token = ""
		wantProblem(t, is.Do(t, c), 401, "authentication_required")
	}
	if u, _ := is.Store.UserGetByUsername(context.Background(), "root"); u.DisabledAt != nil || fmt.Sprint(u.Roles) != "[admin patient]" {
		t.Fatalf("a refused call changed root: %+v", u)
	}

	// The role is read from the database on every call, not from the token.
	root2 := is.Login(t, "root", password)
	issuertest.Exec(t, is.DatabaseURL, "UPDATE users SET roles = '{patient}' WHERE username = 'root'")
	wantProblem(t, is.Get(t, "/api/auth/admin/users/", root2.Access), 403, "insufficient_role")
}

func TestAdminUnknownIDsAre404(t *testing.T) {
	t.Parallel()
	is, root := setupAdmin(t)
	for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
		for _, c := range adminCalls(id) {
			c.Token = root.Access
			wantProblem(t, is.Do(t, c), 404, "user_not_found")
		}
	}
}

func TestAdminSendsAPasswordReset(t *testing.T) {
	t.Parallel()
	is, root := setupAdmin(t)
	alice := userIDOf(t, is, "alice")
	r := is.Post(t, "/api/auth/admin/users/"+alice+"/password-reset/", nil, root.Access)
	if r.Status != http.StatusAccepted {
		t.Fatalf("admin password reset: %d %s, want 202", r.Status, r.Body)
	}
	if got := is.WaitReset(t); got != auth.ResetSent {
		t.Fatalf("reset outcome %q, want %q", got, auth.ResetSent)
	}
	if n := len(is.Mailer.Resets("alice@example.org")); n != 1 {
		t.Fatalf("%d reset mails to alice, want 1", n)
	}
	var audited []store.AuditRecord
	for _, row := range auditRows(t, is) {
		if row.Event == auth.EventPasswordResetRequested {
			audited = append(audited, row)
		}
	}
	if len(audited) != 1 || audited[0].SubjectID.String() != alice || audited[0].ActorID.String() != userIDOf(t, is, "root") {
		t.Fatalf("password_reset_requested rows %+v, want one with alice as subject and root as actor", audited)
	}

	// A disabled account gets no reset: a reset never enables it.
	if r := is.Post(t, "/api/auth/admin/users/"+alice+"/disable/", nil, root.Access); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	wantProblem(t, is.Post(t, "/api/auth/admin/users/"+alice+"/password-reset/", nil, root.Access), 409, "user_disabled")
	if n := len(is.Mailer.Resets("alice@example.org")); n != 1 {
		t.Fatalf("%d reset mails to alice after the refusal, want still 1", n)
	}
}

func TestAdminListsUsersWithKeysetPages(t *testing.T) {
	t.Parallel()
	is, root := setupAdmin(t, issuertest.Options{NoThrottle: true}) // 25 registrations from one address
	for i := range 23 {
		is.Register(t, fmt.Sprintf("patient%02d", i), password)
	}
	list := func(query string) resp {
		t.Helper()
		return is.Get(t, "/api/auth/admin/users/"+query, root.Access)
	}
	names := func(r resp) []string {
		var out []string
		for _, u := range r.JSON["users"].([]any) {
			out = append(out, u.(map[string]any)["username"].(string))
		}
		return out
	}

	// 25 users: a page of 20 by default, then the other 5.
	first := list("")
	wantStatus(t, first, 200)
	if n := len(names(first)); n != 20 || first.JSON["next_cursor"] == nil {
		t.Fatalf("first page: %d users, cursor %v", n, first.JSON["next_cursor"])
	}
	second := list("?cursor=" + first.JSON["next_cursor"].(string))
	all := append(names(first), names(second)...)
	if len(all) != 25 || all[0] != "alice" || all[24] != "root" {
		t.Fatalf("pages: %v", all)
	}
	// Prefix search by username and by e-mail address, any case; a LIKE
	// wildcard in the prefix is a plain character.
	if got := names(list("?q=PATIENT1&limit=100")); len(got) != 10 {
		t.Fatalf("q=PATIENT1: %v", got)
	}
	if got := names(list("?q=root%40example")); fmt.Sprint(got) != "[root]" {
		t.Fatalf("q=root@example: %v", got)
	}
	if got := names(list("?q=%25")); len(got) != 0 {
		t.Fatalf("q=%%: %v", got)
	}
	if r := list("?limit=5"); len(names(r)) != 5 {
		t.Fatalf("limit=5: %v", names(r))
	}

	for _, bad := range []struct{ query, code string }{
		{"?cursor=!!!", "invalid_cursor"},
		{"?cursor=" + "YTox", "invalid_cursor"}, // an audit cursor
		{"?limit=0", "invalid_limit"},
		{"?limit=101", "invalid_limit"},
		{"?limit=ten", "invalid_limit"},
	} {
		wantProblem(t, list(bad.query), 400, bad.code)
	}
	for _, bad := range []string{"?cursor=!!!", "?cursor=dTp4", "?user=not-a-uuid", "?limit=500"} {
		r := is.Get(t, "/api/auth/admin/audit/"+bad, root.Access)
		if r.Status != 400 {
			t.Fatalf("audit %s: %d %s, want 400", bad, r.Status, r.Body)
		}
	}
}
