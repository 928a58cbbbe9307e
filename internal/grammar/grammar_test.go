package grammar_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/medinsights/auth/internal/grammar"
)

// roleSpec is the role grammar as the issuer documents it (1-64 lower-case
// letters, digits, '-' and '_', starting with a letter or digit), written
// as a regular expression to check the hand-written Role against.
var roleSpec = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func TestRole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"patient", true},
		{"clinician", true},
		{"a", true},
		{"0", true},
		{"lab-tech_2", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"-admin", false},
		{"_admin", false},
		{"Admin", false},
		{"admin ", false},
		{"admin,root", false},
		{"admin\r\nx", false},
		{"médecin", false},
	} {
		if got := grammar.Role(tc.in); got != tc.want {
			t.Errorf("Role(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if spec := roleSpec.MatchString(tc.in); spec != tc.want {
			t.Errorf("the spec's regexp says %v for %q: the table is wrong", spec, tc.in)
		}
	}
}

// FuzzRole checks Role against the grammar's regular expression.
func FuzzRole(f *testing.F) {
	for _, s := range []string{"patient", "-x", "a_b-c", "A", "", strings.Repeat("z", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := grammar.Role(s), roleSpec.MatchString(s); got != want {
			t.Fatalf("Role(%q) = %v, the grammar says %v", s, got, want)
		}
	})
}

func TestUUID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"0b9c2a3e-5d1f-4c8e-9a7b-1f2e3d4c5b6a", true},
		{"0B9C2A3E-5D1F-4C8E-9A7B-1F2E3D4C5B6A", false}, // upper case
		{"{0b9c2a3e-5d1f-4c8e-9a7b-1f2e3d4c5b6a}", false},
		{"0b9c2a3e5d1f4c8e9a7b1f2e3d4c5b6a", false},
		{"urn:uuid:0b9c2a3e-5d1f-4c8e-9a7b-1f2e3d4c5b6a", false},
		{"0b9c2a3e-5d1f-4c8e-9a7b-1f2e3d4c5b6g", false},
		{"0b9c2a3e_5d1f-4c8e-9a7b-1f2e3d4c5b6a", false},
		{"", false},
	} {
		if got := grammar.UUID(tc.in); got != tc.want {
			t.Errorf("UUID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
