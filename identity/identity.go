// Package identity gives an upstream service behind the MedInsights gateway
// the caller's identity, as the medinsights-auth Kong plugin sends it:
//
//	X-User-Id            the user's id, a UUID in canonical form
//	X-User-Roles         the user's roles, a comma list (absent: no role)
//	X-Consumer-Username  the user's login name
//
// [Middleware] reads these headers into the request's context, where
// [FromContext] finds them, and [RequireRoles] guards a handler with them.
//
// # Only safe behind the gateway
//
// The headers are trusted as they stand: the plugin verified the caller's
// access token and removed any such header the client sent. A client that
// reaches the service without going through Kong can send whatever identity
// it likes. Deploy a service that uses this package so that only the gateway
// can reach it: in Kubernetes, the NetworkPolicy in
// k8s/base/upstream-networkpolicy.yaml; in compose, no published port.
//
// # Refusals
//
// A request without identity is answered 401 with the problem code
// "identity_missing". A value the plugin would never send (an id that is not
// a canonical UUID, a role outside the issuer's role grammar, a username that
// is not header-safe text, a header given twice, or a partial identity) is
// answered 401 "identity_malformed" and logged in one line: something other
// than the gateway is talking to the service, or the two disagree. A missing
// role is answered 403 "insufficient_role". Every answer is RFC 9457 problem
// JSON.
//
// The package uses only the standard library.
package identity

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/medinsights/auth/internal/grammar"
)

// The headers the medinsights-auth plugin sets for the upstream.
const (
	HeaderUserID   = "X-User-Id"
	HeaderRoles    = "X-User-Roles"
	HeaderUsername = "X-Consumer-Username"
)

// Identity is the caller of a request, as the gateway verified it.
type Identity struct {
	UserID   string   // canonical UUID
	Username string   // header-safe text
	Roles    []string // each in the issuer's role grammar; nil: none
}

// HasRole reports whether the caller holds role.
func (id Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

type contextKey struct{}

// FromContext returns the identity [Middleware] stored in ctx; ok is false
// when there is none.
func FromContext(ctx context.Context) (id Identity, ok bool) {
	p, ok := ctx.Value(contextKey{}).(*Identity)
	if !ok {
		return Identity{}, false
	}
	return *p, true
}

// NewContext returns a copy of ctx carrying id: for tests of handlers that
// read [FromContext], and for services that learn the identity another way.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, contextKey{}, &id)
}

// Middleware reads the caller's identity from the gateway's headers into the
// request's context and calls next, or answers 401 (see the package doc).
// It logs refusals with [slog.Default]; [NewMiddleware] takes a logger.
func Middleware(next http.Handler) http.Handler { return NewMiddleware(nil)(next) }

// NewMiddleware returns [Middleware] logging its refusals to log (nil:
// slog.Default()).
func NewMiddleware(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := parse(r.Header)
			var pe *parseError
			switch {
			case errors.Is(err, errMissing):
				writeProblem(w, http.StatusUnauthorized, codeMissing, "This service needs the caller's identity from the gateway.")
				return
			case errors.As(err, &pe):
				logger := log
				if logger == nil {
					logger = slog.Default()
				}
				logger.Warn("identity refused: a header the gateway would never send",
					"header", pe.header, "reason", pe.reason, "value", clip(pe.value),
					"remote_addr", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
				writeProblem(w, http.StatusUnauthorized, codeMalformed, "The caller's identity is malformed.")
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
		})
	}
}

// RequireRoles returns middleware that lets a request through only when its
// caller holds every role listed, and answers 403 otherwise. It must run
// after [Middleware]; a request that has no identity in its context is
// answered 401. A role outside the issuer's grammar can never be held, so
// naming one is a programming error: RequireRoles panics, at start-up.
func RequireRoles(roles ...string) func(http.Handler) http.Handler {
	for _, r := range roles {
		if !grammar.Role(r) {
			panic("identity.RequireRoles: " + r + " is not a role the issuer can grant")
		}
	}
	roles = slices.Clone(roles)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := FromContext(r.Context())
			if !ok {
				writeProblem(w, http.StatusUnauthorized, codeMissing, "This service needs the caller's identity from the gateway.")
				return
			}
			for _, want := range roles {
				if !id.HasRole(want) {
					writeProblem(w, http.StatusForbidden, codeInsufficientRole, "The caller lacks a role this resource requires.")
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
