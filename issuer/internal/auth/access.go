package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store"
)

// CallerOf returns the user an access token names when the token verifies
// except perhaps for being expired (up to the refresh token lifetime), and
// uuid.Nil otherwise. A refresh request that carries its (usually expired)
// access token says who is refreshing: Refresh then refuses the refresh
// token of any other user. It grants nothing by itself.
func (s *Service) CallerOf(accessToken string) uuid.UUID {
	claims, err := s.expiredParser.Parse(accessToken, s.opt.Signer.Keys())
	if err != nil {
		return uuid.Nil
	}
	id, err := uuid.Parse(claims.Subject)
	if err != nil {
		return uuid.Nil
	}
	return id
}

// Caller is who an access token names: its user and session. It is not yet
// known to be live: Authenticate checks that, or an operation does it in its
// own statement (Logout).
type Caller struct {
	UserID    uuid.UUID
	SessionID uuid.UUID
}

// VerifyAccessToken verifies an access token with the same parser the
// gateway uses (signature, iss, aud, exp, nbf, iat, claims) and returns the
// caller it names. It does not read the database.
func (s *Service) VerifyAccessToken(accessToken string) (Caller, error) {
	claims, err := s.parser.Parse(accessToken, s.opt.Signer.Keys())
	if err != nil {
		return Caller{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	sid, err1 := uuid.Parse(claims.SessionID)
	sub, err2 := uuid.Parse(claims.Subject)
	if err1 != nil || err2 != nil {
		return Caller{}, fmt.Errorf("%w: sid or sub is not a UUID", ErrInvalidToken)
	}
	return Caller{UserID: sub, SessionID: sid}, nil
}

// Authenticate verifies an access token, then checks in the database that
// its session is live and its user exists, so a revoked session's token is
// refused at once.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	c, err := s.VerifyAccessToken(accessToken)
	if err != nil {
		return Principal{}, err
	}
	return s.principal(ctx, c)
}

// CheckLive returns ErrInvalidToken unless the caller's session is live and
// its user exists.
func (s *Service) CheckLive(ctx context.Context, c Caller) error {
	_, err := s.principal(ctx, c)
	return err
}

// principal is the one database check behind every Bearer endpoint: the
// caller's session is live and its user exists.
func (s *Service) principal(ctx context.Context, c Caller) (Principal, error) {
	u, err := s.opt.Store.SessionAuthenticate(ctx, c.SessionID, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: session %s is not live", ErrInvalidToken, c.SessionID)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("check session: %w", err)
	}
	return Principal{User: u, SessionID: c.SessionID}, nil
}
