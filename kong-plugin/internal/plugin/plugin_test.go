package plugin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Kong/go-pdk/test"

	"github.com/medinsights/auth/internal/accesstoken"
)

func TestConfigDefaultsFromKongNulls(t *testing.T) {
	t.Parallel()
	raw := `{"jwks_url":null,"jwks_refresh_seconds":null,"public_keys":[` + jsonString(publicPEM(t)) + `],
		"issuer":"` + testIssuer + `","audiences":["` + testAudience + `"],"clock_skew_seconds":null,
		"max_token_lifetime_seconds":null,"required_roles":null,"anonymous":null,"run_on_preflight":null,
		"header_names":null,"cookie_names":null,"uri_param_names":null,"forward_token":null,
		"revocation_url":null,"revocation_token":null,"revocation_max_staleness_seconds":null,
		"revocation_fail_mode":null,"__plugin_id":"p-1","__ws_id":"w","__key__":"k","__seq__":3}`
	var c Config
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	s := c.settings()
	if s.err != nil {
		t.Fatal(s.err)
	}
	if !s.runOnPreflight || !s.forwardToken || s.anonymous {
		t.Errorf("run_on_preflight %v forward_token %v anonymous %v, want true true false", s.runOnPreflight, s.forwardToken, s.anonymous)
	}
	if !slices.Equal(s.headerNames, []string{"authorization"}) {
		t.Errorf("header_names %v", s.headerNames)
	}
	if s.verifier.skew != 30*time.Second {
		t.Errorf("skew %s, want 30s", s.verifier.skew)
	}
	if s.revocation != nil || s.pluginID != "p-1" {
		t.Errorf("revocation %v plugin id %q", s.revocation, s.pluginID)
	}

	explicit := strings.NewReplacer(`"run_on_preflight":null`, `"run_on_preflight":false`,
		`"forward_token":null`, `"forward_token":false`, `"clock_skew_seconds":null`, `"clock_skew_seconds":0`).Replace(raw)
	var e Config
	if err := json.Unmarshal([]byte(explicit), &e); err != nil {
		t.Fatal(err)
	}
	es := e.settings()
	if es.err != nil || es.runOnPreflight || es.forwardToken || es.verifier.skew != 0 {
		t.Errorf("explicit false/0 not kept: err %v preflight %v forward %v skew %s", es.err, es.runOnPreflight, es.forwardToken, es.verifier.skew)
	}
}

// spoofedNames returns n distinct identity header names, sorted.
func spoofedNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("x-consumer-%02d", i)
	}
	return names
}

