// Package api is the issuer's HTTP interface: the routes, one small handler
// per endpoint, the middleware every request passes through, and the one
// place (writeError) where errors become RFC 9457 problem documents.
package api

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/go-playground/validator/v10"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/metrics"
	"github.com/medinsights/auth/issuer/internal/signer"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Pinger is what readiness checks of the database.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options are the server's dependencies.
type Options struct {
	Auth               *auth.Service
	Store              Pinger
	Signer             *signer.Signer
	Logger             *slog.Logger
	Issuer             string   // JWT_ISSUER, for the discovery document
	CORSAllowedOrigins []string // exact origins
	// RefreshCookiePath is the Path of the cookie-mode session cookies
	// (REFRESH_COOKIE_PATH; empty: /).
	RefreshCookiePath string
	// Revocations, when set, serves GET /api/auth/revocations/ and
	// /api/auth/revocations/stream (the revocation feed and its stream, with
	// their own credential check).
	Revocations http.Handler
	// Metrics, when set, records every request (nil: metrics are off).
	Metrics *metrics.Metrics
	// TrustedProxies (TRUSTED_PROXIES) are the proxies whose
	// X-Forwarded-For is believed; none: the peer is the client.
	TrustedProxies []netip.Prefix
}

// Server serves the issuer's API.
type Server struct {
	auth       *auth.Service
	store      Pinger
	signer     *signer.Signer
	log        *slog.Logger
	issuer     string
	origins    map[string]bool
	cookiePath string
	validator  *validator.Validate
	handler    http.Handler
	feed       http.Handler
	metrics    *metrics.Metrics
	draining   atomic.Bool
	// trustedProxies: see Options.TrustedProxies.
	trustedProxies []netip.Prefix
}

