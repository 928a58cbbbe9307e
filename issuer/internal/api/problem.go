package api

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/feed"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Problem is an error that knows how it is answered: an RFC 9457 problem
// document with a stable machine code. It never holds internal text or
// per-request values (no request id), so equal failures get equal bodies.
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Code   string              `json:"code"`
	Errors map[string][]string `json:"errors,omitempty"`

	retryAfter      int    // seconds; sent as Retry-After when set
	wwwAuthenticate string // sent as WWW-Authenticate when set (RFC 6750 section 3)
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// newProblem builds a problem whose type is a URN named after its code.
func newProblem(status int, code, detail string) *Problem {
	return &Problem{Type: "urn:medinsights:problem:" + code, Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

const (
	realm          = `Bearer realm="medinsights"`
	invalidToken   = `Bearer realm="medinsights", error="invalid_token"`
	retryAfterSecs = 5
)

// unauthorized is a 401 carrying the RFC 6750 section 3 challenge.
func unauthorized(code, detail, challenge string) *Problem {
	p := newProblem(http.StatusUnauthorized, code, detail)
	p.wwwAuthenticate = challenge
	return p
}

// unavailable is a 503 telling the client when to retry.
func unavailable(code, detail string, retryAfter int) *Problem {
	p := newProblem(http.StatusServiceUnavailable, code, detail)
	p.retryAfter = retryAfter
	return p
}

// The problems the API answers with, by the domain error that causes them.

func errInvalidCredentials() *Problem {
	return unauthorized("invalid_credentials", "The username or password is incorrect.", realm)
}

func errInvalidGrant() *Problem {
	return unauthorized("invalid_grant", "The refresh token is invalid, expired or revoked.", realm)
}

func errInvalidToken() *Problem {
	return unauthorized("invalid_token", "The access token is invalid, expired or revoked.", invalidToken)
}

func errMissingToken() *Problem {
	return unauthorized("authentication_required", "This endpoint needs an Authorization: Bearer access token.", realm)
}

func errOverloaded() *Problem {
	return unavailable("overloaded", "Too many password checks are in progress; retry shortly.", 1)
}

func errUnavailable() *Problem {
	return unavailable("service_unavailable", "The service is temporarily unavailable; retry later.", retryAfterSecs)
}

// problemFor finds the problem an error is answered with, or nil when the
// error is internal.
func problemFor(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var t *auth.ThrottledError
	if errors.As(err, &t) {
		p := newProblem(http.StatusTooManyRequests, "too_many_attempts", "Too many attempts; retry later.")
		p.retryAfter = int(math.Ceil(t.RetryAfter.Seconds()))
		return p
	}
	var v *auth.ValidationError
	if errors.As(err, &v) {
		p := newProblem(http.StatusBadRequest, "validation_failed", "The request body has invalid fields.")
		if v.Code == auth.CodePasswordBreached {
			p = newProblem(http.StatusBadRequest, v.Code, "The password appears in a list of passwords exposed in data breaches.")
		}
		p.Errors = v.Fields
		return p
	}
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		return errInvalidCredentials()
	case errors.Is(err, auth.ErrInvalidGrant):
		return errInvalidGrant()
	case errors.Is(err, auth.ErrInvalidToken):
		return errInvalidToken()
	case errors.Is(err, auth.ErrPasswordChanged):
		return newProblem(http.StatusConflict, "password_changed", "The password was changed by another request meanwhile; sign in again with the new one.")
	case errors.Is(err, auth.ErrForeignRefreshToken):
		// Only at logout, where the caller is authenticated: 403 with a code
		// of its own. At /refresh another user's token is indistinguishable
		// from an unknown one (401 invalid_grant).
		return newProblem(http.StatusForbidden, "session_not_owned", "The refresh token does not belong to one of your sessions.")
	case errors.Is(err, auth.ErrUsernameTaken):
		p := newProblem(http.StatusConflict, "username_taken", "This username is already taken.")
		p.Errors = map[string][]string{"username": {"is already taken"}}
		return p
	case errors.Is(err, auth.ErrEmailTaken):
		p := newProblem(http.StatusConflict, "email_taken", "This e-mail address is already registered.")
		p.Errors = map[string][]string{"email": {"is already registered"}}
		return p
	case errors.Is(err, auth.ErrInvalidVerificationToken):
		return newProblem(http.StatusBadRequest, "invalid_verification_token", "The verification token is invalid, used or expired.")
	case errors.Is(err, auth.ErrInvalidResetToken):
		return newProblem(http.StatusBadRequest, "invalid_reset_token", "The password reset token is invalid, used or expired.")
	case errors.Is(err, auth.ErrAlreadyVerified):
		return newProblem(http.StatusConflict, "email_already_verified", "The e-mail address is already verified.")
	case errors.Is(err, auth.ErrSessionNotFound):
		return newProblem(http.StatusNotFound, "session_not_found", "There is no such live session of yours.")
	case errors.Is(err, auth.ErrUserNotFound):
		return newProblem(http.StatusNotFound, "user_not_found", "There is no such user.")
	case errors.Is(err, auth.ErrInsufficientRole):
		return newProblem(http.StatusForbidden, "insufficient_role", "This endpoint needs the admin role.")
	case errors.Is(err, auth.ErrSelfLockout):
		return newProblem(http.StatusConflict, "self_lockout", "An administrator cannot disable themselves or remove their own admin role.")
	case errors.Is(err, auth.ErrInvalidRole):
		p := newProblem(http.StatusBadRequest, "validation_failed", "The request body has invalid fields.")
		p.Errors = map[string][]string{"roles": {"must be lower-case letters, digits, '-' and '_'"}}
		return p
	case errors.Is(err, auth.ErrAccountDisabled):
		return newProblem(http.StatusConflict, "user_disabled", "The account is disabled: enable it before sending a password reset.")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrRetryable):
		return errUnavailable()
	case errors.Is(err, auth.ErrOverloaded):
		return errOverloaded()
	case errors.Is(err, feed.ErrBusy):
		return unavailable("feed_busy", "Too many gateways are catching up from the database; retry shortly.", 1)
	}
	return nil
}

// writeError is the one place an error becomes an HTTP answer. Errors the
// client caused are answered as their problem; anything else is logged in
// full and answered with a bare 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	switch {
	case p == nil:
		s.log.ErrorContext(r.Context(), "internal error", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err.Error())
		p = newProblem(http.StatusInternalServerError, "internal_error", "")
	case p.Code == "overloaded":
		s.log.WarnContext(r.Context(), "password hashing overloaded", "request_id", requestID(r.Context()), "path", r.URL.Path)
	case p.Status == http.StatusServiceUnavailable:
		s.log.WarnContext(r.Context(), "database unavailable", "request_id", requestID(r.Context()), "path", r.URL.Path, "error", err.Error())
	case p.Status == http.StatusUnauthorized && errors.Is(err, auth.ErrInvalidToken):
		s.log.InfoContext(r.Context(), "access token refused", "request_id", requestID(r.Context()), "reason", err.Error())
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	h := w.Header()
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	if p.wwwAuthenticate != "" {
		h.Set("WWW-Authenticate", p.wwwAuthenticate)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
