package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/issuer/internal/issuertest"
)

const password = "correct horse battery staple"

type (
	req  = issuertest.Request
	resp = issuertest.Response
)

// setup returns an issuer on a database of its own with one registered
// user, "alice".
func setup(t *testing.T) *issuertest.Issuer {
	t.Helper()
	is := issuertest.New(t, issuertest.Options{})
	is.Register(t, "alice", password)
	return is
}

// wantProblem fails t unless r is a problem document with this status and code.
func wantProblem(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.Status != status || r.JSON["code"] != code {
		t.Fatalf("got %d %s, want %d with code %q", r.Status, r.Body, status, code)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	for _, k := range []string{"type", "title", "status", "code"} {
		if _, ok := r.JSON[k]; !ok {
			t.Fatalf("problem lacks %q: %s", k, r.Body)
		}
	}
}

func wantStatus(t *testing.T, r resp, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %d %s, want %d", r.Status, r.Body, status)
	}
}

func fieldErrors(r resp) map[string]any {
	m, _ := r.JSON["errors"].(map[string]any)
	return m
}

func TestEveryPathAnswersWithAndWithoutTrailingSlash(t *testing.T) {
	t.Parallel()
	is := setup(t)
	tok := is.Login(t, "alice", password)
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/api/auth/health", nil, 200},
		{"GET", "/api/auth/ready", nil, 200},
		{"GET", "/api/auth/me", nil, 200},
		{"POST", "/api/auth/login", map[string]string{"username": "alice", "password": password}, 200},
		{"POST", "/api/auth/register", map[string]string{"username": "bob", "email": "bob@example.org", "password": password}, 201},
		{"GET", "/.well-known/jwks.json", nil, 200},
		{"GET", "/.well-known/openid-configuration", nil, 200},
	} {
		for _, path := range []string{c.path, c.path + "/"} {
			if strings.HasPrefix(path, "/.well-known") && strings.HasSuffix(path, "/") {
				continue
			}
			body := c.body
			if path == "/api/auth/register/" {
				body = map[string]string{"username": "carol", "email": "carol@example.org", "password": password}
			}
			r := is.Do(t, req{Method: c.method, Path: path, Body: body, Token: tok.Access})
			if r.Status != c.want {
				t.Errorf("%s %s: %d %s, want %d (no redirect)", c.method, path, r.Status, r.Body, c.want)
			}
		}
	}
}

func TestHealthNeverTouchesTheDatabase(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	before := is.Statements.Count()
	r := is.Get(t, "/api/auth/health/", "")
	wantStatus(t, r, 200)
	if r.JSON["status"] != "ok" {
		t.Fatalf("body %s", r.Body)
	}
	if n := is.Statements.Count() - before; n != 0 {
		t.Fatalf("health sent %d statements, want 0", n)
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	wantStatus(t, is.Get(t, "/api/auth/ready/", ""), 200)
}

func TestRegister(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	r := is.Post(t, "/api/auth/register/", map[string]string{
		"username": "Alice.Smith+1", "email": "Alice@Example.org", "password": password, "first_name": "Alice", "last_name": "Smith",
	}, "")
	wantStatus(t, r, 201)
	u := r.JSON["user"].(map[string]any)
	if _, err := uuid.Parse(u["id"].(string)); err != nil {
		t.Fatalf("id %v is not a UUID", u["id"])
	}
	// The address's domain is stored in lower case (IDNA), the local part
	// as sent.
	want := map[string]any{"username": "Alice.Smith+1", "email": "Alice@example.org", "first_name": "Alice", "last_name": "Smith", "email_verified": false}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("user.%s = %v, want %v", k, u[k], v)
		}
	}
	if roles := u["roles"].([]any); len(roles) != 1 || roles[0] != "patient" {
		t.Errorf("roles %v, want [patient]", roles)
	}
	if _, err := time.Parse(time.RFC3339, u["date_joined"].(string)); err != nil {
		t.Errorf("date_joined %v is not RFC 3339", u["date_joined"])
	}
	if len(u) != 8 {
		t.Errorf("user has %d fields, want exactly 8: %v", len(u), u)
	}
	if bytes.Contains(r.Body, []byte("argon2")) || bytes.Contains(r.Body, []byte("password")) {
		t.Errorf("response reveals the password or its hash: %s", r.Body)
	}
	if is.Mailer.Count("Alice@example.org") != 1 {
		t.Errorf("no verification mail sent")
	}
}

