package identity_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/medinsights/auth/identity"
)

// A service behind the gateway: any signed-in caller may read their own
// record; only a clinician may list patients.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /patients/me", func(w http.ResponseWriter, r *http.Request) {
		id, _ := identity.FromContext(r.Context())
		fmt.Fprintf(w, "record of %s (%s)", id.Username, id.UserID)
	})
	mux.Handle("GET /patients/", identity.RequireRoles("clinician")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "every patient")
	})))
	service := identity.Middleware(mux)

	get := func(path string, headers ...string) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		service.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		if w.Code != http.StatusOK {
			body = []byte(http.StatusText(w.Code))
		}
		fmt.Printf("%s %d %s\n", path, w.Code, body)
	}
	patient := []string{
		"X-User-Id", "0b9c2a3e-5d1f-4c8e-9a7b-1f2e3d4c5b6a",
		"X-User-Roles", "patient",
		"X-Consumer-Username", "alice",
	}
	get("/patients/me", patient...)
	get("/patients/", patient...)
	get("/patients/me") // no identity: not through the gateway
	// Output:
	// /patients/me 200 record of alice (0b9c2a3e-5d1f-4c8e-9a7b-1f2e3d4c5b6a)
	// /patients/ 403 Forbidden
	// /patients/me 401 Unauthorized
}
