package plugin

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/medinsights/auth/kong-plugin/internal/jwks"
	"github.com/medinsights/auth/kong-plugin/internal/revocation"
)

// MetricsAddrEnv names the environment variable that makes the plugin server
// serve Prometheus metrics on GET /metrics at that address (host:port). Kong
// runs one plugin server per node, so it is a process setting, not a plugin
// field; unset, nothing listens.
const MetricsAddrEnv = "MEDINSIGHTS_AUTH_METRICS_ADDR"

// Metric names. tools/infracheck reads the Name: fields of this file to
// check that every query of the Grafana dashboard and of the PrometheusRule
// names a metric that exists, so a name lives here once.
var (
	decisionsDesc = prometheus.CounterOpts{
		Name: "medinsights_gateway_decisions_total",
		Help: "Access-phase decisions by outcome (allowed, anonymous, refused) and refusal reason.",
	}
	decisionSecondsDesc = prometheus.HistogramOpts{
		Name:    "medinsights_gateway_decision_duration_seconds",
		Help:    "Time to decide one request in the plugin, PDK round trips excluded.",
		Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2},
	}
	propagationDesc = prometheus.HistogramOpts{
		Name:    "medinsights_gateway_revocation_propagation_seconds",
		Help:    "From a revocation's commit at the issuer to its application at this gateway (the two hosts' clocks).",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}
	jwksAgeDesc = prometheus.NewDesc("medinsights_gateway_jwks_age_seconds",
		"Seconds since the current key set was fetched.", []string{"jwks_url"}, nil)
	jwksFailuresDesc = prometheus.NewDesc("medinsights_gateway_jwks_refresh_failures_total",
		"Failed key set fetches.", []string{"jwks_url"}, nil)
	jwksKeysDesc = prometheus.NewDesc("medinsights_gateway_jwks_keys",
		"Keys in the current key set.", []string{"jwks_url"}, nil)
	revocationEntriesDesc = prometheus.NewDesc("medinsights_gateway_revocation_entries",
		"Revoked sessions held.", []string{"feed"}, nil)
	revocationSinceSyncDesc = prometheus.NewDesc("medinsights_gateway_revocation_seconds_since_sync",
		"Seconds since the last successful sync with the revocation feed (+Inf before the first).", []string{"feed"}, nil)
	revocationStaleDesc = prometheus.NewDesc("medinsights_gateway_revocation_stale",
		"1 when the revocation list is older than the shortest revocation_max_staleness_seconds using it.", []string{"feed"}, nil)
)

// Decision labels: an index into metrics.decisions, so recording a decision
// is an array read and an atomic add, with no map lookup or allocation.
type decisionLabel int

const (
	labelAllowed decisionLabel = iota
	labelAnonymous
	labelNoToken
	labelInvalidToken
	labelRevoked
	labelInsufficientRole
	labelBadRequest
	labelKeysNotReady
	labelRevocationStale
	labelError
	labelCount
)

var decisionLabels = [labelCount][2]string{
	labelAllowed:          {"allowed", "none"},
	labelAnonymous:        {"anonymous", "none"},
	labelNoToken:          {"refused", "no_token"},
	labelInvalidToken:     {"refused", "invalid_token"},
	labelRevoked:          {"refused", "revoked"},
	labelInsufficientRole: {"refused", "insufficient_role"},
	labelBadRequest:       {"refused", "bad_request"},
	labelKeysNotReady:     {"refused", "keys_not_ready"},
	labelRevocationStale:  {"refused", "revocation_stale"},
	labelError:            {"refused", "error"},
}

// labelOf classifies an outcome; the free-text reason of a refusal is for
// the log line, never a label.
func labelOf(o *outcome) decisionLabel {
	switch o.status {
	case 0:
		if o.id == nil {
			return labelAnonymous
		}
		return labelAllowed
	case http.StatusUnauthorized:
		switch {
		case o.code == "":
			return labelNoToken
		case o.reason == reasonRevoked:
			return labelRevoked
		}
		return labelInvalidToken
	case http.StatusForbidden:
		return labelInsufficientRole
	case http.StatusBadRequest:
		return labelBadRequest
	case http.StatusServiceUnavailable:
		if o.reason == reasonStale {
			return labelRevocationStale
		}
		return labelKeysNotReady
	}
	return labelError
}

// gatewayMetrics are the process's metrics, one set per plugin server.
type gatewayMetrics struct {
	registry    *prometheus.Registry
	decisions   [labelCount]prometheus.Counter
	decisionDur prometheus.Histogram
	propagation prometheus.Histogram

	feedsMu sync.Mutex
	feeds   map[*revocation.Syncer]*feedInfo
}

type feedInfo struct {
	label string        // the feed URL, redacted
	stale time.Duration // the shortest staleness bound of the instances using it
}

var metrics = newGatewayMetrics()

