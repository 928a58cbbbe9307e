package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/identifier"
	"github.com/medinsights/auth/issuer/internal/store"
)

// RegisterInput is a new account, already checked for shape at the
// boundary, and the client address it comes from.
type RegisterInput struct {
	Username, Email, Password, FirstName, LastName string
	Client                                         netip.Addr
}

// Register creates a user with the default roles and an unverified e-mail
// address, and sends the verification mail. The user and the verification
// token are written in one transaction; the mail goes out after the commit
// (a failure to send is logged: the user can ask for another). A client
// address past its registration limit gets a ThrottledError before any
// work; an account still unverified after UnverifiedAccountTTL is deleted
// by Cleanup.
func (s *Service) Register(ctx context.Context, in RegisterInput) (store.User, error) {
	now := s.now()
	if err := s.allowRegistration(ctx, in.Client, now); err != nil {
		return store.User{}, err
	}
	email, err := identifier.NormalizeEmail(in.Email)
	if err != nil {
		return store.User{}, &ValidationError{Fields: map[string][]string{"email": {err.Error()}}}
	}
	in.Email = email
	if err := s.CheckPassword("password", in.Password, Account{
		Username: in.Username, Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
	}); err != nil {
		return store.User{}, err
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return store.User{}, err
	}
	token, tokenHash, err := newOpaqueToken()
	if err != nil {
		return store.User{}, err
	}
	unverifiedExpires := now.Add(s.opt.UnverifiedAccountTTL)
	var u store.User
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		var err error
		u, err = q.UserInsert(ctx, store.NewUser{
			ID: uuid.New(), Username: in.Username, Email: in.Email, PasswordHash: hash,
			FirstName: in.FirstName, LastName: in.LastName, Roles: s.opt.DefaultRoles, Now: now,
			UnverifiedExpiresAt: &unverifiedExpires,
		})
		if err != nil {
			return conflictError(err)
		}
		if err := q.EmailVerificationInsert(ctx, u.ID, tokenHash, now, now.Add(VerificationLifetime)); err != nil {
			return err
		}
		return s.audit(ctx, q, Event{Name: EventRegistered, ActorID: u.ID, SubjectID: u.ID})
	})
	if err != nil {
		return store.User{}, fmt.Errorf("register: %w", err)
	}
	s.observe(ctx, Event{Name: EventRegistered, ActorID: u.ID, SubjectID: u.ID})
	s.sendVerification(ctx, u, token, now)
	return u, nil
}

func conflictError(err error) error {
	switch {
	case errors.Is(err, store.ErrUsernameTaken):
		return ErrUsernameTaken
	case errors.Is(err, store.ErrEmailTaken):
		return ErrEmailTaken
	}
	return err
}
