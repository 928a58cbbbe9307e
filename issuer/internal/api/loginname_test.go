package api_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/medinsights/auth/issuer/internal/issuertest"
)

// A login name (username or e-mail address, any case) belongs to one user:
// a username equal to another user's address, or an address equal to
// another user's username, is refused at registration, so login by e-mail
// can never be shadowed.
func TestLoginNamesBelongToOneUser(t *testing.T) {
	t.Parallel()
	is := setup(t) // alice, alice@example.org
	register := func(username, email string) resp {
		return is.Post(t, "/api/auth/register/", map[string]string{"username": username, "email": email, "password": password}, "")
	}
	wantStatus(t, register("frank@example.net", "frank2@example.org"), http.StatusCreated)
	for _, c := range []struct {
		name, username, email, code, field string
	}{
		{name: "username equal to another user's e-mail", username: "ALICE@example.org", email: "mallory@example.org", code: "username_taken", field: "username"},
		{name: "e-mail equal to another user's username", username: "mallory", email: "Frank@Example.NET", code: "email_taken", field: "email"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := register(c.username, c.email)
			wantProblem(t, r, http.StatusConflict, c.code)
			if msgs, ok := fieldErrors(r)[c.field].([]any); !ok || len(msgs) == 0 {
				t.Fatalf("errors lack %q: %s", c.field, r.Body)
			}
		})
	}
	if got := is.Login(t, "ALICE@EXAMPLE.ORG", password).UserID; got == is.Login(t, "frank@example.net", password).UserID {
		t.Fatal("alice's address and frank's username resolve to one user")
	}
	if is.Login(t, "frank@example.net", password).UserID != is.Login(t, "frank2@example.org", password).UserID {
		t.Fatal("frank's username and address resolve to different users")
	}
}

func TestConcurrentRegistrationsClaimingOneLoginNameOneWins(t *testing.T) {
	t.Parallel()
	is := setup(t)
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := map[string]string{"username": fmt.Sprintf("user%d", i), "email": "shared@example.org", "password": password}
			if i%2 == 0 {
				body = map[string]string{"username": "shared@example.org", "email": fmt.Sprintf("user%d@example.org", i), "password": password}
			}
			r, err := is.Send(issuertest.Request{Method: http.MethodPost, Path: "/api/auth/register/", Body: body})
			if err != nil {
				t.Error(err) // not Fatal: this is not the test's goroutine
			}
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("statuses %v: want only 201 and 409", statuses)
		}
	}
	if created != 1 {
		t.Fatalf("statuses %v: want exactly one 201", statuses)
	}
}

// Login names are text: a NUL byte, a control or an invisible character in
// the login username is a field error (400), never a database error (500).
func TestLoginRefusesInvisibleCharacters(t *testing.T) {
	t.Parallel()
	is := setup(t)
	for _, name := range []string{"ali\x00ce", "alice\u200b", "\u202ealice", "alice\n"} {
		r := is.Post(t, "/api/auth/login/", map[string]string{"username": name, "password": password}, "")
		wantProblem(t, r, http.StatusBadRequest, "validation_failed")
		if _, ok := fieldErrors(r)["username"]; !ok {
			t.Errorf("%q: errors lack username: %s", name, r.Body)
		}
	}
}

// An address registered with an internationalised domain logs in however
// the domain is spelt (Unicode or A-labels, any case), and another one that
// only looks like it is taken.
func TestInternationalisedAddresses(t *testing.T) {
	t.Parallel()
	is := setup(t)
	r := is.Post(t, "/api/auth/register/", map[string]string{"username": "jose", "email": "jos\u00e9@B\u00dcCHER.de", "password": password}, "")
	wantStatus(t, r, http.StatusCreated)
	if got := r.JSON["user"].(map[string]any)["email"]; got != "jos\u00e9@xn--bcher-kva.de" {
		t.Fatalf("stored address %q, want NFC and a lower-case A-label domain", got)
	}
	for _, login := range []string{"jos\u00e9@b\u00fccher.de", "jose\u0301@xn--bcher-kva.de", "JOS\u00c9@XN--BCHER-KVA.DE"} {
		is.Login(t, login, password)
	}
	r = is.Post(t, "/api/auth/register/", map[string]string{"username": "jose2", "email": "jos\u00e9@b\u00fccher.de", "password": password}, "")
	wantProblem(t, r, http.StatusConflict, "email_taken")
}
