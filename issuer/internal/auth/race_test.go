package auth_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/store"
)

const (
	password    = "correct horse battery"
	newPassword = "another long passphrase"
)

// setup returns an issuer with one registered user, "alice".
func setup(t *testing.T) (*issuertest.Issuer, store.User) {
	t.Helper()
	is := issuertest.New(t, issuertest.Options{})
	is.Register(t, "alice", password)
	u, err := is.Store.UserGetByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	return is, u
}

// changePassword runs alice's password change as /change-password does,
// from a session of its own that it ends afterwards, so that the sessions
// the test counts are only those it looks at.
func changePassword(t *testing.T, is *issuertest.Issuer) {
	t.Helper()
	ctx := context.Background()
	u, err := is.Store.UserGetByUsername(ctx, "alice")
	if err != nil {
		t.Error(err)
		return
	}
	sid := sessionID(t, is, u)
	if _, err := is.Auth.ChangePassword(ctx, auth.Principal{User: u, SessionID: sid}, password, newPassword); err != nil {
		t.Errorf("change password: %v", err)
	}
	if _, err := is.Store.SessionRevoke(ctx, store.Revocation{UserID: u.ID, SessionID: sid, Reason: auth.ReasonLogout, At: time.Now(), EventExpiresAt: time.Now()}); err != nil {
		t.Error(err)
	}
}

// sessionID starts a session of u directly in the store and returns its id.
func sessionID(t *testing.T, is *issuertest.Issuer, u store.User) uuid.UUID {
	t.Helper()
	now := is.Clock.Now()
	id := uuid.New()
	hash := make([]byte, 32)
	copy(hash, id[:])
	if _, err := is.Store.SessionCreate(context.Background(), store.NewSession{ID: id, UserID: u.ID, PasswordHash: u.PasswordHash, RefreshHash: hash, Now: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Error(err)
	}
	return id
}

func liveSessions(t *testing.T, is *issuertest.Issuer) int {
	t.Helper()
	var n int
	if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLoginRehashRacingAPasswordChangeFailsAndKeepsTheNewPassword(t *testing.T) {
	t.Parallel()
	is, _ := setup(t)
	stronger := issuertest.FastPasswords
	stronger.Memory *= 2
	is2 := is.WithPasswords(t, stronger) // alice's hash is weaker: login rehashes
	auth.SetAfterVerifyFunc(is2.Auth, func(context.Context) { changePassword(t, is) })

	_, err := is2.Auth.Login(context.Background(), auth.LoginInput{Login: "alice", Password: password})
	if !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("login racing a password change: %v, want ErrInvalidCredentials", err)
	}
	if n := liveSessions(t, is); n != 0 {
		t.Fatalf("%d live sessions, want 0", n)
	}
	auth.SetAfterVerifyFunc(is2.Auth, nil)
	if _, err := is2.Auth.Login(context.Background(), auth.LoginInput{Login: "alice", Password: password}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("old password after the change: %v, want ErrInvalidCredentials", err)
	}
	if _, err := is2.Auth.Login(context.Background(), auth.LoginInput{Login: "alice", Password: newPassword}); err != nil {
		t.Fatalf("new password after the change: %v", err)
	}
}

func TestLoginRacingAPasswordChangeStartsNoSession(t *testing.T) {
	t.Parallel()
	is, _ := setup(t)
	auth.SetAfterVerifyFunc(is.Auth, func(context.Context) { changePassword(t, is) })

	_, err := is.Auth.Login(context.Background(), auth.LoginInput{Login: "alice", Password: password})
	if !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("login racing a password change: %v, want ErrInvalidCredentials", err)
	}
	if n := liveSessions(t, is); n != 0 {
		t.Fatalf("%d live sessions survive the password change, want 0", n)
	}
}