// spoofed returns the headers kv plus n distinct spoofed identity headers.
func spoofed(n int, kv ...string) map[string][]string {
	headers := h(kv...)
	for _, name := range spoofedNames(n) {
		headers[name] = []string{"evil"}
	}
	return headers
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestConfigValidationReportsEveryProblem(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-feed-token"
	c := &Config{
		JWKSURL: "http://user:pw@issuer/jwks", PublicKeys: []string{"x"}, ClockSkewSeconds: 999,
		HeaderNames: []string{"x user"}, RequiredRoles: []string{"a,b"},
		RevocationURL: "gopher://x", RevocationToken: secret, RevocationFailMode: "sometimes",
	}
	err := c.settings().err
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"both set", "issuer is required", "audiences", "clock_skew_seconds", "header_names[0]",
		"required_roles[0]", "revocation_url", "revocation_fail_mode"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the revocation token appears in the error")
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	good := signToken(t, nil)
	noRoles := signToken(t, func(c *accesstoken.Claims) { c.Roles = []string{} })
	expired := signToken(t, func(c *accesstoken.Claims) {
		c.IssuedAt = jwtDate(epoch.Add(-11 * time.Minute))
		c.NotBefore = c.IssuedAt
		c.ExpiresAt = jwtDate(epoch.Add(-31 * time.Second))
	})
	tests := []struct {
		name     string
		edit     func(*settings)
		headers  map[string][]string
		status   int
		code     string
		clear    []string
		upstream map[string][]string
	}{
		{name: "valid", headers: h("authorization", "Bearer "+good), upstream: map[string][]string{
			"X-User-Id": {testSubject}, "X-User-Roles": {"patient,clinician"}, "X-Consumer-Username": {"alice@example.org"}}},
		{name: "lower-case scheme", headers: h("authorization", "bearer "+good), upstream: map[string][]string{
			"X-User-Id": {testSubject}, "X-User-Roles": {"patient,clinician"}, "X-Consumer-Username": {"alice@example.org"}}},
		{name: "spoofed headers cleared unless overridden", headers: h("authorization", "Bearer "+good, "x-user-id", "evil", "x_user_id", "evil", "x-consumer-id", "1"),
			clear: []string{"x-consumer-id", "x_user_id"}, upstream: map[string][]string{
				"X-User-Id": {testSubject}, "X-User-Roles": {"patient,clinician"}, "X-Consumer-Username": {"alice@example.org"}}},
		{name: "empty roles: no roles header and a spoofed one cleared", headers: h("authorization", "Bearer "+noRoles, "x-user-roles", "admin"),
			clear: []string{"x-user-roles"}, upstream: map[string][]string{"X-User-Id": {testSubject}, "X-Consumer-Username": {"alice@example.org"}}},
		{name: "no token: a refusal clears nothing", headers: h("x-user-id", "evil"), status: 401},
		{name: "bad token with spoofed headers: nothing cleared", headers: h("authorization", "Bearer x.y.z", "x-user-id", "evil", "x_consumer_id", "1"), status: 401, code: codeInvalidToken},
		{name: "16 spoofed identity headers are cleared", headers: spoofed(16, "authorization", "Bearer "+good),
			clear: spoofedNames(16), upstream: map[string][]string{
				"X-User-Id": {testSubject}, "X-User-Roles": {"patient,clinician"}, "X-Consumer-Username": {"alice@example.org"}}},
		{name: "17 spoofed identity headers: refused, nothing cleared", headers: spoofed(17, "authorization", "Bearer "+good), status: 400, code: codeInvalidRequest},
		{name: "17 spoofed identity headers, anonymous: refused", edit: func(s *settings) { s.anonymous = true }, headers: spoofed(17), status: 400, code: codeInvalidRequest},
		{name: "anonymous", edit: func(s *settings) { s.anonymous = true }, headers: h("x-user-id", "evil"), clear: []string{"x-user-id"}},
		{name: "anonymous with a bad token", edit: func(s *settings) { s.anonymous = true }, headers: h("authorization", "Bearer x.y.z"), status: 401, code: codeInvalidToken},
		{name: "anonymous with required roles, no token", edit: func(s *settings) { s.anonymous, s.requiredRoles = true, []string{"admin"} }, headers: h("x-user-id", "evil"), status: 401},
		{name: "anonymous with required roles, a token without them", edit: func(s *settings) { s.anonymous, s.requiredRoles = true, []string{"admin"} }, headers: h("authorization", "Bearer "+good), status: 403, code: codeInsufficientScope},
		{name: "anonymous with required roles, a token with one", edit: func(s *settings) { s.anonymous, s.requiredRoles = true, []string{"clinician"} }, headers: h("authorization", "Bearer "+good), upstream: map[string][]string{
			"X-User-Id": {testSubject}, "X-User-Roles": {"patient,clinician"}, "X-Consumer-Username": {"alice@example.org"}}},
		{name: "Basic and Bearer in one header", headers: h("authorization", "Basic YWxpY2U6c2VjcmV0, Bearer "+good), status: 400, code: codeInvalidRequest},
		{name: "Basic and Bearer in two headers", headers: map[string][]string{"authorization": {"Basic YWxpY2U6c2VjcmV0", "Bearer " + good}}, status: 400, code: codeInvalidRequest},
		{name: "Basic and Bearer in two headers, token in a cookie", edit: func(s *settings) { s.headerNames, s.cookieNames = nil, []string{"at"} },
			headers: map[string][]string{"authorization": {"Basic YWxpY2U6c2VjcmV0", "Bearer " + good}, "cookie": {"at=" + good}}, status: 400, code: codeInvalidRequest},
		{name: "Basic and Bearer in two headers, anonymous", edit: func(s *settings) { s.anonymous = true }, headers: map[string][]string{"authorization": {"Basic YWxpY2U6c2VjcmV0", "Bearer " + good}}, status: 400, code: codeInvalidRequest},
		{name: "one Basic credential alone is not ours", edit: func(s *settings) { s.anonymous = true }, headers: h("authorization", "Basic YWxpY2U6c2VjcmV0")},
		{name: "expired beyond skew", headers: h("authorization", "Bearer "+expired), status: 401, code: codeInvalidToken},
		{name: "two values", headers: map[string][]string{"authorization": {"Bearer " + good, "Bearer " + good}}, status: 400, code: codeInvalidRequest},
		{name: "scheme only", headers: h("authorization", "Bearer "), status: 400, code: codeInvalidRequest},
		{name: "required role missing", edit: func(s *settings) { s.requiredRoles = []string{"admin"} }, headers: h("authorization", "Bearer "+good), status: 403, code: codeInsufficientScope},
		{name: "required role present", edit: func(s *settings) { s.requiredRoles = []string{"admin", "clinician"} }, headers: h("authorization", "Bearer "+good), upstream: map[string][]string{
			"X-User-Id": {testSubject}, "X-User-Roles": {"patient,clinician"}, "X-Consumer-Username": {"alice@example.org"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testSettings(t, at(epoch), tt.edit)
			o := decide(s, get(t, tt.headers), epoch)
			if o.status != tt.status || o.code != tt.code {
				t.Errorf("status %d code %q, want %d %q (reason %s)", o.status, o.code, tt.status, tt.code, o.reason)
			}
			slices.Sort(o.clear)
			if !slices.Equal(o.clear, tt.clear) {
				t.Errorf("clear %v, want %v", o.clear, tt.clear)
			}
			if tt.status == 0 && !equalHeaders(o.upstream, tt.upstream) {
				t.Errorf("upstream %v, want %v", o.upstream, tt.upstream)
			}
		})
	}
}

func h(pairs ...string) map[string][]string {
	m := map[string][]string{}
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i]] = append(m[pairs[i]], pairs[i+1])
	}
	return m
}

