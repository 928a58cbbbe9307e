package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/e2e/issuerproc"
)

// TestGatewayRefusesRevokedSessions: every way a session ends at the issuer
// reaches the gateway, which then refuses the session's access tokens while
// leaving the user's other live sessions alone.
func TestGatewayRefusesRevokedSessions(t *testing.T) {
	t.Parallel()
	db := issuerproc.NewDatabase(t)
	is := db.Start(t, "REFRESH_REUSE_INTERVAL=0") // any second presentation is reuse
	_, gw := startGateway(t, gatewayConfig(db, is, is, 30, "closed"))

	tests := []struct {
		name string
		// act ends sessions at the issuer and returns the access tokens the
		// gateway must now refuse and those it must still let through.
		act func(t *testing.T, user string) (refused, alive []string)
	}{
		{
			name: "logout",
			act: func(t *testing.T, user string) ([]string, []string) {
				a, b := is.Login(t, user, issuerproc.Password), is.Login(t, user, issuerproc.Password)
				waitPassing(t, gw, a.Access)
				is.Logout(t, a)
				return []string{a.Access}, []string{b.Access}
			},
		},
		{
			name: "logout-all",
			act: func(t *testing.T, user string) ([]string, []string) {
				a, b := is.Login(t, user, issuerproc.Password), is.Login(t, user, issuerproc.Password)
				waitPassing(t, gw, a.Access)
				is.LogoutAll(t, a)
				after := is.Login(t, user, issuerproc.Password) // even within the same second
				return []string{a.Access, b.Access}, []string{after.Access}
			},
		},
		{
			name: "change-password",
			act: func(t *testing.T, user string) ([]string, []string) {
				a, b := is.Login(t, user, issuerproc.Password), is.Login(t, user, issuerproc.Password)
				waitPassing(t, gw, b.Access)
				is.ChangePassword(t, a, issuerproc.Password, "an entirely new passphrase")
				return []string{b.Access}, []string{a.Access}
			},
		},
		{
			name: "refresh token reuse",
			act: func(t *testing.T, user string) ([]string, []string) {
				a := is.Login(t, user, issuerproc.Password)
				other := is.Login(t, user, issuerproc.Password)
				rotated, status := is.Refresh(t, a.Refresh)
				if status != http.StatusOK {
					t.Fatalf("refresh: %d", status)
				}
				waitPassing(t, gw, rotated.Access)
				if _, status := is.Refresh(t, a.Refresh); status != http.StatusUnauthorized {
					t.Fatalf("reuse of a retired refresh token: %d, want 401", status)
				}
				return []string{a.Access, rotated.Access}, []string{other.Access}
			},
		},
		{
			name: "session ended by its user",
			act: func(t *testing.T, user string) ([]string, []string) {
				a, b := is.Login(t, user, issuerproc.Password), is.Login(t, user, issuerproc.Password)
				waitPassing(t, gw, a.Access)
				is.EndSession(t, b, issuerproc.SessionID(t, a.Access))
				return []string{a.Access}, []string{b.Access}
			},
		},
		{
			name: "user disabled by an administrator",
			act: func(t *testing.T, user string) ([]string, []string) {
				admin := is.NewUser(t)
				db.Command(t, "users", "grant-role", admin, "admin")
				adminTok := is.Login(t, admin, issuerproc.Password)
				a, b := is.Login(t, user, issuerproc.Password), is.Login(t, user, issuerproc.Password)
				waitPassing(t, gw, a.Access)
				is.DisableUser(t, adminTok, a.User.ID)
				return []string{a.Access, b.Access}, []string{adminTok.Access}
			},
		},
		{
			name: "role revoked by the command line",
			act: func(t *testing.T, user string) ([]string, []string) {
				a, b := is.Login(t, user, issuerproc.Password), is.Login(t, user, issuerproc.Password)
				waitPassing(t, gw, a.Access)
				db.Command(t, "users", "revoke-role", user, "patient")
				return []string{a.Access, b.Access}, nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := is.NewUser(t)
			refused, alive := tt.act(t, user)
			for _, tok := range refused {
				waitRefused(t, gw, tok)
			}
			for _, tok := range alive {
				assertPasses(t, gw, tok, "a live session of the same user")
			}
		})
	}
}

// TestRevocationReachesAGatewayFollowingAnotherReplica: two issuer processes
// on one database; the user logs out on one while the gateway follows the
// other's feed.
func TestRevocationReachesAGatewayFollowingAnotherReplica(t *testing.T) {
	t.Parallel()
	db := issuerproc.NewDatabase(t)
	a, b := db.Start(t), db.Start(t)
	_, gw := startGateway(t, gatewayConfig(db, b, b, 30, "closed"))

	user := a.NewUser(t)
	tok := a.Login(t, user, issuerproc.Password)
	waitPassing(t, gw, tok.Access)
	a.Logout(t, tok)
	waitRefused(t, gw, tok.Access)
}

