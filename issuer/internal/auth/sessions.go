package auth

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store"
)

// maxListedSessions bounds a user's session list.
const maxListedSessions = 200

// SessionInfo is one of the caller's live sessions, as they see it.
type SessionInfo struct {
	store.LiveSession
	Current bool // the session of the caller's access token
}

// Sessions lists the caller's live sessions, newest first (at most 200).
func (s *Service) Sessions(ctx context.Context, p Principal) ([]SessionInfo, error) {
	live, err := s.opt.Store.SessionListLive(ctx, p.User.ID, s.now(), maxListedSessions)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]SessionInfo, len(live))
	for i, l := range live {
		out[i] = SessionInfo{LiveSession: l, Current: l.ID == p.SessionID}
	}
	return out, nil
}

// EndSession revokes one live session of the caller, with its revocation
// event and audit row in one statement. ErrSessionNotFound when id is not a
// live session of the caller: another user's, an unknown and an ended one
// are alike.
func (s *Service) EndSession(ctx context.Context, p Principal, id uuid.UUID) error {
	res, err := s.opt.Store.SessionRevoke(ctx, s.revocation(p.User.ID, ReasonSessionEnded, s.now(), func(r *store.Revocation) {
		r.SessionID = id
		r.Audit = &store.RevocationAudit{Event: EventSessionRevoked, ActorID: p.User.ID, SessionID: id, Client: ClientOf(ctx)}
	}))
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if res.Revoked == 0 {
		return ErrSessionNotFound
	}
	s.observe(ctx, Event{Name: EventSessionRevoked, ActorID: p.User.ID, SubjectID: p.User.ID, SessionID: id})
	return nil
}
