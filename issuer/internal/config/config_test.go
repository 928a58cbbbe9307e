package config_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/config"
	"github.com/medinsights/auth/issuer/internal/store"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{"DATABASE_URL": "postgres://x/db", "JWT_PRIVATE_KEY_PATH": "keys/private.pem"}), config.NeedDatabase|config.NeedSigningKey)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessLifetime != 900*time.Second || c.RefreshLifetime != 2592000*time.Second || c.Issuer != "http://localhost:8001" ||
		c.Audience != "medinsights" || c.ListenAddr != ":8001" || len(c.DefaultRoles) != 1 || c.DefaultRoles[0] != "patient" ||
		c.RefreshReuseInterval != 10*time.Second || c.ClockSkew != 30*time.Second || c.Algorithm != "RS256" || c.SMTPURL != nil ||
		c.ShutdownTimeout != 20*time.Second || c.ShutdownDrainDelay != 5*time.Second || c.Port() != "8001" || c.Ignored != nil || c.RefreshCookiePath != "/" ||
		c.AuditRetention != 400*24*time.Hour {
		t.Fatalf("defaults %+v", c)
	}
	if !reflect.DeepEqual(c.Throttle, auth.DefaultThrottle) || c.TrustedProxies != nil || c.PasswordResetURL != "" ||
		c.PasswordResetLifetime != 1800*time.Second || c.UnverifiedAccountTTL != 7*24*time.Hour || c.DeviceTokenLifetime != 365*24*time.Hour {
		t.Fatalf("throttle and reset defaults %+v", c)
	}
	if c.PasswordHash != auth.DefaultPasswordParams {
		t.Fatalf("password hash %+v, want %+v", c.PasswordHash, auth.DefaultPasswordParams)
	}
	c, err = config.Load(env(map[string]string{"PASSWORD_HASH_MEMORY": "19456", "PASSWORD_HASH_TIME": "2"}), 0)
	if err != nil || c.PasswordHash != (auth.PasswordParams{Memory: 19456, Time: 2, Threads: 1}) {
		t.Fatalf("OWASP's m=19 MiB, t=2: %+v, %v", c.PasswordHash, err)
	}
}

func TestThrottleVariables(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,2001:db8::/32", "THROTTLE_ENABLED": "false",
		"THROTTLE_PAIR_FAILURES": "3", "THROTTLE_PAIR_WINDOW": "600", "THROTTLE_PAIR_DELAY": "30", "THROTTLE_PAIR_MAX_DELAY": "300",
		"THROTTLE_ADDRESS_FAILURES": "100", "THROTTLE_ADDRESS_WINDOW": "1800",
		"THROTTLE_ACCOUNT_FAILURES": "20", "THROTTLE_ACCOUNT_WINDOW": "7200",
		"THROTTLE_MAIL_PER_MINUTE": "2", "THROTTLE_MAIL_PER_DAY": "9", "THROTTLE_REGISTRATIONS_PER_HOUR": "50",
		"PASSWORD_RESET_URL": "https://app.example.org/reset", "PASSWORD_RESET_TOKEN_LIFETIME": "600",
		"UNVERIFIED_ACCOUNT_TTL": "86400", "DEVICE_TOKEN_LIFETIME": "8640000",
	}), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Throttle{
		LoginPair:     store.ThrottleRule{MaxHits: 3, Period: 10 * time.Minute, Delay: 30 * time.Second, MaxDelay: 5 * time.Minute},
		LoginAddress:  auth.BlockForPeriod(100, 30*time.Minute),
		LoginAccount:  auth.BlockForPeriod(20, 2*time.Hour),
		MailPerMinute: auth.BlockForPeriod(2, time.Minute),
		MailPerDay:    auth.BlockForPeriod(9, 24*time.Hour),
		Registration:  auth.BlockForPeriod(50, time.Hour),
	}
	if !reflect.DeepEqual(c.Throttle, want) {
		t.Fatalf("throttle %+v\nwant %+v", c.Throttle, want)
	}
	if fmt.Sprint(c.TrustedProxies) != "[10.0.0.0/8 192.0.2.7/32 2001:db8::/32]" || c.PasswordResetURL != "https://app.example.org/reset" ||
		c.PasswordResetLifetime != 10*time.Minute || c.UnverifiedAccountTTL != 24*time.Hour || c.DeviceTokenLifetime != 100*24*time.Hour {
		t.Fatalf("%+v", c)
	}
}

