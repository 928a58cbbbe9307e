package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
)

// sameOrigin is the proof a cookie-mode refresh or logout must carry.
var sameOrigin = http.Header{"Origin": {issuertest.Origin}, "X-Medinsights-Csrf": {"1"}}

// withCookie returns h plus a Cookie header carrying the refresh token.
func withCookie(h http.Header, refresh string) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	out.Set("Cookie", "medinsights_refresh="+refresh)
	return out
}

// cookieSet returns the cookie named name that r sets, or nil.
func cookieSet(r resp, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// refreshCookie returns the medinsights_refresh cookie r sets, failing t
// when it sets none.
func refreshCookie(t *testing.T, r resp) *http.Cookie {
	t.Helper()
	c := cookieSet(r, "medinsights_refresh")
	if c == nil {
		t.Fatalf("no medinsights_refresh cookie set: %v", r.Header.Values("Set-Cookie"))
	}
	return c
}

func wantNoCookie(t *testing.T, r resp) {
	t.Helper()
	if v := r.Header.Values("Set-Cookie"); len(v) > 0 {
		t.Fatalf("Set-Cookie %v, want none", v)
	}
}

// cookieLogin logs alice in in cookie mode and returns the access token and
// the refresh cookie.
func cookieLogin(t *testing.T, is *issuertest.Issuer) (access string, refresh *http.Cookie) {
	t.Helper()
	r := is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": password, "session_mode": "cookie"}, "")
	wantStatus(t, r, 200)
	return r.JSON["access_token"].(string), refreshCookie(t, r)
}

func TestCookieModeLoginSetsAnHttpOnlyCookieInsteadOfTheJSONToken(t *testing.T) {
	t.Parallel()
	is := setup(t)
	for name, c := range map[string]struct {
		body   map[string]string
		header http.Header
	}{
		"body field": {map[string]string{"username": "alice", "password": password, "session_mode": "cookie"}, nil},
		"header":     {map[string]string{"username": "alice", "password": password}, http.Header{"X-Medinsights-Session-Mode": {"cookie"}}},
	} {
		r := is.Do(t, req{Method: "POST", Path: "/api/auth/login/", Body: c.body, Header: c.header})
		wantStatus(t, r, 200)
		if _, ok := r.JSON["refresh_token"]; ok {
			t.Errorf("%s: the JSON holds the refresh token: %s", name, r.Body)
		}
		if r.JSON["access_token"] == "" || r.JSON["user"] == nil {
			t.Errorf("%s: body %s", name, r.Body)
		}
		ck := refreshCookie(t, r)
		raw := strings.Join(r.Header.Values("Set-Cookie"), "\n")
		if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" ||
			ck.MaxAge != int(issuertest.RefreshLifetime.Seconds()) || len(ck.Value) < 40 {
			t.Errorf("%s: cookie %s, want HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=the refresh lifetime", name, raw)
		}
		// The cookie's token is a working refresh token.
		wantStatus(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": ck.Value}, ""), 200)
	}

	// Body-token mode is unchanged: the token in the JSON, no cookie.
	r := is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": password}, "")
	wantStatus(t, r, 200)
	wantNoCookie(t, r)
	if r.JSON["refresh_token"] == nil {
		t.Fatalf("body mode lost its refresh token: %s", r.Body)
	}
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{}, ""), 400, "validation_failed")
}

func TestRefreshCookiePathIsConfigurable(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{RefreshCookiePath: "/auth"})
	is.Register(t, "alice", password)
	access, refresh := cookieLogin(t, is)
	if refresh.Path != "/auth" {
		t.Fatalf("cookie path %q, want /auth", refresh.Path)
	}
	r := is.Do(t, req{Method: "POST", Path: "/api/auth/logout/", Token: access, Body: map[string]string{}, Header: withCookie(sameOrigin, refresh.Value)})
	wantStatus(t, r, 204)
	if ck := refreshCookie(t, r); ck.Path != "/auth" {
		t.Fatalf("cleared cookie on path %q, want /auth (a cookie is only cleared on its own path)", ck.Path)
	}
}

