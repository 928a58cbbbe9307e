package revocation

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medinsights/auth/internal/testlog"
)

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// sid returns a distinct session id for n.
func sid(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }

// startSyncer follows f with short backoffs, its hooks firing f.progress,
// and stops when the test ends.
func startSyncer(t *testing.T, f *fakeFeed, maxStaleness time.Duration) *Syncer {
	t.Helper()
	s, err := New(Options{URL: f.url(), Token: f.token, MaxStaleness: maxStaleness, Logger: discardLog, Hooks: f.progress.hooks()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.backoffBase, s.backoffCap = 10*time.Millisecond, 80*time.Millisecond
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func synced(s *Syncer) func() bool { return func() bool { return !s.LastSync().IsZero() } }

func future() int64 { return time.Now().Add(15 * time.Minute).Unix() }

func TestSyncerLoadsSnapshotThenFollowsDeltas(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	f.add(future(), sid(1), sid(2))
	s := startSyncer(t, f, 30*time.Second)

	f.progress.await(t, "the first snapshot", synced(s))
	now := time.Now()
	for n, want := range map[int]bool{1: true, 2: true, 3: false} {
		if got := s.Revoked(sid(n), now); got != want {
			t.Errorf("after the snapshot, Revoked(%s) = %v, want %v", sid(n), got, want)
		}
	}

	f.add(future(), sid(3))
	f.progress.await(t, "the delta revoking sid 3", func() bool { return s.Revoked(sid(3), time.Now()) })
	if got := s.Len(); got != 3 {
		t.Errorf("Len = %d, want 3", got)
	}

	log := f.log()
	if len(log) < 3 {
		t.Fatalf("feed saw %d requests, want at least 3", len(log))
	}
	// The snapshot, the read at once that makes it fresh, then long polls.
	want := []fakeRequest{{after: 0, wait: 0}, {after: 2, wait: 0}, {after: 2, wait: 10}}
	for i, w := range want {
		if log[i].after != w.after || log[i].wait != w.wait {
			t.Errorf("request %d: after=%d wait=%d, want after=%d wait=%d", i, log[i].after, log[i].wait, w.after, w.wait)
		}
		if log[i].auth != "Bearer "+f.token {
			t.Errorf("request %d: Authorization %q, want the feed token", i, log[i].auth)
		}
	}
	if !s.Revoked(strings.ToUpper(sid(1)), now) {
		t.Error("an upper-case sid is the same session")
	}
}

func TestSyncerLongPollsAnEmptyFeed(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	s := startSyncer(t, f, 6*time.Second)
	f.progress.await(t, "the empty snapshot", synced(s))
	f.progress.await(t, "a long poll after the empty snapshot", func() bool { return len(f.log()) >= 3 })
	if r := f.log()[2]; r.after != 0 || r.wait != 2 {
		t.Errorf("third request: after=%d wait=%d, want after=0 wait=2 (a third of the bound)", r.after, r.wait)
	}
	f.add(future(), sid(7))
	f.progress.await(t, "the first event of an empty feed", func() bool { return s.Revoked(sid(7), time.Now()) })
}

// TestSyncerFreshOnlyAfterAReadFollowingTheSnapshot: the feed may answer a
// snapshot from a database read shared with other gateways, begun before a
// revocation committed. LastSync stays zero until a read sent after the
// snapshot loaded has been answered, so the caller's staleness rule covers
// the gap.
func TestSyncerFreshOnlyAfterAReadFollowingTheSnapshot(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	f.add(future(), sid(1))
	f.add(future(), sid(2)) // committed before the syncer starts, missing from the stale snapshot
	f.setOverride(func(after int64) (string, bool) {
		if len(f.requests) != 1 {
			return "", false
		}
		f.failures = append(f.failures, 503, 503, 503) // serve holds f.mu here
		return `{"cursor": 1, "snapshot": true, "events": [{"seq": 1, "sid": "` + sid(1) + `", "expires_at": 9999999999}]}`, true
	})
	s := startSyncer(t, f, 30*time.Second)
	f.progress.await(t, "the stale snapshot and a failed read after it", func() bool { return len(f.log()) >= 3 })
	if last := s.LastSync(); !last.IsZero() {
		t.Fatalf("LastSync = %v after only a snapshot: the set lacks sid 2 yet looks fresh", last)
	}
	if !s.Revoked(sid(1), time.Now()) {
		t.Error("the snapshot is not applied")
	}
	f.progress.await(t, "fresh", synced(s))
	if !s.Revoked(sid(2), time.Now()) {
		t.Error("fresh without the revocation the snapshot missed")
	}
	log := f.log()
	for i, r := range log[1:4] {
		if r.after != 1 || r.wait != 0 {
			t.Errorf("request %d: after=%d wait=%d, want after=1 wait=0 (the read that makes the snapshot fresh)", i+1, r.after, r.wait)
		}
	}
}

// TestSyncerNotFreshAfterAFullPage: a full page ("more") holds the events up
// to its cursor, not every one committed before the request, so it does not
// move LastSync; the next answer that is complete does.
func TestSyncerNotFreshAfterAFullPage(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	s := startSyncer(t, f, time.Second) // polls four times a second
	f.progress.await(t, "fresh on the empty feed", synced(s))
	fired := false
	f.setOverride(func(after int64) (string, bool) {
		if fired || f.lastSeq < 2 {
			return "", false
		}
		fired = true
		for range 20 { // serve holds f.mu here
			f.failures = append(f.failures, 503)
		}
		return `{"cursor": 1, "snapshot": false, "more": true, "events": [{"seq": 1, "sid": "` + sid(1) + `", "expires_at": 9999999999}]}`, true
	})
	f.add(future(), sid(1), sid(2)) // both committed before the request given the full page
	committed := time.Now()
	f.progress.await(t, "the full page applied", func() bool { return s.Revoked(sid(1), time.Now()) })
	if last := s.LastSync(); !last.Before(committed) {
		t.Fatalf("LastSync = %v after a full page, after the commit (by %v) of a revocation it lacks", last, committed)
	}
	if s.Revoked(sid(2), time.Now()) {
		t.Fatal("sid 2 revoked from a page that did not list it")
	}
	f.progress.await(t, "fresh after the failures", func() bool { return s.LastSync().After(committed) })
	if !s.Revoked(sid(2), time.Now()) {
		t.Error("fresh without the revocation after the full page")
	}
}

func TestSyncerExpiry(t *testing.T) {
	t.Parallel()
	now := time.Now().Unix()
	tests := []struct {
		name        string
		expiresAt   int64
		at          int64 // when Revoked is asked
		wantRevoked bool
	}{
		{name: "alive", expiresAt: now + 900, at: now, wantRevoked: true},
		{name: "expired within the grace", expiresAt: now - 10, at: now, wantRevoked: true},
		// A gateway with clock_skew_seconds 300 accepts a token until exp +
		// 300 s, and exp is at most the event's expires_at.
		{name: "expired 299 s ago: a 300 s skew still accepts its tokens", expiresAt: now - 299, at: now, wantRevoked: true},
		{name: "expired 359 s ago: widest skew plus the minute of margin", expiresAt: now - 359, at: now, wantRevoked: true},
		{name: "expired 360 s ago", expiresAt: now - 360, at: now, wantRevoked: false},
		{name: "last second of the grace", expiresAt: now + 900, at: now + 900 + expiryGrace - 1, wantRevoked: true},
		{name: "grace over", expiresAt: now + 900, at: now + 900 + expiryGrace, wantRevoked: false},
		{name: "expired long ago", expiresAt: now - 3600, at: now, wantRevoked: false},
	}
	f := newFakeFeed(t)
	for i, tt := range tests {
		f.add(tt.expiresAt, sid(i))
	}
	s := startSyncer(t, f, 30*time.Second)
	f.progress.await(t, "the snapshot", synced(s))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Revoked(sid(i), time.Unix(tt.at, 0)); got != tt.wantRevoked {
				t.Errorf("Revoked = %v, want %v", got, tt.wantRevoked)
			}
		})
	}
	if got := s.Len(); got != len(tests)-2 {
		t.Errorf("Len = %d, want %d: an event expired before the grace must not be held", got, len(tests)-2)
	}

	f.add(now-3600, sid(100)) // a delta that is already dead is not held either
	f.add(future(), sid(101))
	f.progress.await(t, "the delta", func() bool { return s.Revoked(sid(101), time.Now()) })
	if _, held := s.state.Load().expiresAt(mustSID(t, sid(100))); held {
		t.Error("a delta event expired past the grace is held")
	}
}

