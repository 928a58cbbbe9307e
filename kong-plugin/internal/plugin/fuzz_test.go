package plugin

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzTokenFromHeader: token extraction never panics, and what it returns
// is a single non-empty credential without white space.
//
//	go test -run '^$' -fuzz FuzzTokenFromHeader -fuzztime 10s ./kong-plugin/internal/plugin
func FuzzTokenFromHeader(f *testing.F) {
	for _, seed := range []string{"Bearer abc", "bearer abc", "BEARER  a.b.c ", "Bearer", "Bearer ", "Bearer a b",
		"Basic dTpw", "", " ", "abc", "Bearer\ta", "Bearer a\r\nX-User-Id: x", "Negotiate x y"} {
		f.Add("authorization", seed)
		f.Add("x-access-token", seed)
	}
	f.Fuzz(func(t *testing.T, header, value string) {
		tok, ok, err := tokenFromHeader(header, value)
		switch {
		case err != nil && (ok || tok != ""):
			t.Fatalf("malformed but returned %q %v", tok, ok)
		case ok && (tok == "" || strings.ContainsAny(tok, " \t")):
			t.Fatalf("token %q from %q", tok, value)
		case ok && header == defaultTokenHeader && !strings.HasPrefix(strings.ToLower(strings.TrimLeft(value, " \t")), "bearer "):
			t.Fatalf("authorization %q without the Bearer scheme gave a token", value)
		case !ok && err == nil && header != defaultTokenHeader:
			t.Fatalf("custom header %q neither a token nor malformed", value)
		}
	})
}

// FuzzDecide: whatever the headers, the decision never panics, never lets a
// request through without a token signed by the test key, and never leaves
// a client-sent identity header in place.
//
//	go test -run '^$' -fuzz FuzzDecide -fuzztime 10s ./kong-plugin/internal/plugin
func FuzzDecide(f *testing.F) {
	good := signToken(f, nil)
	parts := strings.Split(good, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
	hs := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt","kid":"k"}`)) + "." + parts[1] + "." + parts[2]
	crit := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"at+jwt","kid":"k","crit":["x"]}`)) + "." + parts[1] + "." + parts[2]
	for _, auth := range []string{"Bearer " + good, "bearer " + good, "Bearer " + none, "Bearer " + hs, "Bearer " + crit,
		"Bearer " + parts[0] + "." + parts[1] + ".AAAA", "Bearer " + good + "=", "Bearer", "Bearer a b", "Basic x", ""} {
		f.Add(auth, "x_user_id", "admin")
		f.Add(auth, "x-consumer-custom-id", "1")
		f.Add(auth, "authorization", "Bearer "+good)
	}
	s := testSettings(f, at(epoch), nil)
	f.Fuzz(func(t *testing.T, auth, name, value string) {
		headers := map[string][]string{"authorization": {auth}}
		lname := strings.ToLower(name)
		headers[lname] = append(headers[lname], value)
		o := decide(s, get(t, headers), epoch)
		switch o.status {
		case 0, 400, 401, 403:
		default:
			t.Fatalf("status %d (%s)", o.status, o.reason)
		}
		if o.status == 0 {
			if o.id == nil || o.id.subject != testSubject {
				t.Fatalf("passed without a token signed by the test key: %+v", o)
			}
			if _, err := s.verifier.parser.Parse(strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(auth, "Bearer"), "bearer")), s.verifier.keys.(staticKeys).set); err != nil && lname != "authorization" {
				t.Fatalf("passed a token the parser refuses: %v", err)
			}
		}
		if o.status != 0 && len(o.clear) > 0 {
			t.Fatalf("a refusal clears headers: %v", o.clear)
		}
		if o.status == 0 && isIdentityHeader(normalizeHeaderName(lname)) {
			_, overridden := o.upstream[canonical(lname)]
			if !overridden && !containsString(o.clear, lname) {
				t.Fatalf("identity header %q left in place: clear %v upstream %v", lname, o.clear, o.upstream)
			}
		}
	})
}

func canonical(lname string) string {
	switch lname {
	case "x-user-id":
		return headerUserID
	case "x-user-roles":
		return headerRoles
	case "x-consumer-username":
		return headerUsername
	}
	return "-"
}
