// Package plugin is the medinsights-auth Kong plugin: it verifies the
// issuer's RS256 access tokens in Kong's access phase, refuses what is not
// valid, and tells the upstream who the caller is in X-User-Id, X-User-Roles
// and X-Consumer-Username, after removing any such header the client sent.
//
// The PDK glue (Access) is thin: one kong.request.get_headers call, the
// decision in plain Go (decide), then one kong.service.request.set_headers
// call or one kong.response.exit. Every PDK call is a round trip to Kong, so
// an authenticated request without spoofed headers costs two, and a refused
// one two whatever it carries (see spoofedLimit).
//
// Everything that outlives a request (JWKS fetchers, verified-token caches,
// revocation syncers) is process-wide and shared by the instances with the
// same settings: go-pdk drops instances at will and says nothing when it
// does, so an instance owns no goroutine and no cache.
package plugin

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/Kong/go-pdk"
)

// logger writes to standard error, which Kong copies into its error log at
// INFO level. Logging through kong.log would cost a PDK round trip per line.
var logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("plugin", "medinsights-auth")

// refusalLog bounds the refusal lines written per second, so that a flood of
// bad tokens cannot flood Kong's error log.
var refusalLog = &rateLimiter{perSecond: 50}

// Access is Kong's access-phase handler.
func (c *Config) Access(kong *pdk.PDK) {
	// go-pdk does not recover: a panic would kill the plugin server and fail
	// every in-flight request of every Kong worker.
	defer func() {
		if r := recover(); r != nil {
			logger.Error("panic in access handler", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			respond(kong, outcome{status: http.StatusInternalServerError})
		}
	}()
	s := c.settings()
	if s.err != nil {
		if refusalLog.allow(time.Now()) {
			logger.Error("refused: plugin configuration is invalid", "plugin_id", c.pluginID, "error", s.err.Error())
		}
		respond(kong, outcome{status: http.StatusInternalServerError})
		return
	}
	headers, err := kong.Request.GetHeaders(headerLimit)
	if err != nil {
		// The connection to Kong is gone; Kong answers the request itself.
		logger.Error("read request headers", "error", err.Error())
		return
	}
	now := time.Now()
	o := decide(s, request{headers: headers, methodFunc: kong.Request.GetMethod, rawQueryFunc: kong.Request.GetRawQuery}, now)
	metrics.decided(&o, time.Since(now))
	if o.status != 0 {
		logRefusal(s, o)
		respond(kong, o)
		return
	}
	for _, name := range o.clear {
		if err := kong.ServiceRequest.ClearHeader(name); err != nil {
			logger.Error("clear request header", "error", err.Error())
			return
		}
	}
	if o.rawQuery != nil {
		if err := kong.ServiceRequest.SetRawQuery(*o.rawQuery); err != nil {
			logger.Error("set query string", "error", err.Error())
			return
		}
	}
	if len(o.upstream) > 0 {
		if err := kong.ServiceRequest.SetHeaders(o.upstream); err != nil {
			logger.Error("set identity headers", "error", err.Error())
		}
	}
}

// Response bodies, one per status, in Kong's {"message": ...} style.
var bodies = map[int][]byte{
	http.StatusBadRequest:          []byte(`{"message":"Bad request"}`),
	http.StatusUnauthorized:        []byte(`{"message":"Unauthorized"}`),
	http.StatusForbidden:           []byte(`{"message":"Forbidden"}`),
	http.StatusInternalServerError: []byte(`{"message":"An unexpected error occurred"}`),
	http.StatusServiceUnavailable:  []byte(`{"message":"Service unavailable"}`),
}

// realm names the protection space in every challenge (RFC 6750 section 3).
const realm = `Bearer realm="medinsights"`

// respond ends the request with the outcome's status. Kong never answers
// kong.response.exit; go-pdk closes the connection after it, so nothing may
// follow.
func respond(kong *pdk.PDK, o outcome) {
	h := map[string][]string{"Content-Type": {"application/json; charset=utf-8"}}
	switch {
	case o.status == http.StatusUnauthorized && o.code == "":
		h["WWW-Authenticate"] = []string{realm}
	case o.code != "":
		h["WWW-Authenticate"] = []string{realm + `, error="` + o.code + `"`}
	}
	if o.status == http.StatusServiceUnavailable {
		h["Retry-After"] = []string{strconv.Itoa(max(o.retryAfter, 1))}
	}
	kong.Response.Exit(o.status, bodies[o.status], h)
}

// logRefusal writes why a request was refused, with the token's kid and jti
// when known; never the token.
func logRefusal(s *settings, o outcome) {
	if !refusalLog.allow(time.Now()) {
		return
	}
	attrs := []any{"status", o.status, "reason", o.reason, "plugin_id", s.pluginID}
	if o.kid != "" {
		attrs = append(attrs, "kid", o.kid)
	}
	if o.jti != "" {
		attrs = append(attrs, "jti", o.jti)
	}
	if o.id != nil {
		attrs = append(attrs, "sub", o.id.subject)
	}
	if n := refusalLog.takeSuppressed(); n > 0 {
		attrs = append(attrs, "suppressed_before", n)
	}
	logger.Info("refused", attrs...)
}

// rateLimiter allows perSecond events in each wall-clock second and counts
// the rest.
type rateLimiter struct {
	perSecond  int64
	second     atomic.Int64
	count      atomic.Int64
	suppressed atomic.Int64
}

func (l *rateLimiter) allow(now time.Time) bool {
	sec := now.Unix()
	if old := l.second.Load(); old != sec && l.second.CompareAndSwap(old, sec) {
		l.count.Store(0)
	}
	if l.count.Add(1) > l.perSecond {
		l.suppressed.Add(1)
		return false
	}
	return true
}

func (l *rateLimiter) takeSuppressed() int64 { return l.suppressed.Swap(0) }

// warnLimiter allows one event per interval.
type warnLimiter struct {
	interval time.Duration
	last     atomic.Int64
}

func newWarnLimiter(interval time.Duration) *warnLimiter { return &warnLimiter{interval: interval} }

func (w *warnLimiter) allow(now time.Time) bool {
	last := w.last.Load()
	return now.UnixNano()-last >= int64(w.interval) && w.last.CompareAndSwap(last, now.UnixNano())
}