func equalHeaders(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// fakeRevocation is a revocation syncer with a fixed state.
type fakeRevocation struct {
	last    time.Time
	revoked map[string]bool
}

func (f fakeRevocation) Revoked(sid string, _ time.Time) bool { return f.revoked[sid] }
func (f fakeRevocation) LastSync() time.Time                  { return f.last }

func TestDecideRevocation(t *testing.T) {
	t.Parallel()
	tok := signToken(t, nil)
	tests := []struct {
		name   string
		rev    fakeRevocation
		open   bool
		status int
	}{
		{name: "fresh, not revoked", rev: fakeRevocation{last: epoch.Add(-time.Second)}, status: 0},
		{name: "fresh, revoked", rev: fakeRevocation{last: epoch.Add(-time.Second), revoked: map[string]bool{testSession: true}}, status: 401},
		{name: "never synced, closed", rev: fakeRevocation{}, status: 503},
		{name: "stale, closed", rev: fakeRevocation{last: epoch.Add(-31 * time.Second)}, status: 503},
		{name: "stale, open", rev: fakeRevocation{last: epoch.Add(-31 * time.Second)}, open: true, status: 0},
		{name: "stale, open, revoked still refused", rev: fakeRevocation{last: epoch.Add(-31 * time.Second), revoked: map[string]bool{testSession: true}}, open: true, status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testSettings(t, at(epoch), func(s *settings) {
				s.revocation, s.revocationStale, s.revocationOpen = tt.rev, 30*time.Second, tt.open
				s.staleWarn = newWarnLimiter(30 * time.Second)
			})
			o := decide(s, get(t, h("authorization", "Bearer "+tok)), epoch)
			if o.status != tt.status {
				t.Errorf("status %d, want %d (%s)", o.status, tt.status, o.reason)
			}
			if o.status == 503 && o.retryAfter < 1 {
				t.Errorf("Retry-After %d", o.retryAfter)
			}
		})
	}
}

func TestCacheRechecksExpiryAndKey(t *testing.T) {
	t.Parallel()
	tok := signToken(t, nil) // exp = epoch + 10 min, skew 30 s
	now := epoch
	s := testSettings(t, func() time.Time { return now }, nil)
	if o := decide(s, get(t, h("authorization", "Bearer "+tok)), now); o.status != 0 {
		t.Fatalf("status %d", o.status)
	}
	if s.verifier.cache.get(tok) == nil {
		t.Fatal("verified token not cached")
	}
	now = epoch.Add(10*time.Minute + 29*time.Second)
	if o := decide(s, get(t, h("authorization", "Bearer "+tok)), now); o.status != 0 {
		t.Errorf("within skew after exp: status %d", o.status)
	}
	now = epoch.Add(10*time.Minute + 31*time.Second)
	if o := decide(s, get(t, h("authorization", "Bearer "+tok)), now); o.status != 401 {
		t.Errorf("cached token past exp + skew: status %d, want 401", o.status)
	}

	// A key that is no longer published stops verifying cached tokens.
	now = epoch
	s2 := testSettings(t, at(epoch), nil)
	decide(s2, get(t, h("authorization", "Bearer "+tok)), now)
	s2.verifier.keys = staticKeys{set: accesstoken.KeySet{}, key: "empty"}
	if o := decide(s2, get(t, h("authorization", "Bearer "+tok)), now); o.status != 401 {
		t.Errorf("cached token after its key was withdrawn: status %d, want 401", o.status)
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	t.Parallel()
	c := newTokenCache(64)
	id := &identity{expires: time.Now().Add(time.Hour)}
	for i := range 1000 {
		c.put(strings.Repeat("a", i%50)+string(rune('A'+i%26))+"xyz"+string(rune('a'+i%17)), id)
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n > 64 {
		t.Errorf("%d entries in a cache of 64", n)
	}
}

func TestTokenFromHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, value string
		token               string
		ok, malformed       bool
	}{
		{name: "bearer", header: "authorization", value: "Bearer abc", token: "abc", ok: true},
		{name: "BEARER", header: "authorization", value: "BEARER abc", token: "abc", ok: true},
		{name: "extra spaces", header: "authorization", value: "Bearer   abc ", token: "abc", ok: true},
		{name: "basic is not ours", header: "authorization", value: "Basic dTpw"},
		{name: "bare value in authorization is not ours", header: "authorization", value: "abc"},
		{name: "scheme only", header: "authorization", value: "Bearer", malformed: true},
		{name: "empty", header: "authorization", value: "", malformed: true},
		{name: "two parts", header: "authorization", value: "Bearer a b", malformed: true},
		{name: "tab inside", header: "authorization", value: "Bearer a\tb", malformed: true},
		{name: "custom header bare", header: "x-access-token", value: "abc", token: "abc", ok: true},
		{name: "custom header bearer", header: "x-access-token", value: "Bearer abc", token: "abc", ok: true},
		{name: "custom header other scheme", header: "x-access-token", value: "Basic abc", malformed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, ok, err := tokenFromHeader(tt.header, tt.value)
			if tok != tt.token || ok != tt.ok || (err != nil) != tt.malformed {
				t.Errorf("got %q %v %v, want %q %v malformed=%v", tok, ok, err, tt.token, tt.ok, tt.malformed)
			}
		})
	}
}

