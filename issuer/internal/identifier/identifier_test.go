package identifier_test

import (
	"errors"
	"testing"

	"github.com/medinsights/auth/issuer/internal/identifier"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		err            error
	}{
		{name: "plain", in: "Alice@Example.ORG", want: "Alice@example.org"},
		{name: "IDN domain becomes lower-case A-labels", in: "alice@BÜCHER.de", want: "alice@xn--bcher-kva.de"},
		{name: "decomposed to NFC", in: "jose\u0301@example.org", want: "jos\u00e9@example.org"},
		{name: "quoted local part", in: `"alice"@example.org`, err: identifier.ErrQuotedLocal},
		{name: "quoted local part with a space", in: `"a b"@example.org`, err: identifier.ErrQuotedLocal},
		{name: "zero-width space", in: "ali\u200bce@example.org", err: identifier.ErrInvisible},
		{name: "right-to-left override", in: "alice\u202e@example.org", err: identifier.ErrInvisible},
		{name: "NUL", in: "alice\x00@example.org", err: identifier.ErrInvisible},
		{name: "invalid UTF-8", in: "alice\xff@example.org", err: identifier.ErrInvisible},
		{name: "no domain", in: "alice@", err: identifier.ErrInvalidEmail},
		{name: "single-label domain", in: "alice@localhost", err: identifier.ErrInvalidIDN},
		{name: "bad domain", in: "alice@exa_mple..org", err: identifier.ErrInvalidIDN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := identifier.NormalizeEmail(tt.in)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestSkeletonMakesLookAlikesEqual(t *testing.T) {
	t.Parallel()
	for _, pair := range [][2]string{
		{"alice@example.org", "\u0430lice@example.org"},   // Cyrillic a
		{"alice@example.org", "\uff41lice@example.org"},   // fullwidth a
		{"alice@example.org", "ALICE@EXAMPLE.ORG"},        // case
		{"alice@example.org", "alice@ex\u0430mple.org"},   // Cyrillic a in the domain
		{"alice@example.org", "alice@xn--exmple-4nf.org"}, // the same, in A-labels
		{"modern", "rnodern"},                             // rn for m
		{"paypal1", "paypall"},                            // 1 for l
	} {
		if a, b := identifier.Skeleton(pair[0]), identifier.Skeleton(pair[1]); a != b {
			t.Errorf("Skeleton(%q) = %q, Skeleton(%q) = %q: want equal", pair[0], a, pair[1], b)
		}
	}
	if identifier.Skeleton("alice") == identifier.Skeleton("alex") {
		t.Error("different names share a skeleton")
	}
}

func TestInvisible(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{0, '\n', 0x7f, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x00ad, 0x202a, 0x202e, 0x2066, 0x2069, 0x200e, 0x200f, 0x061c, 0x2028, 0x3164, 0xfe0f, 0xe000, 0x0378} {
		if !identifier.Invisible(r) {
			t.Errorf("U+%04X is allowed", r)
		}
	}
	for _, r := range []rune{'a', 'Z', '0', '@', '.', ' ', 'é', 'ß', 'Ж', '中', '\u0301', '-', '\''} {
		if identifier.Invisible(r) {
			t.Errorf("%q is refused", r)
		}
	}
}
