package auth

import (
	"context"
	"fmt"
	"time"
)

// expiredGrace is how long after expiry a session or a verification token
// is kept before Cleanup deletes it.
const expiredGrace = 24 * time.Hour

// Cleanup deletes sessions (with their refresh tokens) and verification
// tokens that expired more than a day ago, in batches, and returns how many
// of each it deleted. Revocation events are pruned by the feed, audit rows
// by PruneAudit.
func (s *Service) Cleanup(ctx context.Context) (sessions, verifications int64, err error) {
	before := s.now().Add(-expiredGrace)
	sessions, err = deleteInBatches(ctx, before, s.opt.Store.SessionDeleteExpired)
	if err != nil {
		return sessions, 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	verifications, err = deleteInBatches(ctx, before, s.opt.Store.EmailVerificationDeleteExpired)
	if err != nil {
		return sessions, verifications, fmt.Errorf("delete expired verification tokens: %w", err)
	}
	return sessions, verifications, nil
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
		sessions, verifications, err := s.Cleanup(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "cleanup of expired rows", "error", err.Error())
		case sessions+verifications > 0:
			s.log.InfoContext(ctx, "deleted expired rows", "sessions", sessions, "verification_tokens", verifications)
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
