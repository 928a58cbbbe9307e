package identity_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/medinsights/auth/identity"
)

const (
	userID   = "0b9c2a3e-5d1f-4c8e-9a7b-1f2e3d4c5b6a"
	username = "dr.house@example.org"
)

// setup returns a handler guarded by the middleware that echoes the
// identity it found, and the buffer the middleware logs to.
func setup(t *testing.T, guards ...func(http.Handler) http.Handler) (http.Handler, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := identity.FromContext(r.Context())
		if !ok {
			t.Errorf("handler reached without an identity")
		}
		_ = json.NewEncoder(w).Encode(id)
	})
	for i := len(guards) - 1; i >= 0; i-- {
		h = guards[i](h)
	}
	mw := identity.NewMiddleware(slog.New(slog.NewTextHandler(&logs, nil)))
	return mw(h), &logs
}

// serve sends one request with the given header lines (name, value pairs;
// a name may repeat).
func serve(h http.Handler, pairs ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/patients/me", nil)
	for i := 0; i+1 < len(pairs); i += 2 {
		r.Header.Add(pairs[i], pairs[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func problemCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", w.Body, err)
	}
	if p.Status != w.Code {
		t.Errorf("problem status %d, response %d", p.Status, w.Code)
	}
	return p.Code
}

func TestMiddlewareAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		headers []string
		want    identity.Identity
	}{
		{
			name:    "as the plugin sends it",
			headers: []string{"X-User-Id", userID, "X-User-Roles", "patient,clinician", "X-Consumer-Username", username},
			want:    identity.Identity{UserID: userID, Username: username, Roles: []string{"patient", "clinician"}},
		},
		{
			name:    "no roles: the plugin leaves X-User-Roles out",
			headers: []string{"X-User-Id", userID, "X-Consumer-Username", username},
			want:    identity.Identity{UserID: userID, Username: username},
		},
		{
			name:    "header names in any case",
			headers: []string{"x-user-id", userID, "x-user-roles", "admin", "x-consumer-username", username},
			want:    identity.Identity{UserID: userID, Username: username, Roles: []string{"admin"}},
		},
		{
			name:    "a non-ASCII username that is header-safe",
			headers: []string{"X-User-Id", userID, "X-Consumer-Username", "zoë"},
			want:    identity.Identity{UserID: userID, Username: "zoë"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, logs := setup(t)
			w := serve(h, tc.headers...)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var got identity.Identity
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.UserID != tc.want.UserID || got.Username != tc.want.Username || strings.Join(got.Roles, ",") != strings.Join(tc.want.Roles, ",") {
				t.Errorf("identity %+v, want %+v", got, tc.want)
			}
			if logs.Len() != 0 {
				t.Errorf("an accepted request logged: %s", logs)
			}
		})
	}
}

func TestMiddlewareRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		headers []string
		code    string
		logged  string // the header named in the log line; "" for no line
	}{
		{name: "no identity at all", code: "identity_missing"},
		{name: "unrelated spoofed header only", headers: []string{"X-Consumer-Id", "root"}, code: "identity_missing"},
		{name: "underscore spelling is not the plugin's", headers: []string{"X_User_Id", userID, "X_Consumer_Username", username}, code: "identity_missing"},
		{name: "user id not a UUID", headers: []string{"X-User-Id", "1", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Id"},
		{name: "user id in upper case", headers: []string{"X-User-Id", strings.ToUpper(userID), "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Id"},
		{name: "user id in braces", headers: []string{"X-User-Id", "{" + userID + "}", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Id"},
		{name: "user id with SQL", headers: []string{"X-User-Id", "' OR 1=1 --", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Id"},
		{name: "user id sent twice", headers: []string{"X-User-Id", userID, "X-User-Id", "11111111-1111-4111-8111-111111111111", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Id"},
		{name: "user id missing, username present", headers: []string{"X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Id"},
		{name: "roles only", headers: []string{"X-User-Roles", "admin"}, code: "identity_malformed", logged: "X-User-Id"},
		{name: "username missing", headers: []string{"X-User-Id", userID}, code: "identity_malformed", logged: "X-Consumer-Username"},
		{name: "username empty", headers: []string{"X-User-Id", userID, "X-Consumer-Username", ""}, code: "identity_malformed", logged: "X-Consumer-Username"},
		{name: "username with a comma", headers: []string{"X-User-Id", userID, "X-Consumer-Username", "a,b"}, code: "identity_malformed", logged: "X-Consumer-Username"},
		{name: "username with a control character", headers: []string{"X-User-Id", userID, "X-Consumer-Username", "a\x01b"}, code: "identity_malformed", logged: "X-Consumer-Username"},
		{name: "username with a leading space", headers: []string{"X-User-Id", userID, "X-Consumer-Username", " admin"}, code: "identity_malformed", logged: "X-Consumer-Username"},
		{name: "username not UTF-8", headers: []string{"X-User-Id", userID, "X-Consumer-Username", "\xff\xfe"}, code: "identity_malformed", logged: "X-Consumer-Username"},
		{name: "username sent twice", headers: []string{"X-User-Id", userID, "X-Consumer-Username", username, "X-Consumer-Username", "root"}, code: "identity_malformed", logged: "X-Consumer-Username"},
		{name: "role in upper case", headers: []string{"X-User-Id", userID, "X-User-Roles", "Admin", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Roles"},
		{name: "role with a space after the comma", headers: []string{"X-User-Id", userID, "X-User-Roles", "patient, admin", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Roles"},
		{name: "empty role in the list", headers: []string{"X-User-Id", userID, "X-User-Roles", "patient,,admin", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Roles"},
		{name: "empty roles header", headers: []string{"X-User-Id", userID, "X-User-Roles", "", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Roles"},
		{name: "role too long", headers: []string{"X-User-Id", userID, "X-User-Roles", strings.Repeat("a", 65), "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Roles"},
		{name: "role starting with a dash", headers: []string{"X-User-Id", userID, "X-User-Roles", "-admin", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Roles"},
		{name: "roles sent twice", headers: []string{"X-User-Id", userID, "X-User-Roles", "patient", "X-User-Roles", "admin", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Roles"},
		{name: "too many roles", headers: []string{"X-User-Id", userID, "X-User-Roles", strings.Repeat("r,", 64) + "r", "X-Consumer-Username", username}, code: "identity_malformed", logged: "X-User-Roles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, logs := setup(t)
			w := serve(h, tc.headers...)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", w.Code, w.Body)
			}
			if got := problemCode(t, w); got != tc.code {
				t.Errorf("code %q, want %q", got, tc.code)
			}
			lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
			switch {
			case tc.logged == "" && logs.Len() != 0:
				t.Errorf("logged %q", logs)
			case tc.logged != "" && len(lines) != 1:
				t.Errorf("want one log line, got %d: %q", len(lines), logs)
			case tc.logged != "" && !strings.Contains(lines[0], "header="+tc.logged+" "):
				t.Errorf("log line %q does not name %s", lines[0], tc.logged)
			}
		})
	}
}

// TestMiddlewareLogValueBounded: a huge spoofed value is cut in the log line,
// and a CR LF in it cannot start a line of its own.
func TestMiddlewareLogValueBounded(t *testing.T) {
	t.Parallel()
	h, logs := setup(t)
	serve(h, "X-User-Id", "x\r\nlevel=ERROR msg=forged"+strings.Repeat("a", 10000), "X-Consumer-Username", username)
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Errorf("%d log lines: %q", n, logs)
	}
	if logs.Len() > 600 {
		t.Errorf("log line of %d bytes", logs.Len())
	}
}

func TestRequireRoles(t *testing.T) {
	t.Parallel()
	clinician := []string{"X-User-Id", userID, "X-User-Roles", "clinician", "X-Consumer-Username", username}
	for _, tc := range []struct {
		name    string
		require []string
		headers []string
		status  int
		code    string
	}{
		{name: "holds the role", require: []string{"clinician"}, headers: clinician, status: http.StatusOK},
		{name: "holds one of two", require: []string{"clinician", "admin"}, headers: clinician, status: http.StatusForbidden, code: "insufficient_role"},
		{name: "no roles", require: []string{"clinician"}, headers: []string{"X-User-Id", userID, "X-Consumer-Username", username}, status: http.StatusForbidden, code: "insufficient_role"},
		{name: "a role that only starts the same", require: []string{"clinician"}, headers: []string{"X-User-Id", userID, "X-User-Roles", "clinician-trainee", "X-Consumer-Username", username}, status: http.StatusForbidden, code: "insufficient_role"},
		{name: "no identity", require: []string{"clinician"}, status: http.StatusUnauthorized, code: "identity_missing"},
		{name: "nothing required", headers: clinician, status: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := setup(t, identity.RequireRoles(tc.require...))
			w := serve(h, tc.headers...)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.code != "" {
				if got := problemCode(t, w); got != tc.code {
					t.Errorf("code %q, want %q", got, tc.code)
				}
			}
		})
	}
}

// TestRequireRolesWithoutMiddleware: a guard mounted without the middleware
// refuses rather than serving a caller it knows nothing about.
func TestRequireRolesWithoutMiddleware(t *testing.T) {
	t.Parallel()
	h := identity.RequireRoles("clinician")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("handler reached")
	}))
	w := serve(h, "X-User-Id", userID, "X-User-Roles", "clinician", "X-Consumer-Username", username)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", w.Code)
	}
}

func TestRequireRolesRefusesAnUngrantableRole(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("RequireRoles(\"Clinician\") did not panic")
		}
	}()
	identity.RequireRoles("Clinician")
}

// FuzzMiddleware: whatever the headers hold, the middleware answers 200 or
// 401 and never panics; a 200 carries an identity the issuer could write.
func FuzzMiddleware(f *testing.F) {
	f.Add(userID, "patient,clinician", username)
	f.Add("", "", "")
	f.Add("x", ",", "\r\n")
	f.Fuzz(func(t *testing.T, id, roles, user string) {
		var seen *identity.Identity
		h := identity.NewMiddleware(slog.New(slog.DiscardHandler))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ := identity.FromContext(r.Context())
			seen = &got
		}))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header = http.Header{identity.HeaderUserID: {id}, identity.HeaderRoles: {roles}, identity.HeaderUsername: {user}}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch {
		case w.Code == http.StatusOK && (seen == nil || seen.UserID != id || seen.Username != user):
			t.Fatalf("200 with identity %+v", seen)
		case w.Code != http.StatusOK && w.Code != http.StatusUnauthorized:
			t.Fatalf("status %d", w.Code)
		}
	})
}

// TestStandardLibraryOnly: upstream services import this package; it must
// not bring a dependency with it.
func TestStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"github.com/medinsights/auth/identity":         true,
		"github.com/medinsights/auth/internal/grammar": true, // itself standard-library only
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("identity depends on %s", p)
		}
	}
}