// registerBody is dave's registration with the fields of over replaced
// (removed when nil).
func registerBody(over map[string]any) map[string]any {
	m := map[string]any{"username": "dave", "email": "dave@example.org", "password": password}
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// Every refusal of a registration, with its status, code and field: bad
// fields, taken names, identifiers and names that hold invisible
// characters or look like another user's, guessable passwords, malformed
// bodies. None creates a user. (Throttling is off: these are more
// registrations from one address than an hour allows.)
func TestRegisterRefusals(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{NoThrottle: true})
	is.Register(t, "alice", password)
	ok := registerBody
	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"roles is refused, never applied", ok(map[string]any{"roles": []string{"admin"}}), 400, "validation_failed", "roles"},
		{"is_staff is refused, never applied", ok(map[string]any{"is_staff": true}), 400, "validation_failed", "is_staff"},
		{"username taken", ok(map[string]any{"username": "alice"}), 409, "username_taken", "username"},
		{"username taken in another case", ok(map[string]any{"username": "ALICE"}), 409, "username_taken", "username"},
		{"email taken in another case", ok(map[string]any{"email": "ALICE@example.ORG"}), 409, "email_taken", "email"},
		{"username equal to another user's email", ok(map[string]any{"username": "Alice@Example.org"}), 409, "username_taken", "username"},
		{"username missing", ok(map[string]any{"username": nil}), 400, "validation_failed", "username"},
		{"username too short", ok(map[string]any{"username": "ab"}), 400, "validation_failed", "username"},
		{"username too long", ok(map[string]any{"username": strings.Repeat("a", 151)}), 400, "validation_failed", "username"},
		{"username with a space", ok(map[string]any{"username": "dave smith"}), 400, "validation_failed", "username"},
		{"username not ASCII", ok(map[string]any{"username": "dävid"}), 400, "validation_failed", "username"},
		{"email invalid", ok(map[string]any{"email": "not-an-email"}), 400, "validation_failed", "email"},
		{"password too short", ok(map[string]any{"password": "short pass"}), 400, "validation_failed", "password"},
		{"password too long", ok(map[string]any{"password": strings.Repeat("x", 129)}), 400, "validation_failed", "password"},
		{"password contains the username", ok(map[string]any{"password": "my name is dave ok"}), 400, "validation_failed", "password"},
		{"password equals the username", ok(map[string]any{"username": "longusername12", "password": "LongUsername12"}), 400, "validation_failed", "password"},
		{"password contains the email local part", ok(map[string]any{"email": "zebra99@example.org", "password": "i am zebra99 here"}), 400, "validation_failed", "password"},
		{"name with a control character", ok(map[string]any{"first_name": "a\u0000b"}), 400, "validation_failed", "first_name"},
		{"username of the wrong type", ok(map[string]any{"username": 42}), 400, "validation_failed", "username"},
		{"malformed JSON", `{"username":`, 400, "invalid_json", ""},
		{"two objects", `{"username":"x"}{"username":"y"}`, 400, "invalid_json", ""},
		{"not an object", `["alice"]`, 400, "invalid_json", ""},
		{"empty body", "", 400, "invalid_json", ""},
		{"name with a zero-width space", ok(map[string]any{"first_name": "Da\u200bve"}), 400, "validation_failed", "first_name"},
		{"name with a right-to-left override", ok(map[string]any{"last_name": "Smith\u202e"}), 400, "validation_failed", "last_name"},
		{"email with a zero-width joiner", ok(map[string]any{"email": "dave\u200d@example.org"}), 400, "validation_failed", "email"},
		{"email with a NUL", ok(map[string]any{"email": "dave\u0000@example.org"}), 400, "validation_failed", "email"},
		{"email with a quoted local part", ok(map[string]any{"email": `"dave"@example.org`}), 400, "validation_failed", "email"},
		{"email equal to another in Cyrillic look-alikes", ok(map[string]any{"email": "\u0430lice@example.org"}), 409, "email_taken", "email"},
		{"email equal to another in fullwidth letters", ok(map[string]any{"email": "\uff41lice@example.org"}), 409, "email_taken", "email"},
		{"email equal to another with an IDN look-alike domain", ok(map[string]any{"email": "alice@ex\u0430mple.org"}), 409, "email_taken", "email"},
		{"username that looks like another", ok(map[string]any{"username": "a1ice"}), 409, "username_taken", "username"},
		{"password too easy to guess", ok(map[string]any{"password": "password1234"}), 400, "validation_failed", "password"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := is.Do(t, req{Method: "POST", Path: "/api/auth/register/", Body: c.body})
			if s, ok := c.body.(string); ok && s == "" {
				r = is.Do(t, req{Method: "POST", Path: "/api/auth/register/", Body: []byte{}})
			}
			wantProblem(t, r, c.status, c.code)
			if c.field != "" {
				if msgs, ok := fieldErrors(r)[c.field].([]any); !ok || len(msgs) == 0 {
					t.Fatalf("errors lack %q: %s", c.field, r.Body)
				}
			}
		})
	}
	var users int
	if err := queryRow(t, is, "SELECT count(*) FROM users", &users); err != nil || users != 1 {
		t.Fatalf("users after refusals: %d (%v), want 1", users, err)
	}
}

func TestRequestBodyLimits(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	big := `{"username":"` + strings.Repeat("a", 70<<10) + `"}`
	wantProblem(t, is.Do(t, req{Method: "POST", Path: "/api/auth/login/", Body: big}), 413, "request_too_large")
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/jsonx"} {
		r := is.Do(t, req{Method: "POST", Path: "/api/auth/login/", Body: `{"username":"a","password":"b"}`, ContentType: ct})
		wantProblem(t, r, 415, "unsupported_media_type")
	}
	r := is.Do(t, req{Method: "POST", Path: "/api/auth/login/", Body: `{"username":"nobody","password":"whatever it is"}`, ContentType: "application/json; charset=utf-8"})
	wantProblem(t, r, 401, "invalid_credentials")
}

