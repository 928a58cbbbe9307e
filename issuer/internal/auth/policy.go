package auth

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/medinsights/auth/internal/grammar"
)

// Limits on what users choose. The wire format checks lengths and
// characters (see package api); CheckPassword adds the rules that need more
// than one field.
const (
	UsernameMinLen = 3
	UsernameMaxLen = 150
	PasswordMinLen = 12
	PasswordMaxLen = 128
)

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9@.+_-]{3,150}$`)

// ValidUsername reports whether s is 3-150 ASCII letters, digits and @.+-_.
func ValidUsername(s string) bool { return usernameRE.MatchString(s) }

// ValidRole reports whether s may be a role: 1-64 lower-case letters,
// digits, '-' and '_', starting with a letter or digit ([grammar.Role], the
// rule's one home: upstream services refuse any other role in X-User-Roles).
func ValidRole(s string) bool { return grammar.Role(s) }

// CheckPassword applies NIST SP 800-63B section 5.1.1.2: 12 to 128
// characters, no composition rules, and not guessable from the account
// itself: not equal to or containing the username or the e-mail address's
// local part (compared case-insensitively; local parts shorter than 3
// characters are not compared). field names the password in the error.
func CheckPassword(field, password, username, email string) error {
	n := utf8.RuneCountInString(password)
	var problems []string
	if n < PasswordMinLen {
		problems = append(problems, "must be at least 12 characters long")
	}
	if n > PasswordMaxLen {
		problems = append(problems, "must be at most 128 characters long")
	}
	lower := strings.ToLower(password)
	if u := strings.ToLower(username); u != "" && strings.Contains(lower, u) {
		problems = append(problems, "must not contain the username")
	}
	if local, _, ok := strings.Cut(strings.ToLower(email), "@"); ok && len(local) >= 3 && strings.Contains(lower, local) {
		problems = append(problems, "must not contain the e-mail address")
	}
	if len(problems) > 0 {
		return &ValidationError{Fields: map[string][]string{field: problems}}
	}
	return nil
}
