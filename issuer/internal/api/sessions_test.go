package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/issuertest"
)

// loginAs logs alice in with a User-Agent.
func loginAs(t *testing.T, is *issuertest.Issuer, username, userAgent string) issuertest.Tokens {
	t.Helper()
	r := is.Do(t, req{Method: http.MethodPost, Path: "/api/auth/login/", Body: map[string]string{"username": username, "password": password},
		Header: http.Header{"User-Agent": {userAgent}}})
	wantStatus(t, r, http.StatusOK)
	return issuertest.Tokens{Access: r.JSON["access_token"].(string), Refresh: r.JSON["refresh_token"].(string), UserID: r.JSON["user"].(map[string]any)["id"].(string)}
}

func sessionList(t *testing.T, is *issuertest.Issuer, access string) []map[string]any {
	t.Helper()
	r := is.Get(t, "/api/auth/sessions/", access)
	wantStatus(t, r, http.StatusOK)
	raw, _ := r.JSON["sessions"].([]any)
	out := make([]map[string]any, len(raw))
	for i, s := range raw {
		out[i] = s.(map[string]any)
	}
	return out
}

func sessionID(t *testing.T, is *issuertest.Issuer, access string) string {
	t.Helper()
	return parseAccess(t, is, access).SessionID
}

func TestUserListsAndEndsSessions(t *testing.T) {
	t.Parallel()
	is := setup(t)
	laptop := loginAs(t, is, "alice", "Firefox on the laptop")
	is.Clock.Advance(time.Minute)
	phone := loginAs(t, is, "alice", "Safari on the phone")
	is.Clock.Advance(time.Minute)

	// A refresh records when and from where the session was last used.
	r := is.Do(t, req{Method: http.MethodPost, Path: "/api/auth/refresh/", Body: map[string]string{"refresh_token": laptop.Refresh},
		Header: http.Header{"User-Agent": {"Firefox, updated"}}})
	wantStatus(t, r, http.StatusOK)
	refreshedAt := is.Clock.Now().UTC().Format(time.RFC3339)

	list := sessionList(t, is, phone.Access)
	if len(list) != 2 {
		t.Fatalf("%d sessions listed, want 2: %v", len(list), list)
	}
	newest, oldest := list[0], list[1]
	if newest["id"] != sessionID(t, is, phone.Access) || oldest["id"] != sessionID(t, is, laptop.Access) {
		t.Fatalf("not newest first: %v", list)
	}
	if newest["current"] != true || oldest["current"] != false {
		t.Fatalf("current marks the caller's session only: %v", list)
	}
	if newest["user_agent"] != "Safari on the phone" || oldest["user_agent"] != "Firefox, updated" {
		t.Fatalf("user agents %q, %q", newest["user_agent"], oldest["user_agent"])
	}
	if oldest["last_used_at"] != refreshedAt || newest["last_used_at"] != newest["created_at"] {
		t.Fatalf("last_used_at: %v", list)
	}
	for _, s := range list {
		if s["ip"] != "127.0.0.1" {
			t.Fatalf("ip %q, want the client's address", s["ip"])
		}
		for _, secret := range []string{"hash", "token"} {
			for k := range s {
				if strings.Contains(k, secret) {
					t.Fatalf("a session entry holds %q", k)
				}
			}
		}
	}

	// Ending the laptop's session: 204, its tokens stop working at once,
	// and a revocation event tells the gateways.
	laptopID := sessionID(t, is, laptop.Access)
	wantStatus(t, is.Do(t, req{Method: http.MethodDelete, Path: "/api/auth/sessions/" + laptopID + "/", Token: phone.Access}), http.StatusNoContent)
	wantProblem(t, is.Get(t, "/api/auth/me/", laptop.Access), 401, "invalid_token")
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]any{"refresh_token": r.JSON["refresh_token"]}, ""), 401, "invalid_grant")
	events := revocationEvents(t, is)
	if len(events) != 1 || events[0].SessionID.String() != laptopID || events[0].Reason != "session_ended" {
		t.Fatalf("revocation events %+v, want one for the laptop's session", events)
	}
	if list := sessionList(t, is, phone.Access); len(list) != 1 || list[0]["id"] != sessionID(t, is, phone.Access) {
		t.Fatalf("after ending one: %v", list)
	}
	// Once ended, it is not found any more; ending one's own current
	// session works like a logout.
	wantProblem(t, is.Do(t, req{Method: http.MethodDelete, Path: "/api/auth/sessions/" + laptopID, Token: phone.Access}), 404, "session_not_found")
	wantStatus(t, is.Do(t, req{Method: http.MethodDelete, Path: "/api/auth/sessions/" + sessionID(t, is, phone.Access), Token: phone.Access}), http.StatusNoContent)
	wantProblem(t, is.Get(t, "/api/auth/sessions/", phone.Access), 401, "invalid_token")
}

func TestAnotherUsersSessionIsNotFoundLikeAnUnknownOne(t *testing.T) {
	t.Parallel()
	is := setup(t)
	is.Register(t, "bob", password)
	alice, bob := is.Login(t, "alice", password), is.Login(t, "bob", password)
	bobs := "/api/auth/sessions/" + sessionID(t, is, bob.Access) + "/"
	foreign := is.Do(t, req{Method: http.MethodDelete, Path: bobs, Token: alice.Access})
	unknown := is.Do(t, req{Method: http.MethodDelete, Path: "/api/auth/sessions/" + uuid.NewString() + "/", Token: alice.Access})
	notAnID := is.Do(t, req{Method: http.MethodDelete, Path: "/api/auth/sessions/not-an-id/", Token: alice.Access})
	for _, r := range []resp{foreign, unknown, notAnID} {
		wantProblem(t, r, 404, "session_not_found")
	}
	if string(foreign.Body) != string(unknown.Body) || string(unknown.Body) != string(notAnID.Body) {
		t.Fatalf("answers differ:\n%s\n%s\n%s", foreign.Body, unknown.Body, notAnID.Body)
	}
	wantStatus(t, is.Get(t, "/api/auth/me/", bob.Access), 200)
	wantProblem(t, is.Do(t, req{Method: http.MethodDelete, Path: bobs}), 401, "authentication_required")
}

func TestSessionUserAgentIsCut(t *testing.T) {
	t.Parallel()
	is := setup(t)
	long := "a\tb" + strings.Repeat("é", 300)
	tok := loginAs(t, is, "alice", long)
	got := sessionList(t, is, tok.Access)[0]["user_agent"].(string)
	if want := "a\uFFFDb" + strings.Repeat("é", 253); got != want {
		t.Fatalf("user agent %q (%d characters), want the first 256, the tab replaced", got, len([]rune(got)))
	}
}