func TestLoginRacingARoleRevocationSignsTheRolesLeft(t *testing.T) {
	t.Parallel()
	is, _ := setup(t)
	ctx := context.Background()
	if _, err := is.Auth.GrantRole(ctx, "alice", "admin"); err != nil {
		t.Fatal(err)
	}
	auth.SetAfterVerifyFunc(is.Auth, func(context.Context) {
		if _, _, err := is.Auth.RevokeRole(ctx, "alice", "admin"); err != nil {
			t.Errorf("revoke role: %v", err)
		}
	})
	pair, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: password})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	p, err := is.Auth.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatalf("the session started after the revocation is live: %v", err)
	}
	if got := pair.User.Roles; len(got) != 1 || got[0] != "patient" {
		t.Fatalf("roles signed %v, want [patient]", got)
	}
	if got := p.User.Roles; len(got) != 1 || got[0] != "patient" {
		t.Fatalf("roles stored %v, want [patient]", got)
	}
	r := is.Get(t, "/api/auth/me/", pair.AccessToken)
	user, _ := r.JSON["user"].(map[string]any)
	if roles, _ := user["roles"].([]any); len(roles) != 1 {
		t.Fatalf("/me roles %v, want [patient]", user["roles"])
	}
}

// TestRefreshAfterARoleRevocationIsRefused: revoke-role ends every session in
// its transaction, and a refresh checks that its session is live in the same
// statement that rotates the token, so no token with the removed role is
// minted for a live session.
func TestRefreshAfterARoleRevocationIsRefused(t *testing.T) {
	t.Parallel()
	is, _ := setup(t)
	ctx := context.Background()
	if _, err := is.Auth.GrantRole(ctx, "alice", "admin"); err != nil {
		t.Fatal(err)
	}
	pair, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := is.Auth.RevokeRole(ctx, "alice", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := is.Auth.Refresh(ctx, pair.RefreshToken, uuid.Nil); !errors.Is(err, auth.ErrInvalidGrant) {
		t.Fatalf("refresh after revoke-role: %v, want ErrInvalidGrant", err)
	}
}

// With every password hashing slot busy, a login, a registration and a
// password change wait PasswordHashWait, then get 503 overloaded with
// Retry-After; they succeed once a slot is free.
func TestPasswordHashingIsBoundedAndOverloadIs503(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{PasswordHashConcurrency: 2, PasswordHashWait: 100 * time.Millisecond})
	is.Register(t, "alice", password)
	tokens := is.Login(t, "alice", password)
	release := auth.HoldPasswordHashSlots(is.Auth)
	for _, c := range []struct {
		name, path, token string
		body              map[string]string
	}{
		{name: "login", path: "/api/auth/login/", body: map[string]string{"username": "alice", "password": password}},
		{name: "login of an unknown user", path: "/api/auth/login/", body: map[string]string{"username": "nobody", "password": password}},
		{name: "register", path: "/api/auth/register/", body: map[string]string{"username": "bob", "email": "bob@example.org", "password": password}},
		{name: "change password", path: "/api/auth/change-password/", token: tokens.Access, body: map[string]string{"current_password": password, "new_password": newPassword}},
	} {
		r := is.Post(t, c.path, c.body, c.token)
		if r.Status != http.StatusServiceUnavailable || r.JSON["code"] != "overloaded" || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s with every slot busy: %d %s Retry-After %q, want 503 overloaded with Retry-After", c.name, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
	}
	release()
	is.Login(t, "alice", password)
}

