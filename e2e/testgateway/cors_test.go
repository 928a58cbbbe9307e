package testgateway

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestCORSFromTheShippedKongYAML(t *testing.T) {
	t.Parallel()
	c, err := CORSFromKongYAML("../../kong/kong.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Credentials || !slices.Contains(c.Headers, "X-MedInsights-CSRF") || !slices.Contains(c.ExposedHeaders, "WWW-Authenticate") ||
		!slices.Contains(c.ExposedHeaders, "Retry-After") || len(c.Origins) == 0 || slices.Contains(c.Origins, "*") {
		t.Fatalf("kong.yml cors %+v", c)
	}
}

func TestCORSAnswersAsKong(t *testing.T) {
	t.Parallel()
	two := CORS{Origins: []string{"http://localhost:5173", "https://app.example:443"}, Credentials: true, Headers: []string{"Authorization"}, ExposedHeaders: []string{"Retry-After"}, MaxAge: 60}
	one := two
	one.Origins = []string{"http://localhost:5173"}
	for _, c := range []struct {
		name         string
		cors         CORS
		origin, want string
	}{
		{"one origin is always sent", one, "http://evil.example", "http://localhost:5173"},
		{"listed origin", two, "http://localhost:5173", "http://localhost:5173"},
		{"default port dropped", two, "https://app.example", "https://app.example"},
		{"foreign origin", two, "http://evil.example", ""},
		{"no origin", two, "", ""},
	} {
		h := http.Header{"Access-Control-Allow-Origin": {"http://from-upstream.example"}}
		c.cors.headerFilter(h, c.origin)
		if got := h.Get("Access-Control-Allow-Origin"); got != c.want {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", c.name, got, c.want)
		}
		if h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Expose-Headers") != "Retry-After" || !slices.Contains(h.Values("Vary"), "Origin") {
			t.Errorf("%s: headers %v", c.name, h)
		}
	}
	r := httptest.NewRequest(http.MethodOptions, "/auth/refresh/", nil)
	r.Header.Set("Origin", "http://localhost:5173")
	r.Header.Set("Access-Control-Request-Method", "POST")
	if !isPreflight(r) {
		t.Fatal("not taken for a preflight")
	}
	w := httptest.NewRecorder()
	two.preflight(w, r)
	h := w.Result().Header
	if w.Code != 200 || h.Get("Access-Control-Allow-Origin") != "http://localhost:5173" || h.Get("Access-Control-Allow-Headers") != "Authorization" ||
		h.Get("Access-Control-Allow-Methods") != "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT" || h.Get("Access-Control-Max-Age") != "60" {
		t.Fatalf("preflight %d %v", w.Code, h)
	}
}

func TestCORSThatIsNotModelledIsRefused(t *testing.T) {
	t.Parallel()
	for _, origins := range [][]string{nil, {"*"}, {"http://.*\\.example"}} {
		if err := (CORS{Origins: origins}).check(); err == nil {
			t.Errorf("origins %q accepted", origins)
		}
	}
}
