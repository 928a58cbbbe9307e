// Package command is the issuer's command line: it parses the arguments,
// loads the configuration each command needs, and runs it.
package command

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/medinsights/auth/internal/version"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/blocklist"
	"github.com/medinsights/auth/issuer/internal/config"
	"github.com/medinsights/auth/issuer/internal/mail"
	"github.com/medinsights/auth/issuer/internal/metrics"
	"github.com/medinsights/auth/issuer/internal/signer"
	"github.com/medinsights/auth/issuer/internal/store"
)

// command is one line of the usage and what runs it. Its name is one or two
// words ("serve", "users grant-role"); args describes what follows them.
type command struct {
	name string
	args string
	help string
	// nargs is the number of arguments after the name; -1 when run parses
	// its own flags and returns a usageError for bad ones.
	nargs int
	run   func(ctx context.Context, env Env, args []string) error
}

// commands is the command line, in the order the usage lists it.
var commands = []command{
	{"serve", "", "serve the HTTP API on LISTEN_ADDR", 0, func(ctx context.Context, env Env, _ []string) error { return serve(ctx, env) }},
	{"migrate up", "", "apply pending database migrations", 0, func(ctx context.Context, env Env, _ []string) error { return migrateUp(ctx, env) }},
	{"migrate status", "", "list migrations and whether each is applied", 0, func(ctx context.Context, env Env, _ []string) error { return migrateStatus(ctx, env) }},
	{"keys generate", "--out DIR [--force]", "write a new RSA-2048 pair: DIR/private.pem (0600), DIR/public.pem", -1, func(_ context.Context, env Env, args []string) error { return keysGenerate(args, env) }},
	{"users grant-role", "USERNAME ROLE", "add a role (takes effect at the user's next refresh)", 2, func(ctx context.Context, env Env, args []string) error {
		return usersRole(ctx, env, "grant-role", args[0], args[1])
	}},
	{"users revoke-role", "USERNAME ROLE", "remove a role the user holds and end every session of the user", 2, func(ctx context.Context, env Env, args []string) error {
		return usersRole(ctx, env, "revoke-role", args[0], args[1])
	}},
	{"users import-django", "--source URL [--table NAME] [--dry-run]", "import the users of a Django user table (default authentication_user; docs/django-import.md)", -1, usersImportDjango},
	{"users list", "[--q PREFIX] [--after USERNAME] [--limit N]", "list users by username, those whose username or e-mail starts with PREFIX", -1, func(ctx context.Context, env Env, args []string) error {
		return usersList(ctx, env, args)
	}},
	{"users show", "USER-ID", "a user's roles, status, last login and live sessions", 1, func(ctx context.Context, env Env, args []string) error {
		return usersChange(ctx, env, "show", args[0])
	}},
	{"users disable", "USER-ID", "disable a user and end every session of theirs", 1, func(ctx context.Context, env Env, args []string) error {
		return usersChange(ctx, env, "disable", args[0])
	}},
	{"users enable", "USER-ID", "let a disabled user log in again", 1, func(ctx context.Context, env Env, args []string) error {
		return usersChange(ctx, env, "enable", args[0])
	}},
	{"audit verify", "", "check the audit log's hash chain; exit 1 naming the first bad row or gap", 0, func(ctx context.Context, env Env, _ []string) error {
		return auditVerify(ctx, env)
	}},
	{"audit export", "[--since TIME]", "write the audit log as JSON Lines (TIME: RFC 3339)", -1, func(ctx context.Context, env Env, args []string) error {
		return auditExport(ctx, env, args)
	}},
	{"passwords compile-blocklist", "IN OUT", "compile a breached-password list (Pwned Passwords HEX:COUNT lines, SHA-1 hashes or plain passwords, one a line) into the file PASSWORD_BLOCKLIST_FILE names", 2,
		func(_ context.Context, env Env, args []string) error { return compileBlocklist(env, args[0], args[1]) }},
	{"healthcheck", "", "exit 0 when the local server answers ready", 0, func(ctx context.Context, env Env, _ []string) error { return healthcheck(ctx, env) }},
	{"version", "", "print the version", 0, func(_ context.Context, env Env, _ []string) error {
		fmt.Fprintf(env.Stdout, "issuer %s (%s)\n", version.Version, version.Commit)
		return nil
	}},
}

