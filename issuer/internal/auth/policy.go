package auth

import (
	"regexp"
	"strings"
	"unicode"
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

// usernameChars are the characters of a username: Django's rule, ASCII only.
const usernameChars = `[A-Za-z0-9@.+_-]`

var (
	usernameRE         = regexp.MustCompile(`^` + usernameChars + `{3,150}$`)
	importedUsernameRE = regexp.MustCompile(`^` + usernameChars + `{1,150}$`)
)

// ValidUsername reports whether s is 3-150 ASCII letters, digits and @.+-_:
// the rule for new registrations.
func ValidUsername(s string) bool { return usernameRE.MatchString(s) }

// ValidImportedUsername reports whether s is 1-150 ASCII letters, digits
// and @.+-_: Django's rule, which imported users keep (a two-letter Django
// username comes through and logs in), less its non-ASCII letters, which
// cannot travel in the X-Consumer-Username header.
func ValidImportedUsername(s string) bool { return importedUsernameRE.MatchString(s) }

// PlainText reports whether s is valid UTF-8 without control characters.
func PlainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

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
