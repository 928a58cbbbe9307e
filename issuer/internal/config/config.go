// Package config reads the issuer's configuration from the environment, in
// one place and in one pass: every bad or missing variable is reported by
// name, each on a line of its own, before anything starts.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Defaults, used when a variable is unset or empty.
const (
	algorithmDefault         = "RS256"
	accessLifetimeDefault    = 900 * time.Second
	refreshLifetimeDefault   = 2592000 * time.Second
	issuerDefault            = "http://localhost:8001"
	audienceDefault          = "medinsights"
	listenAddrDefault        = ":8001"
	defaultRolesDefault      = "patient"
	reuseIntervalDefault     = 10 * time.Second
	clockSkewDefault         = 30 * time.Second
	shutdownTimeoutDefault   = 20 * time.Second
	drainDelayDefault        = 5 * time.Second
	mailFromDefault          = "MedInsights <no-reply@localhost>"
	logLevelDefault          = "info"
	refreshCookiePathDefault = "/"
	auditRetentionDays       = 400

	// MinFeedTokenLength is the shortest REVOCATION_FEED_TOKEN accepted.
	MinFeedTokenLength = 32
)

// Config is the issuer's whole configuration.
type Config struct {
	DatabaseURL string // DATABASE_URL

	Algorithm       string        // JWT_ALGORITHM: RS256 only
	AccessLifetime  time.Duration // JWT_ACCESS_TOKEN_LIFETIME, seconds
	RefreshLifetime time.Duration // JWT_REFRESH_TOKEN_LIFETIME, seconds
	PrivateKeyPath  string        // JWT_PRIVATE_KEY_PATH
	PublicKeyPath   string        // JWT_PUBLIC_KEY_PATH: optional, must match the private key
	RetiredKeysDir  string        // JWT_RETIRED_KEYS_DIR: optional, public PEMs still published
	Issuer          string        // JWT_ISSUER
	Audience        string        // JWT_AUDIENCE
	ClockSkew       time.Duration // JWT_CLOCK_SKEW, seconds

	ListenAddr           string        // LISTEN_ADDR
	CORSAllowedOrigins   []string      // CORS_ALLOWED_ORIGINS, comma list
	RefreshCookiePath    string        // REFRESH_COOKIE_PATH: the Path of the cookie-mode session cookies
	DefaultRoles         []string      // DEFAULT_ROLES, comma list
	RefreshReuseInterval time.Duration // REFRESH_REUSE_INTERVAL, seconds
	ShutdownTimeout      time.Duration // SHUTDOWN_TIMEOUT, seconds
	ShutdownDrainDelay   time.Duration // SHUTDOWN_DRAIN_DELAY, seconds: readiness fails, serving goes on
	MetricsAddr          string        // METRICS_ADDR: optional; GET /metrics on a listener of its own

	PasswordHashConcurrency int                 // PASSWORD_HASH_CONCURRENCY: argon2id computations at once; 0: GOMAXPROCS
	PasswordHash            auth.PasswordParams // PASSWORD_HASH_MEMORY (KiB) and PASSWORD_HASH_TIME (passes): argon2id, p=1
	PasswordBlocklistFile   string              // PASSWORD_BLOCKLIST_FILE: optional; a compiled breached-password list (fail closed)

	AuditRetention time.Duration // AUDIT_RETENTION_DAYS, days (default 400); 0: audit rows are kept forever

	SMTPURL              *url.URL // SMTP_URL: unset means verification and reset mail go to the log
	MailFrom             string   // MAIL_FROM
	EmailVerificationURL string   // EMAIL_VERIFICATION_URL: the link in the mail, ?token= appended
	PasswordResetURL     string   // PASSWORD_RESET_URL: the link in the reset mail, ?token= appended

	PasswordResetLifetime time.Duration // PASSWORD_RESET_TOKEN_LIFETIME, seconds
	UnverifiedAccountTTL  time.Duration // UNVERIFIED_ACCOUNT_TTL, seconds
	DeviceTokenLifetime   time.Duration // DEVICE_TOKEN_LIFETIME, seconds

	// Throttle is THROTTLE_ENABLED and the THROTTLE_* thresholds
	// (docs/throttling.md).
	Throttle       auth.Throttle
	TrustedProxies []netip.Prefix // TRUSTED_PROXIES, comma list of CIDRs

	RevocationFeedToken string     // REVOCATION_FEED_TOKEN: optional, at least 32 characters
	LogLevel            slog.Level // LOG_LEVEL: debug, info, warn, error

	// The revocation stream's bounds (docs/revocation-stream.md); zero means
	// the api package's default.
	RevocationStreamMax           int           // REVOCATION_STREAM_MAX: streams per process (default 10,000)
	RevocationStreamMaxPerAddress int           // REVOCATION_STREAM_MAX_PER_ADDRESS: streams per client address (default 64)
	RevocationStreamLifetime      time.Duration // REVOCATION_STREAM_LIFETIME, seconds (default 300, less up to a fifth)
	DatabaseFeedMaxConns          int           // DATABASE_FEED_MAX_CONNS: the feed's own pool (default 2)

	// Ignored lists the Django service's variables that are set here but
	// have no effect, for one start-up warning each.
	Ignored []IgnoredVariable
}

