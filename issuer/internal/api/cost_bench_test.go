package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/issuertest"
)

// BenchmarkRequestCost times login, failed login, register and logout one
// at a time with cheap password hashing (issuertest.FastPasswords), so the
// database's share of each, audit rows included, is not hidden behind
// argon2id, and reports the statements each sends. Throttling is off: a
// benchmark fails logins and registers from one address far beyond what the
// throttles allow.
func BenchmarkRequestCost(b *testing.B) {
	post := func(b *testing.B, is *issuertest.Issuer, path, token string, body any, want int) {
		data, _ := json.Marshal(body)
		if status, _, err := call(is.Server.Client(), is.Server.URL+path, token, data); err != nil || status != want {
			b.Fatalf("%s: %d %v, want %d", path, status, err, want)
		}
	}
	ops := []struct {
		name string
		op   func(b *testing.B, is *issuertest.Issuer, i int)
	}{
		{"login", func(b *testing.B, is *issuertest.Issuer, _ int) {
			post(b, is, "/api/auth/login/", "", map[string]string{"username": "alice", "password": password}, http.StatusOK)
		}},
		{"login-failed", func(b *testing.B, is *issuertest.Issuer, _ int) {
			post(b, is, "/api/auth/login/", "", map[string]string{"username": "alice", "password": "wrong password here"}, http.StatusUnauthorized)
		}},
		{"register", func(b *testing.B, is *issuertest.Issuer, i int) {
			name := fmt.Sprintf("patient%d", i)
			post(b, is, "/api/auth/register/", "", map[string]string{"username": name, "email": name + "@example.org", "password": password}, http.StatusCreated)
		}},
	}
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			is := issuertest.New(b, issuertest.Options{MaxConns: 4, NoThrottle: true})
			is.Register(b, "alice", password)
			before, i := is.Statements.Count(), 0
			for b.Loop() {
				i++
				o.op(b, is, i)
			}
			b.ReportMetric(float64(is.Statements.Count()-before)/float64(b.N), "stmts/op")
		})
	}
	b.Run("logout", func(b *testing.B) {
		is := issuertest.New(b, issuertest.Options{MaxConns: 4, NoThrottle: true})
		is.Register(b, "alice", password)
		caller := is.Login(b, "alice", password)
		userID := uuid.MustParse(caller.UserID)
		var stmts int64
		for b.Loop() {
			b.StopTimer()
			body, _ := json.Marshal(map[string]string{"refresh_token": is.NewRefreshSession(b, userID)})
			before := is.Statements.Count()
			b.StartTimer()
			if status, _, err := call(is.Server.Client(), is.Server.URL+"/api/auth/logout/", caller.Access, body); err != nil || status != http.StatusNoContent {
				b.Fatalf("logout: %d %v", status, err)
			}
			stmts += is.Statements.Count() - before
		}
		b.ReportMetric(float64(stmts)/float64(b.N), "stmts/op")
	})
}