func TestLogin(t *testing.T) {
	t.Parallel()
	is := setup(t)
	for _, login := range []string{"alice", "ALICE", "alice@example.org", "Alice@Example.Org"} {
		r := is.Post(t, "/api/auth/login/", map[string]string{"username": login, "password": password}, "")
		wantStatus(t, r, 200)
		if r.JSON["token_type"] != "Bearer" || r.JSON["expires_in"] != float64(900) || r.JSON["refresh_expires_in"] != float64(2592000) {
			t.Fatalf("token response %s", r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
		}
	}
	tok := is.Login(t, "alice", password)
	claims := parseAccess(t, is, tok.Access)
	if claims.Subject != tok.UserID || claims.Username != "alice" || claims.EmailVerified || !slices.Equal(claims.Roles, []string{"patient"}) {
		t.Fatalf("claims %+v", claims)
	}
	if _, err := uuid.Parse(claims.SessionID); err != nil || claims.ID == "" {
		t.Fatalf("sid %q jti %q", claims.SessionID, claims.ID)
	}
	if len(tok.Refresh) < 43 {
		t.Fatalf("refresh token of %d characters carries less than 256 bits", len(tok.Refresh))
	}
	var stored int
	if err := queryRow(t, is, "SELECT count(*) FROM refresh_tokens WHERE hash = sha256($1::bytea)", &stored, []byte(tok.Refresh)); err != nil || stored != 1 {
		t.Fatalf("refresh token stored as its SHA-256: %d (%v)", stored, err)
	}
}

func TestLoginUnknownUserAndWrongPasswordAnswerAlike(t *testing.T) {
	t.Parallel()
	is := setup(t)
	unknown := is.Post(t, "/api/auth/login/", map[string]string{"username": "mallory", "password": password}, "")
	wrong := is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": "not the password"}, "")
	wantProblem(t, unknown, 401, "invalid_credentials")
	if unknown.Status != wrong.Status || !bytes.Equal(unknown.Body, wrong.Body) {
		t.Fatalf("unknown user: %d %s\nwrong password: %d %s", unknown.Status, unknown.Body, wrong.Status, wrong.Body)
	}
	if a, b := unknown.Header.Get("WWW-Authenticate"), wrong.Header.Get("WWW-Authenticate"); a != b || a == "" {
		t.Fatalf("WWW-Authenticate %q vs %q", a, b)
	}
	if unknown.Header.Get("X-Request-Id") == wrong.Header.Get("X-Request-Id") {
		t.Fatal("two requests got the same request id")
	}
}

func TestLoginRehashesWeakerPasswordHashes(t *testing.T) {
	t.Parallel()
	is := setup(t) // alice's hash has issuertest.FastPasswords
	stronger := issuertest.FastPasswords
	stronger.Memory *= 2
	is2 := is.WithPasswords(t, stronger)
	var before, after string
	if err := queryRow(t, is, "SELECT password_hash FROM users", &before); err != nil {
		t.Fatal(err)
	}
	is2.Login(t, "alice", password)
	if err := queryRow(t, is, "SELECT password_hash FROM users", &after); err != nil {
		t.Fatal(err)
	}
	if before == after || !strings.Contains(after, fmt.Sprintf("m=%d,", stronger.Memory)) {
		t.Fatalf("hash not upgraded: %s -> %s", before, after)
	}
	is2.Login(t, "alice", password)
}

func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	is := setup(t)
	first := is.Login(t, "alice", password)
	second := is.Refresh(t, first.Refresh)
	if second.Refresh == first.Refresh || second.Access == first.Access {
		t.Fatal("refresh returned the same tokens")
	}
	if a, b := parseAccess(t, is, first.Access), parseAccess(t, is, second.Access); a.SessionID != b.SessionID {
		t.Fatalf("rotation changed the session: %s -> %s", a.SessionID, b.SessionID)
	}
	third := is.Refresh(t, second.Refresh)
	wantStatus(t, is.Get(t, "/api/auth/me/", third.Access), 200)
}

func TestRefreshReuseRevokesTheSession(t *testing.T) {
	t.Parallel()
	is := setup(t)
	first := is.Login(t, "alice", password)
	second := is.Refresh(t, first.Refresh)
	is.Clock.Advance(issuertest.ReuseInterval + time.Second)

	r := is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": first.Refresh}, "")
	wantProblem(t, r, 401, "invalid_grant")
	// The whole session is gone: its newest refresh token and its access tokens too.
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": second.Refresh}, ""), 401, "invalid_grant")
	wantProblem(t, is.Get(t, "/api/auth/me/", second.Access), 401, "invalid_token")

	events := revocationEvents(t, is)
	if len(events) != 1 || events[0].Reason != "refresh_reuse" || events[0].SessionID.String() != parseAccess(t, is, second.Access).SessionID {
		t.Fatalf("events %+v, want one refresh_reuse of the session", events)
	}
	logs := is.Logs.String()
	if !strings.Contains(logs, "refresh token reused") {
		t.Fatalf("no warning logged:\n%s", logs)
	}
	for _, secret := range []string{first.Refresh, second.Refresh, first.Access, second.Access, password} {
		if strings.Contains(logs, secret) {
			t.Fatal("a token or password appears in the log")
		}
	}
	// Other sessions of the user are untouched.
	wantStatus(t, is.Get(t, "/api/auth/me/", is.Login(t, "alice", password).Access), 200)
}

