package auth_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/store"
)

// djangoUser is a user the real Django wrote into a fixture table, with the
// password it was given (testdata/django/*-users.json).
type djangoUser struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Hasher   string `json:"hasher"`
}

// djangoSource loads a table Django wrote (a pg_dump in testdata/django)
// into a database of its own and returns its URL.
func djangoSource(t testing.TB, dump string) string {
	t.Helper()
	sql, err := os.ReadFile("testdata/django/" + dump)
	if err != nil {
		t.Fatal(err)
	}
	url := testdb.New(t)
	issuertest.Exec(t, url, string(sql))
	return url
}

func importDjango(t testing.TB, is *issuertest.Issuer, source, table string, dryRun bool) auth.ImportReport {
	t.Helper()
	ctx := context.Background()
	rows, err := store.ReadDjangoUsers(ctx, source, table)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := is.Auth.ImportDjango(ctx, table, rows, dryRun)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func reasons(rows []auth.ImportedRow) map[string]string {
	out := map[string]string{}
	for _, r := range rows {
		out[r.Username] = r.Reason
	}
	return out
}

func storedHash(t testing.TB, is *issuertest.Issuer, username string) string {
	t.Helper()
	u, err := is.Store.UserGetByUsername(context.Background(), username)
	if err != nil {
		t.Fatalf("%s: %v", username, err)
	}
	return u.PasswordHash
}

// TestImportDjangoUsersLogIn imports the table a real Django wrote for the
// old service's model (every hasher, and the cases: inactive, staff,
// superuser, unusable, a case-only e-mail conflict, a case-only username
// conflict, two-letter and non-ASCII usernames, malformed hashes), then
// logs every imported user in twice: with the Django hash, and after it was
// replaced. The Django hash is then nowhere in the database.
func TestImportDjangoUsersLogIn(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	source := djangoSource(t, "authentication_user.sql")
	var users []djangoUser
	readJSON(t, "testdata/django/custom-users.json", &users)

	rep := importDjango(t, is, source, "authentication_user", false)

	wantRefused := map[string]string{
		"carol2":   "e-mail address equals (ignoring case) the username or e-mail address of \"carol\"",
		"dave":     "username equals (ignoring case) the username or e-mail address of \"Dave\"",
		"zoë":      "username is not ASCII",
		"noemail":  "no e-mail address",
		"badcount": "password pbkdf2_sha256 hash malformed: bad iteration count",
		"badb64":   "password pbkdf2_sha256 hash malformed: bad base64",
		"absurd":   "password pbkdf2_sha256 hash malformed: iteration count outside",
	}
	got := reasons(rep.Refused)
	for name, want := range wantRefused {
		if !strings.HasPrefix(got[name], want) {
			t.Errorf("%s refused for %q, want %q", name, got[name], want)
		}
	}
	wantNoPassword := []string{"cryptuser", "md5user", "nopass", "unsalted"}
	noPassword := reasons(rep.NoPassword)
	if len(got) != len(wantRefused) || len(noPassword) != len(wantNoPassword) || rep.Imported != len(users)-len(wantRefused) || rep.Skipped != 0 {
		t.Fatalf("report: imported %d, skipped %d, refused %v, without password %v", rep.Imported, rep.Skipped, got, noPassword)
	}
	for _, r := range append(rep.Refused, rep.NoPassword...) {
		if strings.Contains(r.Reason, "$") {
			t.Errorf("%s: reason %q may echo a hash", r.Username, r.Reason)
		}
	}
	// One user_imported audit row per imported user, in the import's
	// transaction, and the chain still verifies.
	var audited int
	if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT count(*) FROM audit_log WHERE event = 'user_imported'", &audited); err != nil {
		t.Fatal(err)
	}
	if audited != rep.Imported {
		t.Errorf("%d user_imported audit rows, want %d", audited, rep.Imported)
	}
	if _, err := is.Auth.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain after the import: %v", err)
	}

	unknown := is.Post(t, "/api/auth/login/", map[string]string{"username": "nobody-at-all", "password": "whatever it is"}, "")
	var legacy []string // Django hashes imported, to look for afterwards
	for _, u := range users {
		if _, refused := wantRefused[u.Username]; refused {
			continue
		}
		hash := storedHash(t, is, u.Username)
		_, noPassword := noPassword[u.Username]
		switch {
		case noPassword:
			if hash != auth.UnusablePassword {
				t.Errorf("%s: stored hash is not the unusable marker", u.Username)
			}
			assertSameRefusal(t, is, u, unknown)
		case u.Username == "inactive":
			assertSameRefusal(t, is, u, unknown)
			if !auth.IsDjangoHash(storedHash(t, is, u.Username)) {
				t.Error("the hash of a disabled user was replaced by a refused login")
			}
		default:
			legacy = append(legacy, hash)
			is.Login(t, u.Username, u.Password)
			if after := storedHash(t, is, u.Username); !strings.HasPrefix(after, "$argon2id$") {
				t.Errorf("%s: after the first login the stored hash is not argon2id", u.Username)
			}
			tok := is.Login(t, u.Username, u.Password)
			// The access token (username claim, X-Consumer-Username) passes
			// the parser the gateway uses: a two-letter name included.
			r := is.Get(t, "/api/auth/me/", tok.Access)
			if me, _ := r.JSON["user"].(map[string]any); r.Status != http.StatusOK || me["username"] != u.Username {
				t.Errorf("%s: /me %d %s", u.Username, r.Status, r.Body)
			}
		}
	}
	assertGone(t, is, legacy)
	assertImportedFields(t, is)

	// A second run skips every user imported and writes nothing; the rows
	// refused for a conflict in the run now conflict with the issuer.
	again := importDjango(t, is, source, "authentication_user", false)
	if again.Imported != 0 || again.Skipped != rep.Imported || len(again.Refused) != len(wantRefused) {
		t.Fatalf("second run: imported %d, skipped %d, refused %d", again.Imported, again.Skipped, len(again.Refused))
	}
	if r := reasons(again.Refused)["carol2"]; !strings.Contains(r, "already in the issuer") {
		t.Errorf("second run, carol2: %q", r)
	}
}

