// Package metrics is the issuer's Prometheus instrumentation, served on a
// listener of its own (METRICS_ADDR) and never on the API port that Kong
// routes to.
//
// It holds a registry of its own, not the global default, so no imported
// library can add series to it unseen. The registry has:
//
//   - the Go runtime and process collectors (go_*, process_*);
//   - medinsights_http_requests_total{route,method,status} and
//     medinsights_http_request_duration_seconds{route,method}, where route is
//     the pattern the request matched, never its raw path, and an unknown
//     method counts as "other", so a client cannot grow the series;
//   - medinsights_auth_events_total{event,reason}, the security events the
//     auth service reports through auth.Events (Observe): event is one of
//     auth.EventNames(), reason the login failure's reason (else empty);
//   - medinsights_throttle_decisions_total{rule,decision}, every throttle
//     decision (allowed, refused, bypassed) by rule, as the auth service
//     reports them (ThrottleDecision);
//   - medinsights_password_hashes_total, every argon2id computation;
//   - medinsights_password_resets_total{outcome}, the reset requests by
//     what came of them (the requester is never told);
//   - medinsights_db_pool_*, the database pool's counters, read at each
//     scrape;
//   - medinsights_revocation_feed_db_reads_total{kind}, the revocation
//     feed's database reads: kind="window" fills the in-memory window (one
//     per event, or per second when idle), kind="fallback" serves a reader
//     behind it (a page or a shared snapshot).
//
// The exposition is github.com/prometheus/client_golang's: the reference
// client, which gets the text and protobuf formats, content negotiation and
// the runtime collectors right where a hand-written exposition would not.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Path is the one path the metrics listener serves.
const Path = "/metrics"

// durationBuckets, in seconds: argon2id logins sit around 0.05-0.5 s; the
// 30 s bucket catches the revocation feed's long polls.
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Options are the metrics' sources.
type Options struct {
	// PoolStatsFunc, when set, is read at each scrape for the
	// medinsights_db_pool_* series.
	PoolStatsFunc func() store.PoolStats
	// FeedReadsFunc, when set, is read at each scrape for
	// medinsights_revocation_feed_db_reads_total.
	FeedReadsFunc func() (window, fallback int64)
	// Logger gets the errors of a failed scrape; nil: slog.Default().
	Logger *slog.Logger
}

// Metrics records the issuer's metrics. A nil *Metrics records nothing, so
// callers need no check when metrics are off. It is safe for concurrent use.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	events   *prometheus.CounterVec
	throttle *prometheus.CounterVec
	hashes   prometheus.Counter
	resets   *prometheus.CounterVec
	log      *slog.Logger
}

// New returns the metrics, registered on a registry of their own.
func New(o Options) *Metrics {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medinsights_http_requests_total",
			Help: "HTTP requests answered by the issuer's API, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "medinsights_http_request_duration_seconds",
			Help:    "Time from a request's arrival at the API to its answer, by route pattern and method.",
			Buckets: durationBuckets,
		}, []string{"route", "method"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medinsights_auth_events_total",
			Help: "Security events reported by the auth service after their commit (the audit log's events, and refresh_rotated), by login-failure or revocation reason.",
		}, []string{"event", "reason"}),
		throttle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medinsights_throttle_decisions_total",
			Help: "Throttle decisions by rule (login_pair, login_address, login_account, password_check, mail_per_minute, mail_per_day, registration) and decision (allowed, refused, bypassed by a device token).",
		}, []string{"rule", "decision"}),
		hashes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "medinsights_password_hashes_total",
			Help: "argon2id computations (password hashes and checks).",
		}),
		resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medinsights_password_resets_total",
			Help: "Password reset requests by outcome (sent, no_account, throttled, failed); every one is answered alike.",
		}, []string{"outcome"}),
		log: o.Logger,
	}
	// Every event starts at zero, so rate() sees the first one.
	for _, name := range auth.EventNames() {
		m.events.WithLabelValues(name, "")
	}
	for _, rule := range []string{auth.RuleLoginPair, auth.RuleLoginAddress, auth.RuleLoginAccount, auth.RulePasswordCheck,
		auth.RuleMailPerMinute, auth.RuleMailPerDay, auth.RuleRegistration} {
		m.throttle.WithLabelValues(rule, auth.DecisionAllowed)
		m.throttle.WithLabelValues(rule, auth.DecisionRefused)
	}
	m.throttle.WithLabelValues(auth.RuleLoginAccount, auth.DecisionBypassed)
	for _, o := range []string{auth.ResetSent, auth.ResetNoAccount, auth.ResetThrottled, auth.ResetFailed} {
		m.resets.WithLabelValues(o)
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.events, m.throttle, m.hashes, m.resets,
	)
	if o.PoolStatsFunc != nil {
		m.registry.MustRegister(newPoolCollector(o.PoolStatsFunc))
	}
	if o.FeedReadsFunc != nil {
		for i, kind := range []string{"window", "fallback"} {
			m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "medinsights_revocation_feed_db_reads_total",
				Help:        "Database reads of the revocation feed: window fills the in-memory window, fallback serves readers behind it.",
				ConstLabels: prometheus.Labels{"kind": kind},
			}, func() float64 {
				window, fallback := o.FeedReadsFunc()
				return float64([]int64{window, fallback}[i])
			}))
		}
	}
	return m
}

