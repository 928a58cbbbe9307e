package api

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Wire types of the sessions and admin endpoints. No hash or token ever
// appears in them.
type (
	sessionResponse struct {
		ID         string `json:"id"`
		CreatedAt  string `json:"created_at"`
		LastUsedAt string `json:"last_used_at"`
		UserAgent  string `json:"user_agent"`
		IP         string `json:"ip"`
		Current    bool   `json:"current"`
	}
	sessionsResponse struct {
		Sessions []sessionResponse `json:"sessions"`
	}
	adminUserResponse struct {
		userResponse
		Status       string  `json:"status"` // active or disabled
		DisabledAt   *string `json:"disabled_at"`
		UpdatedAt    string  `json:"updated_at"`
		LastLoginAt  *string `json:"last_login_at,omitempty"`
		LiveSessions *int64  `json:"live_sessions,omitempty"`
	}
	adminUserEnvelope struct {
		User adminUserResponse `json:"user"`
	}
	adminUsersResponse struct {
		Users      []adminUserResponse `json:"users"`
		NextCursor *string             `json:"next_cursor"`
	}
	setRolesRequest struct {
		Roles []string `json:"roles" validate:"required,max=32,dive,max=64"`
	}
	endedResponse struct {
		SessionsEnded int `json:"sessions_ended"`
	}
	auditEventResponse struct {
		Seq        int64           `json:"seq"`
		At         string          `json:"at"`
		Event      string          `json:"event"`
		ActorID    *string         `json:"actor_id"`
		SubjectID  *string         `json:"subject_id"`
		SessionID  *string         `json:"session_id"`
		ClientAddr string          `json:"client_addr"`
		UserAgent  string          `json:"user_agent"`
		Detail     json.RawMessage `json:"detail"`
		Hash       string          `json:"hash"`
	}
	auditResponse struct {
		Events     []auditEventResponse `json:"events"`
		NextCursor *string              `json:"next_cursor"`
	}
)

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optionalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timeText(*t)
	return &s
}

func optionalID(id uuid.UUID) *string {
	if id == uuid.Nil {
		return nil
	}
	s := id.String()
	return &s
}

func newAdminUserResponse(u store.User) adminUserResponse {
	status := "active"
	if u.DisabledAt != nil {
		status = "disabled"
	}
	return adminUserResponse{userResponse: newUserResponse(u), Status: status, DisabledAt: optionalTime(u.DisabledAt), UpdatedAt: timeText(u.UpdatedAt)}
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := s.auth.Sessions(r.Context(), p)
	if err != nil {
		return err
	}
	out := sessionsResponse{Sessions: make([]sessionResponse, len(list))}
	for i, l := range list {
		out.Sessions[i] = sessionResponse{
			ID: l.ID.String(), CreatedAt: timeText(l.CreatedAt), LastUsedAt: timeText(l.LastUsedAt),
			UserAgent: l.Client.UserAgent, IP: l.Client.Addr, Current: l.Current,
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return auth.ErrSessionNotFound // not an id: unknown, like any other
	}
	if err := s.auth.EndSession(r.Context(), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// admin is bearer plus the admin role, read with the live session from the
// database on every call.
func (s *Server) admin(h bearerFunc) handlerFunc {
	return s.bearer(func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if err := auth.RequireAdmin(p); err != nil {
			return err
		}
		return h(w, r, p)
	})
}

// userID is the {id} of the path; not a UUID: unknown.
func userID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, auth.ErrUserNotFound
	}
	return id, nil
}

// Cursors are opaque to clients: base64url of a kind prefix and the key of
// the last item of the previous page.
const (
	usersCursor = "u:"
	auditCursor = "a:"
)

func encodeCursor(kind, key string) *string {
	c := base64.RawURLEncoding.EncodeToString([]byte(kind + key))
	return &c
}

func decodeCursor(kind, raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	key, ok := strings.CutPrefix(string(b), kind)
	if err != nil || !ok {
		return "", newProblem(http.StatusBadRequest, "invalid_cursor", "The cursor is not one this list returned.")
	}
	return key, nil
}

