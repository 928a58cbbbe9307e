package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medinsights/auth/issuer/internal/store"
)

// VerificationLifetime is how long an e-mail verification token lasts.
const VerificationLifetime = 24 * time.Hour

// VerificationMail is the message that carries a verification token. It
// names no username: whoever registers an address chooses the username,
// and the mail must not greet the address's owner with an attacker's words.
type VerificationMail struct {
	To        string
	Token     string
	ExpiresAt time.Time
}

// PasswordResetMail is the message that carries a password reset token.
type PasswordResetMail struct {
	To        string
	Token     string
	ExpiresAt time.Time
}

// Mailer sends the issuer's mail.
type Mailer interface {
	SendVerification(ctx context.Context, m VerificationMail) error
	SendPasswordReset(ctx context.Context, m PasswordResetMail) error
}

// ChangePassword replaces the caller's password and revokes every other
// session of the caller, in one transaction; the caller's session goes on.
// The current password is checked under the login throttle of the
// caller's username and address, and a wrong one counts as a failed login:
// a stolen access token is no unlimited password-guessing oracle. The new
// hash is written only while the stored one is still the one verified and
// the caller's session is still live, in one statement: of two changes
// racing, the second gets ErrPasswordChanged instead of silently
// overwriting the first, and a change from a session revoked meanwhile
// (logout-all) gets ErrInvalidToken and changes nothing.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) (store.User, error) {
	now := s.now()
	counters := s.loginCounters(p.User.Username, p.Client)
	if err := s.checkPassword(ctx, counters, now); err != nil {
		return store.User{}, err
	}
	ok, _, err := s.verifyPassword(ctx, p.User.PasswordHash, current)
	if errors.Is(err, ErrOverloaded) {
		return store.User{}, err
	}
	if err != nil {
		return store.User{}, fmt.Errorf("verify password of user %s: %w", p.User.ID, err)
	}
	if !ok {
		if err := s.loginFailed(ctx, counters, now); err != nil {
			return store.User{}, err
		}
		return store.User{}, &ValidationError{Fields: map[string][]string{"current_password": {"is incorrect"}}}
	}
	if err := s.CheckPassword("new_password", next, AccountOf(p.User)); err != nil {
		return store.User{}, err
	}
	if next == current {
		return store.User{}, &ValidationError{Fields: map[string][]string{"new_password": {"must differ from the current password"}}}
	}
	hash, err := s.hashPassword(ctx, next)
	if err != nil {
		return store.User{}, err
	}
	if s.beforeChangeWriteFunc != nil {
		s.beforeChangeWriteFunc(ctx)
	}
	var u store.User
	e := Event{Name: EventPasswordChanged, ActorID: p.User.ID, SubjectID: p.User.ID, SessionID: p.SessionID}
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		var err error
		if u, err = q.UserChangePassword(ctx, p.User.ID, p.SessionID, p.User.PasswordHash, hash, now); err != nil {
			return err
		}
		res, err := q.SessionRevoke(ctx, s.revocation(p.User.ID, ReasonPasswordChange, now, func(r *store.Revocation) { r.ExceptSessionID = p.SessionID }))
		if err != nil {
			return err
		}
		e.Detail = map[string]any{"sessions_ended": res.Revoked}
		return s.audit(ctx, q, e)
	})
	if errors.Is(err, store.ErrNotFound) {
		// Lost a race: the session is gone (checked first), or another
		// change came first.
		if err := s.CheckLive(ctx, Caller{UserID: p.User.ID, SessionID: p.SessionID}); err != nil {
			return store.User{}, err
		}
		return store.User{}, ErrPasswordChanged
	}
	if err != nil {
		return store.User{}, fmt.Errorf("change password: %w", err)
	}
	s.observe(ctx, e)
	return u, nil
}

// VerifyEmail spends a verification token and marks the address verified.
func (s *Service) VerifyEmail(ctx context.Context, token string) (store.User, error) {
	var u store.User
	err := s.opt.Store.Tx(ctx, func(q *store.Q) error {
		var err error
		if u, err = q.EmailVerificationUse(ctx, hashToken(token), s.now()); err != nil {
			return err
		}
		return s.audit(ctx, q, Event{Name: EventEmailVerified, ActorID: u.ID, SubjectID: u.ID})
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrInvalidVerificationToken
	}
	if err != nil {
		return store.User{}, fmt.Errorf("verify email: %w", err)
	}
	s.observe(ctx, Event{Name: EventEmailVerified, ActorID: u.ID, SubjectID: u.ID})
	return u, nil
}

// ResendVerification voids the caller's unused verification tokens and
// sends a new one, within the mail limits of the address (else a
// ThrottledError).
func (s *Service) ResendVerification(ctx context.Context, p Principal) error {
	if p.User.EmailVerified {
		return ErrAlreadyVerified
	}
	now := s.now()
	if err := s.allowMail(ctx, p.User.Email, now); err != nil {
		return err
	}
	token, tokenHash, err := newOpaqueToken()
	if err != nil {
		return err
	}
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.EmailVerificationVoid(ctx, p.User.ID, now); err != nil {
			return err
		}
		return q.EmailVerificationInsert(ctx, p.User.ID, tokenHash, now, now.Add(VerificationLifetime))
	})
	if err != nil {
		return fmt.Errorf("renew verification token: %w", err)
	}
	s.sendVerification(ctx, p.User, token, now)
	return nil
}

// sendVerification sends after the commit, and to the end even when the
// client has gone: the token is already stored.
func (s *Service) sendVerification(ctx context.Context, u store.User, token string, now time.Time) {
	ctx = context.WithoutCancel(ctx)
	m := VerificationMail{To: u.Email, Token: token, ExpiresAt: now.Add(VerificationLifetime)}
	if err := s.opt.Mailer.SendVerification(ctx, m); err != nil {
		s.log.ErrorContext(ctx, "send verification mail", "user_id", u.ID, "error", err.Error())
	}
}
