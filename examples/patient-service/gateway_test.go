package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/medinsights/auth/e2e/issuerproc"
	"github.com/medinsights/auth/internal/testlog"
	"github.com/medinsights/auth/kong-plugin/kongtest"
)

func TestMain(m *testing.M) { os.Exit(kongtest.Main(m)) }

// gateway plays Kong's part for one route: the access phase runs in the
// real plugin binary over its socket, and a request it lets through goes on
// to the service with the headers the plugin left.
type gateway struct {
	inst    *kongtest.Instance
	service *httptest.Server
}

type answer struct {
	status int
	body   []byte
}

func (g *gateway) get(t *testing.T, path string, headers ...string) answer {
	t.Helper()
	r := g.inst.MustAccess(t, kongtest.Request{Path: path, Headers: kongtest.Headers(headers...)})
	if r.Exited {
		return answer{r.Status, r.Body}
	}
	req, err := http.NewRequest(http.MethodGet, g.service.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.Upstream {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := g.service.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, body}
}

// TestThroughTheGateway: the real issuer on PostgreSQL signs the tokens, the
// real plugin binary verifies them as kong/kong.yml's global instance does,
// and the service sees who calls, whatever the client claims to be.
func TestThroughTheGateway(t *testing.T) {
	t.Parallel()
	db := issuerproc.NewDatabase(t)
	is := db.Start(t)
	patient := is.NewUser(t)
	clinician := is.NewUser(t)
	db.Command(t, "users", "grant-role", clinician, roleClinician)
	patientLogin := is.Login(t, patient, issuerproc.Password)
	clinicianLogin := is.Login(t, clinician, issuerproc.Password)

	srv := kongtest.Start(t, kongtest.PluginBinary(t))
	inst := srv.MustStartInstance(t, map[string]any{
		"jwks_url":  is.JWKSURL(),
		"issuer":    issuerproc.IssuerClaim,
		"audiences": []string{issuerproc.Audience},
	})
	srv.WaitOutput(t, "jwks key set loaded", 1)
	var logs testlog.Buffer
	service := httptest.NewServer(newHandler(slog.New(slog.NewTextHandler(&logs, nil))))
	t.Cleanup(service.Close)
	g := &gateway{inst: inst, service: service}

	bearer := func(tok string, extra ...string) []string {
		return append([]string{"Authorization", "Bearer " + tok}, extra...)
	}

	t.Run("me for any signed-in user", func(t *testing.T) {
		a := g.get(t, "/patients/me", bearer(patientLogin.Access)...)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		var me meResponse
		if err := json.Unmarshal(a.body, &me); err != nil {
			t.Fatal(err)
		}
		if me.UserID != patientLogin.User.ID || me.Username != patient {
			t.Errorf("service saw %+v, want user %s named %s", me, patientLogin.User.ID, patient)
		}
	})
	t.Run("spoofed identity headers are replaced by the plugin", func(t *testing.T) {
		a := g.get(t, "/patients/me", bearer(patientLogin.Access,
			"X-User-Id", clinicianLogin.User.ID, "X-User-Roles", "clinician,admin", "X-Consumer-Username", clinician)...)
		var me meResponse
		if err := json.Unmarshal(a.body, &me); err != nil || a.status != http.StatusOK {
			t.Fatalf("status %d %s: %v", a.status, a.body, err)
		}
		if me.UserID != patientLogin.User.ID || me.Username != patient {
			t.Errorf("the client's spoofed identity reached the service: %+v", me)
		}
		for _, r := range me.Roles {
			if r == roleClinician || r == "admin" {
				t.Errorf("spoofed role %q reached the service", r)
			}
		}
	})
	t.Run("the clinician route refuses a patient", func(t *testing.T) {
		a := g.get(t, "/patients/", bearer(patientLogin.Access, "X-User-Roles", "clinician")...)
		if a.status != http.StatusForbidden {
			t.Fatalf("status %d, want 403: %s", a.status, a.body)
		}
	})
	t.Run("the clinician route serves a clinician", func(t *testing.T) {
		a := g.get(t, "/patients/", bearer(clinicianLogin.Access)...)
		var list listResponse
		if err := json.Unmarshal(a.body, &list); err != nil || a.status != http.StatusOK {
			t.Fatalf("status %d %s: %v", a.status, a.body, err)
		}
		if list.RequestedBy != clinician || len(list.Patients) == 0 {
			t.Errorf("list %+v", list)
		}
	})
	t.Run("no token stops at the gateway", func(t *testing.T) {
		a := g.get(t, "/patients/me", "X-User-Id", patientLogin.User.ID, "X-Consumer-Username", patient)
		if a.status != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401 from the plugin: %s", a.status, a.body)
		}
	})
	if logs.String() != "" {
		t.Errorf("the service refused an identity the gateway sent: %s", logs.String())
	}
}

// TestBypassingTheGateway: a caller that reaches the service directly, the
// case the NetworkPolicy exists to prevent, is refused unless it forges
// well-formed headers; forged malformed ones are logged.
func TestBypassingTheGateway(t *testing.T) {
	t.Parallel()
	var logs testlog.Buffer
	service := httptest.NewServer(newHandler(slog.New(slog.NewTextHandler(&logs, nil))))
	t.Cleanup(service.Close)
	for _, tc := range []struct {
		name    string
		headers []string
		status  int
	}{
		{name: "no identity", status: http.StatusUnauthorized},
		{name: "forged, malformed", headers: []string{"X-User-Id", "1", "X-Consumer-Username", "root"}, status: http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, service.URL+"/patients/me", nil)
		for i := 0; i+1 < len(tc.headers); i += 2 {
			req.Header.Add(tc.headers[i], tc.headers[i+1])
		}
		resp, err := service.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	if !logs.WaitFor("identity refused", 1, 0) {
		t.Errorf("the forged identity was not logged: %q", logs.String())
	}
	resp, err := service.Client().Get(service.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz %d", resp.StatusCode)
	}
}
