package main

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/medinsights/auth/identity"
)

// roleClinician may list every patient.
const roleClinician = "clinician"

// newHandler wires the routes in one place: /healthz outside the identity
// middleware (the orchestrator has no identity), everything else inside it.
func newHandler(log *slog.Logger) http.Handler {
	patients := http.NewServeMux()
	patients.HandleFunc("GET /patients/me", handleMe)
	patients.Handle("GET /patients/", identity.RequireRoles(roleClinician)(http.HandlerFunc(handleList)))

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	root.Handle("/", identity.NewMiddleware(log)(patients))
	return root
}

// meResponse shows the identity as the service received it.
type meResponse struct {
	UserID   string   `json:"user_id"`
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
}

func handleMe(w http.ResponseWriter, r *http.Request) {
	id, _ := identity.FromContext(r.Context()) // the middleware guarantees it
	roles := id.Roles
	if roles == nil {
		roles = []string{}
	}
	writeJSON(w, meResponse{UserID: id.UserID, Username: id.Username, Roles: roles})
}

// patientResponse is one entry of the demo list.
type patientResponse struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type listResponse struct {
	Patients    []patientResponse `json:"patients"`
	RequestedBy string            `json:"requested_by"`
}

// demoPatients stands in for a database: this service only shows identity.
var demoPatients = []patientResponse{
	{ID: "5f0e7a52-7c1e-4a4b-9d55-0c3f5b1e2a01", Name: "Ada Example"},
	{ID: "9b2d4c61-3e8f-4f0a-8b7c-6d5e4f3a2b02", Name: "Grace Example"},
}

func handleList(w http.ResponseWriter, r *http.Request) {
	id, _ := identity.FromContext(r.Context())
	writeJSON(w, listResponse{Patients: demoPatients, RequestedBy: id.Username})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
