package revocation

import (
	"testing"
	"time"
)

// signalTimeout bounds every wait of these tests. It only bounds a failing
// test: a passing one goes on the moment the signal it waits for fires.
const signalTimeout = 10 * time.Second

// signal wakes a test each time a Syncer hook or the fake feed reaches a
// point the test may wait on. It holds at most one pending wake: firings
// coalesce, and a waiter checks its condition again after each wake, so a
// firing between a check and the wait is never lost.
type signal chan struct{}

func newSignal() signal { return make(signal, 1) }

// fire wakes the waiter; it never blocks.
func (s signal) fire() {
	select {
	case s <- struct{}{}:
	default: // a wake is pending already
	}
}

// hooks makes every Syncer hook fire s.
func (s signal) hooks() Hooks {
	return Hooks{Applied: s.fire, Failed: func(error) { s.fire() }, Stopped: s.fire}
}

// until reports whether cond held within signalTimeout, checking it at once
// and again each time s fires. Everything cond reads must change only before
// a firing of s.
func (s signal) until(cond func() bool) bool {
	timeout := time.NewTimer(signalTimeout)
	defer timeout.Stop()
	for !cond() {
		select {
		case <-s:
		case <-timeout.C:
			return cond()
		}
	}
	return true
}

// await fails t unless cond holds within signalTimeout (see until). Call it
// from the test's goroutine only.
func (s signal) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !s.until(cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// receive returns the next value sent on ch, failing t unless one comes
// within signalTimeout. Call it from the test's goroutine only.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(signalTimeout):
	}
	t.Fatalf("timed out waiting for %s", what)
	var zero T
	return zero
}