func TestCookieModeRefreshRotatesTheCookie(t *testing.T) {
	t.Parallel()
	is := setup(t)
	access, ck := cookieLogin(t, is)
	refresh := ck.Value
	r := is.Do(t, req{Method: "POST", Path: "/api/auth/refresh/", Token: access, Body: map[string]string{}, Header: withCookie(sameOrigin, refresh)})
	wantStatus(t, r, 200)
	if _, ok := r.JSON["refresh_token"]; ok {
		t.Fatalf("the JSON holds the refresh token: %s", r.Body)
	}
	next := refreshCookie(t, r).Value
	if next == refresh || r.JSON["access_token"] == "" {
		t.Fatalf("the cookie was not rotated: %s", r.Body)
	}
	// The session goes on with the new cookie, and the header alone asks
	// for cookie mode too.
	h := withCookie(sameOrigin, next)
	h.Set("X-Medinsights-Session-Mode", "cookie")
	r = is.Do(t, req{Method: "POST", Path: "/api/auth/refresh/", Body: map[string]string{}, Header: h})
	wantStatus(t, r, 200)
	refreshCookie(t, r)
}

func TestCookieModeWithoutSameOriginProofIsRefused(t *testing.T) {
	t.Parallel()
	is := setup(t)
	access, ck := cookieLogin(t, is)
	refresh := ck.Value
	foreign := func(origin, csrf string) http.Header {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		if csrf != "" {
			h.Set("X-Medinsights-Csrf", csrf)
		}
		return h
	}
	for _, c := range []struct {
		name        string
		header      http.Header
		body        any
		contentType string
	}{
		{"no Origin, no header", foreign("", ""), map[string]string{}, ""},
		{"allowed Origin, no header", foreign(issuertest.Origin, ""), map[string]string{}, ""},
		{"allowed Origin, header 0", foreign(issuertest.Origin, "0"), map[string]string{}, ""},
		{"foreign Origin with the header", foreign("https://evil.example", "1"), map[string]string{}, ""},
		{"same site, other port", foreign("https://app.medinsights.test:8443", "1"), map[string]string{}, ""},
		{"null Origin", foreign("null", "1"), map[string]string{}, ""},
		{"cross-site form", foreign("https://evil.example", ""), "session_mode=cookie", "application/x-www-form-urlencoded"},
		{"text/plain form", foreign("https://evil.example", ""), `{"session_mode":"cookie"}`, "text/plain"},
	} {
		for _, path := range []string{"/api/auth/refresh/", "/api/auth/logout/", "/api/auth/logout-all/"} {
			r := is.Do(t, req{Method: "POST", Path: path, Token: access, Body: c.body, ContentType: c.contentType, Header: withCookie(c.header, refresh)})
			if r.Status != 403 || r.JSON["code"] != "csrf_check_failed" {
				t.Errorf("%s %s: %d %s, want 403 csrf_check_failed", c.name, path, r.Status, r.Body)
			}
			wantNoCookie(t, r)
		}
	}
	// Asking for cookie mode without the cookie needs the proof as well.
	r := is.Do(t, req{Method: "POST", Path: "/api/auth/refresh/", Body: map[string]string{"session_mode": "cookie"}})
	wantProblem(t, r, 403, "csrf_check_failed")
	// None of that touched the session.
	r = is.Do(t, req{Method: "POST", Path: "/api/auth/refresh/", Body: map[string]string{}, Header: withCookie(sameOrigin, refresh)})
	wantStatus(t, r, 200)
}

func TestCookieModeRefusedRefreshClearsTheCookie(t *testing.T) {
	t.Parallel()
	is := setup(t)
	for name, h := range map[string]http.Header{
		"unknown cookie": withCookie(sameOrigin, "not-a-token"),
		"no cookie":      sameOrigin,
	} {
		r := is.Do(t, req{Method: "POST", Path: "/api/auth/refresh/", Body: map[string]string{"session_mode": "cookie"}, Header: h})
		wantProblem(t, r, 401, "invalid_grant")
		if name == "unknown cookie" {
			if ck := refreshCookie(t, r); ck.MaxAge >= 0 || ck.Value != "" {
				t.Errorf("the cookie of a refused refresh is kept: %v", r.Header.Values("Set-Cookie"))
			}
		}
	}
}

func TestCookieModeLogoutEndsTheSessionAndClearsTheCookie(t *testing.T) {
	t.Parallel()
	is := setup(t)
	for _, path := range []string{"/api/auth/logout/", "/api/auth/logout-all/"} {
		access, ck := cookieLogin(t, is)
		refresh := ck.Value
		r := is.Do(t, req{Method: "POST", Path: path, Token: access, Body: map[string]string{"session_mode": "cookie"}, Header: withCookie(sameOrigin, refresh)})
		wantStatus(t, r, 204)
		if ck := refreshCookie(t, r); ck.MaxAge >= 0 || ck.Value != "" || ck.Path != "/" {
			t.Errorf("%s: the cookie is not cleared: %v", path, r.Header.Values("Set-Cookie"))
		}
		r = is.Do(t, req{Method: "POST", Path: "/api/auth/refresh/", Body: map[string]string{}, Header: withCookie(sameOrigin, refresh)})
		wantProblem(t, r, 401, "invalid_grant")
	}
}

