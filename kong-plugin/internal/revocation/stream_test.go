package revocation

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/e2e/issuerproc"
	"github.com/medinsights/auth/internal/testlog"
)

// TestSyncerFallsBackToLongPollWithoutAStream: against an issuer from before
// the stream (404 for its path), the Syncer long-polls, keeps every promise
// of the long poll, and says so in its log once, however often it tries
// the stream again.
func TestSyncerFallsBackToLongPollWithoutAStream(t *testing.T) {
	t.Parallel()
	f := newFakeFeed(t)
	f.add(future(), sid(1))
	var log testlog.Buffer
	s, err := New(Options{URL: f.url(), Token: f.token, MaxStaleness: 30 * time.Second, Logger: slog.New(slog.NewTextHandler(&log, nil)), Hooks: f.progress.hooks()})
	if err != nil {
		t.Fatal(err)
	}
	s.backoffBase, s.backoffCap = 10*time.Millisecond, 80*time.Millisecond
	s.noStreamRetry = 0 // try the stream before every long poll
	s.Start()
	t.Cleanup(s.Close)

	f.progress.await(t, "fresh from the long poll", synced(s))
	f.add(future(), sid(2))
	f.progress.await(t, "the delta through the long poll", func() bool { return s.Revoked(sid(2), time.Now()) })
	f.progress.await(t, "the stream tried again", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.streamRequests >= 3
	})
	if n := strings.Count(log.String(), "no revocation stream"); n != 1 {
		t.Errorf("the fallback was logged %d times, want once:\n%s", n, log.String())
	}
	if r := f.log(); r[0].after != 0 || r[0].wait != 0 || r[1].after != 1 || r[1].wait != 0 {
		t.Errorf("long polls began after=%d wait=%d, after=%d wait=%d; want the snapshot, then the read that makes it fresh", r[0].after, r[0].wait, r[1].after, r[1].wait)
	}
}

// TestSyncerStreamHeartbeatsKeepItFresh: following the real issuer's stream
// with no revocation committed, the Syncer's LastSync still moves forward,
// heartbeat after heartbeat, and stays within the staleness bound.
func TestSyncerStreamHeartbeatsKeepItFresh(t *testing.T) {
	t.Parallel()
	db := issuerproc.NewDatabase(t)
	is := db.Start(t)
	beats := make(chan time.Time, 64)
	var log testlog.Buffer
	s, err := New(Options{
		URL: is.FeedURL(), Token: db.FeedToken, MaxStaleness: 3 * time.Second, // heartbeats every second
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
		OnApplied: func(events []Event, now time.Time) {
			if events == nil {
				select {
				case beats <- now:
				default: // the test has read all it needs
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Close)

	var fresh []time.Time // LastSync after each message with no event
	deadline := time.After(20 * time.Second)
	for len(fresh) < 4 {
		select {
		case now := <-beats:
			last := s.lastSyncTime()
			if last.IsZero() {
				continue // the snapshot
			}
			if age := now.Sub(last); age > 3*time.Second {
				t.Errorf("a heartbeat left LastSync %v old, beyond the 3 s bound", age)
			}
			fresh = append(fresh, last)
		case <-deadline:
			t.Fatalf("%d heartbeats in 20 s, want 4", len(fresh))
		}
	}
	if !fresh[3].After(fresh[0]) {
		t.Errorf("LastSync did not move over 4 heartbeats: %v", fresh)
	}
	if s.Len() != 0 {
		t.Errorf("Len = %d with nothing revoked", s.Len())
	}
	if strings.Contains(log.String(), "no revocation stream") || strings.Contains(log.String(), "unreachable") {
		t.Errorf("the Syncer did not follow the stream:\n%s", log.String())
	}
}
