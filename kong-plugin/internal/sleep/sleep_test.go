package sleep_test

import (
	"context"
	"testing"
	"time"

	"github.com/medinsights/auth/kong-plugin/internal/sleep"
)

func TestForEndsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() { sleep.For(ctx, time.Hour); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("For outlived its context")
	}
}

func TestForWaitsItsDuration(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sleep.For(context.Background(), 20*time.Millisecond)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("For returned after %v, want at least 20ms", d)
	}
}
