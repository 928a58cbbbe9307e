package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/issuer/internal/config"
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
		c.ShutdownTimeout != 20*time.Second || c.ShutdownDrainDelay != 5*time.Second || c.Port() != "8001" || c.Ignored != nil {
		t.Fatalf("defaults %+v", c)
	}
}

func TestEveryBadVariableIsReportedByName(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"JWT_ALGORITHM":              "HS256",
		"JWT_ACCESS_TOKEN_LIFETIME":  "fifteen",
		"JWT_REFRESH_TOKEN_LIFETIME": "-1",
		"JWT_ISSUER":                 "not a url",
		"JWT_AUDIENCE":               "a b",
		"JWT_CLOCK_SKEW":             "9999",
		"LISTEN_ADDR":                "8001",
		"CORS_ALLOWED_ORIGINS":       "https://ok.example,*",
		"DEFAULT_ROLES":              "Patient",
		"REFRESH_REUSE_INTERVAL":     "x",
		"SHUTDOWN_TIMEOUT":           "0",
		"SHUTDOWN_DRAIN_DELAY":       "-5",
		"SMTP_URL":                   "http://mail",
		"REVOCATION_FEED_TOKEN":      "short",
		"LOG_LEVEL":                  "loud",
		"EMAIL_VERIFICATION_URL":     "ftp://x",
		"PASSWORD_HASH_CONCURRENCY":  "-1",
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
