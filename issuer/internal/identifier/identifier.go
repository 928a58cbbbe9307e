// Package identifier holds the rules for the names people choose and log in
// with: which characters an identifier or a name may not contain, how an
// e-mail address is normalised, and the confusable skeleton (Unicode
// TS #39) that makes two names that look alike count as one.
package identifier

import (
	"errors"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Errors of NormalizeEmail, each worded for a field message.
var (
	ErrInvisible    = errors.New("must not contain control, invisible or bidirectional characters")
	ErrQuotedLocal  = errors.New("must not have a quoted local part")
	ErrInvalidEmail = errors.New("must be an e-mail address")
	ErrInvalidIDN   = errors.New("must have a valid domain name")
)

// Invisible reports whether r may not appear in an identifier or a name:
// control characters (Cc), format characters (Cf: the zero-width space and
// joiners, the bidirectional embeddings, overrides, isolates and marks, the
// soft hyphen, the byte order mark), line and paragraph separators,
// surrogates, private use and unassigned code points, and the other
// default-ignorable characters that render as nothing (Hangul fillers,
// variation selectors).
func Invisible(r rune) bool {
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs) ||
		unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) ||
		r == unicode.ReplacementChar
}

// HasInvisible reports whether s holds a rune Invisible refuses, or is not
// valid UTF-8 (a bad byte decodes as the replacement character).
func HasInvisible(s string) bool { return strings.ContainsFunc(s, Invisible) }

// idn converts domain names the way browsers and mail software look them up
// (UTS #46, non-transitional): case-folded, then to A-labels.
var idn = idna.Lookup

// NormalizeEmail returns the form of an e-mail address that is stored and
// compared: NFC, with the domain in lower-case IDNA A-labels
// (xn--...). The local part keeps its case (it is compared
// case-insensitively anyway). A quoted local part ("a b"@example.org) is
// refused: it lets one mailbox be spelt many ways, and no one needs it.
func NormalizeEmail(s string) (string, error) {
	s = norm.NFC.String(s)
	if HasInvisible(s) {
		return "", ErrInvisible
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", ErrInvalidEmail
	}
	local, domain := s[:at], s[at+1:]
	if strings.ContainsAny(local, "\"\\ ") {
		return "", ErrQuotedLocal
	}
	if strings.ContainsRune(local, '@') {
		return "", ErrInvalidEmail
	}
	ascii, err := idn.ToASCII(domain)
	if err != nil || !strings.Contains(ascii, ".") {
		return "", ErrInvalidIDN
	}
	return local + "@" + strings.ToLower(ascii), nil
}

// LoginName is the form of a login name (a username or an e-mail address)
// that is looked up: an address as NormalizeEmail makes it, so the
// address a user registered is found however its domain is spelt;
// anything else as it is.
func LoginName(s string) string {
	if strings.ContainsRune(s, '@') {
		if n, err := NormalizeEmail(s); err == nil {
			return n
		}
	}
	return s
}

var fold = cases.Fold()

// Skeleton is the confusable skeleton of a login name (Unicode TS #39
// section 4), of its case-folded form since login names are compared
// without case: two names with the same skeleton look alike (Cyrillic а
// for Latin a, fullwidth letters, 0 for O, rn for m), and only the first
// may be registered. An address's domain is taken in its Unicode form, so
// a look-alike spelt in A-labels is caught too. Folding comes first, as
// TS #39 advises for identifiers compared without case; its one blind spot
// is a capital I, which folds to i before it could match l.
//
// The table is Unicode 13's confusables.txt, from
// github.com/mtibben/confusables: golang.org/x/text has no TS #39 data.
func Skeleton(name string) string {
	if at := strings.LastIndexByte(name, '@'); at >= 0 {
		if u, err := idn.ToUnicode(name[at+1:]); err == nil {
			name = name[:at+1] + u
		}
	}
	return confusables.Skeleton(fold.String(norm.NFC.String(name)))
}
