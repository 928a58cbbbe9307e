package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Wire types. Request bodies are refused when they carry any other field,
// so a body with "roles" or "is_staff" can never set them.
type (
	registerRequest struct {
		Username  string `json:"username" validate:"required,username"`
		Email     string `json:"email" validate:"required,max=254,plaintext,email"`
		Password  string `json:"password" validate:"required,min=12,max=128"`
		FirstName string `json:"first_name" validate:"max=150,plaintext"`
		LastName  string `json:"last_name" validate:"max=150,plaintext"`
	}
	loginRequest struct {
		Username    string `json:"username" validate:"required,max=254,plaintext"` // or the e-mail address
		Password    string `json:"password" validate:"required,max=1024"`
		SessionMode string `json:"session_mode" validate:"omitempty,oneof=cookie body"`
		// DeviceToken is the device_token of an earlier login on this
		// device: it spares the login the account-wide throttle.
		DeviceToken string `json:"device_token" validate:"max=512"`
	}
	passwordResetRequest struct {
		Email string `json:"email" validate:"required,max=254,email"`
	}
	passwordResetConfirmRequest struct {
		Token    string `json:"token" validate:"required,max=512"`
		Password string `json:"password" validate:"required,min=12,max=128"`
	}
	// refreshRequest is the body of a refresh or a logout. The token is
	// required unless the request is in cookie mode, which reads it from the
	// cookie when the body has none.
	refreshRequest struct {
		RefreshToken string `json:"refresh_token" validate:"max=512"`
		SessionMode  string `json:"session_mode" validate:"omitempty,oneof=cookie body"`
	}
	verifyEmailRequest struct {
		Token string `json:"token" validate:"required,max=512"`
	}
	changePasswordRequest struct {
		CurrentPassword string `json:"current_password" validate:"required,max=1024"`
		NewPassword     string `json:"new_password" validate:"required,min=12,max=128"`
	}

	userResponse struct {
		ID            string   `json:"id"`
		Username      string   `json:"username"`
		Email         string   `json:"email"`
		FirstName     string   `json:"first_name"`
		LastName      string   `json:"last_name"`
		EmailVerified bool     `json:"email_verified"`
		Roles         []string `json:"roles"`
		DateJoined    string   `json:"date_joined"`
	}
	userEnvelope struct {
		User userResponse `json:"user"`
	}
	tokenResponse struct {
		AccessToken      string       `json:"access_token"`
		TokenType        string       `json:"token_type"`
		ExpiresIn        int64        `json:"expires_in"`
		RefreshToken     string       `json:"refresh_token,omitempty"` // absent in cookie mode
		RefreshExpiresIn int64        `json:"refresh_expires_in"`
		User             userResponse `json:"user"`
		// DeviceToken: login only. The client keeps it for this user and
		// sends it with its next login (docs/throttling.md).
		DeviceToken string `json:"device_token,omitempty"`
	}
	statusResponse struct {
		Status string `json:"status"`
	}
	discoveryResponse struct {
		Issuer                           string   `json:"issuer"`
		JWKSURI                          string   `json:"jwks_uri"`
		IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
		SubjectTypesSupported            []string `json:"subject_types_supported"`
		ResponseTypesSupported           []string `json:"response_types_supported"`
		ClaimsSupported                  []string `json:"claims_supported"`
	}
)

func newUserResponse(u store.User) userResponse {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userResponse{
		ID: u.ID.String(), Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		EmailVerified: u.EmailVerified, Roles: roles, DateJoined: u.DateJoined.UTC().Format(time.RFC3339),
	}
}

func newTokenResponse(t auth.TokenPair) tokenResponse {
	return tokenResponse{
		AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: int64(t.ExpiresIn / time.Second),
		RefreshToken: t.RefreshToken, RefreshExpiresIn: int64(t.RefreshExpiresIn / time.Second),
		User: newUserResponse(t.User), DeviceToken: t.DeviceToken,
	}
}

// writeJSON writes a success. Once the status is sent there is nothing
// left to tell the client, so a failed write (a client gone) is not an error.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return nil
}

// health is liveness: it never touches the database.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, statusResponse{Status: "ok"})
}

// ready is readiness: the server is not shutting down, the database
// answers and the signing key is loaded.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return notReady("The server is shutting down.")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.signer.Ready(); err != nil {
		s.log.WarnContext(r.Context(), "not ready: signer", "error", err.Error())
		return notReady("The signing key is not available.")
	}
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(r.Context(), "not ready: database", "error", err.Error())
		return notReady("The database is not available.")
	}
	return writeJSON(w, http.StatusOK, statusResponse{Status: "ready"})
}