func TestSyncerBacksOffAfterErrors(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	f.add(future(), sid(1))
	f.fail(500, 502, 503, 500, 500)
	s := startSyncer(t, f, 30*time.Second)

	f.progress.await(t, "recovery after five failures", synced(s))
	if !s.Revoked(sid(1), time.Now()) {
		t.Error("after recovery the snapshot is not loaded")
	}
	log := f.log()
	if len(log) < 6 {
		t.Fatalf("feed saw %d requests, want 6 (five failures, then the snapshot)", len(log))
	}
	for i := 1; i < 6; i++ {
		if log[i].after != 0 {
			t.Errorf("request %d: after=%d, want 0 until a snapshot has loaded", i, log[i].after)
		}
		gap := log[i].at.Sub(log[i-1].at)
		// Equal jitter: at least half of min(cap, base * 2^(n-1)).
		floor := min(s.backoffBase<<(i-1), s.backoffCap) / 2
		if gap < floor {
			t.Errorf("pause before retry %d = %v, want at least %v", i, gap, floor)
		}
		if gap > 2*time.Second {
			t.Errorf("pause before retry %d = %v, want it capped near %v", i, gap, s.backoffCap)
		}
	}
}

func TestSyncerBackoffSchedule(t *testing.T) {
	t.Parallel()
	s := &Syncer{backoffBase: 100 * time.Millisecond, backoffCap: 5 * time.Second}
	for n := 1; n <= 100; n++ {
		d := min(s.backoffBase<<min(n-1, 30), s.backoffCap)
		for range 20 {
			if got := s.backoff(n); got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, got, d/2, d)
			}
		}
	}
}

