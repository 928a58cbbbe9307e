package plugin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/medinsights/auth/internal/accesstoken"
)

// headerLimit is how many request header lines the plugin asks Kong for, the
// most kong.request.get_headers returns. A request with at least that many
// lines may have been truncated, so an identity header could hide beyond the
// limit: it is refused rather than passed with an unchecked header.
const headerLimit = 1000

// spoofedLimit is the most distinct identity header names (X-User-Id,
// x_user_id, X-Consumer-Foo...) a request may carry and still be served:
// each costs one kong.service.request.clear_header round trip, so without a
// bound a client could make the plugin do a thousand round trips for one
// request. A client that sends more is not a browser or a well-behaved
// service, and is refused.
const spoofedLimit = 16

// Error codes of the WWW-Authenticate challenge (RFC 6750 section 3.1).
const (
	codeInvalidRequest    = "invalid_request"
	codeInvalidToken      = "invalid_token"
	codeInsufficientScope = "insufficient_scope"
)

// request is what the decision needs from a Kong request. headers comes from
// one kong.request.get_headers call (names lower-cased by Kong, values in
// order); methodFunc and rawQueryFunc are PDK calls made only when a
// setting needs them.
type request struct {
	headers      map[string][]string
	methodFunc   func() (string, error)
	rawQueryFunc func() (string, error)
}

// outcome is the decision for one request, carried out by the PDK glue in
// Access: either answer with status, or clear the listed headers and let the
// request through with the upstream headers set. A refusal clears nothing:
// kong.response.exit ends the request before it reaches the upstream.
type outcome struct {
	status     int    // 0: pass the request on to the upstream
	code       string // RFC 6750 error code of the challenge, if any
	retryAfter int    // seconds, with 503

	clear    []string            // request headers to remove, as Kong named them; nil with a status
	upstream map[string][]string // headers to set in one set_headers call
	rawQuery *string             // new query string when the token is removed from it

	// For the log line of a refusal; never the token.
	reason string
	kid    string
	jti    string
	id     *identity
}

// tokenSource says where a token was found, so that forward_token=false
// can remove it.
type tokenSource struct {
	kind   byte // 'h' header, 'c' cookie, 'q' query parameter
	name   string
	header string // the request header holding it, as Kong named it
}

var errMalformed = errors.New("malformed credentials")

// Refusal reasons that metrics tell apart from the others of their status.
const (
	reasonRevoked = "session revoked"
	reasonStale   = "revocation list is stale"
)

// isStale is the rule for a revocation list last synced at last: never
// synced, or longer ago than bound.
func isStale(last, now time.Time, bound time.Duration) bool {
	return last.IsZero() || now.Sub(last) > bound
}