// A revocation event outlives every access token of its session, even one
// signed before JWT_ACCESS_TOKEN_LIFETIME was lowered: it expires at the
// later of revocation + the lifetime of the moment and the session's
// latest access token exp, plus the clock skew and a minute.
func TestRevocationEventsCoverTokensSignedUnderALongerLifetime(t *testing.T) {
	t.Parallel()
	is, _ := setup(t)
	ctx := context.Background()
	t0 := is.Clock.Now()
	a, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	b, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	is.Clock.Advance(time.Minute)
	if b, err = is.Auth.Refresh(ctx, b.RefreshToken, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	// The issuer restarts with a 1-minute lifetime, two minutes later.
	is.Clock.Advance(time.Minute)
	short, err := auth.New(auth.Options{
		Store: is.Store, Signer: is.Signer, Mailer: is.Mailer, Issuer: issuertest.IssuerURL, Audience: issuertest.Audience,
		AccessLifetime: time.Minute, RefreshLifetime: issuertest.RefreshLifetime, ClockSkew: issuertest.ClockSkew,
		Password: issuertest.FastPasswords, Now: is.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := is.Auth.VerifyAccessToken(b.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := short.Logout(ctx, caller, a.RefreshToken); err != nil { // a batched logout
		t.Fatal(err)
	}
	p, err := is.Auth.Authenticate(ctx, b.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.LogoutAll(ctx, p); err != nil { // a revocation of every session
		t.Fatal(err)
	}
	margin := issuertest.ClockSkew + time.Minute
	for _, c := range []struct {
		name    string
		session string
		want    time.Time
	}{
		{name: "logout", session: sessionOf(t, is.Auth, a.AccessToken), want: t0.Add(issuertest.AccessLifetime + margin)},
		{name: "logout-all", session: caller.SessionID.String(), want: t0.Add(time.Minute + issuertest.AccessLifetime + margin)},
	} {
		var got time.Time
		if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT expires_at FROM revocation_events WHERE session_id = $1", &got, c.session); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !got.Equal(c.want) {
			t.Errorf("%s: event expires at %v, want %v (the last access token's exp + skew + a minute)", c.name, got, c.want)
		}
	}
}

func sessionOf(t *testing.T, s *auth.Service, accessToken string) string {
	t.Helper()
	c, err := s.VerifyAccessToken(accessToken)
	if err != nil {
		t.Fatal(err)
	}
	return c.SessionID.String()
}

func TestRefreshReuseIsReportedOnceAndARefreshWithinTheIntervalIsNot(t *testing.T) {
	t.Parallel()
	is, _ := setup(t)
	reported := &reuseCounter{}
	auth.SetEvents(is.Auth, reported)
	ctx := context.Background()

	first := is.Login(t, "alice", password)
	is.Refresh(t, first.Refresh) // retires first.Refresh
	if _, err := is.Auth.Refresh(ctx, first.Refresh, uuid.Nil); err != nil {
		t.Fatalf("second refresh within the reuse interval: %v", err)
	}
	if n := reported.Load(); n != 0 {
		t.Fatalf("reported %d reuses within the interval, want 0", n)
	}

	is.Clock.Advance(issuertest.ReuseInterval + time.Second)
	if _, err := is.Auth.Refresh(ctx, first.Refresh, uuid.Nil); !errors.Is(err, auth.ErrInvalidGrant) {
		t.Fatalf("refresh after the reuse interval: %v, want ErrInvalidGrant", err)
	}
	if n := reported.Load(); n != 1 {
		t.Fatalf("reported %d reuses, want 1", n)
	}
	if _, err := is.Auth.Refresh(ctx, first.Refresh, uuid.Nil); !errors.Is(err, auth.ErrInvalidGrant) {
		t.Fatalf("refresh of the revoked session: %v, want ErrInvalidGrant", err)
	}
	if n := reported.Load(); n != 1 {
		t.Fatalf("a token of an already revoked session was reported as reuse again: %d", n)
	}
}

func TestCleanupDeletesWhatExpiredMoreThanADayAgo(t *testing.T) {
	t.Parallel()
	is, _ := setup(t) // registering alice mailed one verification token
	is.Login(t, "alice", password)
	ctx := context.Background()

	c, err := is.Auth.Cleanup(ctx)
	if err != nil || c != (auth.Cleaned{}) {
		t.Fatalf("cleanup of live rows: %+v, %v; want nothing deleted", c, err)
	}
	is.Clock.Advance(issuertest.RefreshLifetime + 48*time.Hour)
	// alice never verified her address: past UNVERIFIED_ACCOUNT_TTL her
	// account goes too (after her expired session and token), and so does
	// the registration counter of her address.
	c, err = is.Auth.Cleanup(ctx)
	if want := (auth.Cleaned{Sessions: 1, Verifications: 1, ThrottleCounters: 1, UnverifiedAccounts: 1}); err != nil || c != want {
		t.Fatalf("cleanup after expiry: %+v, %v; want %+v", c, err, want)
	}
	if n := liveSessions(t, is); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

func TestLoginOfADisabledUserFailsLikeAWrongPassword(t *testing.T) {
	t.Parallel()
	is, u := setup(t)
	ctx := context.Background()
	now := time.Now()
	err := is.Store.Tx(ctx, func(q *store.Q) error {
		_, err := q.UserSetDisabled(ctx, u.ID, &now, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: password}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("disabled user, right password: %v, want ErrInvalidCredentials", err)
	}
	if n := liveSessions(t, is); n != 0 {
		t.Fatalf("%d live sessions, want 0", n)
	}
	err = is.Store.Tx(ctx, func(q *store.Q) error {
		_, err := q.UserSetDisabled(ctx, u.ID, nil, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: password}); err != nil {
		t.Fatalf("enabled again: %v", err)
	}
}

// Two password changes race, both having verified the same current
// password: the first commits, and the second never silently replaces the
// first one's password. From the same session (a double submit) the loser
// gets 409 password_changed; from another session, which the winner ended,
// 401 invalid_token.
func TestChangePasswordRacingAnotherChangeFails(t *testing.T) {
	t.Parallel()
	const loserPassword = "a third, quite different passphrase"
	for _, c := range []struct {
		name        string
		sameSession bool
		status      int
		code        string
	}{
		{name: "same session", sameSession: true, status: http.StatusConflict, code: "password_changed"},
		{name: "other session", sameSession: false, status: http.StatusUnauthorized, code: "invalid_token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			is, _ := setup(t)
			winner := is.Login(t, "alice", password)
			loser := winner
			if !c.sameSession {
				loser = is.Login(t, "alice", password)
			}
			var fired atomic.Bool // the winner's change runs the hook too
			auth.SetBeforeChangeWriteFunc(is.Auth, func(context.Context) {
				if fired.CompareAndSwap(false, true) { // on the server's goroutine of the losing change: no Fatal
					r, err := is.Send(issuertest.Request{Method: http.MethodPost, Path: "/api/auth/change-password/", Token: winner.Access,
						Body: map[string]string{"current_password": password, "new_password": newPassword}})
					if err != nil || r.Status != http.StatusOK {
						t.Errorf("the winning change: %d %s %v", r.Status, r.Body, err)
					}
				}
			})
			r := is.Post(t, "/api/auth/change-password/", map[string]string{"current_password": password, "new_password": loserPassword}, loser.Access)
			if r.Status != c.status || r.JSON["code"] != c.code {
				t.Fatalf("the losing change: %d %s, want %d %s", r.Status, r.Body, c.status, c.code)
			}
			ctx := context.Background()
			if _, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: newPassword}); err != nil {
				t.Fatalf("the winner's password: %v", err)
			}
			if _, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: loserPassword}); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("the loser's password: %v, want ErrInvalidCredentials", err)
			}
		})
	}
}

// A change from a session that logout-all revokes between the password
// check and the write changes nothing and fails with ErrInvalidToken.
func TestChangePasswordFromASessionRevokedMeanwhileFails(t *testing.T) {
	t.Parallel()
	is, _ := setup(t)
	ctx := context.Background()
	tok := is.Login(t, "alice", password)
	p, err := is.Auth.Authenticate(ctx, tok.Access)
	if err != nil {
		t.Fatal(err)
	}
	auth.SetBeforeChangeWriteFunc(is.Auth, func(context.Context) {
		if _, err := is.Auth.LogoutAll(ctx, p); err != nil {
			t.Errorf("logout-all: %v", err)
		}
	})
	if _, err := is.Auth.ChangePassword(ctx, p, password, newPassword); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("change from a revoked session: %v, want ErrInvalidToken", err)
	}
	auth.SetBeforeChangeWriteFunc(is.Auth, nil)
	if _, err := is.Auth.Login(ctx, auth.LoginInput{Login: "alice", Password: password}); err != nil {
		t.Fatalf("the old password no longer works: %v", err)
	}
}

