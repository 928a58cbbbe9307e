package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/medinsights/auth/issuer/internal/store"
)

// GrantRole adds a role to a user. Sessions go on: the role appears in the
// user's access tokens from the next refresh on (within the access token
// lifetime).
func (s *Service) GrantRole(ctx context.Context, username, role string) (store.User, error) {
	if !ValidRole(role) {
		return store.User{}, ErrInvalidRole
	}
	var u store.User
	err := s.opt.Store.Tx(ctx, func(q *store.Q) error {
		found, err := q.UserGetByUsername(ctx, username)
		if err != nil {
			return err
		}
		if u, err = q.UserRoleAdd(ctx, found.ID, role, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, q, Event{Name: EventRoleGranted, SubjectID: u.ID, Detail: map[string]any{"role": role, "via": "cli"}})
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("grant role: %w", err)
	}
	return u, nil
}

// RevokeRole removes a role from a user and ends every session of the user
// in the same transaction: access tokens already signed carry the role, and
// a privilege taken away must stop working at once, not at their expiry.
// A role the user does not hold is ErrRoleNotHeld, and then nothing changes:
// no token carries that role, so no session has a reason to end.
func (s *Service) RevokeRole(ctx context.Context, username, role string) (store.User, int, error) {
	if !ValidRole(role) {
		return store.User{}, 0, ErrInvalidRole
	}
	var u store.User
	var res store.RevokeResult
	now := s.now()
	err := s.opt.Store.Tx(ctx, func(q *store.Q) error {
		found, err := q.UserGetByUsername(ctx, username)
		if err != nil {
			return err
		}
		if !slices.Contains(found.Roles, role) {
			return ErrRoleNotHeld
		}
		if u, err = q.UserRoleRemove(ctx, found.ID, role, now); err != nil {
			return err
		}
		if res, err = q.SessionRevoke(ctx, s.revocation(found.ID, ReasonRoleChange, now, nil)); err != nil {
			return err
		}
		return s.audit(ctx, q, Event{Name: EventRoleRevoked, SubjectID: u.ID, Detail: map[string]any{"role": role, "via": "cli", "sessions_ended": res.Revoked}})
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, 0, ErrUserNotFound
	}
	if err != nil {
		return store.User{}, 0, fmt.Errorf("revoke role: %w", err)
	}
	return u, res.Revoked, nil
}