// Two tabs refreshing one token within the reuse interval both succeed,
// with the same successor: the session goes on as one chain.
func TestRefreshTwiceWithinTheReuseIntervalBothSucceed(t *testing.T) {
	t.Parallel()
	is := setup(t)
	first := is.Login(t, "alice", password)
	tabA := is.Refresh(t, first.Refresh)
	is.Clock.Advance(issuertest.ReuseInterval - time.Second)
	tabB := is.Refresh(t, first.Refresh)
	if tabA.Refresh != tabB.Refresh {
		t.Fatal("the tabs got different refresh tokens: the session forked into two chains")
	}
	sid := parseAccess(t, is, tabA.Access).SessionID
	if parseAccess(t, is, tabB.Access).SessionID != sid {
		t.Fatal("the second tab got another session")
	}
	// Both tabs go on refreshing, on the one chain.
	next := is.Refresh(t, tabA.Refresh)
	if again := is.Refresh(t, tabB.Refresh); again.Refresh != next.Refresh {
		t.Fatal("the second tab's refresh forked the chain")
	}
}

func TestConcurrentRefreshesOfOneTokenAllSucceedInOneSession(t *testing.T) {
	t.Parallel()
	is := setup(t)
	first := is.Login(t, "alice", password)
	const n = 8
	var wg sync.WaitGroup
	results := make([]resp, n)
	for i := range n {
		wg.Go(func() {
			r, err := is.Send(issuertest.Request{Method: http.MethodPost, Path: "/api/auth/refresh/", Body: map[string]string{"refresh_token": first.Refresh}})
			if err != nil {
				t.Error(err) // not Fatal: this is not the test's goroutine
			}
			results[i] = r
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range results {
		wantStatus(t, r, 200)
		seen[r.JSON["refresh_token"].(string)] = true
		if sid := parseAccess(t, is, r.JSON["access_token"].(string)).SessionID; sid != parseAccess(t, is, first.Access).SessionID {
			t.Fatalf("a concurrent refresh got session %s", sid)
		}
	}
	if len(seen) != 1 {
		t.Fatalf("%d distinct refresh tokens for %d refreshes of one token, want 1: the session forked", len(seen), n)
	}
	if events := revocationEvents(t, is); len(events) != 0 {
		t.Fatalf("concurrent refreshes revoked something: %+v", events)
	}
}

func TestRefreshRefusalsAreIdentical(t *testing.T) {
	t.Parallel()
	is := setup(t)
	is.Register(t, "bob", password)

	revoked := is.Login(t, "alice", password)
	wantStatus(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": revoked.Refresh}, revoked.Access), 204)
	expired := is.Login(t, "alice", password)
	live := is.Login(t, "bob", password)

	is.Clock.Advance(issuertest.RefreshLifetime / 2)
	live = is.Refresh(t, live.Refresh) // bob's session lives on; alice's "expired" one is not refreshed
	is.Clock.Advance(issuertest.RefreshLifetime/2 + time.Second)

	// The caller names itself with its access token, expired here as it
	// usually is when a client refreshes.
	alice := is.Login(t, "alice", password)
	is.Clock.Advance(issuertest.AccessLifetime + time.Hour)
	refresh := func(token, access string) resp {
		return is.Do(t, req{Method: "POST", Path: "/api/auth/refresh/", Body: map[string]string{"refresh_token": token}, Token: access})
	}
	var bodies [][]byte
	for name, r := range map[string]resp{
		"revoked session": refresh(revoked.Refresh, ""),
		"expired":         refresh(expired.Refresh, ""),
		"unknown":         refresh("bm90IGEgcmVhbCB0b2tlbiBhdCBhbGwgbm90IGF0IGFsbA", ""),
		"of another user": refresh(live.Refresh, alice.Access),
	} {
		t.Run(name, func(t *testing.T) { wantProblem(t, r, 401, "invalid_grant") })
		bodies = append(bodies, r.Body)
	}
	for _, b := range bodies[1:] {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatalf("refusals differ:\n%s\n%s", bodies[0], b)
		}
	}
	// The other user's token was left untouched: its owner refreshes with it.
	is.Refresh(t, live.Refresh)
	// A caller refreshing its own token with its expired access token is fine.
	wantStatus(t, refresh(alice.Refresh, alice.Access), 200)
}

func TestVerifyEmail(t *testing.T) {
	t.Parallel()
	is := setup(t)
	token := is.Mailer.LastToken(t, "alice@example.org")
	r := is.Post(t, "/api/auth/verify-email/", map[string]string{"token": token}, "")
	wantStatus(t, r, 200)
	if r.JSON["user"].(map[string]any)["email_verified"] != true {
		t.Fatalf("email_verified not true: %s", r.Body)
	}
	// Single use.
	wantProblem(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": token}, ""), 400, "invalid_verification_token")
	// The next access token says so.
	if !parseAccess(t, is, is.Login(t, "alice", password).Access).EmailVerified {
		t.Fatal("access token still says email_verified false")
	}
	// A resend for a verified address is refused.
	wantProblem(t, is.Post(t, "/api/auth/verify-email/resend/", nil, is.Login(t, "alice", password).Access), 409, "email_already_verified")
	wantProblem(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": "unknown"}, ""), 400, "invalid_verification_token")
}

func TestVerifyEmailTokenExpiresAfter24Hours(t *testing.T) {
	t.Parallel()
	is := setup(t)
	token := is.Mailer.LastToken(t, "alice@example.org")
	is.Clock.Advance(24*time.Hour + time.Second)
	wantProblem(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": token}, ""), 400, "invalid_verification_token")
}

func TestResendVerificationVoidsOlderTokens(t *testing.T) {
	t.Parallel()
	is := setup(t)
	old := is.Mailer.LastToken(t, "alice@example.org")
	tok := is.Login(t, "alice", password)
	wantProblem(t, is.Post(t, "/api/auth/verify-email/resend/", nil, ""), 401, "authentication_required")
	r := is.Post(t, "/api/auth/verify-email/resend/", nil, tok.Access)
	wantStatus(t, r, 202)
	fresh := is.Mailer.LastToken(t, "alice@example.org")
	if fresh == old {
		t.Fatal("resend sent the old token")
	}
	wantProblem(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": old}, ""), 400, "invalid_verification_token")
	wantStatus(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": fresh}, ""), 200)
}

func TestMe(t *testing.T) {
	t.Parallel()
	is := setup(t)
	tok := is.Login(t, "alice", password)
	r := is.Get(t, "/api/auth/me/", tok.Access)
	wantStatus(t, r, 200)
	if u := r.JSON["user"].(map[string]any); u["username"] != "alice" || u["id"] != tok.UserID {
		t.Fatalf("me %s", r.Body)
	}

	missing := is.Get(t, "/api/auth/me/", "")
	wantProblem(t, missing, 401, "authentication_required")
	if h := missing.Header.Get("WWW-Authenticate"); h != `Bearer realm="medinsights"` {
		t.Fatalf("WWW-Authenticate %q", h)
	}
	for name, header := range map[string]string{
		"garbage":          "Bearer not.a.token",
		"basic scheme":     "Basic YWxpY2U6cGFzc3dvcmQ=",
		"empty bearer":     "Bearer ",
		"tampered payload": "Bearer " + tamper(tok.Access),
	} {
		t.Run(name, func(t *testing.T) {
			r := is.Do(t, req{Method: "GET", Path: "/api/auth/me/", Header: http.Header{"Authorization": {header}}})
			wantProblem(t, r, 401, "invalid_token")
			if h := r.Header.Get("WWW-Authenticate"); h != `Bearer realm="medinsights", error="invalid_token"` {
				t.Fatalf("WWW-Authenticate %q", h)
			}
		})
	}
	// Expired.
	is.Clock.Advance(issuertest.AccessLifetime + issuertest.ClockSkew + time.Second)
	wantProblem(t, is.Get(t, "/api/auth/me/", tok.Access), 401, "invalid_token")
}

func tamper(token string) string {
	parts := strings.Split(token, ".")
	parts[1] = parts[1][:len(parts[1])-2] + "AA"
	return strings.Join(parts, ".")
}

func TestLogout(t *testing.T) {
	t.Parallel()
	is := setup(t)
	tok := is.Login(t, "alice", password)
	other := is.Login(t, "alice", password)
	wantStatus(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": tok.Refresh}, tok.Access), 204)
	wantProblem(t, is.Get(t, "/api/auth/me/", tok.Access), 401, "invalid_token")
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": tok.Refresh}, ""), 401, "invalid_grant")
	// Another session of the same user goes on.
	wantStatus(t, is.Get(t, "/api/auth/me/", other.Access), 200)
	// Logging out a session of one's own that already ended is a no-op.
	wantStatus(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": tok.Refresh}, other.Access), 204)
	// A bearer is required.
	wantProblem(t, is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": other.Refresh}, ""), 401, "authentication_required")
	wantProblem(t, is.Post(t, "/api/auth/logout/", map[string]string{}, other.Access), 400, "validation_failed")
	// The access token of an ended session cannot log anything out.
	third := is.Login(t, "alice", password)
	r := is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": third.Refresh}, tok.Access)
	wantProblem(t, r, 401, "invalid_token")
	if r.Header.Get("WWW-Authenticate") != `Bearer realm="medinsights", error="invalid_token"` {
		t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
	wantStatus(t, is.Get(t, "/api/auth/me/", third.Access), 200)
	// ... whatever body it sends: the session is checked before the body.
	for _, c := range []struct {
		name string
		body any
	}{
		{name: "malformed JSON", body: `{"refresh_token":`},
		{name: "missing field", body: map[string]string{}},
		{name: "unknown field", body: map[string]string{"refresh_token": third.Refresh, "extra": "x"}},
	} {
		r := is.Do(t, req{Method: "POST", Path: "/api/auth/logout/", Body: c.body, Token: tok.Access})
		if r.Status != 401 || r.JSON["code"] != "invalid_token" {
			t.Errorf("%s with a revoked token: %d %s, want 401 invalid_token", c.name, r.Status, r.Body)
		}
	}
}

func TestLogoutOfAnotherUsersSessionIsRefused(t *testing.T) {
	t.Parallel()
	is := setup(t)
	is.Register(t, "mallory", password)
	alice := is.Login(t, "alice", password)
	mallory := is.Login(t, "mallory", password)

	foreign := is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": alice.Refresh}, mallory.Access)
	wantProblem(t, foreign, 403, "session_not_owned")
	unknown := is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": "no-such-token-no-such-token-no-such-token-xx"}, mallory.Access)
	if !bytes.Equal(foreign.Body, unknown.Body) || foreign.Status != unknown.Status {
		t.Fatalf("another user's token and an unknown one answer differently:\n%s\n%s", foreign.Body, unknown.Body)
	}
	wantStatus(t, is.Get(t, "/api/auth/me/", alice.Access), 200)
	is.Refresh(t, alice.Refresh)
	if events := revocationEvents(t, is); len(events) != 0 {
		t.Fatalf("a refused logout revoked something: %+v", events)
	}
}

func TestLogoutAllEndsEverySessionButNotLaterOnes(t *testing.T) {
	t.Parallel()
	is := setup(t)
	is.Register(t, "bob", password)
	sessions := []issuertest.Tokens{is.Login(t, "alice", password), is.Login(t, "alice", password), is.Login(t, "alice", password)}
	bob := is.Login(t, "bob", password)

	wantStatus(t, is.Post(t, "/api/auth/logout-all/", nil, sessions[0].Access), 204)
	// Within the same second, on the same clock: a new login is unaffected.
	after := is.Login(t, "alice", password)

	for _, s := range sessions {
		wantProblem(t, is.Get(t, "/api/auth/me/", s.Access), 401, "invalid_token")
		wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": s.Refresh}, ""), 401, "invalid_grant")
	}
	wantStatus(t, is.Get(t, "/api/auth/me/", after.Access), 200)
	is.Refresh(t, after.Refresh)
	wantStatus(t, is.Get(t, "/api/auth/me/", bob.Access), 200)

	events := revocationEvents(t, is)
	if len(events) != 3 {
		t.Fatalf("%d events, want 3", len(events))
	}
	for _, e := range events {
		if e.Reason != "logout_all" {
			t.Fatalf("reason %q", e.Reason)
		}
		if e.SessionID.String() == parseAccess(t, is, after.Access).SessionID {
			t.Fatal("the session started after logout-all has an event")
		}
	}
	wantProblem(t, is.Post(t, "/api/auth/logout-all/", nil, ""), 401, "authentication_required")
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	is := setup(t)
	current := is.Login(t, "alice", password)
	others := []issuertest.Tokens{is.Login(t, "alice", password), is.Login(t, "alice", password)}
	const next = "a brand new passphrase"

	for _, c := range []struct {
		name  string
		body  map[string]string
		field string
	}{
		{"wrong current password", map[string]string{"current_password": "not it at all", "new_password": next}, "current_password"},
		{"new password too short", map[string]string{"current_password": password, "new_password": "short"}, "new_password"},
		{"new password contains the username", map[string]string{"current_password": password, "new_password": "alice's new password"}, "new_password"},
		{"new password equals the current one", map[string]string{"current_password": password, "new_password": password}, "new_password"},
	} {
		r := is.Post(t, "/api/auth/change-password/", c.body, current.Access)
		wantProblem(t, r, 400, "validation_failed")
		if _, ok := fieldErrors(r)[c.field]; !ok {
			t.Fatalf("%s: errors lack %q: %s", c.name, c.field, r.Body)
		}
	}
	wantProblem(t, is.Post(t, "/api/auth/change-password/", map[string]string{"current_password": password, "new_password": next}, ""), 401, "authentication_required")

	wantStatus(t, is.Post(t, "/api/auth/change-password/", map[string]string{"current_password": password, "new_password": next}, current.Access), 200)
	wantStatus(t, is.Get(t, "/api/auth/me/", current.Access), 200)
	is.Refresh(t, current.Refresh)
	for _, o := range others {
		wantProblem(t, is.Get(t, "/api/auth/me/", o.Access), 401, "invalid_token")
		wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": o.Refresh}, ""), 401, "invalid_grant")
	}
	wantProblem(t, is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": password}, ""), 401, "invalid_credentials")
	is.Login(t, "alice", next)

	events := revocationEvents(t, is)
	if len(events) != 2 || events[0].Reason != "password_change" {
		t.Fatalf("events %+v, want 2 password_change", events)
	}
}

func TestDiscoveryDocuments(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	r := is.Get(t, "/.well-known/jwks.json", "")
	wantStatus(t, r, 200)
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Fatalf("jwks Cache-Control %q", cc)
	}
	keys, err := accesstoken.ParseJWKS(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keys[is.Signer.KeyID()]; !ok || len(keys) != 1 {
		t.Fatalf("jwks %s lacks the signing key %s", r.Body, is.Signer.KeyID())
	}
	r = is.Get(t, "/.well-known/openid-configuration", "")
	wantStatus(t, r, 200)
	if r.JSON["issuer"] != issuertest.IssuerURL || r.JSON["jwks_uri"] != issuertest.IssuerURL+"/.well-known/jwks.json" {
		t.Fatalf("discovery %s", r.Body)
	}
	if algs, _ := r.JSON["id_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != "RS256" {
		t.Fatalf("algorithms %v", algs)
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	wantProblem(t, is.Get(t, "/api/auth/nothing-here/", ""), 404, "not_found")
	r := is.Do(t, req{Method: "DELETE", Path: "/api/auth/login"})
	wantProblem(t, r, 405, "method_not_allowed")
	if r.Header.Get("Allow") != "POST, OPTIONS" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
	wantProblem(t, is.Get(t, "/api/auth/login/", ""), 405, "method_not_allowed")
	wantProblem(t, is.Do(t, req{Method: "OPTIONS", Path: "/api/auth/nothing-here/"}), 404, "not_found")
}

// Every path lists OPTIONS in Allow, so OPTIONS answers on every path: 204
// with the same Allow, no body (RFC 9110 section 9.3.7).
func TestOptionsAnswersWithAllow(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	for path, allow := range map[string]string{
		"/api/auth/login/":              "POST, OPTIONS",
		"/api/auth/login":               "POST, OPTIONS",
		"/api/auth/me/":                 "GET, HEAD, OPTIONS",
		"/api/auth/logout-all/":         "POST, OPTIONS",
		"/.well-known/jwks.json":        "GET, HEAD, OPTIONS",
		"/api/auth/verify-email/resend": "POST, OPTIONS",
	} {
		r := is.Do(t, req{Method: "OPTIONS", Path: path})
		wantStatus(t, r, http.StatusNoContent)
		if got := r.Header.Get("Allow"); got != allow {
			t.Errorf("OPTIONS %s: Allow %q, want %q", path, got, allow)
		}
		if len(r.Body) != 0 {
			t.Errorf("OPTIONS %s: body %q", path, r.Body)
		}
		denied := is.Do(t, req{Method: "PUT", Path: path})
		wantProblem(t, denied, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := denied.Header.Get("Allow"); got != allow {
			t.Errorf("PUT %s: Allow %q, want %q", path, got, allow)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	preflight := func(origin string) resp {
		return is.Do(t, req{Method: "OPTIONS", Path: "/api/auth/login/", Header: http.Header{
			"Origin": {origin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"},
		}})
	}
	r := preflight(issuertest.Origin)
	wantStatus(t, r, 204)
	if r.Header.Get("Access-Control-Allow-Origin") != issuertest.Origin || !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Content-Type") || !slices.Contains(r.Header.Values("Vary"), "Origin") {
		t.Fatalf("preflight headers %v", r.Header)
	}
	r = preflight("https://evil.example")
	wantProblem(t, r, 403, "origin_not_allowed")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a foreign origin was allowed")
	}
	r = is.Do(t, req{Method: "GET", Path: "/api/auth/health/", Header: http.Header{"Origin": {issuertest.Origin}}})
	if r.Header.Get("Access-Control-Allow-Origin") != issuertest.Origin {
		t.Fatal("simple request from the allowed origin lacks Access-Control-Allow-Origin")
	}
	r = is.Do(t, req{Method: "GET", Path: "/api/auth/health/", Header: http.Header{"Origin": {"https://evil.example"}}})
	if r.Header.Get("Access-Control-Allow-Origin") != "" || !slices.Contains(r.Header.Values("Vary"), "Origin") {
		t.Fatalf("foreign origin headers %v", r.Header)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	r := is.Do(t, req{Method: "GET", Path: "/api/auth/me/", Header: http.Header{"X-Request-Id": {"req-123"}}})
	if r.Header.Get("X-Request-Id") != "req-123" {
		t.Fatalf("X-Request-Id %q", r.Header.Get("X-Request-Id"))
	}
	if bytes.Contains(r.Body, []byte("req-123")) {
		t.Fatal("request id in a problem body")
	}
	r = is.Do(t, req{Method: "GET", Path: "/api/auth/health/", Header: http.Header{"Kong-Request-Id": {"kong-456#1"}}})
	if r.Header.Get("X-Request-Id") != "kong-456#1" {
		t.Fatalf("Kong-Request-ID not honoured: %q", r.Header.Get("X-Request-Id"))
	}
	r = is.Do(t, req{Method: "GET", Path: "/api/auth/health/", Header: http.Header{"X-Request-Id": {"bad,id " + strings.Repeat("x", 200)}}})
	if id := r.Header.Get("X-Request-Id"); len(id) != 32 {
		t.Fatalf("generated id %q", id)
	}
	if !strings.Contains(is.Logs.String(), `"request_id":"req-123"`) || !strings.Contains(is.Logs.String(), `"path":"/api/auth/me/","status":401`) {
		t.Fatalf("access log lacks the request:\n%s", is.Logs.String())
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	is := setup(t)
	tok := is.Login(t, "alice", password)
	next := is.Refresh(t, tok.Refresh)
	is.Post(t, "/api/auth/logout/", map[string]string{"refresh_token": next.Refresh}, next.Access)
	is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": "wrong password here"}, "")

	// Refresh reuse: a warning is logged.
	reused := is.Login(t, "alice", password)
	rotated := is.Refresh(t, reused.Refresh)
	is.Clock.Advance(issuertest.ReuseInterval + time.Second)
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": reused.Refresh}, ""), 401, "invalid_grant")

	// Verify e-mail, with a good and a bad token.
	verification := is.Mailer.LastToken(t, "alice@example.org")
	wantStatus(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": verification}, ""), 200)
	wantProblem(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": verification}, ""), 400, "invalid_verification_token")

	// Change password: a 500 (its revocation fails), then a success.
	const newPassword = "a fresh passphrase for her"
	cur := is.Login(t, "alice", password)
	other := is.Login(t, "alice", password)
	restore := failInsertsInto(t, is, "revocation_events")
	wantProblem(t, is.Post(t, "/api/auth/change-password/", map[string]string{"current_password": password, "new_password": newPassword}, cur.Access), 500, "internal_error")
	restore()
	wantStatus(t, is.Post(t, "/api/auth/change-password/", map[string]string{"current_password": password, "new_password": newPassword}, cur.Access), 200)

	// A 500 at login: the session cannot be stored.
	restore = failInsertsInto(t, is, "sessions")
	wantProblem(t, is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": newPassword}, ""), 500, "internal_error")
	restore()

	logs := is.Logs.String()
	for _, want := range []string{"refresh token reused", "internal error"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log lacks %q: the paths under test did not run:\n%s", want, logs)
		}
	}
	var hash string
	if err := queryRow(t, is, "SELECT password_hash FROM users WHERE username = 'alice'", &hash); err != nil {
		t.Fatal(err)
	}
	secrets := []string{password, "wrong password here", newPassword, hash, "argon2id", verification}
	for _, tk := range []issuertest.Tokens{tok, next, reused, rotated, cur, other} {
		secrets = append(secrets, tk.Access, tk.Refresh)
		sum := sha256.Sum256([]byte(tk.Refresh))
		secrets = append(secrets, hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:]))
	}
	sum := sha256.Sum256([]byte(verification))
	secrets = append(secrets, hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:]))
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Fatalf("log holds a secret %q...", secret[:8])
		}
	}
}

func parseAccess(t *testing.T, is *issuertest.Issuer, token string) *accesstoken.Claims {
	t.Helper()
	p, err := accesstoken.NewParser(accesstoken.Options{
		Issuer: issuertest.IssuerURL, Audiences: []string{issuertest.Audience}, Leeway: issuertest.ClockSkew,
		MaxLifetime: issuertest.AccessLifetime, Now: is.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Parse(token, is.Signer.Keys())
	if err != nil {
		t.Fatalf("access token does not verify: %v", err)
	}
	return c
}

// revocationEvent is one row of revocation_events, read straight from the
// table: the feed serves only seq, session and expiry, and these tests check
// the rest of what the issuer wrote too.
type revocationEvent struct {
	Seq       int64
	SessionID uuid.UUID
	UserID    uuid.UUID
	Reason    string
	RevokedAt time.Time
	ExpiresAt time.Time
}

// revocationEvents returns every revocation event, in seq order.
func revocationEvents(t *testing.T, is *issuertest.Issuer) []revocationEvent {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, is.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT seq, session_id, user_id, reason, revoked_at, expires_at FROM revocation_events ORDER BY seq")
	events, err := pgx.CollectRows(rows, pgx.RowToStructByPos[revocationEvent])
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func queryRow(t *testing.T, is *issuertest.Issuer, sql string, dst any, args ...any) error {
	t.Helper()
	return issuertest.QueryRow(t, is.DatabaseURL, sql, dst, args...)
}

func TestAccessTokenOfADeletedUserIsRefused(t *testing.T) {
	t.Parallel()
	is := setup(t)
	tok := is.Login(t, "alice", password)
	issuertest.Exec(t, is.DatabaseURL, "DELETE FROM users WHERE username = 'alice'")
	wantProblem(t, is.Get(t, "/api/auth/me/", tok.Access), 401, "invalid_token")
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": tok.Refresh}, ""), 401, "invalid_grant")
}