func TestSyncerRefusedCredentialNeverSyncs(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	f.add(future(), sid(1))
	failures := make(chan error, 64)
	s, err := New(Options{URL: f.url(), Token: "not-the-feed-token", Logger: discardLog, Hooks: Hooks{Failed: func(err error) {
		select {
		case failures <- err:
		default: // the test has read all it needs
		}
	}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.backoffBase, s.backoffCap = time.Millisecond, 5*time.Millisecond
	s.Start()
	t.Cleanup(s.Close)

	for i := range 3 {
		if err := receive(t, "a refused attempt", failures); !strings.Contains(err.Error(), "feed refused the credential (status 401)") {
			t.Errorf("attempt %d failed with %q, want the refused credential reported", i+1, err)
		}
	}
	if !s.LastSync().IsZero() {
		t.Errorf("LastSync = %v after 401s, want zero", s.LastSync())
	}
	if s.Revoked(sid(1), time.Now()) {
		t.Error("Revoked is true with no snapshot")
	}
}

func TestSyncerSnapshotReplacesTheSet(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	f.add(future(), sid(1), sid(2))
	s := startSyncer(t, f, 30*time.Second)
	f.progress.await(t, "the first snapshot", func() bool { return s.Revoked(sid(2), time.Now()) })

	// The feed starts over (a new database): the syncer's cursor 2 is
	// unknown to it, so it answers a snapshot holding only sid 3.
	f.reset()
	f.add(future(), sid(3))
	f.progress.await(t, "the second snapshot", func() bool { return s.Revoked(sid(3), time.Now()) })
	for _, n := range []int{1, 2} {
		if s.Revoked(sid(n), time.Now()) {
			t.Errorf("sid %d survived a snapshot that no longer lists it", n)
		}
	}
	if got := s.Len(); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}
}

func TestSyncerRefusesAnswersThatBreakTheContract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// body answers the first request that has this after (once).
		after int64
		body  string
		// wantAfterNext is the cursor of the request that follows it.
		wantAfterNext int64
		notRevoked    string
	}{
		{
			name:          "first answer not a snapshot",
			after:         0,
			body:          `{"cursor": 5, "snapshot": false, "events": [{"seq": 5, "sid": "` + sid(50) + `", "expires_at": 9999999999}]}`,
			wantAfterNext: 0,
			notRevoked:    sid(50),
		},
		{
			name:          "delta cursor goes back",
			after:         1,
			body:          `{"cursor": 0, "snapshot": false, "events": []}`,
			wantAfterNext: 0,
		},
		{
			name:          "event past the cursor",
			after:         1,
			body:          `{"cursor": 2, "snapshot": false, "events": [{"seq": 3, "sid": "` + sid(51) + `", "expires_at": 9999999999}]}`,
			wantAfterNext: 1,
			notRevoked:    sid(51),
		},
		{
			name:          "sid not a UUID",
			after:         1,
			body:          `{"cursor": 2, "snapshot": false, "events": [{"seq": 2, "sid": "session-2", "expires_at": 9999999999}]}`,
			wantAfterNext: 1,
		},
		{
			name:          "cursor missing",
			after:         1,
			body:          `{"snapshot": false, "events": []}`,
			wantAfterNext: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeFeed(t)
			f.add(future(), sid(1))
			firedAt := -1 // index in the feed's log of the request given the bad answer
			f.setOverride(func(after int64) (string, bool) {
				if firedAt >= 0 || after != tt.after || (tt.after != 0 && len(f.requests) == 1) {
					return "", false
				}
				firedAt = len(f.requests) - 1 // serve holds f.mu here
				return tt.body, true
			})
			s := startSyncer(t, f, 3*time.Second)
			f.progress.await(t, "the request after the bad answer", func() bool {
				f.mu.Lock()
				defer f.mu.Unlock()
				return firedAt >= 0 && len(f.requests) > firedAt+1
			})
			f.mu.Lock()
			next := f.requests[firedAt+1]
			f.mu.Unlock()
			if next.after != tt.wantAfterNext {
				t.Errorf("after the bad answer the syncer asked after=%d, want %d", next.after, tt.wantAfterNext)
			}
			f.progress.await(t, "a good sync", func() bool { return s.Revoked(sid(1), time.Now()) })
			if tt.notRevoked != "" && s.Revoked(tt.notRevoked, time.Now()) {
				t.Errorf("an event from the refused answer was applied")
			}
		})
	}
}

