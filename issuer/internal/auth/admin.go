package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store"
)

// RoleAdmin is the role of administrators.
const RoleAdmin = "admin"

// Page bounds of the administrators' lists.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// RequireAdmin returns ErrInsufficientRole unless the caller, as read from
// the database with their live session (Authenticate), has the admin role.
func RequireAdmin(p Principal) error {
	if !slices.Contains(p.User.Roles, RoleAdmin) {
		return ErrInsufficientRole
	}
	return nil
}

// ListUsers returns up to limit users whose username or e-mail address
// starts with prefix, by username, after the username after ("" for the
// first page), as read by the administrator admin (uuid.Nil: an operator
// at the command line), audited as EventUsersSearched.
func (s *Service) ListUsers(ctx context.Context, admin uuid.UUID, prefix, after string, limit int) ([]store.User, error) {
	var users []store.User
	err := s.adminRead(ctx, admin, uuid.Nil, func(q *store.Q) (e Event, err error) {
		if users, err = q.UserSearch(ctx, prefix, after, int32(limit)); err != nil {
			return e, fmt.Errorf("search users: %w", err)
		}
		return Event{Name: EventUsersSearched, Detail: map[string]any{"query": prefix, "after": after, "results": len(users)}}, nil
	})
	return users, err
}

// UserOverview returns a user with its live session count and last login,
// or ErrUserNotFound, as read by admin, audited as EventUserViewed.
func (s *Service) UserOverview(ctx context.Context, admin, id uuid.UUID) (store.UserSummary, error) {
	var sum store.UserSummary
	err := s.adminRead(ctx, admin, id, func(q *store.Q) (e Event, err error) {
		if sum, err = q.UserOverview(ctx, id, s.now(), EventLoginSucceeded); err != nil {
			return e, err
		}
		return Event{Name: EventUserViewed}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.UserSummary{}, ErrUserNotFound
	}
	if err != nil {
		return store.UserSummary{}, fmt.Errorf("read user: %w", err)
	}
	return sum, nil
}

// adminRead runs read, and writes the audit row of the event it returns,
// by admin (uuid.Nil: an operator at the command line) about subject, in
// one transaction: what an administrator read is on record before they
// see it, and a read that cannot be recorded is not answered. An unknown
// subject is not recorded (read's error).
func (s *Service) adminRead(ctx context.Context, admin, subject uuid.UUID, read func(q *store.Q) (Event, error)) error {
	var e Event
	err := s.opt.Store.Tx(ctx, func(q *store.Q) (err error) {
		if e, err = read(q); err != nil {
			return err
		}
		e.ActorID, e.SubjectID = admin, subject
		if admin == uuid.Nil {
			e.Detail = viaCLI(e.Detail)
		}
		return s.audit(ctx, q, e)
	})
	if err != nil {
		return err
	}
	s.observe(ctx, e)
	return nil
}

// viaCLI is detail with "via": "cli": the mark of an operator's command.
func viaCLI(detail map[string]any) map[string]any {
	d := map[string]any{"via": "cli"}
	maps.Copy(d, detail)
	return d
}

// adminChange runs change on user id in one transaction, locked, and
// writes the audit rows it returns, by the administrator admin (uuid.Nil:
// an operator at the command line), at the end, then observes them.
func (s *Service) adminChange(ctx context.Context, admin, id uuid.UUID, change func(q *store.Q, u store.User) (store.User, []Event, error)) (store.User, error) {
	var out store.User
	var events []Event
	err := s.opt.Store.Tx(ctx, func(q *store.Q) error {
		u, err := q.UserGetByIDForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if out, events, err = change(q, u); err != nil {
			return err
		}
		for i := range events {
			events[i].ActorID, events[i].SubjectID = admin, id
			if admin == uuid.Nil { // an operator at the command line
				events[i].Detail = viaCLI(events[i].Detail)
			}
			if err := s.audit(ctx, q, events[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserNotFound
	}
	if err != nil {
		return store.User{}, err
	}
	for _, e := range events {
		s.observe(ctx, e)
	}
	return out, nil
}

// DisableUser disables a user and ends every session of theirs (with
// revocation events): their logins fail like a wrong password from now on.
// An administrator cannot disable themselves (ErrSelfLockout).
func (s *Service) DisableUser(ctx context.Context, admin, id uuid.UUID) (store.User, error) {
	if admin == id {
		return store.User{}, ErrSelfLockout
	}
	now := s.now()
	u, err := s.adminChange(ctx, admin, id, func(q *store.Q, _ store.User) (store.User, []Event, error) {
		u, err := q.UserSetDisabled(ctx, id, &now, now)
		if err != nil {
			return u, nil, err
		}
		res, err := q.SessionRevoke(ctx, s.revocation(id, ReasonUserDisabled, now, nil))
		return u, []Event{{Name: EventUserDisabled, Detail: map[string]any{"sessions_ended": res.Revoked}}}, err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("disable user: %w", err)
	}
	return u, nil
}

// EnableUser lets a disabled user log in again.
func (s *Service) EnableUser(ctx context.Context, admin, id uuid.UUID) (store.User, error) {
	u, err := s.adminChange(ctx, admin, id, func(q *store.Q, _ store.User) (store.User, []Event, error) {
		u, err := q.UserSetDisabled(ctx, id, nil, s.now())
		return u, []Event{{Name: EventUserEnabled}}, err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("enable user: %w", err)
	}
	return u, nil
}

// SetRoles replaces a user's roles by roles. When it removes any, every
// session of the user ends in the same transaction, as RevokeRole does. An
// administrator cannot remove their own admin role (ErrSelfLockout). One
// audit row per role granted or revoked.
func (s *Service) SetRoles(ctx context.Context, admin, id uuid.UUID, roles []string) (store.User, error) {
	for _, r := range roles {
		if !ValidRole(r) {
			return store.User{}, ErrInvalidRole
		}
	}
	if admin == id && !slices.Contains(roles, RoleAdmin) {
		return store.User{}, ErrSelfLockout
	}
	now := s.now()
	u, err := s.adminChange(ctx, admin, id, func(q *store.Q, before store.User) (store.User, []Event, error) {
		u, err := q.UserSetRoles(ctx, id, roles, now)
		if err != nil {
			return u, nil, err
		}
		var events []Event
		for _, r := range u.Roles {
			if !slices.Contains(before.Roles, r) {
				events = append(events, Event{Name: EventRoleGranted, Detail: map[string]any{"role": r}})
			}
		}
		var removed []string
		for _, r := range before.Roles {
			if !slices.Contains(u.Roles, r) {
				removed = append(removed, r)
			}
		}
		if len(removed) == 0 {
			return u, events, nil
		}
		res, err := q.SessionRevoke(ctx, s.revocation(id, ReasonRoleChange, now, nil))
		for _, r := range removed {
			events = append(events, Event{Name: EventRoleRevoked, Detail: map[string]any{"role": r, "sessions_ended": res.Revoked}})
		}
		return u, events, err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("set roles: %w", err)
	}
	return u, nil
}

// ForceLogout ends every session of a user, and returns how many.
func (s *Service) ForceLogout(ctx context.Context, admin, id uuid.UUID) (int, error) {
	var ended int
	now := s.now()
	_, err := s.adminChange(ctx, admin, id, func(q *store.Q, u store.User) (store.User, []Event, error) {
		res, err := q.SessionRevoke(ctx, s.revocation(id, ReasonLogoutForced, now, nil))
		ended = res.Revoked
		return u, []Event{{Name: EventLogoutForced, Detail: map[string]any{"sessions_ended": res.Revoked}}}, err
	})
	if err != nil {
		return 0, fmt.Errorf("force logout: %w", err)
	}
	return ended, nil
}

// RequestPasswordResetFor sends user id the password reset mail on an
// administrator's behalf, audited as EventPasswordResetRequested by admin
// in the transaction that stores the token. The address's mail limit
// applies (a *ThrottledError). ErrUserNotFound for an unknown id;
// ErrAccountDisabled for a disabled user, since a reset never enables an
// account.
func (s *Service) RequestPasswordResetFor(ctx context.Context, admin, id uuid.UUID) error {
	u, err := s.opt.Store.UserGetByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUserNotFound
	}
	if err != nil {
		return fmt.Errorf("read user: %w", err)
	}
	if u.DisabledAt != nil {
		return ErrAccountDisabled
	}
	switch outcome, err := s.sendPasswordReset(ctx, u.Email, admin); outcome {
	case ResetSent:
		return nil
	case ResetNoAccount: // disabled, or its address changed, since the read
		return ErrAccountDisabled
	default:
		return fmt.Errorf("request password reset: %w", err)
	}
}
