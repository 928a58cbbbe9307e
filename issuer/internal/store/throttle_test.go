package store_test

import (
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/store"
)

func counterKey(s string) []byte { sum := sha256.Sum256([]byte(s)); return sum[:] }

// counterHits reads a counter's hits straight from the table.
func counterHits(t *testing.T, url string, key []byte) int {
	t.Helper()
	var n int
	if err := issuertest.QueryRow(t, url, "SELECT hits FROM throttle_counters WHERE key = $1", &n, key); err != nil {
		t.Fatal(err)
	}
	return n
}

// A rate limit holds under concurrency: of twenty hits at once on a
// counter that allows one, exactly one is counted; and a hit refused on
// one counter is not counted on the others.
func TestThrottleCounterHitRateLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	st, url := setupWithURL(t)
	ctx, now := context.Background(), time.Now().Truncate(time.Second)
	once := store.ThrottleRule{MaxHits: 1, Period: time.Minute, Delay: time.Minute, MaxDelay: time.Minute}
	daily := store.ThrottleRule{MaxHits: 5, Period: 24 * time.Hour, Delay: 24 * time.Hour, MaxDelay: 24 * time.Hour}
	hits := []store.ThrottleHit{{Key: counterKey("minute"), Rule: once}, {Key: counterKey("day"), Rule: daily}}
	var wg sync.WaitGroup
	results := make(chan bool, 20)
	for range cap(results) {
		wg.Go(func() {
			counted, _, err := st.ThrottleCounterHit(ctx, hits, false, now)
			if err != nil {
				t.Error(err)
			}
			results <- counted
		})
	}
	wg.Wait()
	close(results)
	n := 0
	for counted := range results {
		if counted {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d hits counted, want 1", n)
	}
	counted, until, err := st.ThrottleCounterHit(ctx, hits, false, now.Add(time.Second))
	if err != nil || counted || !until.Equal(now.Add(time.Minute)) {
		t.Fatalf("a hit while blocked: counted %v, blocked until %v (%v), want refused until a minute after the first", counted, until, err)
	}
	// A concurrent hit may count on the daily counter while losing on the
	// minute's (it saw no block before the statement); the refusals that
	// saw the block count nowhere.
	if n := counterHits(t, url, counterKey("day")); n >= cap(results) {
		t.Fatalf("the daily counter has %d hits: refused hits were counted on it", n)
	}
}

// A failure counter (always) counts every hit, blocks at max_hits for
// delay, doubling per further hit up to max_delay, and starts again once
// forgotten.
func TestThrottleCounterHitBlocksAndDoubles(t *testing.T) {
	t.Parallel()
	st, url := setupWithURL(t)
	ctx, now := context.Background(), time.Now().Truncate(time.Second)
	rule := store.ThrottleRule{MaxHits: 3, Period: 10 * time.Minute, Delay: time.Minute, MaxDelay: 3 * time.Minute}
	hit := []store.ThrottleHit{{Key: counterKey("pair"), Rule: rule}}
	blocked := func(at time.Time) time.Duration {
		t.Helper()
		until, err := st.ThrottleCounterBlocked(ctx, [][]byte{counterKey("pair")}, at)
		if err != nil {
			t.Fatal(err)
		}
		return until.Sub(at)
	}
	for i, want := range []time.Duration{0, 0, time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		if _, _, err := st.ThrottleCounterHit(ctx, hit, true, now); err != nil {
			t.Fatal(err)
		}
		if got := blocked(now); got != want {
			t.Fatalf("after hit %d: blocked for %v, want %v", i+1, got, want)
		}
	}
	// Forgotten one period after the block ends: the next hit is the first.
	now = now.Add(3*time.Minute + rule.Period)
	if _, _, err := st.ThrottleCounterHit(ctx, hit, true, now); err != nil {
		t.Fatal(err)
	}
	if n := counterHits(t, url, counterKey("pair")); n != 1 || blocked(now) != 0 {
		t.Fatalf("after the counter expired: %d hits, want 1 and no block", n)
	}
}