// IgnoredVariable is a variable of the Django service's .env that the
// issuer accepts and ignores, and what replaces it. Its value is never
// kept: SECRET_KEY is a secret.
type IgnoredVariable struct {
	Name        string
	Replacement string
}

// djangoVariables are the old service's settings that an operator's .env
// still carries: accepted, so the old file starts the issuer, and reported.
var djangoVariables = []IgnoredVariable{
	{"SECRET_KEY", "tokens are signed with the RSA key at JWT_PRIVATE_KEY_PATH; delete SECRET_KEY"},
	{"DEBUG", "set LOG_LEVEL=debug for more detail; nothing else depends on a debug mode"},
	{"ALLOWED_HOSTS", "the issuer answers any Host header; restrict hosts on Kong's routes and browser origins with CORS_ALLOWED_ORIGINS"},
}

// Need says which optional groups of variables a command requires.
type Need uint8

const (
	NeedDatabase   Need = 1 << iota // DATABASE_URL
	NeedSigningKey                  // JWT_PRIVATE_KEY_PATH
)

// Variables returns the name of every environment variable the issuer is
// configured by, sorted: the names Load reads, less the Django service's
// (djangoVariables), which it reads only to warn about them. It is the one
// list docs/configuration.md and .env.example are checked against.
func Variables() []string {
	read := map[string]bool{}
	_, _ = Load(func(name string) string {
		read[name] = true
		return ""
	}, 0)
	for _, v := range djangoVariables {
		delete(read, v.Name)
	}
	return slices.Sorted(maps.Keys(read))
}

// FromEnv loads the configuration from the process environment.
func FromEnv(need Need) (Config, error) { return Load(os.Getenv, need) }

