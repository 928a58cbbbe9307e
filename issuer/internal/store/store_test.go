package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/goleak"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/issuer/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup returns a store on a migrated database of its own.
func setup(t *testing.T) *store.Store {
	t.Helper()
	st, _ := setupWithURL(t)
	return st
}

// setupWithURL is setup that also returns the database's URL.
func setupWithURL(t *testing.T) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	url := testdb.New(t)
	if _, err := store.Migrate(ctx, url); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	st, err := store.New(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, url
}

// feedEvents reads every revocation event from the feed's snapshot, in seq order.
func feedEvents(t *testing.T, st *store.Store) []store.FeedEvent {
	t.Helper()
	page, err := st.RevocationFeedRead(context.Background(), 0, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

func newUser(t *testing.T, st *store.Store, username, email string) store.User {
	t.Helper()
	u, err := st.UserInsert(context.Background(), store.NewUser{
		ID: uuid.New(), Username: username, Email: email, PasswordHash: "$argon2id$x", Roles: []string{"patient"}, Now: time.Now(),
	})
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
	return u
}

func newSession(t *testing.T, st *store.Store, userID uuid.UUID) uuid.UUID {
	t.Helper()
	id := uuid.New()
	now := time.Now()
	hash := make([]byte, 32)
	copy(hash, id[:])
	if _, err := st.SessionCreate(context.Background(), store.NewSession{ID: id, UserID: userID, PasswordHash: "$argon2id$x", RefreshHash: hash, Now: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestMigrateIsIdempotentAndReportsStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.New(t)
	if applied, err := store.Migrate(ctx, url); err != nil || len(applied) == 0 {
		t.Fatalf("first migrate: %v %v", applied, err)
	}
	if applied, err := store.Migrate(ctx, url); err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v", applied, err)
	}
	states, err := store.Migrations(ctx, url)
	if err != nil || len(states) == 0 || !states[0].Applied {
		t.Fatalf("status %+v %v", states, err)
	}
}

func TestErrorsBecomeSentinels(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	newUser(t, st, "alice", "alice@example.org")

	_, err := st.UserGetByID(ctx, uuid.New())
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing user: %v, want ErrNotFound", err)
	}
	for _, c := range []struct {
		username, email string
		want            error
	}{
		{username: "ALICE", email: "other@example.org", want: store.ErrUsernameTaken},
		{username: "other", email: "Alice@Example.ORG", want: store.ErrEmailTaken},
		{username: "Alice@example.org", email: "other@example.org", want: store.ErrUsernameTaken},
		{username: "other", email: "ALICE@example.org", want: store.ErrEmailTaken},
	} {
		err := st.Tx(ctx, func(q *store.Q) error {
			_, err := q.UserInsert(ctx, store.NewUser{ID: uuid.New(), Username: c.username, Email: c.email, PasswordHash: "x", Roles: []string{}, Now: time.Now()})
			return err
		})
		if !errors.Is(err, c.want) || !errors.Is(err, store.ErrConflict) {
			t.Fatalf("insert %s/%s: %v, want %v", c.username, c.email, err, c.want)
		}
	}
}

func TestUnreachableDatabaseIsErrUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.New(ctx, store.Config{URL: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ping: %v, want ErrUnavailable", err)
	}
	if _, err := st.UserGetByID(ctx, uuid.New()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("query: %v, want ErrUnavailable", err)
	}
}

func TestTxRollsBackOnError(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := st.Tx(ctx, func(q *store.Q) error {
		if _, err := q.UserInsert(ctx, store.NewUser{ID: uuid.New(), Username: "bob", Email: "bob@example.org", PasswordHash: "x", Roles: []string{}, Now: time.Now()}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want fn's error", err)
	}
	if _, err := st.UserGetByUsername(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user written by a rolled-back transaction: %v", err)
	}
}

// Concurrent revocations get distinct, gapless sequence numbers, one per
// revoked session, and the feed's counter ends at the highest.
func TestSessionRevokeNumbersEventsWithoutGaps(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	const users, perUser = 8, 3
	var wg sync.WaitGroup
	ids := make([]uuid.UUID, users)
	for i := range users {
		u := newUser(t, st, "user"+string(rune('a'+i)), "user"+string(rune('a'+i))+"@example.org")
		ids[i] = u.ID
		for range perUser {
			newSession(t, st, u.ID)
		}
	}
	now := time.Now()
	for _, id := range ids {
		wg.Go(func() {
			res, err := st.SessionRevoke(ctx, store.Revocation{UserID: id, Reason: "logout_all", At: now, EventExpiresAt: now.Add(time.Minute)})
			if err != nil || res.Revoked != perUser {
				t.Errorf("revoke: %+v %v", res, err)
			}
		})
	}
	wg.Wait()
	events := feedEvents(t, st)
	var seqs []int64
	for _, e := range events {
		seqs = append(seqs, e.Seq)
	}
	want := make([]int64, users*perUser)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(seqs, want) {
		t.Fatalf("seqs %v, want 1..%d", seqs, users*perUser)
	}
	last, err := st.RevocationFeedLastSeq(ctx)
	if err != nil || last != int64(users*perUser) {
		t.Fatalf("last_seq %d %v", last, err)
	}
	// A revocation that matches nothing uses no sequence number.
	res, err := st.SessionRevoke(ctx, store.Revocation{UserID: ids[0], Reason: "logout_all", At: now, EventExpiresAt: now.Add(time.Minute)})
	if err != nil || res.Revoked != 0 || res.LastSeq != 0 {
		t.Fatalf("empty revocation: %+v %v", res, err)
	}
	if last2, _ := st.RevocationFeedLastSeq(ctx); last2 != last {
		t.Fatalf("an empty revocation moved last_seq to %d", last2)
	}
}

func TestSessionRevokeFilters(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	u := newUser(t, st, "alice", "alice@example.org")
	a, b, c := newSession(t, st, u.ID), newSession(t, st, u.ID), newSession(t, st, u.ID)
	now := time.Now()
	rev := func(r store.Revocation) int {
		r.UserID, r.Reason, r.At, r.EventExpiresAt = u.ID, "test", now, now.Add(time.Minute)
		res, err := st.SessionRevoke(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return res.Revoked
	}
	hashOf := func(id uuid.UUID) []byte { h := make([]byte, 32); copy(h, id[:]); return h }
	other := newUser(t, st, "bob", "bob@example.org")
	if n := rev(store.Revocation{RefreshHash: hashOf(newSession(t, st, other.ID))}); n != 0 {
		t.Fatalf("revoked %d sessions of another user", n)
	}
	if n := rev(store.Revocation{SessionID: a}); n != 1 {
		t.Fatalf("by id: %d", n)
	}
	if n := rev(store.Revocation{RefreshHash: hashOf(b)}); n != 1 {
		t.Fatalf("by refresh token: %d", n)
	}
	d := newSession(t, st, u.ID)
	if n := rev(store.Revocation{ExceptSessionID: d}); n != 1 { // c only: a and b are already revoked
		t.Fatalf("all but one: %d", n)
	}
	for id, live := range map[uuid.UUID]bool{a: false, b: false, c: false, d: true} {
		s, err := st.SessionGetByID(ctx, id)
		if err != nil || (s.RevokedAt == nil) != live {
			t.Fatalf("session %s: %+v %v, want live=%v", id, s, err, live)
		}
	}
}

func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	u := newUser(t, st, "alice", "alice@example.org")
	live := newSession(t, st, u.ID) // expires in an hour
	now := time.Now()
	if err := st.EmailVerificationInsert(ctx, u.ID, make([]byte, 32), now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := st.SessionDeleteExpired(ctx, now, 10); err != nil || n != 0 {
		t.Fatalf("deleted %d live sessions (%v)", n, err)
	}
	if n, err := st.SessionDeleteExpired(ctx, now.Add(2*time.Hour), 10); err != nil || n != 1 {
		t.Fatalf("deleted %d expired sessions (%v), want 1", n, err)
	}
	if _, err := st.SessionGetByID(ctx, live); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session still there: %v", err)
	}
	if n, err := st.EmailVerificationDeleteExpired(ctx, now.Add(2*time.Hour), 10); err != nil || n != 1 {
		t.Fatalf("deleted %d verification tokens (%v), want 1", n, err)
	}
}

// Concurrent logouts share statements and still revoke exactly what each
// may: one event per session, gapless sequence numbers, no foreign session.
func TestRevokeForLogoutBatchesConcurrentLogouts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.New(t)
	if _, err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	counter := new(store.StatementCounter)
	st, err := store.New(ctx, store.Config{URL: url, Counter: counter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	type user struct {
		id      uuid.UUID
		caller  uuid.UUID
		victims []uuid.UUID
	}
	hashOf := func(id uuid.UUID) []byte { h := make([]byte, 32); copy(h, id[:]); return h }
	var users []user
	for _, name := range []string{"alice", "bob", "carol"} {
		u := newUser(t, st, name, name+"@example.org")
		us := user{id: u.ID, caller: newSession(t, st, u.ID)}
		for range 6 {
			us.victims = append(us.victims, newSession(t, st, u.ID))
		}
		users = append(users, us)
	}
	now := time.Now()
	type attempt struct {
		l           store.Logout
		wantCaller  bool
		wantRevoked bool // for the attempts that are not duplicates
		dupOf       int  // >0: same session as another attempt; exactly one of them revokes
	}
	var attempts []attempt
	for ui, u := range users {
		for _, v := range u.victims {
			attempts = append(attempts, attempt{l: store.Logout{UserID: u.id, CallerSessionID: u.caller, RefreshHash: hashOf(v)}, wantCaller: true, wantRevoked: true})
		}
		other := users[(ui+1)%len(users)]
		attempts = append(attempts,
			// another user's session: refused
			attempt{l: store.Logout{UserID: u.id, CallerSessionID: u.caller, RefreshHash: hashOf(other.victims[0])}, wantCaller: true},
			// a caller session that does not exist: nothing happens
			attempt{l: store.Logout{UserID: u.id, CallerSessionID: uuid.New(), RefreshHash: hashOf(u.victims[1])}},
			// the same session twice
			attempt{l: store.Logout{UserID: u.id, CallerSessionID: u.caller, RefreshHash: hashOf(u.victims[0])}, wantCaller: true, dupOf: 1},
		)
	}
	results := make([]store.LogoutResult, len(attempts))
	before := counter.Count()
	var wg sync.WaitGroup
	for i := range attempts {
		attempts[i].l.Reason, attempts[i].l.At, attempts[i].l.EventExpiresAt = "logout", now, now.Add(time.Minute)
		wg.Go(func() {
			r, err := st.RevokeForLogout(ctx, attempts[i].l)
			if err != nil {
				t.Errorf("logout %d: %v", i, err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	if n := counter.Count() - before; n >= int64(len(attempts)) {
		t.Errorf("%d statements for %d concurrent logouts: none shared", n, len(attempts))
	} else {
		t.Logf("%d statements for %d concurrent logouts", n, len(attempts))
	}
	revokedBySession := map[string]int{}
	for i, a := range attempts {
		r := results[i]
		if r.CallerLive != a.wantCaller {
			t.Errorf("attempt %d: caller live %v, want %v", i, r.CallerLive, a.wantCaller)
		}
		if r.Revoked {
			revokedBySession[string(a.l.RefreshHash)]++
		}
		if a.dupOf == 0 && !a.wantRevoked && r.Revoked {
			t.Errorf("attempt %d revoked a session it may not", i)
		}
	}
	if len(revokedBySession) != 18 {
		t.Fatalf("%d sessions revoked, want 18", len(revokedBySession))
	}
	for h, n := range revokedBySession {
		if n != 1 {
			t.Fatalf("session %x revoked by %d logouts", h[:4], n)
		}
	}
	events := feedEvents(t, st)
	if len(events) != 18 {
		t.Fatalf("%d events, want 18", len(events))
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
	for _, u := range users {
		if s, _ := st.SessionGetByID(ctx, u.caller); s.RevokedAt != nil {
			t.Fatal("a caller's own session was revoked")
		}
	}
}

// TestSessionCreateWaitsForAPasswordChangeInFlight: a password change that
// has updated the user row but not yet committed (and so not yet revoked
// the sessions) makes a session creation for the old hash wait, then create
// nothing.
func TestSessionCreateWaitsForAPasswordChangeInFlight(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	u := newUser(t, st, "alice", "alice@example.org")
	changed := make(chan struct{})
	release := make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- st.Tx(ctx, func(q *store.Q) error {
			if _, err := q.UserSetPasswordHash(ctx, u.ID, "$argon2id$new", time.Now()); err != nil {
				return err
			}
			close(changed)
			<-release
			return nil
		})
	}()
	<-changed
	created := make(chan error, 1)
	go func() {
		now := time.Now()
		_, err := st.SessionCreate(ctx, store.NewSession{ID: uuid.New(), UserID: u.ID, PasswordHash: u.PasswordHash, RefreshHash: make([]byte, 32), Now: now, ExpiresAt: now.Add(time.Hour)})
		created <- err
	}()
	select {
	case err := <-created:
		t.Fatalf("session creation did not wait for the password change: %v", err)
	case <-time.After(200 * time.Millisecond): // asserts that nothing happens for a while: PostgreSQL signals no lock wait
	}
	close(release)
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}
	if err := <-created; !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session creation after the change: %v, want ErrNotFound", err)
	}
}

func TestTxRunsAgainOnceAfterADeadlockOrSerializationFailure(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		code     string
		failures int
		wantRuns int
		wantErr  error
	}{
		{name: "serialization failure once", code: "40001", failures: 1, wantRuns: 2},
		{name: "deadlock once", code: "40P01", failures: 1, wantRuns: 2},
		{name: "deadlock twice", code: "40P01", failures: 2, wantRuns: 2, wantErr: store.ErrRetryable},
		{name: "another error", code: "23514", failures: 1, wantRuns: 1, wantErr: &pgconn.PgError{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs := 0
			username := "u" + strings.ReplaceAll(c.name, " ", "")
			err := st.Tx(ctx, func(q *store.Q) error {
				runs++
				if _, err := q.UserInsert(ctx, store.NewUser{ID: uuid.New(), Username: username, Email: username + "@example.org", PasswordHash: "x", Roles: []string{}, Now: time.Now()}); err != nil {
					return err
				}
				if runs <= c.failures {
					return fmt.Errorf("some statement: %w", &pgconn.PgError{Code: c.code})
				}
				return nil
			})
			if runs != c.wantRuns {
				t.Fatalf("fn ran %d times, want %d", runs, c.wantRuns)
			}
			switch want := c.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.UserGetByUsername(ctx, username); err != nil {
					t.Fatalf("the second run was not committed: %v", err)
				}
			case *pgconn.PgError:
				if !errors.As(err, &want) || errors.Is(err, store.ErrRetryable) {
					t.Fatalf("got %v, want the error unchanged", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("got %v, want %v", err, want)
				}
			}
		})
	}
}

func TestClosedPoolIsErrUnavailable(t *testing.T) {
	t.Parallel()
	st := setup(t)
	st.Close()
	if _, err := st.UserGetByID(context.Background(), uuid.New()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("query on a closed pool: %v, want ErrUnavailable", err)
	}
}

// TestSessionCreateAfterARoleChangeInFlightReturnsTheNewRoles: a role
// removal that has updated the user row but not yet committed makes a
// session creation wait; it then creates the session (the password is
// unchanged) and returns the roles as they are after the change.
func TestSessionCreateAfterARoleChangeInFlightReturnsTheNewRoles(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	u := newUser(t, st, "alice", "alice@example.org")
	if _, err := st.UserRoleAdd(ctx, u.ID, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	changed, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- st.Tx(ctx, func(q *store.Q) error {
			if _, err := q.UserRoleRemove(ctx, u.ID, "admin", time.Now()); err != nil {
				return err
			}
			close(changed)
			<-release
			return nil
		})
	}()
	<-changed
	type result struct {
		u   store.User
		err error
	}
	created := make(chan result, 1)
	go func() {
		now := time.Now()
		got, err := st.SessionCreate(ctx, store.NewSession{ID: uuid.New(), UserID: u.ID, PasswordHash: u.PasswordHash, RefreshHash: make([]byte, 32), Now: now, ExpiresAt: now.Add(time.Hour)})
		created <- result{got, err}
	}()
	select {
	case r := <-created:
		t.Fatalf("session creation did not wait for the role change: %+v", r)
	case <-time.After(200 * time.Millisecond): // asserts that nothing happens for a while: PostgreSQL signals no lock wait
	}
	close(release)
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}
	r := <-created
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !slices.Equal(r.u.Roles, []string{"patient"}) {
		t.Fatalf("roles returned %v, want [patient]", r.u.Roles)
	}
}

// Two transactions that lock two users in opposite orders deadlock;
// PostgreSQL aborts one, and Tx runs it again: both succeed.
func TestTxSurvivesARealDeadlock(t *testing.T) {
	t.Parallel()
	st := setup(t)
	ctx := context.Background()
	a := newUser(t, st, "alice", "alice@example.org")
	b := newUser(t, st, "bob", "bob@example.org")
	var firstLocks sync.WaitGroup
	firstLocks.Add(2)
	var runs [2]int
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, order := range [][2]uuid.UUID{{a.ID, b.ID}, {b.ID, a.ID}} {
		wg.Go(func() {
			errs[i] = st.Tx(ctx, func(q *store.Q) error {
				runs[i]++
				if _, err := q.UserRoleAdd(ctx, order[0], fmt.Sprintf("r%d", i), time.Now()); err != nil {
					return err
				}
				if runs[i] == 1 {
					firstLocks.Done()
					firstLocks.Wait() // both hold their first lock
				}
				_, err := q.UserRoleAdd(ctx, order[1], fmt.Sprintf("r%d", i), time.Now())
				return err
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if runs[0]+runs[1] != 3 {
		t.Fatalf("runs %v, want one transaction run twice", runs)
	}
	for _, id := range []uuid.UUID{a.ID, b.ID} {
		u, err := st.UserGetByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(u.Roles, "r0") || !slices.Contains(u.Roles, "r1") {
			t.Fatalf("%s has roles %v, want r0 and r1", u.Username, u.Roles)
		}
	}
}

// Login names from before skeletons (migration 00008) get theirs at the next
// migrate: of a look-alike pair, the first in name order; the other keeps
// working but none can register another look-alike of either.
func TestMigrateRecordsTheSkeletonsOfExistingLoginNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.New(t)
	if _, err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, name := range []string{"alice", "a1ice", "bob@example.org"} {
		id := uuid.New()
		if _, err := conn.Exec(ctx, `INSERT INTO users (id, username, email, password_hash, date_joined, updated_at) VALUES ($1, $2, $3, 'x', now(), now())`,
			id, name, id.String()+"@example.net"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO login_names (name, user_id) VALUES ($1, $2)`, name, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Migrate(ctx, url); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	var withSkeleton []string
	rows, err := conn.Query(ctx, `SELECT name FROM login_names WHERE skeleton IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		withSkeleton = append(withSkeleton, n)
	}
	if rows.Err() != nil || strings.Join(withSkeleton, " ") != "a1ice bob@example.org" {
		t.Fatalf("names with a skeleton %v (%v), want [a1ice bob@example.org]", withSkeleton, rows.Err())
	}
	st, err := store.New(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Tx(ctx, func(q *store.Q) error {
		_, err := q.UserInsert(ctx, store.NewUser{ID: uuid.New(), Username: "\u0430lice", Email: "new@example.org", PasswordHash: "x", Roles: []string{}, Now: time.Now()})
		return err
	})
	if !errors.Is(err, store.ErrUsernameTaken) {
		t.Fatalf("a Cyrillic look-alike of alice and a1ice: %v, want ErrUsernameTaken", err)
	}
}