func newGatewayMetrics() *gatewayMetrics {
	m := &gatewayMetrics{
		registry:    prometheus.NewRegistry(),
		decisionDur: prometheus.NewHistogram(decisionSecondsDesc),
		propagation: prometheus.NewHistogram(propagationDesc),
		feeds:       map[*revocation.Syncer]*feedInfo{},
	}
	decisions := prometheus.NewCounterVec(decisionsDesc, []string{"outcome", "reason"})
	for i, l := range decisionLabels {
		m.decisions[i] = decisions.WithLabelValues(l[0], l[1])
	}
	m.registry.MustRegister(decisions, m.decisionDur, m.propagation, m,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// decided records one decision: two atomic adds and a bucket search, no PDK
// call and no allocation (BenchmarkDecideWithMetrics).
func (m *gatewayMetrics) decided(o *outcome, took time.Duration) {
	m.decisions[labelOf(o)].Inc()
	m.decisionDur.Observe(took.Seconds())
}

// revocationsApplied is the syncers' Options.OnApplied: the propagation lag
// of each event that carries its commit time.
func (m *gatewayMetrics) revocationsApplied(events []revocation.Event, now time.Time) {
	for _, e := range events {
		if !e.CommittedAt.IsZero() {
			m.propagation.Observe(max(now.Sub(e.CommittedAt), 0).Seconds())
		}
	}
}

// followFeed records a syncer for the revocation gauges.
func (m *gatewayMetrics) followFeed(s *revocation.Syncer, rawURL string, stale time.Duration) {
	m.feedsMu.Lock()
	defer m.feedsMu.Unlock()
	if f, ok := m.feeds[s]; ok {
		f.stale = min(f.stale, stale)
		return
	}
	label := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		label = u.Redacted()
	}
	m.feeds[s] = &feedInfo{label: label, stale: stale}
}

// Describe and Collect make the JWKS and revocation gauges, read from the
// fetchers and syncers at scrape time: requests pay nothing for them.
func (m *gatewayMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jwksAgeDesc, jwksFailuresDesc, jwksKeysDesc, revocationEntriesDesc, revocationSinceSyncDesc, revocationStaleDesc} {
		ch <- d
	}
}

func (m *gatewayMetrics) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	// Fetchers are per URL and refresh interval, syncers per URL and token:
	// each label shows the freshest of its kind, so that two instances
	// configured differently never make a duplicate series.
	keys := map[string]jwks.State{}
	for _, f := range jwks.All() {
		st, prev := f.State(), keys[f.URL()]
		st.Failures += prev.Failures
		if st.Fetched.Before(prev.Fetched) {
			st.Fetched, st.Keys = prev.Fetched, prev.Keys
		}
		keys[f.URL()] = st
	}
	for u, st := range keys {
		ch <- prometheus.MustNewConstMetric(jwksFailuresDesc, prometheus.CounterValue, float64(st.Failures), u)
		if !st.Fetched.IsZero() {
			ch <- prometheus.MustNewConstMetric(jwksAgeDesc, prometheus.GaugeValue, now.Sub(st.Fetched).Seconds(), u)
			ch <- prometheus.MustNewConstMetric(jwksKeysDesc, prometheus.GaugeValue, float64(st.Keys), u)
		}
	}

	type feedState struct {
		last    time.Time
		entries int
		bound   time.Duration
	}
	feeds := map[string]feedState{}
	m.feedsMu.Lock()
	for s, f := range m.feeds {
		st := feedState{last: s.Synced(), entries: s.Len(), bound: f.stale} // LastSync would mark the syncer in use
		if prev, ok := feeds[f.label]; !ok || prev.last.Before(st.last) {
			feeds[f.label] = st
		}
	}
	m.feedsMu.Unlock()
	for label, st := range feeds {
		since, stale := now.Sub(st.last).Seconds(), 0.0
		if st.last.IsZero() {
			since = math.Inf(1)
		}
		if isStale(st.last, now, st.bound) {
			stale = 1
		}
		ch <- prometheus.MustNewConstMetric(revocationEntriesDesc, prometheus.GaugeValue, float64(st.entries), label)
		ch <- prometheus.MustNewConstMetric(revocationSinceSyncDesc, prometheus.GaugeValue, since, label)
		ch <- prometheus.MustNewConstMetric(revocationStaleDesc, prometheus.GaugeValue, stale, label)
	}
}

// ServeMetrics serves the process's metrics on GET /metrics at the address
// in MEDINSIGHTS_AUTH_METRICS_ADDR, in the background, and returns at once;
// it does nothing when the variable is unset. It never writes to standard
// output, which -dump reserves for its JSON. A listener that cannot start is
// logged, and the plugin serves Kong without metrics.
func ServeMetrics() {
	addr := os.Getenv(MetricsAddrEnv)
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("metrics endpoint not started", "addr", addr, "error", err.Error())
		return
	}
	logger.Info("metrics endpoint listening", "addr", ln.Addr().String())
	go serveMetrics(context.Background(), ln, logger)
}

func serveMetrics(ctx context.Context, ln net.Listener, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics.registry, promhttp.HandlerOpts{}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("metrics endpoint stopped", "error", err.Error())
	}
}