// Load reads every variable through getenv and reports every problem at once.
// It reads every variable on every call, whatever the others hold, so that
// Variables sees them all.
func Load(getenv func(string) string, need Need) (Config, error) {
	l := loader{getenv: getenv}
	c := Config{
		DatabaseURL:          l.str("DATABASE_URL", ""),
		Algorithm:            l.str("JWT_ALGORITHM", algorithmDefault),
		AccessLifetime:       l.seconds("JWT_ACCESS_TOKEN_LIFETIME", accessLifetimeDefault, time.Minute, 24*time.Hour),
		RefreshLifetime:      l.seconds("JWT_REFRESH_TOKEN_LIFETIME", refreshLifetimeDefault, time.Minute, 366*24*time.Hour),
		PrivateKeyPath:       l.str("JWT_PRIVATE_KEY_PATH", ""),
		PublicKeyPath:        l.str("JWT_PUBLIC_KEY_PATH", ""),
		RetiredKeysDir:       l.str("JWT_RETIRED_KEYS_DIR", ""),
		Issuer:               l.str("JWT_ISSUER", issuerDefault),
		Audience:             l.str("JWT_AUDIENCE", audienceDefault),
		ClockSkew:            l.seconds("JWT_CLOCK_SKEW", clockSkewDefault, 0, 5*time.Minute),
		ListenAddr:           l.str("LISTEN_ADDR", listenAddrDefault),
		CORSAllowedOrigins:   l.list("CORS_ALLOWED_ORIGINS", ""),
		RefreshCookiePath:    l.str("REFRESH_COOKIE_PATH", refreshCookiePathDefault),
		DefaultRoles:         l.list("DEFAULT_ROLES", defaultRolesDefault),
		RefreshReuseInterval: l.seconds("REFRESH_REUSE_INTERVAL", reuseIntervalDefault, 0, 5*time.Minute),
		ShutdownTimeout:      l.seconds("SHUTDOWN_TIMEOUT", shutdownTimeoutDefault, time.Second, 10*time.Minute),
		ShutdownDrainDelay:   l.seconds("SHUTDOWN_DRAIN_DELAY", drainDelayDefault, 0, 2*time.Minute),
		MetricsAddr:          l.str("METRICS_ADDR", ""),
		MailFrom:             l.str("MAIL_FROM", mailFromDefault),
		EmailVerificationURL: l.str("EMAIL_VERIFICATION_URL", ""),
		RevocationFeedToken:  l.str("REVOCATION_FEED_TOKEN", ""),

		PasswordHashConcurrency: l.integer("PASSWORD_HASH_CONCURRENCY", 0, 0, 1024),
		PasswordHash:            l.passwordHash(),
		PasswordBlocklistFile:   l.str("PASSWORD_BLOCKLIST_FILE", ""),
		AuditRetention:          time.Duration(l.integer("AUDIT_RETENTION_DAYS", auditRetentionDays, 0, 36600)) * 24 * time.Hour,

		PasswordResetURL:      l.str("PASSWORD_RESET_URL", ""),
		PasswordResetLifetime: l.seconds("PASSWORD_RESET_TOKEN_LIFETIME", auth.PasswordResetLifetimeDefault, time.Minute, 24*time.Hour),
		UnverifiedAccountTTL:  l.seconds("UNVERIFIED_ACCOUNT_TTL", auth.UnverifiedAccountTTLDefault, time.Hour, 366*24*time.Hour),
		DeviceTokenLifetime:   l.seconds("DEVICE_TOKEN_LIFETIME", auth.DeviceTokenLifetimeDefault, 24*time.Hour, 5*366*24*time.Hour),
		Throttle:              l.throttle(),
		TrustedProxies:        l.prefixes("TRUSTED_PROXIES"),

		RevocationStreamMax:           l.integer("REVOCATION_STREAM_MAX", 0, 0, 1_000_000),
		RevocationStreamMaxPerAddress: l.integer("REVOCATION_STREAM_MAX_PER_ADDRESS", 0, 0, 1_000_000),
		RevocationStreamLifetime:      l.seconds("REVOCATION_STREAM_LIFETIME", 0, 0, time.Hour),
		DatabaseFeedMaxConns:          l.integer("DATABASE_FEED_MAX_CONNS", 0, 0, 64),
	}

	if need&NeedDatabase != 0 && c.DatabaseURL == "" {
		l.fail("DATABASE_URL", "is required (a PostgreSQL URL such as postgres://user@host/auth_db)")
	}
	if need&NeedSigningKey != 0 && c.PrivateKeyPath == "" {
		l.fail("JWT_PRIVATE_KEY_PATH", "is required (a PEM RSA private key; `issuer keys generate --out keys` makes one)")
	}
	if c.Algorithm != algorithmDefault {
		l.fail("JWT_ALGORITHM", fmt.Sprintf("%q is not supported: only RS256 is", c.Algorithm))
	}
	if c.RefreshLifetime > 0 && c.AccessLifetime > 0 && c.RefreshLifetime <= c.AccessLifetime {
		l.fail("JWT_REFRESH_TOKEN_LIFETIME", "must be longer than JWT_ACCESS_TOKEN_LIFETIME")
	}
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		l.fail("JWT_ISSUER", fmt.Sprintf("%q is not an http(s) URL without query or fragment", c.Issuer))
	}
	if strings.TrimSpace(c.Audience) == "" || strings.ContainsAny(c.Audience, " ,") {
		l.fail("JWT_AUDIENCE", "must be one non-empty value without spaces or commas")
	}
	if _, port, err := net.SplitHostPort(c.ListenAddr); err != nil || port == "" {
		l.fail("LISTEN_ADDR", fmt.Sprintf("%q is not host:port (for example :8001)", c.ListenAddr))
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		l.fail("LISTEN_ADDR", fmt.Sprintf("port %q is not a number from 1 to 65535", port))
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			l.fail("METRICS_ADDR", fmt.Sprintf("%q is not host:port (for example :9464)", c.MetricsAddr))
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			l.fail("METRICS_ADDR", fmt.Sprintf("port %q is not a number from 1 to 65535", port))
		} else if listen, _ := strconv.Atoi(c.Port()); n == listen {
			l.fail("METRICS_ADDR", "must use another port than LISTEN_ADDR: metrics are never served on the API port")
		}
	}
	for _, o := range c.CORSAllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			l.fail("CORS_ALLOWED_ORIGINS", fmt.Sprintf("%q is not an origin such as https://app.example.org (no wildcard, no path)", o))
		}
	}
	for i, o := range c.CORSAllowedOrigins {
		c.CORSAllowedOrigins[i] = strings.TrimSuffix(o, "/")
	}
	if !validCookiePath(c.RefreshCookiePath) {
		l.fail("REFRESH_COOKIE_PATH", fmt.Sprintf("%q is not a cookie path such as / or /auth (a leading /, visible ASCII, no ; or ,)", c.RefreshCookiePath))
	}
	if len(c.DefaultRoles) == 0 {
		l.fail("DEFAULT_ROLES", "must name at least one role")
	}
	for _, r := range c.DefaultRoles {
		if !auth.ValidRole(r) {
			l.fail("DEFAULT_ROLES", fmt.Sprintf("%q is not a role: use lower-case letters, digits, '-' and '_'", r))
		}
	}
	if raw := getenv("SMTP_URL"); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			l.fail("SMTP_URL", "is not smtp://[user:password@]host[:port] or smtps://...")
		} else {
			c.SMTPURL = u
		}
	}
	for name, link := range map[string]string{"EMAIL_VERIFICATION_URL": c.EmailVerificationURL, "PASSWORD_RESET_URL": c.PasswordResetURL} {
		if link == "" {
			continue
		}
		if u, err := url.Parse(link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			l.fail(name, "is not an http(s) URL")
		}
	}
	if c.RevocationFeedToken != "" && len(c.RevocationFeedToken) < MinFeedTokenLength {
		l.fail("REVOCATION_FEED_TOKEN", fmt.Sprintf("must be at least %d characters", MinFeedTokenLength))
	}
	level := l.str("LOG_LEVEL", logLevelDefault)
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		l.fail("LOG_LEVEL", fmt.Sprintf("%q is not debug, info, warn or error", level))
	}
	for _, v := range djangoVariables {
		if getenv(v.Name) != "" {
			c.Ignored = append(c.Ignored, v)
		}
	}
	if len(l.errs) > 0 {
		return Config{}, errors.Join(l.errs...)
	}
	return c, nil
}