// The go-pdk test environment drives Access in process: handler wiring,
// status, challenge and upstream headers.
func TestAccessWithGoPDKTestEnv(t *testing.T) {
	t.Parallel()
	conf := func() *Config {
		return &Config{PublicKeys: []string{publicPEM(t)}, Issuer: testIssuer, Audiences: []string{testAudience},
			ClockSkewSeconds: 30, RunOnPreflight: true, ForwardToken: true}
	}
	// Tokens valid now: the binary's clock is real.
	k, kid := key(t)
	c := testClaims(time.Now())
	good, err := accesstoken.Sign(k, kid, c)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("valid token", func(t *testing.T) {
		t.Parallel()
		env, err := test.New(t, test.Request{Method: "GET", Url: "http://api.test/records",
			Headers: http.Header{"Authorization": {"Bearer " + good}, "X-User-Id": {"evil"}, "X-Consumer-Id": {"1"}}})
		if err != nil {
			t.Fatal(err)
		}
		env.DoAccess(conf())
		if got := env.ServiceReq.Headers.Values("X-User-Id"); !slices.Equal(got, []string{testSubject}) {
			t.Errorf("X-User-Id %v", got)
		}
		if got := env.ServiceReq.Headers.Get("X-User-Roles"); got != "patient,clinician" {
			t.Errorf("X-User-Roles %q", got)
		}
		if got := env.ServiceReq.Headers.Get("X-Consumer-Id"); got != "" {
			t.Errorf("spoofed X-Consumer-Id %q reached the upstream", got)
		}
	})
	t.Run("no token", func(t *testing.T) {
		t.Parallel()
		env, err := test.New(t, test.Request{Method: "GET", Url: "http://api.test/records"})
		if err != nil {
			t.Fatal(err)
		}
		env.DoAccess(conf())
		if env.ClientRes.Status != 401 || env.ClientRes.Headers.Get("WWW-Authenticate") != realm {
			t.Errorf("status %d challenge %q", env.ClientRes.Status, env.ClientRes.Headers.Get("WWW-Authenticate"))
		}
		if string(env.ClientRes.Body) != `{"message":"Unauthorized"}` {
			t.Errorf("body %s", env.ClientRes.Body)
		}
	})
	t.Run("invalid config answers 500", func(t *testing.T) {
		t.Parallel()
		env, err := test.New(t, test.Request{Method: "GET", Url: "http://api.test/records",
			Headers: http.Header{"Authorization": {"Bearer " + good}}})
		if err != nil {
			t.Fatal(err)
		}
		env.DoAccess(&Config{Issuer: testIssuer})
		if env.ClientRes.Status != 500 {
			t.Errorf("status %d, want 500", env.ClientRes.Status)
		}
	})
	t.Run("a panic is answered 500", func(t *testing.T) {
		t.Parallel()
		env, err := test.New(t, test.Request{Method: "GET", Url: "http://api.test/records",
			Headers: http.Header{"Authorization": {"Bearer " + good}}})
		if err != nil {
			t.Fatal(err)
		}
		broken := &Config{}
		broken.once.Do(func() { broken.derived = &settings{headerNames: []string{"authorization"}, runOnPreflight: true} }) // nil verifier
		env.DoAccess(broken)
		if env.ClientRes.Status != 500 {
			t.Errorf("status %d, want 500", env.ClientRes.Status)
		}
	})
}