func TestSessionModeBadInput(t *testing.T) {
	t.Parallel()
	is := setup(t)
	r := is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": password, "session_mode": "jar"}, "")
	wantProblem(t, r, 400, "validation_failed")
	if fieldErrors(r)["session_mode"] == nil {
		t.Fatalf("errors %s", r.Body)
	}
	r = is.Do(t, req{Method: "POST", Path: "/api/auth/login/", Body: map[string]string{"username": "alice", "password": password},
		Header: http.Header{"X-Medinsights-Session-Mode": {"jar"}}})
	wantProblem(t, r, 400, "validation_failed")
	if fieldErrors(r)["X-MedInsights-Session-Mode"] == nil {
		t.Fatalf("errors %s", r.Body)
	}
}

func TestCORSAllowsCredentialsForListedOriginsOnly(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	r := is.Do(t, req{Method: "OPTIONS", Path: "/api/auth/refresh/", Header: http.Header{
		"Origin": {issuertest.Origin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type,x-medinsights-csrf"},
	}})
	wantStatus(t, r, 204)
	if r.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "X-MedInsights-CSRF") {
		t.Fatalf("preflight headers %v", r.Header)
	}
	r = is.Do(t, req{Method: "GET", Path: "/api/auth/health/", Header: http.Header{"Origin": {issuertest.Origin}}})
	if r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin lacks Access-Control-Allow-Credentials: %v", r.Header)
	}
	r = is.Do(t, req{Method: "GET", Path: "/api/auth/health/", Header: http.Header{"Origin": {"https://evil.example"}}})
	if r.Header.Get("Access-Control-Allow-Credentials") != "" || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin got CORS headers: %v", r.Header)
	}
}

func TestCookieModeLoginKeepsTheDeviceTokenInACookie(t *testing.T) {
	t.Parallel()
	is := setup(t)
	login := func(cookie string) resp {
		t.Helper()
		h := http.Header{}
		if cookie != "" {
			h.Set("Cookie", "medinsights_device="+cookie)
		}
		r := is.Do(t, req{Method: "POST", Path: "/api/auth/login/", Header: h,
			Body: map[string]string{"username": "alice", "password": password, "session_mode": "cookie"}})
		wantStatus(t, r, 200)
		if _, ok := r.JSON["device_token"]; ok {
			t.Fatalf("the JSON holds the device token: %s", r.Body)
		}
		return r
	}
	deviceCookie := func(r resp) *http.Cookie {
		t.Helper()
		c := cookieSet(r, "medinsights_device")
		if c == nil {
			t.Fatalf("no medinsights_device cookie: %v", r.Header.Values("Set-Cookie"))
		}
		return c
	}
	first := deviceCookie(login(""))
	if !first.HttpOnly || !first.Secure || first.SameSite != http.SameSiteStrictMode || first.Path != "/" ||
		first.MaxAge != int(auth.DeviceTokenLifetimeDefault.Seconds()) || first.Value == "" {
		t.Fatalf("device cookie %+v, want HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=the device token lifetime", first)
	}
	// The cookie is read at the next login: the device is known, its token kept.
	r := login(first.Value)
	if again := deviceCookie(r); again.Value != first.Value {
		t.Fatal("a known device's token was replaced: the cookie was not read")
	}
	if other := deviceCookie(login("")); other.Value == first.Value {
		t.Fatal("a login without the cookie got the same device token")
	}
	// Logouts end the session, not the device: its cookie stays.
	r = is.Do(t, req{Method: "POST", Path: "/api/auth/logout/", Token: r.JSON["access_token"].(string), Body: map[string]string{},
		Header: withCookie(sameOrigin, refreshCookie(t, r).Value)})
	wantStatus(t, r, 204)
	if cookieSet(r, "medinsights_device") != nil {
		t.Fatalf("logout touched the device cookie: %v", r.Header.Values("Set-Cookie"))
	}
	// Body mode is unchanged: the device token in the JSON.
	r = is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": password}, "")
	if r.JSON["device_token"] == nil {
		t.Fatalf("body mode lost its device token: %s", r.Body)
	}
}
