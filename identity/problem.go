package identity

import (
	"encoding/json"
	"net/http"
)

// Problem codes, stable for clients to match on.
const (
	codeMissing          = "identity_missing"
	codeMalformed        = "identity_malformed"
	codeInsufficientRole = "insufficient_role"
)

// problem is an RFC 9457 problem document with the project's stable code.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// writeProblem is the package's one way to answer a refusal.
func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	})
}