// assertSameRefusal: a user who must not get in (no usable password,
// disabled) is refused with the right password exactly as an unknown user.
func assertSameRefusal(t *testing.T, is *issuertest.Issuer, u djangoUser, unknown issuertest.Response) {
	t.Helper()
	pw := u.Password
	if pw == "" {
		pw = "any password at all"
	}
	r := is.Post(t, "/api/auth/login/", map[string]string{"username": u.Username, "password": pw}, "")
	if r.Status != http.StatusUnauthorized || string(r.Body) != string(unknown.Body) {
		t.Errorf("%s: %d %s, want what an unknown user gets: %d %s", u.Username, r.Status, r.Body, unknown.Status, unknown.Body)
	}
}

// assertGone: no row of any table holds any part of these hashes' digests.
func assertGone(t *testing.T, is *issuertest.Issuer, hashes []string) {
	t.Helper()
	tables := []string{"users", "login_names", "sessions", "refresh_tokens", "email_verifications", "revocation_events", "django_users"}
	for _, h := range hashes {
		digest := h[strings.LastIndex(h, "$")+1:]
		for _, table := range tables {
			var n int
			if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT count(*) FROM "+table+" AS t WHERE strpos(row_to_json(t)::text, $1) > 0", &n, digest); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("a Django hash (%.12s...) is still in %s", h, table)
			}
		}
	}
}

// assertImportedFields checks what each case became.
func assertImportedFields(t *testing.T, is *issuertest.Issuer) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []struct {
		username string
		roles    []string
		verified bool
		disabled bool
	}{
		{username: "root", roles: []string{"admin", "patient", "staff"}},
		{username: "staffer", roles: []string{"patient", "staff"}},
		{username: "jo", roles: []string{"patient"}},
		{username: "verified", roles: []string{"patient"}, verified: true},
		{username: "inactive", roles: []string{"patient"}, disabled: true},
	} {
		u, err := is.Store.UserGetByUsername(ctx, c.username)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(u.Roles, c.roles) || u.EmailVerified != c.verified || (u.DisabledAt != nil) != c.disabled {
			t.Errorf("%s: roles %v, email_verified %v, disabled %v", c.username, u.Roles, u.EmailVerified, u.DisabledAt != nil)
		}
	}
	jo, _ := is.Store.UserGetByUsername(ctx, "jo")
	var joined string
	if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT date_joined::text FROM users WHERE username = 'jo'", &joined); err != nil {
		t.Fatal(err)
	}
	if jo.FirstName != "Jo" || jo.LastName != "Ng" || jo.Email != "jo@example.org" || jo.DateJoined.Year() < 2020 {
		t.Errorf("jo: %+v", jo)
	}
}