func TestEveryBadVariableIsReportedByName(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"JWT_ALGORITHM":                   "HS256",
		"JWT_ACCESS_TOKEN_LIFETIME":       "fifteen",
		"JWT_REFRESH_TOKEN_LIFETIME":      "-1",
		"JWT_ISSUER":                      "not a url",
		"JWT_AUDIENCE":                    "a b",
		"JWT_CLOCK_SKEW":                  "9999",
		"LISTEN_ADDR":                     "8001",
		"CORS_ALLOWED_ORIGINS":            "https://ok.example,*",
		"REFRESH_COOKIE_PATH":             "/auth; Domain=evil.example",
		"DEFAULT_ROLES":                   "Patient",
		"REFRESH_REUSE_INTERVAL":          "x",
		"SHUTDOWN_TIMEOUT":                "0",
		"SHUTDOWN_DRAIN_DELAY":            "-5",
		"SMTP_URL":                        "http://mail",
		"REVOCATION_FEED_TOKEN":           "short",
		"LOG_LEVEL":                       "loud",
		"EMAIL_VERIFICATION_URL":          "ftp://x",
		"PASSWORD_HASH_CONCURRENCY":       "-1",
		"PASSWORD_HASH_MEMORY":            "4096",
		"PASSWORD_HASH_TIME":              "0",
		"PASSWORD_RESET_URL":              "javascript:alert(1)",
		"PASSWORD_RESET_TOKEN_LIFETIME":   "0",
		"UNVERIFIED_ACCOUNT_TTL":          "60",
		"DEVICE_TOKEN_LIFETIME":           "x",
		"TRUSTED_PROXIES":                 "10.0.0.0/8,kong",
		"THROTTLE_ENABLED":                "maybe",
		"THROTTLE_PAIR_FAILURES":          "0",
		"THROTTLE_PAIR_WINDOW":            "1",
		"THROTTLE_PAIR_DELAY":             "-5",
		"THROTTLE_ADDRESS_FAILURES":       "many",
		"THROTTLE_ADDRESS_WINDOW":         "99999999",
		"THROTTLE_ACCOUNT_FAILURES":       "0",
		"THROTTLE_ACCOUNT_WINDOW":         "0",
		"THROTTLE_MAIL_PER_MINUTE":        "0",
		"THROTTLE_MAIL_PER_DAY":           "0",
		"THROTTLE_REGISTRATIONS_PER_HOUR": "0",
		"AUDIT_RETENTION_DAYS":            "a year",
	}
	_, err := config.Load(env(bad), config.NeedDatabase|config.NeedSigningKey)
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	for name := range bad {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, name+" ")
		}
		if !found {
			t.Errorf("%s not reported:\n%s", name, err)
		}
	}
	for _, name := range []string{"DATABASE_URL", "JWT_PRIVATE_KEY_PATH"} {
		if !strings.Contains(err.Error(), name+" is required") {
			t.Errorf("missing %s not reported", name)
		}
	}
}

func TestValidValues(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"DATABASE_URL": "postgres://x/db", "CORS_ALLOWED_ORIGINS": "https://a.example, http://localhost:3000/",
		"DEFAULT_ROLES": "patient,clinician_2", "SMTP_URL": "smtp://u:p@mail.example:587", "REVOCATION_FEED_TOKEN": strings.Repeat("k", 32),
		"LISTEN_ADDR": "127.0.0.1:9000", "REFRESH_REUSE_INTERVAL": "0",
	}), config.NeedDatabase)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.CORSAllowedOrigins) != 2 || c.CORSAllowedOrigins[1] != "http://localhost:3000" || c.SMTPURL.Hostname() != "mail.example" ||
		c.Port() != "9000" || c.RefreshReuseInterval != 0 {
		t.Fatalf("%+v", c)
	}
}

func TestPairMaxDelayBelowDelayIsRefused(t *testing.T) {
	t.Parallel()
	_, err := config.Load(env(map[string]string{"THROTTLE_PAIR_DELAY": "600", "THROTTLE_PAIR_MAX_DELAY": "60"}), 0)
	if err == nil || !strings.Contains(err.Error(), "THROTTLE_PAIR_MAX_DELAY must be at least THROTTLE_PAIR_DELAY") {
		t.Fatalf("%v", err)
	}
}

// A number of seconds so large that n * time.Second overflows into the
// accepted range is refused, not read as a fraction of a second.
func TestSecondsOverflowIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, value string }{
		{name: "JWT_CLOCK_SKEW", value: "18446744074"}, // * 1e9 ns wraps to 0.29 s
		{name: "REFRESH_REUSE_INTERVAL", value: "18446744074"},
		{name: "JWT_ACCESS_TOKEN_LIFETIME", value: "9223372036854775807"},
	} {
		_, err := config.Load(env(map[string]string{"DATABASE_URL": "postgres://x/db", c.name: c.value}), config.NeedDatabase)
		if err == nil || !strings.Contains(err.Error(), c.name+" ") {
			t.Errorf("%s=%s: %v, want refused", c.name, c.value, err)
		}
	}
}

// The Django service's .env still starts the issuer: its SECRET_KEY, DEBUG
// and ALLOWED_HOSTS are accepted and listed for a warning, without their
// values.
func TestDjangoVariablesAreAcceptedAndListed(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"DATABASE_URL": "postgres://x/db", "SECRET_KEY": "django-insecure-s3cr3t", "DEBUG": "False", "ALLOWED_HOSTS": "localhost,127.0.0.1",
	}), config.NeedDatabase)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range c.Ignored {
		names = append(names, v.Name)
		if v.Replacement == "" || strings.Contains(v.Replacement, "s3cr3t") {
			t.Errorf("%s: replacement %q", v.Name, v.Replacement)
		}
	}
	if strings.Join(names, ",") != "SECRET_KEY,DEBUG,ALLOWED_HOSTS" {
		t.Fatalf("ignored %v, want SECRET_KEY,DEBUG,ALLOWED_HOSTS", names)
	}
}

func TestAuditRetentionZeroKeepsEveryRow(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{"AUDIT_RETENTION_DAYS": "0"}), 0)
	if err != nil || c.AuditRetention != 0 {
		t.Fatalf("AUDIT_RETENTION_DAYS=0: %v, %v", c.AuditRetention, err)
	}
	if _, err := config.Load(env(map[string]string{"AUDIT_RETENTION_DAYS": "-1"}), 0); err == nil || !strings.Contains(err.Error(), "AUDIT_RETENTION_DAYS") {
		t.Fatalf("AUDIT_RETENTION_DAYS=-1 accepted: %v", err)
	}
}
