// Package sleep holds the one pause the plugin's background workers (the
// JWKS fetcher and the revocation syncer) take between attempts.
package sleep

import (
	"context"
	"time"
)

// For waits for d, or until ctx ends, whichever comes first.
func For(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