// validCookiePath accepts what RFC 6265 section 4.1.1 allows in a Path
// attribute, starting with '/', and no comma, which some parsers split on.
func validCookiePath(p string) bool {
	if !strings.HasPrefix(p, "/") || len(p) > 200 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == ';' || c == ',' {
			return false
		}
	}
	return true
}

// Port returns the port of LISTEN_ADDR.
func (c Config) Port() string {
	_, port, _ := net.SplitHostPort(c.ListenAddr)
	return port
}

type loader struct {
	getenv func(string) string
	errs   []error
}

func (l *loader) fail(name, msg string) {
	l.errs = append(l.errs, fmt.Errorf("%s %s", name, msg))
}

func (l *loader) str(name, def string) string {
	return cmp.Or(strings.TrimSpace(l.getenv(name)), def)
}

func (l *loader) list(name, def string) []string {
	var out []string
	for _, p := range strings.Split(l.str(name, def), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// integer reads a whole number within [lo, hi].
func (l *loader) integer(name string, def, lo, hi int) int {
	raw := strings.TrimSpace(l.getenv(name))
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		l.fail(name, fmt.Sprintf("%q is not a whole number from %d to %d", raw, lo, hi))
		return def
	}
	return n
}

// boolean reads true or false.
func (l *loader) boolean(name string, def bool) bool {
	raw := strings.TrimSpace(l.getenv(name))
	if raw == "" {
		return def
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		l.fail(name, fmt.Sprintf("%q is not true or false", raw))
		return def
	}
	return v
}

// prefixes reads a comma list of CIDRs (a bare address is its own /32 or
// /128).
func (l *loader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range l.list(name, "") {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil {
				l.fail(name, fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8 or an address", item))
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// passwordHash reads argon2id's memory (KiB) and passes, each defaulting to
// auth.DefaultPasswordParams', and holds them to OWASP's minimums.
func (l *loader) passwordHash() auth.PasswordParams {
	d := auth.DefaultPasswordParams
	p := auth.PasswordParams{
		Memory:  uint32(l.integer("PASSWORD_HASH_MEMORY", int(d.Memory), 1, int(auth.MaxPasswordParams.Memory))),
		Time:    uint32(l.integer("PASSWORD_HASH_TIME", int(d.Time), 1, int(auth.MaxPasswordParams.Time))),
		Threads: d.Threads,
	}
	if err := p.Check(); err != nil {
		l.fail("PASSWORD_HASH_MEMORY", "with PASSWORD_HASH_TIME: "+err.Error())
	}
	return p
}

// throttle reads THROTTLE_ENABLED and the thresholds, each defaulting to
// auth.DefaultThrottle's.
func (l *loader) throttle() auth.Throttle {
	d := auth.DefaultThrottle
	const day = 24 * time.Hour
	t := auth.Throttle{
		Enabled: l.boolean("THROTTLE_ENABLED", d.Enabled),
		LoginPair: store.ThrottleRule{
			MaxHits:  l.integer("THROTTLE_PAIR_FAILURES", d.LoginPair.MaxHits, 1, 1000),
			Period:   l.seconds("THROTTLE_PAIR_WINDOW", d.LoginPair.Period, time.Minute, day),
			Delay:    l.seconds("THROTTLE_PAIR_DELAY", d.LoginPair.Delay, time.Second, day),
			MaxDelay: l.seconds("THROTTLE_PAIR_MAX_DELAY", d.LoginPair.MaxDelay, time.Second, day),
		},
		LoginAddress: auth.BlockForPeriod(l.integer("THROTTLE_ADDRESS_FAILURES", d.LoginAddress.MaxHits, 1, 1000000),
			l.seconds("THROTTLE_ADDRESS_WINDOW", d.LoginAddress.Period, time.Minute, day)),
		LoginAccount: auth.BlockForPeriod(l.integer("THROTTLE_ACCOUNT_FAILURES", d.LoginAccount.MaxHits, 1, 1000000),
			l.seconds("THROTTLE_ACCOUNT_WINDOW", d.LoginAccount.Period, time.Minute, day)),
		MailPerMinute: auth.BlockForPeriod(l.integer("THROTTLE_MAIL_PER_MINUTE", d.MailPerMinute.MaxHits, 1, 1000), time.Minute),
		MailPerDay:    auth.BlockForPeriod(l.integer("THROTTLE_MAIL_PER_DAY", d.MailPerDay.MaxHits, 1, 100000), day),
		Registration:  auth.BlockForPeriod(l.integer("THROTTLE_REGISTRATIONS_PER_HOUR", d.Registration.MaxHits, 1, 100000), time.Hour),
	}
	if t.LoginPair.MaxDelay < t.LoginPair.Delay {
		l.fail("THROTTLE_PAIR_MAX_DELAY", "must be at least THROTTLE_PAIR_DELAY")
	}
	return t
}

// seconds reads a whole number of seconds within [lo, hi].
func (l *loader) seconds(name string, def, lo, hi time.Duration) time.Duration {
	raw := strings.TrimSpace(l.getenv(name))
	if raw == "" {
		return def
	}
	// The range is checked on the number, before it becomes a Duration: a
	// huge n would overflow n * time.Second into the range.
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < int64(lo/time.Second) || n > int64(hi/time.Second) {
		l.fail(name, fmt.Sprintf("%q is not a whole number of seconds from %d to %d", raw, int64(lo/time.Second), int64(hi/time.Second)))
		return def
	}
	return time.Duration(n) * time.Second
}