func TestSyncerRefusesRedirects(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	f.add(future(), sid(1))
	redirect := httptest.NewServer(http.RedirectHandler(f.url(), http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)

	s, err := New(Options{URL: redirect.URL + "/feed", Token: f.token, Logger: discardLog})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p, err := s.fetch(t.Context(), 0, 0)
	if err == nil || !strings.Contains(err.Error(), "status 307") {
		t.Fatalf("fetch through a redirect = %+v, %v; want the 307 reported", p, err)
	}
	if n := len(f.log()); n != 0 {
		t.Errorf("the feed credential followed the redirect (%d requests)", n)
	}
	s.Close()
}

func TestForSharesOneSyncerPerFeed(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	a := Shared(Options{URL: f.url(), Token: f.token, MaxStaleness: 30 * time.Second, Logger: discardLog, Hooks: f.progress.hooks()})
	b := For(f.url(), f.token, 9*time.Second, discardLog)
	if a != b {
		t.Fatal("two instances naming one feed and token got two syncers")
	}
	if got := a.waitSeconds.Load(); got != 3 {
		t.Errorf("wait = %d s, want 3 (a third of the shortest bound)", got)
	}
	c := For(f.url(), "another-token", 30*time.Second, discardLog)
	if c == a {
		t.Error("a different token shares the syncer")
	}
	t.Cleanup(func() { // before the feed closes, which waits for their long polls
		forget(f.url(), f.token)
		forget(f.url(), "another-token")
	})
	f.progress.await(t, "the shared syncer's snapshot", synced(a))

	bad := For("ftp://issuer/feed", "token", 30*time.Second, discardLog)
	if !bad.LastSync().IsZero() || bad.Revoked(sid(1), time.Now()) {
		t.Error("a syncer for an unusable URL must stay unsynced")
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		wantErr bool
	}{
		{url: "http://issuer:8001/api/auth/revocations/"},
		{url: "https://auth.example.org/api/auth/revocations"},
		{url: "", wantErr: true},
		{url: "issuer:8001/api/auth/revocations/", wantErr: true},
		{url: "/api/auth/revocations/", wantErr: true},
		{url: "ftp://issuer/revocations", wantErr: true},
		{url: "http://user:secret@issuer/revocations", wantErr: true},
		{url: "http://issuer/revocations#x", wantErr: true},
		{url: "http://issuer/%zz", wantErr: true},
	}
	for _, tt := range tests {
		if err := CheckURL(tt.url); (err != nil) != tt.wantErr {
			t.Errorf("CheckURL(%q) = %v, want error %v", tt.url, err, tt.wantErr)
		}
	}
	if _, err := New(Options{URL: "http://issuer/feed"}); err == nil {
		t.Error("New with no token succeeded")
	}
}

func TestWaitFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bound time.Duration
		want  int64
	}{
		{bound: 0, want: 10},
		{bound: 30 * time.Second, want: 10},
		{bound: 5 * time.Minute, want: 25},
		{bound: 4 * time.Second, want: 1},
		{bound: 3 * time.Second, want: 1},
		{bound: 2999 * time.Millisecond, want: 0},
		{bound: time.Second, want: 0},
	}
	for _, tt := range tests {
		if got := waitFor(tt.bound); got != tt.want {
			t.Errorf("waitFor(%v) = %d, want %d", tt.bound, got, tt.want)
		}
	}
}