// decide is the whole access-phase decision as plain Go: no PDK call except
// the lazy methodFunc and rawQueryFunc.
func decide(s *settings, r request, now time.Time) outcome {
	var (
		spoofed       []string
		preflightHint bool
		foundBuf      [2]string // on the stack: one token is the common case
		sourceBuf     [2]tokenSource
		found         = foundBuf[:0]
		sources       = sourceBuf[:0]
		malformed     string
		lines         int
		credentials   int // credentials in Authorization, whatever their scheme
	)
	for name, values := range r.headers {
		lines += len(values)
		n := normalizeHeaderName(name)
		if n == defaultTokenHeader {
			for _, v := range values {
				credentials += 1 + strings.Count(v, ",")
			}
		}
		switch {
		case isIdentityHeader(n):
			spoofed = append(spoofed, name)
			continue
		case n == "access-control-request-method":
			preflightHint = true
		case n == "cookie" && len(s.cookieNames) > 0:
			for _, v := range values {
				for _, cn := range s.cookieNames {
					for _, tok := range cookieValues(v, cn) {
						found = append(found, tok)
						sources = append(sources, tokenSource{kind: 'c', name: cn, header: name})
					}
				}
			}
		}
		if !containsString(s.headerNames, n) {
			continue
		}
		for _, v := range values {
			tok, ok, err := tokenFromHeader(n, v)
			if err != nil {
				malformed = "malformed " + n + " header"
				continue
			}
			if ok {
				found = append(found, tok)
				sources = append(sources, tokenSource{kind: 'h', name: n, header: name})
			}
		}
	}
	o := outcome{clear: spoofed}
	if lines >= headerLimit {
		return o.refuse(http.StatusBadRequest, codeInvalidRequest, "too many request headers to check them all")
	}
	if len(spoofed) > spoofedLimit {
		return o.refuse(http.StatusBadRequest, codeInvalidRequest, "too many identity headers sent by the client")
	}
	// RFC 9110 section 11.6.2: Authorization carries one credential. Two
	// headers, or one with a comma (never part of a Bearer or Basic
	// credential, so a list such as "Basic ..., Bearer ..."), are refused
	// rather than letting the credential the plugin does not check (Basic)
	// reach the upstream next to the one it does.
	if credentials > 1 {
		return o.refuse(http.StatusBadRequest, codeInvalidRequest, "more than one credential in Authorization")
	}

	// A CORS preflight carries Access-Control-Request-Method; only then is
	// the method worth a PDK call.
	if !s.runOnPreflight && preflightHint {
		m, err := r.methodFunc()
		if err != nil {
			return o.refuse(http.StatusInternalServerError, "", "read request method: "+err.Error())
		}
		if m == http.MethodOptions {
			return o
		}
	}

	if len(s.uriParamNames) > 0 {
		q, err := r.rawQueryFunc()
		if err != nil {
			return o.refuse(http.StatusInternalServerError, "", "read query string: "+err.Error())
		}
		for _, pn := range s.uriParamNames {
			for _, tok := range queryValues(q, pn) {
				found = append(found, tok)
				sources = append(sources, tokenSource{kind: 'q', name: pn})
			}
		}
		if len(found) == 1 && sources[0].kind == 'q' && !s.forwardToken {
			nq := removeQueryParam(q, sources[0].name)
			o.rawQuery = &nq
		}
	}

	switch {
	case malformed != "":
		return o.refuse(http.StatusBadRequest, codeInvalidRequest, malformed)
	case len(found) > 1:
		return o.refuse(http.StatusBadRequest, codeInvalidRequest, "more than one token in the request")
	case len(found) == 0 && s.anonymous && len(s.requiredRoles) == 0:
		return o
	case len(found) == 0:
		// With required_roles, anonymous cannot let a request through: no
		// token carries no role.
		return o.refuse(http.StatusUnauthorized, "", "no token")
	}
	token := found[0]

	id, err := s.verifier.verify(token, now)
	switch {
	case errors.Is(err, errKeysNotReady):
		o = o.refuse(http.StatusServiceUnavailable, "", err.Error())
		o.retryAfter = s.verifier.keys.retryAfter(now)
		return o
	case err != nil:
		o = o.refuse(http.StatusUnauthorized, codeInvalidToken, err.Error())
		kid, _ := accesstoken.KeyID(token)
		o.kid = truncateForLog(kid)
		o.jti = unverifiedJTI(token)
		return o
	}
	o.id = id

	if s.revocation != nil {
		last := s.revocation.LastSync()
		if isStale(last, now, s.revocationStale) {
			if !s.revocationOpen {
				o = o.refuse(http.StatusServiceUnavailable, "", reasonStale)
				o.retryAfter = min(int(s.revocationStale/time.Second), 5)
				return o.about(id)
			}
			switch {
			case !s.staleWarn.allow(now):
			case last.IsZero():
				// Never synced (a wrong revocation_token, an unreachable
				// feed): no revocation is enforced at all, which is an
				// error to fix, not a passing outage.
				logger.Error("revocation list has never loaded; letting verified tokens through (revocation_fail_mode=open): check revocation_url and revocation_token",
					"plugin_id", s.pluginID)
			default:
				logger.Warn("revocation list is stale; letting verified tokens through (revocation_fail_mode=open)",
					"plugin_id", s.pluginID, "last_sync", last)
			}
		}
		if s.revocation.Revoked(id.sid, now) {
			return o.refuse(http.StatusUnauthorized, codeInvalidToken, reasonRevoked).about(id)
		}
	}

	if len(s.requiredRoles) > 0 && !anyRole(id.roles, s.requiredRoles) {
		return o.refuse(http.StatusForbidden, codeInsufficientScope, "none of the required roles").about(id)
	}

	o.upstream = id.upstream
	if !s.forwardToken {
		o = o.dropToken(sources[0], r.headers)
	}
	o.clear = notOverridden(o.clear, o.upstream)
	return o
}

