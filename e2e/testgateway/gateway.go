// Package testgateway plays Kong's part over HTTP for tests that need a
// gateway in front of the issuer and an upstream: the browser tests, where
// Kong itself cannot run. It is test-only and never shipped.
//
// Like kong/kong.yml it routes /auth/* to the issuer's /api/auth/* (the
// revocation feed answers 404), sends the protected paths through the real
// plugin binary (a kongtest.Instance) to the upstream, with the headers the
// plugin leaves, and answers CORS as the file's global cors plugin does
// (CORSFromKongYAML). It records every request it answers, for tests that
// count them (one refresh for many callers).
package testgateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/medinsights/auth/kong-plugin/kongtest"
)

// Options configure a gateway.
type Options struct {
	CORS CORS
	// Issuer is the issuer's base URL (http://127.0.0.1:port).
	Issuer string
	// Plugin checks the requests to Protected.
	Plugin *kongtest.Instance
	// Protected are the path prefixes that go through Plugin to Upstream.
	Protected []string
	Upstream  string
	// RefreshCookie names the cookie Entry.Cookie looks for.
	RefreshCookie string
}

// Entry is one request the gateway answered.
type Entry struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	Origin string `json:"origin"`
	// Cookie: the request carried the refresh cookie.
	Cookie bool `json:"cookie"`
	// Code is the error code of a refusal: the problem document's code
	// (the issuer's answers), else the WWW-Authenticate challenge's error
	// (the plugin's).
	Code string `json:"code,omitempty"`
}

// Gateway is a running test gateway.
type Gateway struct {
	URL string
	// ControlURL serves GET /requests: the entries so far, as JSON.
	ControlURL string

	o        Options
	issuer   *httputil.ReverseProxy
	upstream *httputil.ReverseProxy

	mu  sync.Mutex
	log []Entry
}

// Start serves a gateway on 127.0.0.1 until t ends.
func Start(t testing.TB, o Options) *Gateway {
	t.Helper()
	if err := o.CORS.check(); err != nil {
		t.Fatal(err)
	}
	issuer, err := url.Parse(o.Issuer)
	if err != nil {
		t.Fatalf("issuer URL: %v", err)
	}
	upstream, err := url.Parse(o.Upstream)
	if err != nil {
		t.Fatalf("upstream URL: %v", err)
	}
	g := &Gateway{o: o}
	g.issuer = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Scheme, pr.Out.URL.Host = issuer.Scheme, issuer.Host
		pr.Out.URL.Path = "/api/auth" + strings.TrimPrefix(pr.In.URL.Path, "/auth")
		pr.Out.URL.RawPath = ""
		pr.Out.Host = issuer.Host // preserve_host: false
	}}
	g.upstream = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Scheme, pr.Out.URL.Host = upstream.Scheme, upstream.Host
		pr.Out.Host = upstream.Host
	}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	ctl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(g.Entries())
	}))
	t.Cleanup(ctl.Close)
	g.URL, g.ControlURL = srv.URL, ctl.URL
	return g
}

// Entries returns the requests answered so far, in order.
func (g *Gateway) Entries() []Entry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Entry(nil), g.log...)
}

// ServeHTTP plays Kong's phases: cors's access (preflights), the route's
// plugins, the upstream, then cors's header filter on whatever answers.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, hasCookie := cookie(r, g.o.RefreshCookie)
	rec := &recorder{ResponseWriter: w, g: g, cors: g.o.CORS, entry: Entry{Method: r.Method, Path: r.URL.Path, Origin: r.Header.Get("Origin"), Cookie: hasCookie}}
	defer func() {
		if !rec.wrote {
			rec.WriteHeader(http.StatusOK)
		}
	}()
	if isPreflight(r) && !g.o.CORS.PreflightContinue {
		rec.preflight = true
		g.o.CORS.preflight(rec, r)
		return
	}
	path := r.URL.Path
	switch {
	case path == "/auth/revocations" || strings.HasPrefix(path, "/auth/revocations/"):
		writeKongMessage(rec, http.StatusNotFound, "Not Found")
	case path == "/auth" || strings.HasPrefix(path, "/auth/"):
		g.issuer.ServeHTTP(rec, r)
	case g.protected(path):
		g.throughPlugin(rec, r)
	default:
		writeKongMessage(rec, http.StatusNotFound, "no Route matched with those values")
	}
}

func (g *Gateway) protected(path string) bool {
	for _, p := range g.o.Protected {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// throughPlugin runs the plugin's access phase over its socket, then either
// answers as the plugin exited or proxies with the headers it left.
func (g *Gateway) throughPlugin(w http.ResponseWriter, r *http.Request) {
	req := kongtest.Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	for name, vals := range r.Header {
		for _, v := range vals {
			req.Headers = append(req.Headers, kongtest.Header{Name: name, Value: v})
		}
	}
	res, err := g.o.Plugin.Access(req)
	if err != nil {
		// What Kong 3.8+ does when a plugin event fails: 500.
		writeKongMessage(w, http.StatusInternalServerError, "An unexpected error occurred")
		return
	}
	if res.Exited {
		for name, vals := range res.Headers {
			for _, v := range vals {
				w.Header().Add(name, v)
			}
		}
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Body)
		return
	}
	out := r.Clone(r.Context())
	out.Header = http.Header{}
	for _, h := range res.Upstream {
		out.Header.Add(h.Name, h.Value)
	}
	out.URL.RawQuery = res.UpstreamQuery
	g.upstream.ServeHTTP(w, out)
}

func writeKongMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "{\"message\":%q}\n", msg)
}

func cookie(r *http.Request, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	c, err := r.Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// challengeError finds the error of an RFC 6750 challenge.
var challengeError = regexp.MustCompile(`error="([a-z_]+)"`)

// recorder applies cors's header filter when the answer's headers are
// written, and records the request then, before the client can see the
// answer; an issuer problem's code is added as its body passes.
type recorder struct {
	http.ResponseWriter
	g         *Gateway
	cors      CORS
	preflight bool
	entry     Entry
	index     int
	wrote     bool
	body      []byte
}

func (r *recorder) WriteHeader(status int) {
	if r.wrote {
		return
	}
	r.wrote = true
	if !r.preflight {
		r.cors.headerFilter(r.Header(), r.entry.Origin)
	}
	r.entry.Status = status
	if m := challengeError.FindStringSubmatch(r.Header().Get("WWW-Authenticate")); m != nil {
		r.entry.Code = m[1]
	}
	r.g.mu.Lock()
	r.index = len(r.g.log)
	r.g.log = append(r.g.log, r.entry)
	r.g.mu.Unlock()
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	if r.entry.Status >= 400 && len(r.body) < 4096 {
		r.body = append(r.body, b...)
		var p struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(r.body, &p) == nil && p.Code != "" {
			r.g.mu.Lock()
			r.g.log[r.index].Code = p.Code
			r.g.mu.Unlock()
		}
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets the reverse proxy flush through the recorder.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