func mustSID(t *testing.T, s string) sessionID {
	t.Helper()
	id, ok := parseSessionID(s)
	if !ok {
		t.Fatalf("parseSessionID(%q) failed", s)
	}
	return id
}

// forget stops and removes a syncer of For; in production they live as long
// as the process.
func forget(url, token string) {
	registry.Lock()
	defer registry.Unlock()
	if s, ok := registry.syncers[registryKey{url, token}]; ok {
		s.Close()
		delete(registry.syncers, registryKey{url, token})
	}
}

func TestSyncerStopsWhenItsFailingFeedIsUnused(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	f.add(future(), sid(1))
	stopped := make(chan struct{}, 1)
	hooks := f.progress.hooks()
	hooks.Stopped = func() { stopped <- struct{}{} }
	s, err := New(Options{URL: f.url(), Token: "a-rotated-away-token", Logger: discardLog, Hooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	s.backoffBase, s.backoffCap, s.idleAfter = time.Millisecond, 5*time.Millisecond, 50*time.Millisecond
	s.Start()
	t.Cleanup(s.Close)

	receive(t, "the unused, failing syncer to stop", stopped)
	if s.running.Load() {
		t.Fatal("the syncer said it stopped but still counts as running")
	}
	n := len(f.log())
	time.Sleep(50 * time.Millisecond) // asserts that nothing happens for a while: no signal marks a request not sent
	if got := len(f.log()); got != n {
		t.Errorf("a stopped syncer sent %d more requests", got-n)
	}
	if !s.LastSync().IsZero() { // a use: it starts again
		t.Error("LastSync is set with no successful sync")
	}
	f.progress.await(t, "requests after the syncer is used again", func() bool { return len(f.log()) > n })
}

func TestSyncerKeepsFollowingAHealthyFeedWhenUnused(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	s, err := New(Options{URL: f.url(), Token: f.token, MaxStaleness: 3 * time.Second, Logger: discardLog, Hooks: f.progress.hooks()})
	if err != nil {
		t.Fatal(err)
	}
	s.idleAfter = 0 // would stop at once if it were failing
	s.Start()
	t.Cleanup(s.Close)
	// Nothing below marks the syncer used: lastSyncTime, Revoked and Len
	// do not, and a stop for lack of use would come after a sync, before
	// the syncer's next request.
	f.progress.await(t, "fresh", func() bool { return !s.lastSyncTime().IsZero() })
	f.progress.await(t, "a long poll after the snapshot", func() bool { return slices.ContainsFunc(f.log(), func(r fakeRequest) bool { return r.wait > 0 }) })
	f.add(future(), sid(1))
	f.progress.await(t, "an event for the unused syncer", func() bool { return s.Revoked(sid(1), time.Now()) })
	f.progress.await(t, "a request for what follows the event", func() bool { return slices.ContainsFunc(f.log(), func(r fakeRequest) bool { return r.after == 1 }) })
	if !s.running.Load() {
		t.Error("a healthy syncer stopped for lack of use")
	}
}

func TestSyncerPollsUnderAShortBound(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	s := startSyncer(t, f, time.Second) // a third is under the feed's 1 s unit
	f.progress.await(t, "the snapshot", synced(s))
	f.add(future(), sid(1))
	f.progress.await(t, "the event", func() bool { return s.Revoked(sid(1), time.Now()) })
	// The request after the one that brought the event may be sent at once;
	// every one after that follows an empty answer, so after emptyPause.
	n := len(f.log())
	f.progress.await(t, "three polls after the event", func() bool { return len(f.log()) >= n+4 })
	log := f.log()
	for _, r := range log {
		if r.wait != 0 {
			t.Fatalf("a request asked wait=%d under a 1 s bound", r.wait)
		}
	}
	for i := n + 1; i <= n+3; i++ { // polling, not spinning: about four requests a second
		if gap := log[i].at.Sub(log[i-1].at); gap < emptyPause {
			t.Errorf("poll %d came %v after the one before, want at least %v: the syncer spins", i, gap, emptyPause)
		}
	}
	// Each answer moves LastSync to when its poll was sent: poll n+3 went
	// after the answer to n+2, sent after the feed had answered n+1.
	if last := s.lastSyncTime(); !last.After(log[n+1].at) {
		t.Errorf("LastSync = %v, before poll %d reached the feed (%v): the polls do not keep the set fresh", last, n+1, log[n+1].at)
	}
}

// panickingTransport panics on its first n round trips, then sends the
// request on.
type panickingTransport struct {
	left atomic.Int32
}

func (p *panickingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.left.Add(-1) >= 0 {
		panic("injected panic in the feed client")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestSyncerRecoversFromAPanic: a panic in the syncer's goroutine is logged
// and the syncer follows the feed again, instead of killing the plugin
// server or leaving the set to go stale.
func TestSyncerRecoversFromAPanic(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	f.add(future(), sid(1))
	var logs testlog.Buffer
	tr := &panickingTransport{}
	tr.left.Store(3)
	s, err := New(Options{URL: f.url(), Token: f.token, MaxStaleness: 30 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Client: &http.Client{Transport: tr}, Hooks: f.progress.hooks()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.backoffBase, s.backoffCap = 10*time.Millisecond, 80*time.Millisecond
	s.Start()
	t.Cleanup(s.Close)

	f.progress.await(t, "a sync after three panics", synced(s))
	if !s.Revoked(sid(1), time.Now()) {
		t.Error("the snapshot is not applied after the panics")
	}
	if n := strings.Count(logs.String(), "panic in the revocation syncer; restarting it"); n != 3 {
		t.Errorf("%d panic log lines, want 3:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "injected panic in the feed client") {
		t.Errorf("the log lacks the panic value:\n%s", logs.String())
	}
}
