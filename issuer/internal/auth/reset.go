package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/medinsights/auth/issuer/internal/store"
)

// Outcomes of a password reset request, for PasswordResetDoneFunc. The
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
	outcome := s.requestPasswordReset(ctx, email)
	if s.opt.PasswordResetDoneFunc != nil {
		s.opt.PasswordResetDoneFunc(outcome)
	}
}

func (s *Service) requestPasswordReset(ctx context.Context, email string) string {
	now := s.now()
	var throttle *ThrottledError
	switch err := s.allowMail(ctx, email, now); {
	case errors.As(err, &throttle):
		s.log.InfoContext(ctx, "password reset not sent: mail limit of the address reached")
		return ResetThrottled
	case err != nil:
		s.log.ErrorContext(ctx, "password reset", "error", err.Error())
		return ResetFailed
	}
	token, hash, err := newOpaqueToken()
	if err != nil {
		s.log.ErrorContext(ctx, "password reset", "error", err.Error())
		return ResetFailed
	}
	expires := now.Add(s.opt.PasswordResetLifetime)
	userID, to, err := s.opt.Store.PasswordResetCreate(ctx, email, hash, now, expires)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ResetNoAccount
	case err != nil:
		s.log.ErrorContext(ctx, "store password reset token", "error", err.Error())
		return ResetFailed
	}
	if err := s.opt.Mailer.SendPasswordReset(ctx, PasswordResetMail{To: to, Token: token, ExpiresAt: expires}); err != nil {
		s.log.ErrorContext(ctx, "send password reset mail", "user_id", userID, "error", err.Error())
		return ResetFailed
	}
	return ResetSent
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
		_, err = q.SessionRevoke(ctx, s.revocation(u.ID, ReasonPasswordReset, now, nil))
		return err
	})
	if errors.Is(err, ErrInvalidResetToken) {
		return store.User{}, err
	}
	if err != nil {
		return store.User{}, fmt.Errorf("reset password: %w", err)
	}
	return u, nil
}
