package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store"
)

// Logout revokes the session of refreshToken, which must be one of the
// caller's sessions (not necessarily the one of the access token). The
// caller's own session must be live, which the revoking statement itself
// checks: a logout is one statement, shared with the logouts running at the
// same moment (see store.RevokeForLogout). Logging out a session of the
// caller's that has already ended is a no-op; a token that is unknown or of
// another user is ErrForeignRefreshToken.
func (s *Service) Logout(ctx context.Context, c Caller, refreshToken string) error {
	hash := hashToken(refreshToken)
	r := s.revocation(c.UserID, ReasonLogout, s.now(), nil)
	res, err := s.opt.Store.RevokeForLogout(ctx, store.Logout{
		UserID: c.UserID, CallerSessionID: c.SessionID, RefreshHash: hash, Reason: r.Reason,
		At: r.At, EventExpiresAt: r.EventExpiresAt, EventMargin: r.EventMargin,
		Client: ClientOf(ctx), AuditEvent: EventLogout,
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if !res.CallerLive {
		return fmt.Errorf("%w: session %s is not live", ErrInvalidToken, c.SessionID)
	}
	if res.Revoked {
		s.observe(ctx, Event{Name: EventLogout, ActorID: c.UserID, SubjectID: c.UserID})
		return nil
	}
	owner, err := s.opt.Store.RefreshTokenOwner(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrForeignRefreshToken
	case err != nil:
		return fmt.Errorf("find refresh token owner: %w", err)
	case owner != c.UserID:
		return ErrForeignRefreshToken
	}
	return nil
}

// LogoutAll revokes every session the user has at this moment, the caller's
// included. A session started afterwards is unaffected.
func (s *Service) LogoutAll(ctx context.Context, p Principal) (int, error) {
	res, err := s.opt.Store.SessionRevoke(ctx, s.revocation(p.User.ID, ReasonLogoutAll, s.now(), func(r *store.Revocation) {
		r.Audit = &store.RevocationAudit{Event: EventLogoutAll, ActorID: p.User.ID, SessionID: p.SessionID, Client: ClientOf(ctx)}
	}))
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	if res.Revoked > 0 {
		s.observe(ctx, Event{Name: EventLogoutAll, ActorID: p.User.ID, SubjectID: p.User.ID})
	}
	return res.Revoked, nil
}

// revocationMargin is added, besides the clock skew, to the time a
// revocation event must outlive: rounding and a slow signer never let a
// token outlive its event.
const revocationMargin = time.Minute

// eventMargin is what a revocation event outlives the last access token of
// its session by.
func (s *Service) eventMargin() time.Duration { return s.opt.ClockSkew + revocationMargin }

// revocation builds a store.Revocation whose events expire when no access
// token of the session can be alive: the later of revocation time + access
// token lifetime and the exp of the session's latest access token (signed
// perhaps under a longer JWT_ACCESS_TOKEN_LIFETIME), plus clock skew and a
// minute.
func (s *Service) revocation(userID uuid.UUID, reason string, now time.Time, set func(*store.Revocation)) store.Revocation {
	r := store.Revocation{
		UserID: userID, Reason: reason, At: now,
		EventExpiresAt: now.Add(s.opt.AccessLifetime + s.eventMargin()), EventMargin: s.eventMargin(),
	}
	if set != nil {
		set(&r)
	}
	return r
}
