package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store"
)

// Outcomes of a password reset request, for Events.PasswordResetDone. The
// requester learns none of them: every request is answered alike, before
// its work is done.
const (
	ResetSent      = "sent"       // a reset mail went out
	ResetNoAccount = "no_account" // no enabled user has the address
	ResetThrottled = "throttled"  // the address's mail limit was reached
	ResetFailed    = "failed"     // a database or mail failure, logged
)

// RequestPasswordReset sends a reset token to email when an enabled user
// has that address (any case), superseding the user's earlier tokens. It
// returns nothing a requester may learn: the caller answers before calling
// it, the same way for every address, and it runs to the end even when
// the request's context ends. A disabled account gets no mail (a reset
// would not enable it), an address past its mail limit neither.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) {
	ctx = context.WithoutCancel(ctx)
	if outcome, err := s.sendPasswordReset(ctx, email, uuid.Nil); err != nil && outcome == ResetFailed {
		s.log.ErrorContext(ctx, "password reset", "error", err.Error())
	}
}

// sendPasswordReset stores a reset token for the enabled user with address
// email, superseding the user's earlier ones, audits the request by actor
// (uuid.Nil: the anonymous requester) in the same transaction, and mails
// the token. It returns the outcome, with the error behind ResetFailed and
// the *ThrottledError behind ResetThrottled.
func (s *Service) sendPasswordReset(ctx context.Context, email string, actor uuid.UUID) (outcome string, err error) {
	defer func() { s.events.PasswordResetDone(outcome) }()
	now := s.now()
	var throttle *ThrottledError
	switch err := s.allowMail(ctx, email, now); {
	case errors.As(err, &throttle):
		s.log.InfoContext(ctx, "password reset not sent: mail limit of the address reached")
		return ResetThrottled, err
	case err != nil:
		return ResetFailed, err
	}
	token, hash, err := newOpaqueToken()
	if err != nil {
		return ResetFailed, err
	}
	expires := now.Add(s.opt.PasswordResetLifetime)
	var userID uuid.UUID
	var to string
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		var err error
		if userID, to, err = q.PasswordResetCreate(ctx, email, hash, now, expires); err != nil {
			return err
		}
		return s.audit(ctx, q, Event{Name: EventPasswordResetRequested, ActorID: actor, SubjectID: userID})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ResetNoAccount, nil
	case err != nil:
		return ResetFailed, fmt.Errorf("store password reset token: %w", err)
	}
	s.observe(ctx, Event{Name: EventPasswordResetRequested, ActorID: actor, SubjectID: userID})
	if err := s.opt.Mailer.SendPasswordReset(ctx, PasswordResetMail{To: to, Token: token, ExpiresAt: expires}); err != nil {
		return ResetFailed, fmt.Errorf("send password reset mail to user %s: %w", userID, err)
	}
	return ResetSent, nil
}

// ConfirmPasswordReset spends a reset token and sets the user's new
// password (the registration policy applies). In one transaction it also
// marks the e-mail address verified (the user has just proved they own the
// mailbox), ends every session of the user with revocation events, forgets
// the user's devices and clears the user's login throttles. So a reset
// makes an account its mailbox owner's, whoever registered it. A token
// that is unknown, used, superseded or expired, or of a disabled user (a
// reset never enables an account), is ErrInvalidResetToken.
func (s *Service) ConfirmPasswordReset(ctx context.Context, token, password string) (store.User, error) {
	hash := hashToken(token)
	now := s.now()
	u, err := s.opt.Store.PasswordResetGetUser(ctx, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrInvalidResetToken
	}
	if err != nil {
		return store.User{}, fmt.Errorf("find password reset token: %w", err)
	}
	if err := s.CheckPassword("password", password, AccountOf(u)); err != nil {
		return store.User{}, err
	}
	newHash, err := s.hashPassword(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		var err error
		if u, err = q.PasswordResetUse(ctx, hash, newHash, now); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrInvalidResetToken
			}
			return err
		}
		if err := q.DeviceTokenDeleteByUser(ctx, u.ID); err != nil {
			return err
		}
		if err := q.ThrottleCounterDeleteBySubjects(ctx, [][]byte{nameSubject(u.Username), nameSubject(u.Email)}); err != nil {
			return err
		}
		res, err := q.SessionRevoke(ctx, s.revocation(u.ID, ReasonPasswordReset, now, nil))
		if err != nil {
			return err
		}
		return s.audit(ctx, q, Event{Name: EventPasswordResetCompleted, ActorID: u.ID, SubjectID: u.ID,
			Detail: map[string]any{"sessions_ended": res.Revoked}})
	})
	if errors.Is(err, ErrInvalidResetToken) {
		return store.User{}, err
	}
	if err != nil {
		return store.User{}, fmt.Errorf("reset password: %w", err)
	}
	s.observe(ctx, Event{Name: EventPasswordResetCompleted, ActorID: u.ID, SubjectID: u.ID})
	return u, nil
}
