package kongtest_test

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/e2e/issuerproc"
	"github.com/medinsights/auth/kong-plugin/kongtest"
)

var metricsAddrRE = regexp.MustCompile(`metrics endpoint listening.* addr=(\S+)`)

// scrape reads the plugin server's metrics: each sample line as name{labels}
// to value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %d %s", resp.StatusCode, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsAfterLogout: the plugin server started with
// MEDINSIGHTS_AUTH_METRICS_ADDR serves its metrics; after a logout at the
// real issuer, the propagation-lag histogram holds the event, measured from
// the committed_at_us the feed sends, and the decisions are counted by
// reason.
func TestMetricsAfterLogout(t *testing.T) {
	t.Parallel()
	db := issuerproc.NewDatabase(t)
	is := db.Start(t)
	srv := kongtest.StartWithEnv(t, kongtest.PluginBinary(t), "MEDINSIGHTS_AUTH_METRICS_ADDR=127.0.0.1:0")
	srv.WaitOutput(t, "metrics endpoint listening", 1)
	m := metricsAddrRE.FindStringSubmatch(srv.Output())
	if m == nil {
		t.Fatalf("no metrics address in the log:\n%s", srv.Output())
	}
	addr := m[1]

	inst := srv.MustStartInstance(t, map[string]any{
		"jwks_url":                         is.JWKSURL(),
		"issuer":                           issuerproc.IssuerClaim,
		"audiences":                        []string{issuerproc.Audience},
		"revocation_url":                   is.FeedURL(),
		"revocation_token":                 db.FeedToken,
		"revocation_max_staleness_seconds": 30,
	})
	srv.WaitOutput(t, "jwks key set loaded", 1)
	srv.WaitOutput(t, "revocation snapshot loaded", 1)

	user := is.NewUser(t)
	refusedAfterLogout := func(tok issuerproc.Tokens) {
		t.Helper()
		req := kongtest.Request{Path: "/patients", Headers: kongtest.Headers("Authorization", "Bearer "+tok.Access)}
		// The snapshot is followed at once by the read that makes the list
		// fresh; until then the plugin answers 503 (revocation list is stale).
		eventually(t, 10*time.Second, func() bool { return !inst.MustAccess(t, req).Exited })
		is.Logout(t, tok)
		eventually(t, 10*time.Second, func() bool {
			r := inst.MustAccess(t, req)
			return r.Exited && r.Status == http.StatusUnauthorized
		})
	}
	// On an empty feed (cursor 0) the issuer answers every poll with a
	// snapshot, and a snapshot's events are not timed: a first logout moves
	// the cursor, so that the second one arrives as an event after it.
	refusedAfterLogout(is.Login(t, user, issuerproc.Password))
	refusedAfterLogout(is.Login(t, user, issuerproc.Password))
	const lag = "medinsights_gateway_revocation_propagation_seconds_count"
	eventually(t, 10*time.Second, func() bool { return scrape(t, addr)[lag] >= 1 })

	got := scrape(t, addr)
	for name, want := range map[string]float64{
		lag: 1,
		`medinsights_gateway_decisions_total{outcome="allowed",reason="none"}`:             1,
		`medinsights_gateway_decisions_total{outcome="refused",reason="revoked"}`:          1,
		`medinsights_gateway_decision_duration_seconds_count`:                              3,
		`medinsights_gateway_jwks_keys{jwks_url="` + is.JWKSURL() + `"}`:                   1,
		`medinsights_gateway_jwks_refresh_failures_total{jwks_url="` + is.JWKSURL() + `"}`: 0,
		`medinsights_gateway_revocation_entries{feed="` + is.FeedURL() + `"}`:              1,
		`medinsights_gateway_revocation_stale{feed="` + is.FeedURL() + `"}`:                0,
	} {
		v, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s missing from the scrape", name)
		case want == 0 && v != 0, v < want:
			t.Errorf("%s = %v, want at least %v", name, v, want)
		}
	}
	// The event's lag is one sample under 30 s (its bucket) on one machine.
	if v := got[`medinsights_gateway_revocation_propagation_seconds_bucket{le="30"}`]; v < 1 {
		t.Errorf("propagation lag over 30 s: %v", got)
	}
	if v := got[`medinsights_gateway_revocation_seconds_since_sync{feed="`+is.FeedURL()+`"}`]; v > 30 {
		t.Errorf("seconds since sync %v while fresh", v)
	}
}
