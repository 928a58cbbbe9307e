package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/kong-plugin/internal/jwks"
	"github.com/medinsights/auth/kong-plugin/internal/revocation"
)

// Priority places the plugin where Kong's bundled jwt plugin runs: after CORS
// (2000), before rate limiting.
const Priority = 1450

// Defaults applied when Kong sends a field as null (Kong stores every unset
// field of a Go plugin's schema as null: the schema carries no defaults).
const (
	jwksRefreshDefault     = 60
	clockSkewDefault       = 30
	maxLifetimeDefault     = 900
	revocationStaleDefault = 30
	failModeClosed         = "closed"
	failModeOpen           = "open"
)

// Bounds of the numeric settings, in seconds.
const (
	jwksRefreshMax     = 86400
	clockSkewMax       = int(revocation.MaxClockSkew / time.Second) // the syncer holds revocations that long past expiry
	maxLifetimeMax     = 86400
	revocationStaleMax = 3600
)

const (
	defaultTokenHeader = "authorization"
	// maxTokenSources bounds header_names, cookie_names and uri_param_names
	// together: each is looked for on every request.
	maxTokenSources = 16
)

// Config is the plugin's configuration as Kong stores it: go-pdk derives the
// schema that `-dump` prints from this struct by reflection, so every field
// has a plain snake_case json tag and one of the types Kong's schema can
// express (int, string, bool, []string; int64 would silently vanish).
//
// Kong sends unset fields as null. Decoded from JSON, a null or absent field
// takes its documented default; a Config built as a Go literal (tests) is
// taken as written, except that zero durations and a nil header_names take
// their defaults too. Defaults and validation are applied once (see
// settings): when Kong starts the instance, or on first use for a Config
// that was not decoded. A Config that fails validation answers every
// request with 500 and never lets one through.
//
// A Config is shared by every request of one plugin instance and is never
// written after it has been decoded.
type Config struct {
	JWKSURL                       string   `json:"jwks_url"`
	JWKSRefreshSeconds            int      `json:"jwks_refresh_seconds"`
	PublicKeys                    []string `json:"public_keys"`
	Issuer                        string   `json:"issuer"`
	Audiences                     []string `json:"audiences"`
	ClockSkewSeconds              int      `json:"clock_skew_seconds"`
	MaxTokenLifetimeSeconds       int      `json:"max_token_lifetime_seconds"`
	RequiredRoles                 []string `json:"required_roles"`
	Anonymous                     bool     `json:"anonymous"`
	RunOnPreflight                bool     `json:"run_on_preflight"`
	HeaderNames                   []string `json:"header_names"`
	CookieNames                   []string `json:"cookie_names"`
	URIParamNames                 []string `json:"uri_param_names"`
	ForwardToken                  bool     `json:"forward_token"`
	RevocationURL                 string   `json:"revocation_url"`
	RevocationToken               string   `json:"revocation_token"`
	RevocationMaxStalenessSeconds int      `json:"revocation_max_staleness_seconds"`
	RevocationFailMode            string   `json:"revocation_fail_mode"`

	// Unexported: invisible to go-pdk's schema reflection.
	decoded   bool     // built by UnmarshalJSON, so unset fields were null
	unset     unsetSet // fields Kong sent as null or left out
	decodeErr error    // the JSON did not fit the struct
	pluginID  string   // Kong's __plugin_id, for log lines
	once      sync.Once
	derived   *settings
}

// unsetSet records which fields with a non-zero default were null, so that
// an explicit false or 0 is told apart from "use the default".
type unsetSet struct {
	clockSkew, runOnPreflight, forwardToken bool
}

// New returns an empty Config; go-pdk calls it for every instance Kong starts
// and decodes the instance's JSON configuration into it.
func New() any { return new(Config) }

// UnmarshalJSON decodes Kong's configuration. It never fails: go-pdk would
// answer a decoding error by dropping the connection, which Kong turns into a
// 500 with no trace of the cause. The error is kept instead, logged once, and
// answered with 500 on every request.
func (c *Config) UnmarshalJSON(data []byte) error {
	type plain Config // no methods: no recursion into this function
	var meta struct {
		ClockSkewSeconds *int    `json:"clock_skew_seconds"`
		RunOnPreflight   *bool   `json:"run_on_preflight"`
		ForwardToken     *bool   `json:"forward_token"`
		PluginID         *string `json:"__plugin_id"`
	}
	c.decoded = true
	if err := json.Unmarshal(data, (*plain)(c)); err != nil {
		c.decodeErr = fmt.Errorf("decode config: %w", err)
		return nil
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		c.decodeErr = fmt.Errorf("decode config: %w", err)
		return nil
	}
	c.unset = unsetSet{
		clockSkew:      meta.ClockSkewSeconds == nil,
		runOnPreflight: meta.RunOnPreflight == nil,
		forwardToken:   meta.ForwardToken == nil,
	}
	if meta.PluginID != nil {
		c.pluginID = *meta.PluginID
	}
	// Prepare now so that the JWKS fetch starts when Kong starts the
	// instance, not with its first request. Nothing here waits on the network.
	c.settings()
	return nil
}