// ObserveRequest records one answered request: pattern is the ServeMux
// pattern it matched ("" when it was answered before routing, as CORS
// preflights are), method its method, status the status answered.
func (m *Metrics) ObserveRequest(pattern, method string, status int, elapsed time.Duration) {
	if m == nil {
		return
	}
	r, meth := route(pattern), methodLabel(method)
	m.requests.WithLabelValues(r, meth, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(r, meth).Observe(elapsed.Seconds())
}

// Observe counts one security event: Metrics implements auth.Events. A nil
// *Metrics records nothing.
func (m *Metrics) Observe(_ context.Context, e auth.Event) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(e.Name, e.Reason).Inc()
}

// ThrottleDecision counts one throttle decision (auth.Events). A nil
// *Metrics records nothing.
func (m *Metrics) ThrottleDecision(rule, decision string) {
	if m == nil {
		return
	}
	m.throttle.WithLabelValues(rule, decision).Inc()
}

// PasswordHashed counts one password hash computation (auth.Events).
func (m *Metrics) PasswordHashed() {
	if m == nil {
		return
	}
	m.hashes.Inc()
}

// PasswordResetDone counts one reset request by outcome (auth.Events).
func (m *Metrics) PasswordResetDone(outcome string) {
	if m == nil {
		return
	}
	m.resets.WithLabelValues(outcome).Inc()
}

// route is the label of a ServeMux pattern: its path without the method,
// and without the "{$}" or trailing slash of the variant the API registers
// beside each path, so "/api/auth/login/" and "/api/auth/login" count as
// one route. "/" is the API's catch-all (404); "none" is a request answered
// before routing.
func route(pattern string) string {
	if pattern == "" {
		return "none"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = strings.TrimSpace(path)
	}
	pattern = strings.TrimSuffix(pattern, "{$}")
	if len(pattern) > 1 {
		pattern = strings.TrimSuffix(pattern, "/")
	}
	return pattern
}

// methodLabel keeps the methods HTTP defines for resources and folds any
// other token a client sends into "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// Handler serves GET (and HEAD) /metrics in the format the scraper asks for,
// and 404 for any other path.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(m.log.Handler(), slog.LevelError),
		Registry:            m.registry, // counts failed scrapes: promhttp_metric_handler_errors_total
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	return mux
}

// Server returns the metrics listener's server, with timeouts for a
// scraper; the caller serves it on METRICS_ADDR and closes it.
func (m *Metrics) Server() *http.Server {
	return &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// poolCollector reads the pool's counters once per scrape.
type poolCollector struct {
	statsFunc                                          func() store.PoolStats
	maxConns, conns                                    *prometheus.Desc
	acquires, emptyAcquires, canceledAcquires, newConn *prometheus.Desc
	acquireWait                                        *prometheus.Desc
}

func newPoolCollector(f func() store.PoolStats) *poolCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("medinsights_db_pool_"+name, help, labels, nil)
	}
	return &poolCollector{
		statsFunc:        f,
		maxConns:         d("max_connections", "The pool's ceiling on open connections."),
		conns:            d("connections", "Open connections by state: acquired (in use), idle, constructing (being opened).", "state"),
		acquires:         d("acquires_total", "Connections handed out by the pool."),
		emptyAcquires:    d("empty_acquires_total", "Acquires that had to wait because no connection was idle."),
		canceledAcquires: d("canceled_acquires_total", "Waits for a connection that ended with the caller's context."),
		newConn:          d("new_connections_total", "Connections opened to PostgreSQL."),
		acquireWait:      d("acquire_wait_seconds_total", "Total time spent acquiring connections."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxConns, c.conns, c.acquires, c.emptyAcquires, c.canceledAcquires, c.newConn, c.acquireWait} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.statsFunc()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.maxConns, float64(s.MaxConns))
	gauge(c.conns, float64(s.AcquiredConns), "acquired")
	gauge(c.conns, float64(s.IdleConns), "idle")
	gauge(c.conns, float64(s.ConstructingConns), "constructing")
	counter(c.acquires, float64(s.Acquires))
	counter(c.emptyAcquires, float64(s.EmptyAcquires))
	counter(c.canceledAcquires, float64(s.CanceledAcquires))
	counter(c.newConn, float64(s.NewConns))
	counter(c.acquireWait, s.AcquireWait.Seconds())
}
