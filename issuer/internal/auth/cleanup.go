package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medinsights/auth/issuer/internal/store"
)

// expiredGrace is how long after expiry a session, a verification or reset
// token or a device token is kept before Cleanup deletes it.
const expiredGrace = 24 * time.Hour

// Cleaned counts what one Cleanup deleted.
type Cleaned struct {
	Sessions, Verifications, Resets, DeviceTokens, ThrottleCounters, UnverifiedAccounts int64
}

func (c Cleaned) total() int64 {
	return c.Sessions + c.Verifications + c.Resets + c.DeviceTokens + c.ThrottleCounters + c.UnverifiedAccounts
}

// Cleanup deletes, in batches, sessions (with their refresh tokens),
// verification, reset and device tokens that expired more than a day ago,
// throttle counters past their expiry, and accounts still unverified past
// their deadline (UnverifiedAccountTTL after registration), which frees
// their usernames and addresses. Revocation events are pruned by the feed,
// audit rows by PruneAudit.
func (s *Service) Cleanup(ctx context.Context) (Cleaned, error) {
	var c Cleaned
	now := s.now()
	before := now.Add(-expiredGrace)
	for _, d := range []struct {
		what       string
		n          *int64
		before     time.Time
		deleteFunc func(context.Context, time.Time, int32) (int64, error)
	}{
		{"expired sessions", &c.Sessions, before, s.opt.Store.SessionDeleteExpired},
		{"expired verification tokens", &c.Verifications, before, s.opt.Store.EmailVerificationDeleteExpired},
		{"expired password reset tokens", &c.Resets, before, s.opt.Store.PasswordResetDeleteExpired},
		{"expired device tokens", &c.DeviceTokens, before, s.opt.Store.DeviceTokenDeleteExpired},
		{"expired throttle counters", &c.ThrottleCounters, now, s.opt.Store.ThrottleCounterDeleteExpired},
		{"unverified accounts", &c.UnverifiedAccounts, now, s.deleteUnverified},
	} {
		var err error
		if *d.n, err = deleteInBatches(ctx, d.before, d.deleteFunc); err != nil {
			return c, fmt.Errorf("delete %s: %w", d.what, err)
		}
	}
	return c, nil
}

// errStillNeeded rolls back the deletion of an account verified meanwhile.
var errStillNeeded = errors.New("account verified meanwhile")

// deleteUnverified deletes up to max accounts still unverified past their
// deadline (before), each in a transaction that first revokes its sessions
// with revocation events: a deleted account's access tokens must stop at
// the gateways at once, as any revoked session's do.
func (s *Service) deleteUnverified(ctx context.Context, before time.Time, max int32) (int64, error) {
	ids, err := s.opt.Store.UserListUnverifiedExpired(ctx, before, max)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, id := range ids {
		err := s.opt.Store.Tx(ctx, func(q *store.Q) error {
			if _, err := q.SessionRevoke(ctx, s.revocation(id, ReasonUnverifiedExpired, s.now(), nil)); err != nil {
				return err
			}
			deleted, err := q.UserDeleteUnverified(ctx, id, before)
			if err == nil && !deleted {
				return errStillNeeded
			}
			return err
		})
		switch {
		case err == nil:
			n++
			s.log.InfoContext(ctx, "deleted an account still unverified past its deadline", "user_id", id)
		case !errors.Is(err, errStillNeeded):
			return n, fmt.Errorf("delete account %s: %w", id, err)
		}
	}
	return n, nil
}

// deleteInBatches calls deleteFunc with batches of cleanupBatch rows until a
// batch comes back short, so no statement holds many row locks at once, and
// returns how many rows were deleted in all.
func deleteInBatches(ctx context.Context, before time.Time, deleteFunc func(context.Context, time.Time, int32) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := deleteFunc(ctx, before, cleanupBatch)
		total += n
		if err != nil || n < cleanupBatch {
			return total, err
		}
	}
}

// cleanupBatch is the most rows one cleanup statement deletes.
const cleanupBatch = 5000

// RunCleanup calls Cleanup every interval until ctx ends. Every replica may
// run it: concurrent deletions of the same rows are harmless.
func (s *Service) RunCleanup(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, err := s.Cleanup(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "cleanup of expired rows", "error", err.Error())
		case c.total() > 0:
			s.log.InfoContext(ctx, "deleted expired rows", "sessions", c.Sessions, "verification_tokens", c.Verifications,
				"reset_tokens", c.Resets, "device_tokens", c.DeviceTokens, "throttle_counters", c.ThrottleCounters,
				"unverified_accounts", c.UnverifiedAccounts)
		}
		pruned, err := s.PruneAudit(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "audit log retention prune", "error", err.Error())
		case pruned > 0:
			s.log.InfoContext(ctx, "pruned audit rows past retention", "rows", pruned)
		}
	}
}

// PruneAudit deletes the audit rows older than AuditRetention (none when it
// is zero), keeping the hash of the last one deleted as the checkpoint the
// rest verifies from, and returns how many it deleted.
func (s *Service) PruneAudit(ctx context.Context) (int64, error) {
	if s.opt.AuditRetention <= 0 {
		return 0, nil
	}
	n, err := s.opt.Store.AuditLogPrune(ctx, s.now().Add(-s.opt.AuditRetention))
	if err != nil {
		return n, fmt.Errorf("prune audit log: %w", err)
	}
	return n, nil
}
