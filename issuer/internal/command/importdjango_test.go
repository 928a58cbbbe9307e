package command_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/store"
)

// importEnv returns a migrated, empty issuer database and the environment
// that points the command at it.
func importEnv(t *testing.T) (string, map[string]string) {
	t.Helper()
	url := testdb.New(t)
	if _, err := store.Migrate(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	return url, map[string]string{"DATABASE_URL": url}
}

func countUsers(t *testing.T, url string) int {
	t.Helper()
	var n int
	if err := issuertest.QueryRow(t, url, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM django_users)", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportDjangoUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x"}
	for _, args := range [][]string{
		{"users", "import-django"},
		{"users", "import-django", "--table", "auth_user"},
		{"users", "import-django", "--source", "postgres://x/y", "extra"},
		{"users", "import-django", "--source", "postgres://x/y", "--table", "auth_user; DROP TABLE users"},
		{"users", "import-django", "--source", "postgres://x/y", "--bogus"},
	} {
		code, stdout, stderr := run(t, env, args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "import-django") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// TestImportDjangoBadSource: a source that does not connect, a missing table
// or column, a column of the wrong type: one line naming it, exit 1,
// nothing written.
func TestImportDjangoBadSource(t *testing.T) {
	t.Parallel()
	issuerURL, env := importEnv(t)
	source := testdb.New(t)
	issuertest.Exec(t, source, `
		CREATE TABLE no_email (id int PRIMARY KEY, username text, password text, first_name text, last_name text,
			is_active bool, is_staff bool, is_superuser bool, date_joined timestamptz, last_login timestamptz);
		CREATE TABLE int_staff (id int PRIMARY KEY, username text, email text, password text, first_name text, last_name text,
			is_active bool, is_staff int, is_superuser bool, date_joined timestamptz, last_login timestamptz);
		INSERT INTO int_staff VALUES (1, 'alice', 'alice@example.org', '!', '', '', true, 1, false, now(), NULL)`)
	for _, c := range []struct {
		name, url, table string
		want             []string
	}{
		{"does not connect", "postgres://django:s3cret-pw@127.0.0.1:1/legacy?connect_timeout=2", "authentication_user", []string{"127.0.0.1", "legacy"}},
		{"not a url", "postgres://django:s3cret-pw@[::1/legacy", "authentication_user", []string{"source url"}},
		{"missing table", source, "authentication_user", []string{"table authentication_user not found"}},
		{"missing column", source, "no_email", []string{"table no_email has no column email"}},
		{"wrong type", source, "int_staff", []string{"column int_staff.is_staff is integer, want boolean"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(t, env, "users", "import-django", "--source", c.url, "--table", c.table)
			if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "s3cret-pw") {
				t.Errorf("stderr shows the source's password: %q", stderr)
			}
			if n := countUsers(t, issuerURL); n != 0 {
				t.Errorf("%d rows written", n)
			}
		})
	}
}

// TestImportDjangoCommandOutput: every refused row and every user without a
// usable password on a line of its own, then one summary line; exit 1 with
// refusals (the rest committed), 0 without; --dry-run writes nothing.
func TestImportDjangoCommandOutput(t *testing.T) {
	t.Parallel()
	issuerURL, env := importEnv(t)
	source := testdb.New(t)
	dump, err := os.ReadFile("../auth/testdata/django/auth_user.sql")
	if err != nil {
		t.Fatal(err)
	}
	issuertest.Exec(t, source, string(dump))
	args := []string{"users", "import-django", "--source", source, "--table", "auth_user"}

	code, dry, _ := run(t, env, append(args, "--dry-run")...)
	if code != 1 || countUsers(t, issuerURL) != 0 {
		t.Fatalf("dry run: exit %d, %d rows written", code, countUsers(t, issuerURL))
	}
	code, out, stderr := run(t, env, args...)
	if code != 1 || !strings.Contains(stderr, "2 row(s) refused") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	last := strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n") + 1 // the summary line
	if want := out[:last] + "dry run, nothing written: " + out[last:]; dry != want {
		t.Errorf("the dry run reported\n%s\nwant\n%s", dry, want)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`^refused "carol2" \(django id \d+\): e-mail address equals \(ignoring case\) the username or e-mail address of "carol", imported earlier in this run$`),
		regexp.MustCompile(`^refused "zoë" \(django id \d+\): username is not ASCII: it cannot travel in the X-Consumer-Username header$`),
		regexp.MustCompile(`^no usable password "nopass" \(django id \d+\): unusable password$`),
		regexp.MustCompile(`^imported 9, skipped 0, refused 2, without usable password 1$`),
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s", out)
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d %q, want %s", i+1, lines[i], re)
		}
	}
	if strings.Contains(out+stderr, "$") {
		t.Errorf("the output may hold a hash:\n%s%s", out, stderr)
	}

	issuertest.Exec(t, source, `DELETE FROM auth_user WHERE username IN ('carol2', 'zoë')`)
	code, out, _ = run(t, env, args...)
	if code != 0 || out != "imported 0, skipped 9, refused 0, without usable password 0\n" {
		t.Fatalf("re-run: exit %d, %q", code, out)
	}
}