// pageLimit reads ?limit=: 1 to 100, default 20.
func pageLimit(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return auth.DefaultPageSize, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > auth.MaxPageSize {
		return 0, newProblem(http.StatusBadRequest, "invalid_limit", "limit must be a whole number from 1 to "+strconv.Itoa(auth.MaxPageSize)+".")
	}
	return n, nil
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	after, err := decodeCursor(usersCursor, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	users, err := s.auth.ListUsers(r.Context(), p.User.ID, r.URL.Query().Get("q"), after, limit)
	if err != nil {
		return err
	}
	out := adminUsersResponse{Users: make([]adminUserResponse, len(users))}
	for i, u := range users {
		out.Users[i] = newAdminUserResponse(u)
	}
	if len(users) == limit {
		out.NextCursor = encodeCursor(usersCursor, strings.ToLower(users[len(users)-1].Username))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) adminShowUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	sum, err := s.auth.UserOverview(r.Context(), p.User.ID, id)
	if err != nil {
		return err
	}
	u := newAdminUserResponse(sum.User)
	u.LastLoginAt, u.LiveSessions = optionalTime(sum.LastLoginAt), &sum.LiveSessions
	return writeJSON(w, http.StatusOK, adminUserEnvelope{User: u})
}

// adminUserChange answers an admin change of the user {id} with the user
// as it is after it.
func (s *Server) adminUserChange(change func(r *http.Request, admin, id uuid.UUID) (store.User, error)) bearerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		id, err := userID(r)
		if err != nil {
			return err
		}
		u, err := change(r, p.User.ID, id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, adminUserEnvelope{User: newAdminUserResponse(u)})
	}
}

func (s *Server) adminDisable(r *http.Request, admin, id uuid.UUID) (store.User, error) {
	return s.auth.DisableUser(r.Context(), admin, id)
}

func (s *Server) adminEnable(r *http.Request, admin, id uuid.UUID) (store.User, error) {
	return s.auth.EnableUser(r.Context(), admin, id)
}

func (s *Server) adminSetRoles(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req setRolesRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	return s.adminUserChange(func(r *http.Request, admin, id uuid.UUID) (store.User, error) {
		return s.auth.SetRoles(r.Context(), admin, id, req.Roles)
	})(w, r, p)
}

func (s *Server) adminForceLogout(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	n, err := s.auth.ForceLogout(r.Context(), p.User.ID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, endedResponse{SessionsEnded: n})
}

func (s *Server) adminPasswordReset(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	if err := s.auth.RequestPasswordResetFor(r.Context(), p.User.ID, id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, statusResponse{Status: "sent"})
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	key, err := decodeCursor(auditCursor, q.Get("cursor"))
	if err != nil {
		return err
	}
	var before int64
	if key != "" {
		if before, err = strconv.ParseInt(key, 10, 64); err != nil || before < 1 {
			return newProblem(http.StatusBadRequest, "invalid_cursor", "The cursor is not one this list returned.")
		}
	}
	var f store.AuditFilter
	if raw := q.Get("user"); raw != "" {
		if f.UserID, err = uuid.Parse(raw); err != nil {
			return newProblem(http.StatusBadRequest, "invalid_user", "user must be a user id (a UUID).")
		}
	}
	f.Event = q.Get("event")
	rows, err := s.auth.ReadAudit(r.Context(), p.User.ID, f, before, limit)
	if err != nil {
		return err
	}
	out := auditResponse{Events: make([]auditEventResponse, len(rows))}
	for i, e := range rows {
		out.Events[i] = auditEventResponse{
			Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano), Event: e.Event,
			ActorID: optionalID(e.ActorID), SubjectID: optionalID(e.SubjectID), SessionID: optionalID(e.SessionID),
			ClientAddr: e.Client.Addr, UserAgent: e.Client.UserAgent, Detail: json.RawMessage(e.Detail),
			Hash: hex.EncodeToString(e.Hash),
		}
	}
	if len(rows) == limit {
		out.NextCursor = encodeCursor(auditCursor, strconv.FormatInt(rows[len(rows)-1].Seq, 10))
	}
	return writeJSON(w, http.StatusOK, out)
}
