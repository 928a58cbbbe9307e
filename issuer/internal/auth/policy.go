package auth

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"

	"github.com/medinsights/auth/internal/grammar"
	"github.com/medinsights/auth/issuer/internal/identifier"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Limits on what users choose. The wire format checks lengths and
// characters (see package api); CheckPassword adds the rules that need more
// than one field.
const (
	UsernameMinLen = 3
	UsernameMaxLen = 150
	PasswordMinLen = 12
	PasswordMaxLen = 128

	// PasswordMinScore is the lowest zxcvbn score (0-4) accepted: 3 is
	// "safely unguessable: moderate protection from offline slow-hash
	// scenarios" (about 10^8 guesses or more).
	PasswordMinScore = 3
)

// serviceWord is given to zxcvbn as a user input: a password built on the
// service's name is guessed early.
const serviceWord = "medinsights"

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

// PlainText reports whether s is valid UTF-8 without control, zero-width,
// bidirectional or other invisible characters ([identifier.Invisible], the
// rule's one home): the rule for every identifier and name, sent by a user
// or imported.
func PlainText(s string) bool { return !identifier.HasInvisible(s) }

// ValidRole reports whether s may be a role: 1-64 lower-case letters,
// digits, '-' and '_', starting with a letter or digit ([grammar.Role], the
// rule's one home: upstream services refuse any other role in X-User-Roles).
func ValidRole(s string) bool { return grammar.Role(s) }

// Blocklist is a list of breached passwords (package blocklist).
type Blocklist interface {
	Contains(password string) bool
}

// Account is whose password CheckPassword judges: what an attacker who
// targets the account knows, and tries first.
type Account struct {
	Username, Email, FirstName, LastName string
}

// AccountOf is the Account of a stored user.
func AccountOf(u store.User) Account {
	return Account{Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName}
}

// userInputs are the words zxcvbn is told the account makes guessable:
// the username, the e-mail address, its local part and the labels of its
// domain, the names, and the service's name.
func (a Account) userInputs() []string {
	in := []string{serviceWord}
	add := func(s string) {
		if s = strings.ToLower(strings.TrimSpace(s)); len(s) >= 2 {
			in = append(in, s)
		}
	}
	add(a.Username)
	add(a.Email)
	local, domain, _ := strings.Cut(a.Email, "@")
	add(local)
	for label := range strings.SplitSeq(domain, ".") {
		add(label)
	}
	for _, name := range []string{a.FirstName, a.LastName} {
		add(name)
		for part := range strings.FieldsSeq(name) {
			add(part)
		}
	}
	return in
}

// CheckPassword is the one password policy, applied at registration, at
// a password change and at a password reset (NIST SP 800-63B section
// 5.1.1.2): 12 to 128 characters, no composition rules; not equal to or
// containing the username or the e-mail address's local part (compared
// case-insensitively; local parts shorter than 3 characters are not
// compared); a zxcvbn score of at least PasswordMinScore for its first 64
// characters, with the account's names as user inputs, else a field message
// that says what makes it guessable; and, with PASSWORD_BLOCKLIST_FILE set, not on the breached
// list (ErrPasswordBreached, answered as password_breached). field names
// the password in the error.
func (s *Service) CheckPassword(field, password string, a Account) error {
	n := utf8.RuneCountInString(password)
	var problems []string
	if n < PasswordMinLen {
		problems = append(problems, "must be at least 12 characters long")
	}
	if n > PasswordMaxLen {
		problems = append(problems, "must be at most 128 characters long")
	}
	lower := strings.ToLower(password)
	if u := strings.ToLower(a.Username); u != "" && strings.Contains(lower, u) {
		problems = append(problems, "must not contain the username")
	}
	if local, _, ok := strings.Cut(strings.ToLower(a.Email), "@"); ok && len(local) >= 3 && strings.Contains(lower, local) {
		problems = append(problems, "must not contain the e-mail address")
	}
	if len(problems) > 0 {
		return &ValidationError{Fields: map[string][]string{field: problems}}
	}
	if s.opt.Blocklist != nil && s.opt.Blocklist.Contains(password) {
		return &ValidationError{Code: CodePasswordBreached, Fields: map[string][]string{field: {
			"appears in a list of passwords exposed in data breaches: choose another one"}}}
	}
	if r := zxcvbn.PasswordStrength(zxcvbnPrefix(password), a.userInputs()); r.Score < PasswordMinScore {
		return &ValidationError{Fields: map[string][]string{field: {"is too easy to guess: " + weakness(r.Sequence)}}}
	}
	return nil
}

// zxcvbnMaxRunes bounds what zxcvbn reads: its cost grows faster than the
// length (tens of ms of CPU at 128 characters), and 64 characters that are
// hard to guess make the whole password so.
const zxcvbnMaxRunes = 64

// zxcvbnPrefix is the part of a password zxcvbn judges: its first
// zxcvbnMaxRunes characters.
func zxcvbnPrefix(password string) string {
	n := 0
	for i := range password {
		if n == zxcvbnMaxRunes {
			return password[:i]
		}
		n++
	}
	return password
}

// CodePasswordBreached is the problem code of a password on the blocklist.
const CodePasswordBreached = "password_breached"

// weakness says in words what zxcvbn found guessable in a password, from
// the parts of its best guess: "a common word with digits", "your name and
// a year". Parts zxcvbn could only brute-force are named by their kind of
// character.
func weakness(seq []*match.Match) string {
	var parts []string
	seen := map[string]bool{}
	for _, m := range seq {
		d := describe(m)
		if d != "" && !seen[d] {
			seen[d] = true
			parts = append(parts, d)
		}
	}
	switch len(parts) {
	case 0:
		return "too short for the characters it uses: add a few unrelated words"
	case 1:
		return parts[0]
	}
	return parts[0] + " with " + strings.Join(parts[1:], " and ")
}

func describe(m *match.Match) string {
	switch m.Pattern {
	case "dictionary":
		var d string
		switch m.DictionaryName {
		case "passwords":
			d = "a common password"
		case "user_inputs":
			if m.MatchedWord == serviceWord {
				d = "the name of this service"
			} else {
				d = "your username, e-mail address or name"
			}
		case "surnames", "male_names", "female_names":
			d = "a common name"
		default:
			d = "a common word"
		}
		if m.Reversed {
			d += " reversed"
		}
		if m.L33t {
			d += " with predictable substitutions (such as @ for a)"
		}
		return d
	case "spatial":
		return "a keyboard pattern"
	case "repeat":
		return "repeated characters"
	case "sequence":
		return "a sequence such as abc or 123"
	case "regex":
		return "a recent year"
	case "date":
		return "a date"
	case "bruteforce":
		switch {
		case !strings.ContainsFunc(m.Token, func(r rune) bool { return !unicode.IsDigit(r) }):
			return "digits"
		case !strings.ContainsFunc(m.Token, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }):
			return "symbols"
		}
		return "a few other characters"
	}
	return ""
}
