package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/store"
)

// djangoTableDefault is the old service's user model: the custom User of its
// authentication app. --table auth_user reads a stock Django table.
const djangoTableDefault = "authentication_user"

// tableNameRE is a plain, unquoted PostgreSQL table name.
var tableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// usersImportDjango runs `issuer users import-django`: it reads the Django
// user table, imports it in one transaction (see auth.ImportDjango), prints
// each refused row and each user without a usable password on a line of its
// own (username and reason, never a hash), then one summary line. Exit 0
// when no row was refused, 1 when some were (the rest is committed) or the
// source cannot be read (nothing written), 2 for usage errors.
func usersImportDjango(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("users import-django", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	source := fs.String("source", "", "URL of the Django PostgreSQL database")
	table := fs.String("table", djangoTableDefault, "the Django user table")
	dryRun := fs.Bool("dry-run", false, "report what would be imported; write nothing")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *source == "" {
		return usageError{"users import-django needs --source URL (and takes --table NAME, --dry-run)"}
	}
	if !tableNameRE.MatchString(*table) {
		return usageError{fmt.Sprintf("--table %q is not a plain table name", *table)}
	}
	var rep auth.ImportReport
	err := withService(ctx, env, func(svc *auth.Service) error {
		rows, err := store.ReadDjangoUsers(ctx, *source, *table)
		if err != nil {
			return err
		}
		rep, err = svc.ImportDjango(ctx, *table, rows, *dryRun)
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range rep.Refused {
		fmt.Fprintf(env.Stdout, "refused %q (django id %s): %s\n", r.Username, r.DjangoID, r.Reason)
	}
	for _, r := range rep.NoPassword {
		fmt.Fprintf(env.Stdout, "no usable password %q (django id %s): %s\n", r.Username, r.DjangoID, r.Reason)
	}
	prefix := ""
	if *dryRun {
		prefix = "dry run, nothing written: "
	}
	fmt.Fprintf(env.Stdout, "%simported %d, skipped %d, refused %d, without usable password %d\n",
		prefix, rep.Imported, rep.Skipped, len(rep.Refused), len(rep.NoPassword))
	if len(rep.Refused) > 0 {
		return fmt.Errorf("%w: %d row(s) refused", errRowsRefused, len(rep.Refused))
	}
	return nil
}

// errRowsRefused: the import ran and some rows were refused (exit 1).
var errRowsRefused = errors.New("users import-django")
