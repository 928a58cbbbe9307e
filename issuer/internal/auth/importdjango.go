package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/identifier"
	"github.com/medinsights/auth/issuer/internal/store"
)

// RoleStaff is the role an imported Django user with is_staff gets beside
// the default roles; is_superuser gives RoleAdmin.
const RoleStaff = "staff"

// ImportReport is what an import did (or, in a dry run, would have done).
type ImportReport struct {
	Imported int // users created, NoPassword included
	Skipped  int // rows imported by an earlier run
	Refused  []ImportedRow
	// NoPassword are the users imported without a usable password, each
	// with why (the hash's format): they get in by resetting it.
	NoPassword []ImportedRow
}

// ImportedRow names a Django row in a report: its id, username and a reason.
type ImportedRow struct {
	DjangoID, Username, Reason string
}

// errDryRun rolls a dry run back after it has reported.
var errDryRun = errors.New("dry run")

// ImportDjango creates the users of a Django user table (rows, as
// store.ReadDjangoUsers read them from table) in one transaction. Each row
// becomes a user with its username, e-mail address, names, join date,
// email_verified, the default roles plus RoleStaff (is_staff) and RoleAdmin
// (is_superuser), disabled when is_active is false, and its Django password
// hash as it is (see CheckDjangoHash), or UnusablePassword. A row is refused,
// with a reason, when:
//
//   - its username breaks Django's rule kept for imports, ASCII only
//     (ValidImportedUsername), or its e-mail address is empty or invalid;
//   - its hash is malformed for its algorithm;
//   - its username or e-mail address, lower-cased as login names are,
//     equals a login name of a user already in the issuer, or of a row
//     imported earlier in this run (rows come in primary key order).
//
// A row imported by an earlier run (same table and id) is skipped and never
// updated. With dryRun the same report is made and nothing is written.
func (s *Service) ImportDjango(ctx context.Context, table string, rows []store.DjangoRow, dryRun bool) (ImportReport, error) {
	now := s.now()
	rows = slices.Clone(rows)
	for i := range rows { // the address is stored and looked up as a registered one is
		rows[i].Email = identifier.LoginName(rows[i].Email)
	}
	ids := make([]string, len(rows))
	var names []string
	for i, r := range rows {
		ids[i] = r.ID
		for _, n := range []string{r.Username, r.Email} {
			if utf8.ValidString(n) { // an invalid one refuses its row; PostgreSQL would refuse the whole lookup
				names = append(names, n)
			}
		}
	}
	var rep ImportReport
	err := s.opt.Store.Tx(ctx, func(q *store.Q) error {
		rep = ImportReport{} // Tx may run this twice
		if err := q.DjangoImportLock(ctx); err != nil {
			return err
		}
		done, err := q.DjangoUserImported(ctx, table, ids)
		if err != nil {
			return err
		}
		known, err := q.LoginNameLookup(ctx, names)
		if err != nil {
			return err
		}
		var users []store.ImportedUser
		claimed := map[string]string{} // login name → username of the row that claimed it in this run
		for _, r := range rows {
			if done[r.ID] {
				rep.Skipped++
				continue
			}
			u, noPassword, reason := s.importedUser(r, now)
			if reason == "" {
				reason = nameConflict(r, known, claimed)
			}
			if reason != "" {
				rep.Refused = append(rep.Refused, ImportedRow{DjangoID: r.ID, Username: r.Username, Reason: reason})
				continue
			}
			u.LoginNames = slices.Compact([]string{known[r.Username].Lowered, known[r.Email].Lowered})
			for _, n := range u.LoginNames {
				claimed[n] = r.Username
			}
			if noPassword != "" {
				rep.NoPassword = append(rep.NoPassword, ImportedRow{DjangoID: r.ID, Username: r.Username, Reason: noPassword})
			}
			users = append(users, u)
		}
		rep.Imported = len(users)
		if err := q.UserImport(ctx, table, users, now); err != nil {
			return err
		}
		// One user_imported audit row per user, in the import's transaction.
		if n, err := q.AuditLogUsersImported(ctx, users, now, EventUserImported); err != nil || n != int64(len(users)) {
			return cmp.Or(err, fmt.Errorf("audit import: %d rows for %d users", n, len(users)))
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		if errors.Is(err, store.ErrConflict) {
			return ImportReport{}, fmt.Errorf("import django users: a login name was claimed while the import ran (nothing written; run it again): %w", err)
		}
		return ImportReport{}, fmt.Errorf("import django users: %w", err)
	}
	return rep, nil
}

// importedUser checks one row and makes its user. noPassword says why the
// user has no usable password; reason, when set, why the row is refused.
func (s *Service) importedUser(r store.DjangoRow, now time.Time) (u store.ImportedUser, noPassword, reason string) {
	switch {
	case !isASCII(r.Username):
		return u, "", "username is not ASCII: it cannot travel in the X-Consumer-Username header"
	case !ValidImportedUsername(r.Username):
		return u, "", "username must be 1 to 150 characters: letters, digits and @ . + - _"
	case r.Email == "":
		return u, "", "no e-mail address: the issuer requires one"
	case len(r.Email) > 254 || !normalEmail(r.Email):
		return u, "", "e-mail address is not valid"
	case utf8.RuneCountInString(r.FirstName) > 150 || utf8.RuneCountInString(r.LastName) > 150 || !PlainText(r.FirstName) || !PlainText(r.LastName):
		return u, "", "first or last name is longer than 150 characters or holds control or invisible characters"
	}
	hash := r.Password
	if _, err := CheckDjangoHash(hash); errors.Is(err, ErrNoUsablePassword) {
		hash, noPassword = UnusablePassword, strings.TrimPrefix(err.Error(), ErrNoUsablePassword.Error()+": ")
	} else if err != nil {
		return u, "", "password " + err.Error()
	}
	roles := append([]string{}, s.opt.DefaultRoles...)
	if r.IsStaff {
		roles = append(roles, RoleStaff)
	}
	if r.IsSuperuser {
		roles = append(roles, RoleAdmin)
	}
	slices.Sort(roles)
	u = store.ImportedUser{
		NewUser: store.NewUser{
			ID: uuid.New(), Username: r.Username, Email: r.Email, PasswordHash: hash,
			FirstName: r.FirstName, LastName: r.LastName, Roles: slices.Compact(roles), Now: now,
		},
		EmailVerified: r.EmailVerified, DateJoined: r.DateJoined, DjangoID: r.ID, LastLogin: r.LastLogin,
	}
	if u.DateJoined.IsZero() {
		u.DateJoined = now
	}
	if !r.IsActive {
		u.DisabledAt = &now
	}
	return u, noPassword, ""
}

// normalEmail reports whether s is an e-mail address in the form
// registration stores (identifier.NormalizeEmail), which ImportDjango
// brings every valid one to.
func normalEmail(s string) bool {
	n, err := identifier.NormalizeEmail(s)
	return err == nil && n == s
}

// nameConflict says why a row's username or e-mail address cannot be had:
// it is a login name in the issuer, or one a row earlier in the run claimed.
func nameConflict(r store.DjangoRow, known map[string]store.LoginName, claimed map[string]string) string {
	for _, n := range []struct{ field, value string }{{"username", r.Username}, {"e-mail address", r.Email}} {
		name := known[n.value]
		if name.Taken {
			return n.field + " equals (ignoring case) a username or e-mail address already in the issuer"
		}
		if by, ok := claimed[name.Lowered]; ok {
			return fmt.Sprintf("%s equals (ignoring case) the username or e-mail address of %q, imported earlier in this run", n.field, by)
		}
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
