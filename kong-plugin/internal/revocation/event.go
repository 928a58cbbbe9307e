package revocation

import "time"

// Event is one revocation as the Syncer applied it from the feed, given to
// Options.OnApplied.
type Event struct {
	Seq       int64
	SessionID string // the canonical lower-case UUID (the token's "sid")
	ExpiresAt time.Time
	// CommittedAt is when the issuer's revoking transaction committed (the
	// feed's committed_at_us); zero when the issuer did not send it. The
	// propagation lag of the event is the time it was applied less this,
	// across the two hosts' clocks.
	CommittedAt time.Time
}