// usageLines lists the commands that match keep, one per line.
func usageLines(keep func(command) bool) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		if keep(c) {
			fmt.Fprintf(tw, "  issuer %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.help)
		}
	}
	_ = tw.Flush()
	return b.String()
}

// usage is the whole command line, printed for no or an unknown command.
func usage() string {
	return "usage:\n" + usageLines(func(command) bool { return true }) +
		"\nConfiguration comes from the environment; see .env.example.\n"
}

// Env is what a command runs with.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string

	// drainEnd, when it closes, ends serve's drain before
	// SHUTDOWN_DRAIN_DELAY: tests hold the drain open for exactly as long
	// as they need it (export_test.go). Nil in production.
	drainEnd <-chan struct{}
	// connState, when set, is the API server's http.Server.ConnState:
	// tests wait on it for a connection to become active (export_test.go).
	// Nil in production.
	connState func(net.Conn, http.ConnState)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// Main runs the command line args (without the program name) and returns
// the exit code. A known command with wrong arguments prints its own usage;
// a known first word ("users") without a known second prints the usage of
// the commands under it; anything else prints the whole usage.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage())
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(env.Stdout, usage())
		return exitOK
	}
	c, rest, ok := lookup(args)
	if !ok {
		group := usageLines(func(c command) bool { return strings.HasPrefix(c.name, args[0]+" ") })
		if group == "" {
			fmt.Fprintf(env.Stderr, "issuer: unknown command %q\n\n%s", strings.Join(args, " "), usage())
		} else {
			fmt.Fprintf(env.Stderr, "issuer: %q needs one of the commands below\n\nusage:\n%s", strings.Join(args, " "), group)
		}
		return exitUsage
	}
	var err error
	if c.nargs >= 0 && len(rest) != c.nargs {
		err = usageError{fmt.Sprintf("%s takes %s", c.name, cmp.Or(c.args, "no arguments"))}
	} else {
		err = c.run(ctx, env, rest)
	}
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "issuer: %s\n\nusage:\n%s", ue.msg, usageLines(func(o command) bool { return o.name == c.name }))
		return exitUsage
	default:
		fmt.Fprintf(env.Stderr, "issuer: %s\n", strings.ReplaceAll(err.Error(), "\n", "\nissuer: "))
		return exitError
	}
}

// lookup finds the command args name and returns the arguments after it.
func lookup(args []string) (command, []string, bool) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

// usageError is a command line the command cannot run: exit 2 with the
// command's usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func loadConfig(env Env, need config.Need) (config.Config, error) {
	c, err := config.Load(env.Getenv, need)
	if err != nil {
		return c, fmt.Errorf("configuration:\n%w", err)
	}
	return c, nil
}

func migrateUp(ctx context.Context, env Env) error {
	c, err := loadConfig(env, config.NeedDatabase)
	if err != nil {
		return err
	}
	applied, err := store.Migrate(ctx, c.DatabaseURL)
	if err != nil {
		return err
	}
	for _, m := range applied {
		fmt.Fprintf(env.Stdout, "applied %d %s\n", m.Version, m.Name)
	}
	if len(applied) == 0 {
		fmt.Fprintln(env.Stdout, "database is up to date")
	}
	return nil
}

func migrateStatus(ctx context.Context, env Env) error {
	c, err := loadConfig(env, config.NeedDatabase)
	if err != nil {
		return err
	}
	states, err := store.Migrations(ctx, c.DatabaseURL)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	for _, m := range states {
		state, at := "pending", ""
		if m.Applied {
			state, at = "applied", m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, m.Name, state, at)
	}
	return tw.Flush()
}

func keysGenerate(args []string, env Env) error {
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "directory for private.pem and public.pem")
	force := fs.Bool("force", false, "replace an existing key")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *out == "" {
		return usageError{"keys generate needs --out DIR"}
	}
	priv, pub, err := signer.Generate(*out, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s (private, 0600) and %s (public)\n", priv, pub)
	return nil
}