// A refresh token presented twice within the reuse interval gets the same
// successor both times: the session never forks into two chains. The
// successor is stored as a hash only, and once the interval has passed, the
// old token is reuse and the shared chain ends.
func TestRefreshWithinTheReuseIntervalReturnsTheSameSuccessor(t *testing.T) {
	t.Parallel()
	is, _ := setup(t)
	ctx := context.Background()
	first := is.Login(t, "alice", password)

	owner, err := is.Auth.Refresh(ctx, first.Refresh, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	is.Clock.Advance(issuertest.ReuseInterval / 2)
	thief, err := is.Auth.Refresh(ctx, first.Refresh, uuid.Nil)
	if err != nil {
		t.Fatalf("second refresh within the interval: %v", err)
	}
	if thief.RefreshToken != owner.RefreshToken {
		t.Fatal("the second refresh within the interval got another successor: the session forked")
	}
	var tokens int
	if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT count(*) FROM refresh_tokens", &tokens); err != nil {
		t.Fatal(err)
	}
	if tokens != 2 {
		t.Fatalf("%d refresh tokens stored, want 2 (the first and its one successor)", tokens)
	}
	var stored int
	if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT count(*) FROM refresh_tokens WHERE hash = sha256(convert_to($1, 'UTF8'))", &stored, owner.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if stored != 1 {
		t.Fatal("the successor is not stored as the SHA-256 of its text")
	}

	// The holders share one chain: the next rotation moves both on, and
	// the stale successor, later, is reuse that ends the session.
	next, err := is.Auth.Refresh(ctx, owner.RefreshToken, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	is.Clock.Advance(issuertest.ReuseInterval + time.Second)
	if _, err := is.Auth.Refresh(ctx, thief.RefreshToken, uuid.Nil); !errors.Is(err, auth.ErrInvalidGrant) {
		t.Fatalf("stale successor after the interval: %v, want ErrInvalidGrant", err)
	}
	if _, err := is.Auth.Refresh(ctx, next.RefreshToken, uuid.Nil); !errors.Is(err, auth.ErrInvalidGrant) {
		t.Fatalf("the newest token after reuse: %v, want ErrInvalidGrant (session revoked)", err)
	}
}

