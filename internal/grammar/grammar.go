// Package grammar is the one home of the syntax of the identity values the
// issuer writes into tokens and the gateway copies into upstream headers:
// user and session ids, role names and header-safe text.
//
// It uses only the standard library, so that every side can share it: the
// issuer (which grants roles), internal/accesstoken (which validates claims,
// and is linked into the Kong plugin) and the public identity package (which
// upstream services import, and which must stay standard-library only).
package grammar

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// RoleMaxLen is the longest role name.
const RoleMaxLen = 64

// Role reports whether s may be a role: 1-64 lower-case ASCII letters,
// digits, '-' and '_', starting with a letter or digit. Roles travel to the
// upstream services in one HTTP header as a comma list, so they are kept to
// header-safe text.
func Role(s string) bool {
	if s == "" || len(s) > RoleMaxLen || s[0] == '-' || s[0] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// UUID reports whether s is a UUID in the canonical form the issuer writes:
// 8-4-4-4-12 lower-case hex digits (RFC 9562 section 4).
func UUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// HeaderSafe reports whether s may be copied into an HTTP header value that
// holds a comma-separated list: valid UTF-8, printable, no control character
// (so no CR or LF), no comma, and no leading or trailing space.
func HeaderSafe(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == ',' {
			ascii = false
			break
		}
	}
	if ascii {
		return true
	}
	if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if r == ',' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
