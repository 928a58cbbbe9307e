package plugin

import (
	"time"

	"github.com/medinsights/auth/kong-plugin/internal/revocation"
)

// revocationChecker is what the plugin needs from the revocation syncer of
// issue 4: one per feed per process, shared by every instance naming it,
// kept in sync in the background. Neither method may wait on the network.
type revocationChecker interface {
	// Revoked reports whether the session sid is revoked at now.
	Revoked(sid string, now time.Time) bool
	// LastSync is the time of the last successful sync with the feed; zero
	// before the first one.
	LastSync() time.Time
}

var _ revocationChecker = (*revocation.Syncer)(nil)

// newRevocationChecker is the seam where a configuration obtains the
// process-wide syncer of its revocation feed.
func newRevocationChecker(url, token string, maxStaleness time.Duration) revocationChecker {
	s := revocation.Shared(revocation.Options{
		URL: url, Token: token, MaxStaleness: maxStaleness, Logger: logger,
		OnApplied: metrics.revocationsApplied,
	})
	metrics.followFeed(s, url, maxStaleness)
	return s
}
