package api

import (
	"net/http"
)

// Cookie sessions (docs/web-client.md). A browser may ask, at login or
// refresh, for its refresh token to travel in a cookie that JavaScript
// cannot read instead of in the JSON: the body field "session_mode":
// "cookie" or the header X-MedInsights-Session-Mode: cookie. Body-token
// mode, what mobile and server clients use, is unchanged.
//
// A cookie is sent by the browser on its own, so a request that may use it
// must prove it comes from one of the listed origins' pages (see
// checkSameOrigin): a cross-site page can then neither refresh nor end the
// user's session.
const (
	sessionModeHeader = "X-MedInsights-Session-Mode"
	sessionModeCookie = "cookie"
	// csrfHeader, with the value 1, is the second half of the same-origin
	// proof: a cross-site form cannot send a custom header, and a
	// cross-origin fetch that does needs a CORS preflight, which only
	// CORS_ALLOWED_ORIGINS pass.
	csrfHeader = "X-MedInsights-CSRF"

	// refreshCookie holds the refresh token in cookie mode, deviceCookie
	// the device token of a cookie-mode login (docs/throttling.md). The
	// device token outlives sessions: logouts leave its cookie.
	refreshCookie = "medinsights_refresh"
	deviceCookie  = "medinsights_device"
)

func errCSRFCheckFailed() *Problem {
	return newProblem(http.StatusForbidden, "csrf_check_failed",
		"A request that uses the session cookie must come from an allowed origin and carry "+csrfHeader+": 1.")
}

func errInvalidSessionMode() *Problem {
	return fieldProblem(sessionModeHeader, "must be cookie")
}

// headerAsksForCookies reads X-MedInsights-Session-Mode: absent, or cookie.
func headerAsksForCookies(r *http.Request) (bool, error) {
	switch v := r.Header.Get(sessionModeHeader); v {
	case "":
		return false, nil
	case sessionModeCookie:
		return true, nil
	}
	return false, errInvalidSessionMode()
}

// checkSameOrigin is the proof a cookie-mode refresh, logout or logout-all
// needs: an Origin among CORS_ALLOWED_ORIGINS, and X-MedInsights-CSRF: 1.
// SameSite=Strict alone is not enough: pages of the same site (another
// port, a sibling subdomain) are not cross-site, and old browsers ignore it.
func (s *Server) checkSameOrigin(r *http.Request) error {
	if !s.origins[r.Header.Get("Origin")] || r.Header.Get(csrfHeader) != "1" {
		return errCSRFCheckFailed()
	}
	return nil
}

// decodeSession reads the body of a refresh or logout and tells whether it
// is in cookie mode: it asks for it (header or session_mode), or carries
// the refresh cookie. When the header or the cookie says so, the proof is
// checked before the body is read, so a cross-site form is refused as such
// whatever it sends.
func (s *Server) decodeSession(w http.ResponseWriter, r *http.Request, dst any, mode *string) (bool, error) {
	on, err := headerAsksForCookies(r)
	if err != nil {
		return false, err
	}
	on = on || cookieValue(r, refreshCookie) != ""
	if on {
		if err := s.checkSameOrigin(r); err != nil {
			return true, err
		}
	}
	if err := s.decodeJSON(w, r, dst); err != nil {
		return on, err
	}
	if !on && *mode == sessionModeCookie {
		return true, s.checkSameOrigin(r)
	}
	return on, nil
}

// cookieValue returns the value of the named cookie, "" when absent.
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// setCookie sets a session cookie for maxAge seconds: HttpOnly, so no
// script reads it; Secure, which browsers also honour on http://localhost;
// SameSite=Strict; on REFRESH_COOKIE_PATH.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int64) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: s.cookiePath, MaxAge: int(maxAge),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

// clearSessionCookies tells the browser to drop the session's cookies.
func (s *Server) clearSessionCookies(w http.ResponseWriter) {
	s.setCookie(w, refreshCookie, "", -1)
}