func notReady(detail string) *Problem {
	p := newProblem(http.StatusServiceUnavailable, "not_ready", detail)
	p.retryAfter = retryAfterSecs
	return p
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.auth.Register(r.Context(), auth.RegisterInput{
		Username: req.Username, Email: req.Email, Password: req.Password, FirstName: req.FirstName, LastName: req.LastName,
		Client: s.clientAddr(r),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, userEnvelope{User: newUserResponse(u)})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	cookieMode, err := headerAsksForCookies(r)
	if err != nil {
		return err
	}
	var req loginRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if device := cookieValue(r, deviceCookie); req.DeviceToken == "" && len(device) <= 512 {
		req.DeviceToken = device
	}
	t, err := s.auth.Login(r.Context(), auth.LoginInput{
		Login: req.Username, Password: req.Password, DeviceToken: req.DeviceToken, Client: s.clientAddr(r),
	})
	if err != nil {
		return err
	}
	return s.writeTokens(w, t, cookieMode || req.SessionMode == sessionModeCookie)
}

// writeTokens answers a login or refresh. In cookie mode the refresh token
// and a login's device token go into their cookies and are left out of the
// JSON.
func (s *Server) writeTokens(w http.ResponseWriter, t auth.TokenPair, cookieMode bool) error {
	resp := newTokenResponse(t)
	if cookieMode {
		s.setCookie(w, refreshCookie, resp.RefreshToken, resp.RefreshExpiresIn)
		resp.RefreshToken = ""
		if resp.DeviceToken != "" {
			s.setCookie(w, deviceCookie, resp.DeviceToken, int64(t.DeviceExpiresIn/time.Second))
			resp.DeviceToken = ""
		}
	}
	return writeJSON(w, http.StatusOK, resp)
}

// sessionToken is the refresh token a refresh or logout acts on: the body's,
// else in cookie mode the cookie's.
func sessionToken(r *http.Request, req refreshRequest, cookieMode bool) (string, error) {
	token := req.RefreshToken
	if token == "" && cookieMode {
		token = cookieValue(r, refreshCookie)
	}
	if token == "" || len(token) > 512 {
		if cookieMode {
			return "", errInvalidGrant()
		}
		return "", fieldProblem("refresh_token", "is required")
	}
	return token, nil
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	cookieMode, err := s.decodeSession(w, r, &req, &req.SessionMode)
	if err != nil {
		return err
	}
	token, err := sessionToken(r, req, cookieMode)
	if err != nil {
		return err
	}
	// The access token is optional here. When one is sent (expired or not)
	// and verifies, it names the caller, and another user's refresh token is
	// refused like an unknown one.
	caller := uuid.Nil
	if scheme, access, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		caller = s.auth.CallerOf(strings.TrimSpace(access))
	}
	t, err := s.auth.Refresh(r.Context(), token, caller)
	if err != nil {
		if cookieMode && errors.Is(err, auth.ErrInvalidGrant) {
			s.clearSessionCookies(w) // the session is over: the browser keeps no cookie of it
		}
		return err
	}
	return s.writeTokens(w, t, cookieMode)
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var req verifyEmailRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.auth.VerifyEmail(r.Context(), req.Token)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userEnvelope{User: newUserResponse(u)})
}

func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.auth.ResendVerification(r.Context(), p); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, statusResponse{Status: "sent"})
}

// passwordReset answers 202 before it does anything, the same for every
// address (known, unknown, disabled, over its mail limit), and only then
// looks the address up and sends the mail: the answer's content and timing
// tell nothing. The answer carries its length and closes the connection, so
// the client has all of it at once and no later request on the connection
// waits for the work.
func (s *Server) passwordReset(w http.ResponseWriter, r *http.Request) error {
	var req passwordResetRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	body, err := json.Marshal(statusResponse{Status: "sent"})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(body)
	_ = http.NewResponseController(w).Flush()
	s.auth.RequestPasswordReset(r.Context(), req.Email)
	return nil
}

func (s *Server) passwordResetConfirm(w http.ResponseWriter, r *http.Request) error {
	var req passwordResetConfirmRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.auth.ConfirmPasswordReset(r.Context(), req.Token, req.Password)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userEnvelope{User: newUserResponse(u)})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return writeJSON(w, http.StatusOK, userEnvelope{User: newUserResponse(p.User)})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req changePasswordRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.auth.ChangePassword(r.Context(), p, req.CurrentPassword, req.NewPassword)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userEnvelope{User: newUserResponse(u)})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c auth.Caller) error {
	var req refreshRequest
	cookieMode, err := s.decodeSession(w, r, &req, &req.SessionMode)
	token := ""
	if err == nil {
		token, err = sessionToken(r, req, cookieMode)
	}
	if err != nil {
		// The caller's session is checked in the revoking statement, which
		// a bad body never reaches: check it here first, so a revoked
		// token gets 401 whatever it sends, never a 400 about its body.
		if err := s.auth.CheckLive(r.Context(), c); err != nil {
			return err
		}
		return err
	}
	if err := s.auth.Logout(r.Context(), c, token); err != nil {
		return err
	}
	if cookieMode {
		s.clearSessionCookies(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// logoutAll ends every session of the caller's. A request carrying the
// session cookie needs the same-origin proof, like a logout, and gets the
// cookie cleared.
func (s *Server) logoutAll(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	cookieMode := cookieValue(r, refreshCookie) != ""
	if cookieMode {
		if err := s.checkSameOrigin(r); err != nil {
			return err
		}
	}
	if _, err := s.auth.LogoutAll(r.Context(), p); err != nil {
		return err
	}
	if cookieMode {
		s.clearSessionCookies(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// jwks publishes every key that may verify a live token. It may be cached
// briefly: a new key is published before it signs (see README, key rotation).
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Del("Pragma")
	return writeJSON(w, http.StatusOK, s.signer.JWKS())
}

// openIDConfiguration is enough of OpenID Connect Discovery 1.0 section 3
// for JWT tooling to find the keys.
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Del("Pragma")
	return writeJSON(w, http.StatusOK, discoveryResponse{
		Issuer:                           s.issuer,
		JWKSURI:                          strings.TrimSuffix(s.issuer, "/") + "/.well-known/jwks.json",
		IDTokenSigningAlgValuesSupported: []string{accesstoken.Algorithm},
		SubjectTypesSupported:            []string{"public"},
		ResponseTypesSupported:           []string{"token"},
		ClaimsSupported:                  []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "roles", "username", "email_verified"},
	})
}
