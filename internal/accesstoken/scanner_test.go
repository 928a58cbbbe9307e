package accesstoken

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzDecodeClaims compares the strict scanner with encoding/json on
// arbitrary payloads: whatever decodeClaims accepts, encoding/json must
// accept too and read to the same claims, with the same member names and no
// name twice. The scanner may refuse more (that is its purpose), never less.
func FuzzDecodeClaims(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"http://localhost:8001","sub":"7f1c2a4e","aud":["medinsights"],"exp":1795000900,"nbf":1795000000,"iat":1795000000,"jti":"j","sid":"s","roles":["patient","clinician"],"username":"alice@example.org","email_verified":true}`,
		`{"aud":"medinsights","exp":1.7950009e9,"nbf":0,"iat":-0,"roles":[],"email_verified":false}`,
		`{"s\u0075b":"x","username":"\u00e9lise\/\"\\","roles":["\ud83d\ude00"]}`,
		`{"sub":"a","sub":"b"}`,
		`{"sub":"a","s\u0075b":"b"}`,
		`{"SUB":"a"}`,
		`{"exp":"1"}`,
		`{"exp":1e400}`,
		`{"roles":null}`,
		`{"username":"a\u0000"}`,
		`{"username":"a\ud800"}`,
		"{\"username\":\"a\xff\"}",
		`{} x`,
		` { } `,
		`[]`,
		`null`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var got Claims
		if err := decodeClaims(data, &got); err != nil {
			return
		}
		if !json.Valid([]byte(data)) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		var names map[string]json.RawMessage
		if err := json.Unmarshal([]byte(data), &names); err != nil {
			t.Fatalf("accepted what encoding/json refuses as an object: %v", err)
		}
		for name := range names {
			if indexOf(claimNames, name) < 0 {
				t.Fatalf("accepted claim %q", name)
			}
		}
		if n := countMembers(t, data); n != len(names) {
			t.Fatalf("accepted %d members with %d distinct names", n, len(names))
		}
		var want Claims
		if err := json.Unmarshal([]byte(data), &want); err != nil {
			t.Fatalf("encoding/json refuses what the scanner accepted: %v", err)
		}
		if !sameDecoded(got, want) {
			t.Fatalf("scanner read %+v, encoding/json %+v", got, want)
		}
		for _, s := range append([]string{got.Issuer, got.Subject, got.ID, got.SessionID, got.Username}, append(got.Roles, got.Audience...)...) {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("accepted string %q", s)
			}
		}
	})
}

// countMembers counts the top-level members of a JSON object as
// encoding/json's tokenizer sees them.
func countMembers(t *testing.T, data string) int {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(data))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// sameDecoded compares claims field by field, times by instant.
func sameDecoded(a, b Claims) bool {
	for _, d := range [][2]*jwt.NumericDate{{a.ExpiresAt, b.ExpiresAt}, {a.NotBefore, b.NotBefore}, {a.IssuedAt, b.IssuedAt}} {
		if (d[0] == nil) != (d[1] == nil) || d[0] != nil && !d[0].Equal(d[1].Time) {
			return false
		}
	}
	a.ExpiresAt, a.NotBefore, a.IssuedAt = nil, nil, nil
	b.ExpiresAt, b.NotBefore, b.IssuedAt = nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// FuzzHeaderSafe checks HeaderSafe's ASCII fast path against its plain
// definition.
func FuzzHeaderSafe(f *testing.F) {
	for _, seed := range []string{"", "alice", " a", "a ", "a,b", "a\tb", "a\x7f", "élise", "a\u2028", "a\xff", "\u00a0a"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := s != "" && utf8.ValidString(s) && strings.TrimSpace(s) == s &&
			!strings.ContainsFunc(s, func(r rune) bool { return r == ',' || !unicode.IsPrint(r) })
		if got := HeaderSafe(s); got != want {
			t.Fatalf("HeaderSafe(%q) = %v, want %v", s, got, want)
		}
	})
}