// refuse turns o into a refusal. Nothing is cleared or rewritten: the
// request ends at Kong, so a refusal costs two PDK calls whatever the client
// sent.
func (o outcome) refuse(status int, code, reason string) outcome {
	o.status, o.code, o.reason = status, code, reason
	o.clear, o.rawQuery = nil, nil
	return o
}

func (o outcome) about(id *identity) outcome {
	o.kid, o.jti, o.id = id.kid, id.jti, id
	return o
}

// dropToken removes the token from the request the upstream receives: its
// header is cleared; its cookie is cut out of the Cookie header, rewritten in
// the same set_headers call as the identity headers. A query parameter was
// already removed with the query string.
func (o outcome) dropToken(src tokenSource, headers map[string][]string) outcome {
	switch src.kind {
	case 'h':
		o.clear = append(o.clear, src.header)
	case 'c':
		var kept []string
		for _, v := range headers[src.header] {
			for part := range strings.SplitSeq(v, ";") {
				p := strings.TrimSpace(part)
				if k, _, _ := strings.Cut(p, "="); p != "" && k != src.name {
					kept = append(kept, p)
				}
			}
		}
		if len(kept) == 0 {
			o.clear = append(o.clear, src.header)
			return o
		}
		up := make(map[string][]string, len(o.upstream)+1)
		for k, v := range o.upstream {
			up[k] = v
		}
		up["Cookie"] = []string{strings.Join(kept, "; ")}
		o.upstream = up
	}
	return o
}

// notOverridden drops from names the headers set_headers replaces anyway.
func notOverridden(names []string, upstream map[string][]string) []string {
	out := names[:0:0]
	for _, n := range names {
		if _, ok := upstream[http.CanonicalHeaderKey(n)]; ok && n == strings.ToLower(n) && strings.IndexByte(n, '_') < 0 {
			continue
		}
		out = append(out, n)
	}
	return out
}

// logFieldMax bounds a client-chosen value in a log line, as accesstoken
// does in its errors: room for an RFC 7638 kid of 43 characters.
const logFieldMax = 64

// truncateForLog cuts s to logFieldMax bytes, marking the cut: the kid of a
// refused token is whatever the client sent, up to the token's 8 KiB.
func truncateForLog(s string) string {
	if len(s) <= logFieldMax {
		return s
	}
	return s[:logFieldMax] + "..."
}

func anyRole(have, want []string) bool {
	for _, w := range want {
		if containsString(have, w) {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// tokenFromHeader reads a token from one value of a token header (name
// normalized). Authorization must use the Bearer scheme (RFC 6750 section
// 2.1, scheme case-insensitive); a value with another scheme holds no bearer
// token. Another header may also hold the bare token. Credentials that are
// empty or have more than one part are malformed.
func tokenFromHeader(name, value string) (token string, ok bool, err error) {
	v := strings.Trim(value, " \t")
	if v == "" {
		return "", false, errMalformed
	}
	scheme, rest, spaced := strings.Cut(v, " ")
	switch {
	case spaced && strings.EqualFold(scheme, "bearer"):
		rest = strings.TrimLeft(rest, " ")
		if rest == "" || hasBlank(rest) {
			return "", false, errMalformed
		}
		return rest, true, nil
	case strings.EqualFold(v, "bearer"):
		return "", false, errMalformed
	case name == defaultTokenHeader:
		// Basic, Negotiate...: not ours.
		return "", false, nil
	case spaced || hasBlank(v):
		return "", false, errMalformed
	}
	return v, true, nil
}

// hasBlank reports a space or tab in s; IndexByte is vectorized, which
// matters on an 800-byte token.
func hasBlank(s string) bool {
	return strings.IndexByte(s, ' ') >= 0 || strings.IndexByte(s, '\t') >= 0
}

// cookieValues returns the values of every cookie called name in one Cookie
// header value.
func cookieValues(header, name string) []string {
	var out []string
	for part := range strings.SplitSeq(header, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k != name {
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		out = append(out, v)
	}
	return out
}

// queryValues returns the values of every query parameter called name.
func queryValues(rawQuery, name string) []string {
	var out []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err != nil || uk != name {
			continue
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			out = append(out, uv)
		} else {
			out = append(out, v)
		}
	}
	return out
}

// removeQueryParam returns rawQuery without the parameter called name.
func removeQueryParam(rawQuery, name string) string {
	var kept []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		kept = append(kept, part)
	}
	return strings.Join(kept, "&")
}