// settings returns the instance's validated settings, built on first use.
func (c *Config) settings() *settings {
	c.once.Do(func() {
		s, err := c.build()
		if err != nil {
			s = &settings{err: err}
			logger.Error("plugin configuration is invalid; every request on this instance is answered 500",
				"plugin_id", c.pluginID, "error", err.Error())
		}
		c.derived = s
	})
	return c.derived
}

// settings is a validated Config with its defaults applied and its shared,
// process-wide state attached. It is read-only after build.
type settings struct {
	err error // non-nil: the configuration is invalid

	verifier       *verifier
	requiredRoles  []string
	anonymous      bool
	runOnPreflight bool
	forwardToken   bool
	headerNames    []string // lower case, '_' read as '-'
	cookieNames    []string
	uriParamNames  []string

	revocation      revocationChecker // nil when revocation_url is unset
	revocationStale time.Duration
	revocationOpen  bool // fail open when the revocation feed is stale
	staleWarn       *warnLimiter
	pluginID        string
}

// build applies the defaults, validates every field and reports every
// problem at once. The revocation token never appears in an error.
func (c *Config) build() (*settings, error) {
	if c.decodeErr != nil {
		return nil, c.decodeErr
	}
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	refresh := defaultInt(c.JWKSRefreshSeconds, jwksRefreshDefault)
	skew := c.ClockSkewSeconds
	if c.decoded && c.unset.clockSkew {
		skew = clockSkewDefault
	}
	lifetime := defaultInt(c.MaxTokenLifetimeSeconds, maxLifetimeDefault)
	stale := defaultInt(c.RevocationMaxStalenessSeconds, revocationStaleDefault)
	s := &settings{
		requiredRoles:  c.RequiredRoles,
		anonymous:      c.Anonymous,
		runOnPreflight: c.RunOnPreflight || (c.decoded && c.unset.runOnPreflight),
		forwardToken:   c.ForwardToken || (c.decoded && c.unset.forwardToken),
		cookieNames:    c.CookieNames,
		uriParamNames:  c.URIParamNames,
		pluginID:       c.pluginID,
	}

	// Key source: exactly one of jwks_url and public_keys.
	var keys keySource
	switch {
	case c.JWKSURL != "" && len(c.PublicKeys) > 0:
		bad("jwks_url and public_keys are both set: configure exactly one key source")
	case c.JWKSURL != "":
		if err := checkURL(c.JWKSURL); err != nil {
			bad("jwks_url: %w", err)
		}
		if refresh < 1 || refresh > jwksRefreshMax {
			bad("jwks_refresh_seconds: %d is outside 1..%d", refresh, jwksRefreshMax)
		}
	case len(c.PublicKeys) > 0:
		set := make(accesstoken.KeySet, len(c.PublicKeys))
		for i, p := range c.PublicKeys {
			pub, err := accesstoken.ParsePublicKeyPEM([]byte(p))
			if err != nil {
				bad("public_keys[%d]: %w", i, err)
				continue
			}
			set[accesstoken.Thumbprint(pub)] = pub
		}
		keys = staticKeys{set: set, key: staticKeysID(c.PublicKeys)}
	default:
		bad("no key source: set jwks_url or public_keys")
	}

	if c.Issuer == "" {
		bad("issuer is required")
	}
	if len(c.Audiences) == 0 {
		bad("audiences: at least one audience is required")
	}
	for i, a := range c.Audiences {
		if a == "" {
			bad("audiences[%d] is empty", i)
		}
	}
	if skew < 0 || skew > clockSkewMax {
		bad("clock_skew_seconds: %d is outside 0..%d", skew, clockSkewMax)
	}
	if lifetime < 1 || lifetime > maxLifetimeMax {
		bad("max_token_lifetime_seconds: %d is outside 1..%d", lifetime, maxLifetimeMax)
	}
	for i, r := range c.RequiredRoles {
		if !accesstoken.HeaderSafe(r) {
			bad("required_roles[%d] is empty or not plain text", i)
		}
	}

	// Token sources.
	headers := c.HeaderNames
	if headers == nil {
		headers = []string{defaultTokenHeader}
	}
	for i, h := range headers {
		n := normalizeHeaderName(h)
		if !validToken(n) {
			bad("header_names[%d]: %q is not a header name", i, h)
		}
		if isIdentityHeader(n) {
			bad("header_names[%d]: %q is an identity header the plugin removes", i, h)
		}
		s.headerNames = append(s.headerNames, n)
	}
	for i, n := range c.CookieNames {
		if !validToken(n) {
			bad("cookie_names[%d]: %q is not a cookie name", i, n)
		}
	}
	for i, n := range c.URIParamNames {
		if n == "" {
			bad("uri_param_names[%d] is empty", i)
		}
	}
	sources := len(s.headerNames) + len(c.CookieNames) + len(c.URIParamNames)
	switch {
	case sources == 0:
		bad("no token source: header_names, cookie_names and uri_param_names are all empty")
	case sources > maxTokenSources:
		bad("%d token sources configured; at most %d", sources, maxTokenSources)
	}
	if hasDuplicate(s.headerNames) || hasDuplicate(c.CookieNames) || hasDuplicate(c.URIParamNames) {
		bad("a token source is listed twice")
	}

	// Revocation (issue 4).
	failMode := c.RevocationFailMode
	if failMode == "" {
		failMode = failModeClosed
	}
	switch {
	case c.RevocationURL == "" && (c.RevocationToken != "" || c.RevocationFailMode != "" || c.RevocationMaxStalenessSeconds != 0):
		bad("revocation_token, revocation_fail_mode or revocation_max_staleness_seconds is set without revocation_url")
	case c.RevocationURL != "":
		if err := revocation.CheckURL(c.RevocationURL); err != nil {
			bad("revocation_url: %w", err)
		}
		if c.RevocationToken == "" {
			bad("revocation_token is required with revocation_url")
		}
		if stale < 1 || stale > revocationStaleMax {
			bad("revocation_max_staleness_seconds: %d is outside 1..%d", stale, revocationStaleMax)
		}
		if failMode != failModeClosed && failMode != failModeOpen {
			bad("revocation_fail_mode: %q is neither %q nor %q", failMode, failModeClosed, failModeOpen)
		}
	}

	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	// Valid: attach the process-wide state shared by every instance with the
	// same settings.
	if c.JWKSURL != "" {
		if strings.HasPrefix(c.JWKSURL, "http:") {
			logger.Warn("jwks_url is plain http: whoever sits on that network path can publish signing keys; use https outside a trusted network",
				"plugin_id", c.pluginID, "jwks_url", c.JWKSURL)
		}
		keys = jwksKeys{jwks.For(c.JWKSURL, time.Duration(refresh)*time.Second, logger)}
	}
	v, err := verifierFor(verifierKey{
		issuer:      c.Issuer,
		audiences:   strings.Join(c.Audiences, "\x00"),
		skew:        time.Duration(skew) * time.Second,
		maxLifetime: time.Duration(lifetime) * time.Second,
		keys:        keys.id(),
	}, keys, nil)
	if err != nil {
		return nil, err
	}
	s.verifier = v
	if c.RevocationURL != "" {
		s.revocationStale = time.Duration(stale) * time.Second
		s.revocation = newRevocationChecker(c.RevocationURL, c.RevocationToken, s.revocationStale)
		s.revocationOpen = failMode == failModeOpen
		s.staleWarn = newWarnLimiter(s.revocationStale)
	}
	return s, nil
}

func defaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func hasDuplicate(names []string) bool {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return true
		}
		seen[n] = true
	}
	return false
}

// checkURL accepts an absolute http or https URL with a host and no
// credentials (credentials in a URL end up in logs).
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return errors.New("no host")
	case u.User != nil:
		return errors.New("credentials in the URL are not allowed")
	}
	return nil
}

// validToken reports whether s is a non-empty RFC 9110 token (the syntax of
// header field and cookie names).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// normalizeHeaderName lower-cases a header name and reads '_' as '-': Kong
// runs nginx with underscores_in_headers on, and many upstream frameworks
// treat X_User_Id as X-User-Id.
func normalizeHeaderName(name string) string {
	n := strings.ToLower(name)
	if strings.IndexByte(n, '_') >= 0 {
		n = strings.ReplaceAll(n, "_", "-")
	}
	return n
}

// Identity headers the plugin sets for the upstream.
const (
	headerUserID   = "X-User-Id"
	headerRoles    = "X-User-Roles"
	headerUsername = "X-Consumer-Username"
)

var identityPrefixes = []string{"x-consumer-", "x-credential-", "x-authenticated-", "x-anonymous-"}

// isIdentityHeader reports whether a normalized header name is one an
// upstream may trust as identity, so that a client must never send it.
func isIdentityHeader(n string) bool {
	if n == "x-user-id" || n == "x-user-roles" || n == "x-consumer-username" {
		return true
	}
	return slices.ContainsFunc(identityPrefixes, func(p string) bool { return strings.HasPrefix(n, p) })
}
