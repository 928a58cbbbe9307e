package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/identifier"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Login checks a username (or e-mail address) and password and starts a
// session. Unknown users and wrong passwords take the same time and get the
// same error.
func (s *Service) Login(ctx context.Context, login, password string) (TokenPair, error) {
	u, err := s.opt.Store.UserGetByLogin(ctx, identifier.LoginName(login))
	if errors.Is(err, store.ErrNotFound) {
		if _, _, err := s.verifyPassword(ctx, s.dummyHash, password); errors.Is(err, ErrOverloaded) {
			return TokenPair{}, err
		}
		return TokenPair{}, ErrInvalidCredentials
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("find user: %w", err)
	}
	ok, rehash, err := s.verifyPassword(ctx, u.PasswordHash, password)
	if errors.Is(err, ErrOverloaded) {
		return TokenPair{}, err
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !ok {
		return TokenPair{}, ErrInvalidCredentials
	}
	if s.afterVerifyFunc != nil {
		s.afterVerifyFunc(ctx)
	}
	refresh, refreshHash, err := newOpaqueToken()
	if err != nil {
		return TokenPair{}, err
	}
	now := s.now()
	session := store.NewSession{
		ID: uuid.New(), UserID: u.ID, PasswordHash: u.PasswordHash, RefreshHash: refreshHash,
		Now: now, ExpiresAt: now.Add(s.opt.RefreshLifetime), AccessExpiresAt: now.Add(s.opt.AccessLifetime),
	}
	// The session is created only while the password hash is still the one
	// verified, with the user row locked, and the token carries the roles
	// the statement returns: a login overlapping a password change either
	// ends before the change (which then revokes its session) or fails; one
	// overlapping a role change gets the roles as they are after it. A
	// login that loses the race fails as invalid credentials: it is not
	// retried, since its password was checked against a hash no longer
	// stored.
	if rehash {
		// The stored hash has weaker parameters than today's: replace it now,
		// while the password is at hand, in the login's transaction, and
		// only while the stored hash is still the one verified: a password
		// changed since the read is never overwritten.
		var newHash string
		if newHash, err = s.hashPassword(ctx, password); err != nil {
			return TokenPair{}, err
		}
		err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
			if _, err := q.UserRehashPassword(ctx, u.ID, u.PasswordHash, newHash, now); err != nil {
				return err
			}
			session.PasswordHash = newHash
			u, err = q.SessionCreate(ctx, session)
			return err
		})
	} else {
		u, err = s.opt.Store.SessionCreate(ctx, session) // one statement: atomic by itself
	}
	if errors.Is(err, store.ErrNotFound) {
		return TokenPair{}, ErrInvalidCredentials
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("start session: %w", err)
	}
	return s.tokenPair(u, session.ID, refresh, now)
}

// Refresh rotates a refresh token. The rule (README, "Refresh tokens"):
//
//   - a live token is retired and replaced by a new one in the same session;
//   - a token retired at most ReuseInterval ago is presented again (two tabs
//     refreshing at once, or a retry after a lost response): it gets the
//     same successor as the first time, and stays retired, so the session
//     never forks into two chains: a thief racing the owner shares the
//     owner's chain, and the next stale use of either is caught as reuse.
//     The successor is derived from the presented token (successorSeed)
//     under the session's random refresh key, inside the statement;
//   - a token retired longer ago is reuse, a sign that it was stolen: the
//     whole session is revoked (its newest token stops working too), a
//     revocation event is recorded, a warning is logged, and the answer is
//     ErrInvalidGrant;
//   - an unknown or expired token, or one of a revoked or expired session,
//     is ErrInvalidGrant;
//   - when the request names its caller (caller is not uuid.Nil: see
//     CallerOf), a token of another user's session is ErrInvalidGrant too,
//     and is left untouched.
//
// The common case, a live token of a live session, is one statement. Every
// other case reads the token and its session locked until the commit, so
// concurrent refreshes and revocations of one session run one at a time.
// The access token is signed after the commit, keeping the locks short.
func (s *Service) Refresh(ctx context.Context, refreshToken string, caller uuid.UUID) (TokenPair, error) {
	oldHash, seed := hashToken(refreshToken), successorSeed(refreshToken)
	now := s.now()
	expires := now.Add(s.opt.RefreshLifetime)
	accessExpires := now.Add(s.opt.AccessLifetime)
	rot, err := s.opt.Store.RefreshTokenRotateLive(ctx, oldHash, seed, caller, now, expires, accessExpires)
	if err == nil {
		return s.tokenPair(rot.User, rot.SessionID, tokenText(rot.Successor), now)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return TokenPair{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	var grant store.RefreshGrant
	var reused bool
	var successor []byte
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		reused = false // Tx may run this twice
		var err error
		grant, err = q.RefreshTokenGetForUpdate(ctx, oldHash)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidGrant
		}
		if err != nil {
			return err
		}
		if grant.Session.RevokedAt != nil || !now.Before(grant.Session.ExpiresAt) || !now.Before(grant.Token.ExpiresAt) ||
			(caller != uuid.Nil && caller != grant.User.ID) {
			return ErrInvalidGrant
		}
		if grant.Token.RetiredAt != nil && now.Sub(*grant.Token.RetiredAt) > s.opt.ReuseInterval {
			reused = true
			_, err := q.SessionRevoke(ctx, s.revocation(grant.User.ID, ReasonRefreshReuse, now, func(r *store.Revocation) { r.SessionID = grant.Session.ID }))
			return err
		}
		successor, err = q.RefreshTokenRotate(ctx, grant.Session.ID, oldHash, seed, now, expires, accessExpires)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrInvalidGrant) {
			return TokenPair{}, err
		}
		return TokenPair{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	if reused {
		s.log.WarnContext(ctx, "refresh token reused: session revoked",
			"user_id", grant.User.ID, "session_id", grant.Session.ID,
			"retired_for", now.Sub(*grant.Token.RetiredAt).Round(time.Millisecond).String())
		if s.opt.ReuseDetectedFunc != nil {
			s.opt.ReuseDetectedFunc()
		}
		return TokenPair{}, ErrInvalidGrant
	}
	return s.tokenPair(grant.User, grant.Session.ID, tokenText(successor), now)
}