// The store derives successors with HMAC-SHA256 in SQL: it agrees with
// crypto/hmac, for keys and messages of the sizes used and others.
func TestSQLHMACAgreesWithGo(t *testing.T) {
	t.Parallel()
	is, _ := setup(t)
	for _, n := range [][2]int{{32, 32}, {1, 0}, {64, 200}, {20, 7}} {
		key, msg := make([]byte, n[0]), make([]byte, n[1])
		_, _ = rand.Read(key)
		_, _ = rand.Read(msg)
		var got []byte
		if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT hmac_sha256($1, $2)", &got, key, msg); err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		if want := m.Sum(nil); !bytes.Equal(got, want) {
			t.Errorf("key %d bytes, message %d: SQL %x, Go %x", n[0], n[1], got, want)
		}
		var hashed []byte
		if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT refresh_token_hash($1)", &hashed, msg); err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256([]byte(base64.RawURLEncoding.EncodeToString(msg)))
		if !bytes.Equal(hashed, want[:]) {
			t.Errorf("refresh_token_hash of %d bytes disagrees with sha256(base64url)", n[1])
		}
	}
}

// reuseCounter counts the refresh-token reuses observed.
type reuseCounter struct {
	auth.NoEvents
	atomic.Int32
}

func (c *reuseCounter) Observe(_ context.Context, e auth.Event) {
	if e.Name == auth.EventRefreshReuseDetected {
		c.Add(1)
	}
}