// TestReplicaRestartMidStream: the gateway streams the feed from a replica
// that is restarted (SIGTERM) while sessions are revoked on another. The
// stream does not hold the shutdown up, the gateway resumes from its cursor
// when the replica is back, and no revocation is lost.
func TestReplicaRestartMidStream(t *testing.T) {
	t.Parallel()
	db := issuerproc.NewDatabase(t)
	a, feed := db.Start(t), db.Start(t)
	srv, gw := startGateway(t, gatewayConfig(db, a, feed, 30, "closed"))

	user := a.NewUser(t)
	toks := make([]issuerproc.Tokens, 6)
	for i := range toks {
		toks[i] = a.Login(t, user, issuerproc.Password)
		waitPassing(t, gw, toks[i].Access)
	}
	a.Logout(t, toks[0])
	waitRefused(t, gw, toks[0].Access) // the stream is up

	stopping := time.Now()
	feed.Stop(t) // fails the test unless the process exits within 15 s
	if took := time.Since(stopping); took > 5*time.Second {
		t.Errorf("the replica took %v to stop with a stream open", took)
	}
	if out := feed.Output(); strings.Contains(out, "drain incomplete") {
		t.Errorf("the stream held the shutdown up to its deadline:\n%s", out)
	}
	a.Logout(t, toks[1]) // while the gateway's replica is down
	a.Logout(t, toks[2])
	feed.Restart(t)
	a.Logout(t, toks[3]) // after it is back
	for _, tok := range toks[:4] {
		waitRefused(t, gw, tok.Access)
	}
	for _, tok := range toks[4:] {
		assertPasses(t, gw, tok.Access, "a live session after the restart")
	}
	if out := srv.Output(); strings.Contains(out, "no revocation stream") {
		t.Errorf("the gateway long-polled instead of streaming:\n%s", out)
	}
}

// TestFeedOutage: the feed stops; once the staleness bound passes a closed
// gateway answers 503 and an open one lets verified tokens through; the
// feed comes back and the gateway catches up with the revocation committed
// while it was away.
func TestFeedOutage(t *testing.T) {
	t.Parallel()
	db := issuerproc.NewDatabase(t)
	a, feed := db.Start(t), db.Start(t)
	const bound = 3 // seconds
	srv, closed := startGateway(t, gatewayConfig(db, feed, feed, bound, "closed"))
	open := srv.MustStartInstance(t, gatewayConfig(db, feed, feed, bound, "open"))

	user := a.NewUser(t)
	gone, kept := a.Login(t, user, issuerproc.Password), a.Login(t, user, issuerproc.Password)
	waitPassing(t, closed, gone.Access)
	waitPassing(t, open, kept.Access)

	beforeStop := time.Now()
	feed.Stop(t)
	stoppedAt := time.Now()
	a.Logout(t, gone) // committed while the gateway cannot hear of it

	// Closed: 503 with Retry-After once the bound has passed, never later
	// than a second after it.
	for {
		r := access(t, closed, kept.Access)
		if r.Exited {
			if r.Status != http.StatusServiceUnavailable {
				t.Fatalf("closed mode with a stale feed: %s, want 503", describe(r))
			}
			if len(r.Headers["retry-after"]) == 0 {
				t.Error("503 for a stale feed has no Retry-After")
			}
			break
		}
		if time.Since(stoppedAt) > bound*time.Second+time.Second+2*time.Second {
			t.Fatalf("closed mode still passes tokens %v after the feed stopped (bound %d s)", time.Since(stoppedAt), bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The gateway follows the stream: its last heartbeat came at most its
	// interval (a third of the bound, 1 s) before the stop, and vouched for
	// a view of the database at most the feed's recheck (1 s) older, so the
	// bound cannot pass sooner than 1 s after the stop.
	if stale := time.Since(beforeStop); stale < time.Duration(bound-2)*time.Second-100*time.Millisecond {
		t.Errorf("closed mode refused %v after the feed stopped, before the %d s bound could pass", stale, bound)
	}
	// Open: verified tokens pass.
	assertPasses(t, open, kept.Access, "open mode with a stale feed")

	feed.Restart(t)
	waitRefused(t, closed, gone.Access) // the event from the outage was not lost
	waitRefused(t, open, gone.Access)
	waitPassing(t, closed, kept.Access)
	assertPasses(t, open, kept.Access, "open mode after the feed came back")
}

// TestRestartedPluginServerRefusesFromItsFirstRequest: a plugin server that
// starts while revocations are in place never lets a revoked token through,
// not even on its first request: until its first snapshot it answers 503.
func TestRestartedPluginServerRefusesFromItsFirstRequest(t *testing.T) {
	t.Parallel()
	db := issuerproc.NewDatabase(t)
	is := db.Start(t)
	cfg := gatewayConfig(db, is, is, 30, "closed")
	srv, gw := startGateway(t, cfg)

	user := is.NewUser(t)
	revoked, live := is.Login(t, user, issuerproc.Password), is.Login(t, user, issuerproc.Password)
	waitPassing(t, gw, revoked.Access)
	is.Logout(t, revoked)
	waitRefused(t, gw, revoked.Access)

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	gw = srv.MustStartInstance(t, cfg)
	deadline := time.Now().Add(10 * time.Second)
	for first := true; ; first = false {
		r := access(t, gw, revoked.Access)
		if !r.Exited {
			t.Fatalf("the restarted plugin server let a revoked token through (first request: %v)", first)
		}
		if r.Status == http.StatusUnauthorized {
			assertInvalidToken(t, r)
			break
		}
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("restarted plugin server: %s, want 503 until synced, then 401", describe(r))
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted plugin server never refused the revoked token with 401\n%s", srv.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitPassing(t, gw, live.Access)
}