// withService runs fn with an auth service on the database, for the
// commands that manage users or read the audit log (no signing key).
func withService(ctx context.Context, env Env, fn func(*auth.Service) error) error {
	c, err := loadConfig(env, config.NeedDatabase)
	if err != nil {
		return err
	}
	st, err := store.New(ctx, store.Config{URL: c.DatabaseURL, MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := newAuthService(c, st, nil, newLogger(env.Stderr, c.LogLevel), nil, nil)
	if err != nil {
		return err
	}
	return fn(svc)
}

func usersRole(ctx context.Context, env Env, action, username, role string) error {
	return withService(ctx, env, func(svc *auth.Service) error { return changeRole(ctx, env, svc, action, username, role) })
}

func changeRole(ctx context.Context, env Env, svc *auth.Service, action, username, role string) error {
	if action == "grant-role" {
		u, err := svc.GrantRole(ctx, username, role)
		if err != nil {
			return roleError(err, role)
		}
		fmt.Fprintf(env.Stdout, "%s now has roles %s; they appear in access tokens from the next refresh\n", u.Username, strings.Join(u.Roles, ","))
		return nil
	}
	u, ended, err := svc.RevokeRole(ctx, username, role)
	if errors.Is(err, auth.ErrRoleNotHeld) {
		return fmt.Errorf("%s does not hold the role %q: nothing changed, no session ended", username, role)
	}
	if err != nil {
		return roleError(err, role)
	}
	fmt.Fprintf(env.Stdout, "%s now has roles %s; %d session(s) ended\n", u.Username, strings.Join(u.Roles, ","), ended)
	return nil
}

// roleError makes a role the service refuses a usage error (exit 2): the
// service is the one place roles are checked.
func roleError(err error, role string) error {
	if errors.Is(err, auth.ErrInvalidRole) {
		return usageError{fmt.Sprintf("%q is not a role: use lower-case letters, digits, '-' and '_'", role)}
	}
	return err
}

// compileBlocklist writes the blocklist compiled from in to out, through a
// temporary file renamed at the end, so a failure never leaves a partial
// list where serve would find it.
func compileBlocklist(env Env, in, out string) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	st, err := blocklist.Compile(src, tmp)
	if err == nil {
		err = tmp.Close()
	} else {
		_ = tmp.Close()
	}
	if err != nil {
		return fmt.Errorf("compile blocklist: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s: %d entries from %d lines\n", out, st.Entries, st.Lines)
	return nil
}

// healthcheck asks the local server whether it is ready, for images that
// have no curl.
func healthcheck(ctx context.Context, env Env) error {
	c, err := loadConfig(env, 0)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", c.Port()) + "/api/auth/ready/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, resp.StatusCode)
	}
	return nil
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// newAuthService builds the domain service from the configuration. The
// signer may be nil for commands that sign nothing.
func newAuthService(c config.Config, st *store.Store, sg *signer.Signer, log *slog.Logger, mx *metrics.Metrics, list *blocklist.List) (*auth.Service, error) {
	var events auth.Events // nil: none
	if mx != nil {
		events = mx
	}
	var m auth.Mailer = mail.LogMailer{Logger: log, LinkURL: c.EmailVerificationURL, ResetURL: c.PasswordResetURL}
	if c.SMTPURL != nil {
		m = mail.SMTPMailer{URL: c.SMTPURL, From: c.MailFrom, LinkURL: c.EmailVerificationURL, ResetURL: c.PasswordResetURL}
	}
	o := auth.Options{
		Store: st, Signer: sg, Mailer: m, Logger: log,
		Issuer: c.Issuer, Audience: c.Audience,
		AccessLifetime: c.AccessLifetime, RefreshLifetime: c.RefreshLifetime,
		ReuseInterval: c.RefreshReuseInterval, ClockSkew: c.ClockSkew,
		DefaultRoles: c.DefaultRoles, PasswordHashConcurrency: c.PasswordHashConcurrency, Password: c.PasswordHash,
		Throttle: c.Throttle, DeviceTokenLifetime: c.DeviceTokenLifetime,
		PasswordResetLifetime: c.PasswordResetLifetime, UnverifiedAccountTTL: c.UnverifiedAccountTTL,
		Events: events, AuditRetention: c.AuditRetention,
	}
	if list != nil { // a nil *List in the interface would not be nil
		o.Blocklist = list
	}
	return auth.New(o)
}