// TestImportDjangoStockTableDryRun: --table auth_user reads a stock Django
// table (no email_verified); a dry run reports what the real run then does
// and writes nothing.
func TestImportDjangoStockTableDryRun(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	source := djangoSource(t, "auth_user.sql")

	dry := importDjango(t, is, source, "auth_user", true)
	var n int
	if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM login_names) + (SELECT count(*) FROM django_users)", &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("a dry run wrote %d rows", n)
	}
	real := importDjango(t, is, source, "auth_user", false)
	if dry.Imported != real.Imported || !slices.Equal(dry.Refused, real.Refused) || !slices.Equal(dry.NoPassword, real.NoPassword) {
		t.Fatalf("dry run %+v, real run %+v", dry, real)
	}
	if real.Imported != 9 || len(real.Refused) != 2 || len(real.NoPassword) != 1 || reasons(real.Refused)["carol2"] == "" {
		t.Fatalf("report %+v", real)
	}
	var users []djangoUser
	readJSON(t, "testdata/django/stock-users.json", &users)
	for _, u := range users {
		if u.Username == "pbkdf2user" || u.Username == "jo" {
			tok := is.Login(t, u.Username, u.Password)
			// The access token (username claim, X-Consumer-Username) passes
			// the parser the gateway uses: a two-letter name included.
			r := is.Get(t, "/api/auth/me/", tok.Access)
			if me, _ := r.JSON["user"].(map[string]any); r.Status != http.StatusOK || me["username"] != u.Username {
				t.Errorf("%s: /me %d %s", u.Username, r.Status, r.Body)
			}
		}
	}
	u, err := is.Store.UserGetByUsername(context.Background(), "root")
	if err != nil || u.EmailVerified || !slices.Equal(u.Roles, []string{"admin", "patient", "staff"}) {
		t.Fatalf("root: %+v %v", u, err)
	}
}

// TestImportDjangoRefusesBadRows: rows no Django table of ours holds, built
// by hand: each refused with its reason, the good ones imported.
func TestImportDjangoRefusesBadRows(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	is.Register(t, "alice", "correct horse battery") // alice@example.org
	var vectors []djangoVector
	readJSON(t, "testdata/django/hashers.json", &vectors)
	i := slices.IndexFunc(vectors, func(v djangoVector) bool { return v.Hasher == "pbkdf2_sha256" && v.Password == "lètmein" })
	hash := vectors[i].Encoded // 1000 iterations
	row := func(id, username, email string) store.DjangoRow {
		return store.DjangoRow{ID: id, Username: username, Email: email, Password: hash, IsActive: true}
	}
	long := row("5", "ok5", "ok5@example.org")
	long.FirstName = "tab\there"
	rows := []store.DjangoRow{
		row("1", "alice@example.org", "other@example.org"),     // username = an issuer user's e-mail
		row("2", "bob", "ALICE@example.org"),                   // e-mail = an issuer user's, in another case
		row("3", "has space", "space@example.org"),             // not Django's rule
		row("4", strings.Repeat("a", 151), "long@example.org"), // too long
		long, // control character in a name
		row("6", "bad-utf8", "bad\xffmail@example.org"),  // not UTF-8
		row("7", "same@example.org", "Same@example.org"), // its own username and e-mail: one login name
		row("8", "x", "x@example.org"),                   // one character: Django's rule allows it
	}
	rep, err := is.Auth.ImportDjango(context.Background(), "handmade", rows, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"alice@example.org":      "username equals (ignoring case) a username or e-mail address already in the issuer",
		"bob":                    "e-mail address equals (ignoring case) a username or e-mail address already in the issuer",
		"has space":              "username must be 1 to 150 characters",
		strings.Repeat("a", 151): "username must be 1 to 150 characters",
		"ok5":                    "first or last name",
		"bad-utf8":               "e-mail address is not valid",
	}
	got := reasons(rep.Refused)
	for name, reason := range want {
		if !strings.HasPrefix(got[name], reason) {
			t.Errorf("%.20s: refused for %q, want %q", name, got[name], reason)
		}
	}
	if rep.Imported != 2 || len(got) != len(want) {
		t.Fatalf("imported %d, refused %v", rep.Imported, got)
	}
	is.Login(t, "x", "lètmein")
	is.Login(t, "SAME@example.org", "lètmein")
}

// Imported login names are claimed as registered ones are: the address
// normalised (its domain in IDNA A-labels), so it logs in however its
// domain is spelt, and with its confusable skeleton, so a registration
// whose address only looks like an imported user's (Cyrillic а) is
// refused as taken.
func TestImportDjangoClaimsLoginNamesAsRegistrationDoes(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{})
	source := djangoSource(t, "authentication_user.sql")
	issuertest.Exec(t, source, `INSERT INTO authentication_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, email_verified)
		SELECT 1000, password, false, 'idnuser', '', '', 'idn@bücher.example', false, true, date_joined, false
		FROM authentication_user WHERE username = 'staffer'`)
	importDjango(t, is, source, "authentication_user", false)
	is.Login(t, "idn@BÜCHER.example", "staff password")
	is.Login(t, "idn@xn--bcher-kva.example", "staff password")

	var missing int
	if err := issuertest.QueryRow(t, is.DatabaseURL, "SELECT count(*) FROM login_names WHERE skeleton IS NULL", &missing); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("%d imported login names without a skeleton", missing)
	}
	r := is.Post(t, "/api/auth/register/", map[string]string{
		"username": "newcomer", "email": "st\u0430ffer@example.org", "password": "a long and unguessable passphrase",
	}, "")
	if r.Status != http.StatusConflict || r.JSON["code"] != "email_taken" {
		t.Fatalf("look-alike of an imported address: %d %s, want 409 email_taken", r.Status, r.Body)
	}
}
