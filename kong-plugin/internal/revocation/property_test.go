package revocation

import (
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/e2e/issuerproc"
)

// seedEnv fixes the property test's seed, to replay a failure.
const seedEnv = "MEDINSIGHTS_PROPERTY_SEED"

// session is the model's view of one login.
type session struct {
	user    string
	tokens  issuerproc.Tokens // the latest
	retired []string          // refresh tokens rotated away
	revoked bool
}

// TestSyncerAgreesWithTheDatabase is the property test of issue 4: a random
// interleaving (seeded; the seed is logged) of logins, refreshes, refresh
// reuse, logouts and logout-alls against the real issuer, followed by a
// Syncer through the feed, leaves the Syncer's set equal to what the
// database says is revoked and alive, and to what the model expects, at
// every checkpoint.
func TestSyncerAgreesWithTheDatabase(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(seedEnv); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s: %v", seedEnv, err)
		}
	}
	t.Logf("seed %d (replay with %s=%d)", seed, seedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	db := issuerproc.NewDatabase(t)
	is := db.Start(t, "REFRESH_REUSE_INTERVAL=0")
	applied := newSignal()
	s, err := New(Options{URL: is.FeedURL(), Token: db.FeedToken, MaxStaleness: 6 * time.Second, Logger: discardLog, Hooks: applied.hooks()})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Close)

	users := []string{is.NewUser(t), is.NewUser(t), is.NewUser(t)}
	var sessions []*session
	live := func(u string) []*session {
		var out []*session
		for _, x := range sessions {
			if !x.revoked && (u == "" || x.user == u) {
				out = append(out, x)
			}
		}
		return out
	}
	pick := func(xs []*session) *session { return xs[rng.IntN(len(xs))] }

	const steps, logins, checkEvery = 80, 24, 20
	loginsLeft := logins
	var trace []string
	for step := 1; step <= steps; step++ {
		alive := live("")
		op := rng.IntN(10)
		switch {
		case len(alive) == 0 || op < 3 && loginsLeft > 0: // login
			u := users[rng.IntN(len(users))]
			sessions = append(sessions, &session{user: u, tokens: is.Login(t, u, issuerproc.Password)})
			loginsLeft--
			trace = append(trace, "login "+u)
		case op < 5: // refresh
			x := pick(alive)
			next, status := is.Refresh(t, x.tokens.Refresh)
			if status != http.StatusOK {
				t.Fatalf("step %d: refresh of a live session: %d (trace %v)", step, status, trace)
			}
			x.retired = append(x.retired, x.tokens.Refresh)
			x.tokens = next
			trace = append(trace, "refresh "+x.tokens.SessionID)
		case op < 7: // refresh token reuse
			var withRetired []*session
			for _, x := range sessions { // a revoked session's old token too
				if len(x.retired) > 0 {
					withRetired = append(withRetired, x)
				}
			}
			if len(withRetired) == 0 {
				continue
			}
			x := pick(withRetired)
			if _, status := is.Refresh(t, x.retired[rng.IntN(len(x.retired))]); status != http.StatusUnauthorized {
				t.Fatalf("step %d: reuse of a retired refresh token: %d, want 401", step, status)
			}
			x.revoked = true
			trace = append(trace, "reuse "+x.tokens.SessionID)
		case op < 9: // logout
			x := pick(alive)
			is.Logout(t, x.tokens)
			x.revoked = true
			trace = append(trace, "logout "+x.tokens.SessionID)
		default: // logout-all
			x := pick(alive)
			is.LogoutAll(t, x.tokens)
			for _, y := range live(x.user) {
				y.revoked = true
			}
			trace = append(trace, "logout-all "+x.user)
		}
		if step%checkEvery == 0 {
			checkAgreement(t, s, applied, db, sessions, trace)
		}
	}
	counts := map[string]int{}
	for _, op := range trace {
		counts[strings.Fields(op)[0]]++
	}
	t.Logf("operations: %v", counts)
}

// checkAgreement waits (bounded) for the syncer to catch up with the
// database, waking each time it applies a message (applied fires from its
// hooks), then requires the model, the database and the syncer to agree.
func checkAgreement(t *testing.T, s *Syncer, applied signal, db *issuerproc.Database, sessions []*session, trace []string) {
	t.Helper()
	model := map[string]bool{}
	for _, x := range sessions {
		if x.revoked {
			model[x.tokens.SessionID] = true
		}
	}
	dbState := db.Revocations(t)
	if !sameSet(model, dbState.RevokedSessions) || !sameSet(model, dbState.LiveEvents) {
		t.Fatalf("model %v, database revoked %v, live events %v (trace %v)",
			keys(model), keys(dbState.RevokedSessions), keys(dbState.LiveEvents), trace)
	}
	var got map[string]bool
	if !applied.until(func() bool { got = syncerSet(s, time.Now()); return sameSet(got, dbState.LiveEvents) }) {
		t.Fatalf("syncer %v, database live events %v (trace %v)", keys(got), keys(dbState.LiveEvents), trace)
	}
	for _, x := range sessions {
		if got := s.Revoked(x.tokens.SessionID, time.Now()); got != x.revoked {
			t.Errorf("Revoked(%s) = %v, want %v", x.tokens.SessionID, got, x.revoked)
		}
	}
}

// syncerSet is every session the syncer holds as revoked at now.
func syncerSet(s *Syncer, now time.Time) map[string]bool {
	out := map[string]bool{}
	st := s.state.Load()
	for _, level := range []map[sessionID]int64{st.base, st.delta} {
		for id := range level {
			if s.Revoked(id.String(), now) {
				out[id.String()] = true
			}
		}
	}
	return out
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