// New returns the server.
func New(o Options) (*Server, error) {
	if o.Auth == nil || o.Store == nil || o.Signer == nil {
		return nil, errors.New("api: auth, store and signer are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{
		auth: o.Auth, store: o.Store, signer: o.Signer, log: o.Logger,
		issuer: o.Issuer, origins: map[string]bool{}, cookiePath: cmp.Or(o.RefreshCookiePath, "/"),
		validator: newValidator(), feed: o.Revocations, metrics: o.Metrics,
		trustedProxies: o.TrustedProxies,
	}
	for _, origin := range o.CORSAllowedOrigins {
		s.origins[origin] = true
	}
	s.handler = s.routes()
	return s, nil
}

// Drain makes readiness fail from now on while every other endpoint keeps
// answering: the first step of a graceful shutdown, so load balancers stop
// sending requests before the listener closes.
func (s *Server) Drain() { s.draining.Store(true) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// handlerFunc is an endpoint: it writes its success and returns its failure.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// routes wires every endpoint, and is the only place that does. Each path
// answers with and without its trailing slash (two exact patterns, no
// redirect); OPTIONS on a known path gets 204 with Allow (RFC 9110 section
// 9.3.7; a CORS preflight is answered before, by withCORS); any other
// method on a known path gets 405 with Allow; any other path gets 404. Both
// are problem documents.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	handle := func(method, path string, h handlerFunc) {
		base := strings.TrimSuffix(path, "/")
		for _, p := range []string{base, base + "/{$}"} {
			mux.Handle(method+" "+p, s.endpoint(h))
		}
		allowed[base] = append(allowed[base], method)
	}

	handle("GET", "/api/auth/health/", s.health)
	handle("GET", "/api/auth/ready/", s.ready)
	handle("POST", "/api/auth/register/", s.register)
	handle("POST", "/api/auth/login/", s.login)
	handle("POST", "/api/auth/refresh/", s.refresh)
	handle("POST", "/api/auth/verify-email/", s.verifyEmail)
	handle("POST", "/api/auth/verify-email/resend/", s.bearer(s.resendVerification))
	handle("POST", "/api/auth/password-reset/", s.passwordReset)
	handle("POST", "/api/auth/password-reset/confirm/", s.passwordResetConfirm)
	handle("GET", "/api/auth/me/", s.bearer(s.me))
	handle("POST", "/api/auth/change-password/", s.bearer(s.changePassword))
	handle("POST", "/api/auth/logout/", s.bearerUnchecked(s.logout))
	handle("POST", "/api/auth/logout-all/", s.bearer(s.logoutAll))
	handle("GET", "/api/auth/sessions/", s.bearer(s.sessions))
	handle("DELETE", "/api/auth/sessions/{id}/", s.bearer(s.endSession))
	handle("GET", "/api/auth/admin/users/", s.admin(s.adminListUsers))
	handle("GET", "/api/auth/admin/users/{id}/", s.admin(s.adminShowUser))
	handle("POST", "/api/auth/admin/users/{id}/disable/", s.admin(s.adminUserChange(s.adminDisable)))
	handle("POST", "/api/auth/admin/users/{id}/enable/", s.admin(s.adminUserChange(s.adminEnable)))
	handle("PUT", "/api/auth/admin/users/{id}/roles/", s.admin(s.adminSetRoles))
	handle("DELETE", "/api/auth/admin/users/{id}/sessions/", s.admin(s.adminForceLogout))
	handle("POST", "/api/auth/admin/users/{id}/password-reset/", s.admin(s.adminPasswordReset))
	handle("GET", "/api/auth/admin/audit/", s.admin(s.adminAudit))
	handle("GET", "/.well-known/jwks.json", s.jwks)
	handle("GET", "/.well-known/openid-configuration", s.openIDConfiguration)
	if s.feed != nil {
		serveFeed := func(w http.ResponseWriter, r *http.Request) error {
			s.feed.ServeHTTP(w, r)
			return nil
		}
		handle("GET", "/api/auth/revocations/", serveFeed)
		handle("GET", "/api/auth/revocations/stream/", serveFeed)
	}

	for base, methods := range allowed {
		if slices.Contains(methods, "GET") {
			methods = append(methods, "HEAD")
		}
		allow := strings.Join(append(methods, "OPTIONS"), ", ")
		notAllowed := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeProblem(w, newProblem(http.StatusMethodNotAllowed, "method_not_allowed", "This path does not answer "+r.Method+"."))
		}
		mux.HandleFunc(base, notAllowed)
		mux.HandleFunc(base+"/{$}", notAllowed)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, newProblem(http.StatusNotFound, "not_found", "There is no such endpoint."))
	})

	// Outermost first: every request gets an id, then is logged, then is
	// protected against panics, then gets CORS and security headers.
	return s.withRequestID(s.withAccessLog(s.withRecovery(s.withCORS(withSecurityHeaders(mux)))))
}

// endpoint runs h with the request's client (address and User-Agent) in
// its context, for the sessions and audit rows it writes, and answers its
// error.
func (s *Server) endpoint(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var addr string
		if a := s.clientAddr(r); a.IsValid() {
			addr = a.String()
		}
		r = r.WithContext(auth.WithClient(r.Context(), store.Client{Addr: addr, UserAgent: r.UserAgent()}))
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// bearerFunc is an endpoint that needs a caller.
type bearerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// bearer authenticates the request's access token (RFC 6750 section 2.1)
// before running h: a token that does not verify, or whose session is
// revoked, is 401 invalid_token.
func (s *Server) bearer(h bearerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, err := bearerToken(r)
		if err != nil {
			return err
		}
		p, err := s.auth.Authenticate(r.Context(), token)
		if err != nil {
			return err
		}
		p.Client = s.clientAddr(r)
		return h(w, r, p)
	}
}

// bearerUnchecked verifies the access token but leaves the check that its
// session is live to h, which must make it before it answers anything else
// (logout does, in its revoking statement, and with auth.CheckLive when the
// body is refused before that statement runs).
func (s *Server) bearerUnchecked(h func(w http.ResponseWriter, r *http.Request, c auth.Caller) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, err := bearerToken(r)
		if err != nil {
			return err
		}
		c, err := s.auth.VerifyAccessToken(token)
		if err != nil {
			return err
		}
		return h(w, r, c)
	}
}

func bearerToken(r *http.Request) (string, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return "", errMissingToken()
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", errInvalidToken()
	}
	return strings.TrimSpace(token), nil
}
