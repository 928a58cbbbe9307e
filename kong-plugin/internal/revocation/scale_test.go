package revocation

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/medinsights/auth/e2e/issuerproc"
	"github.com/medinsights/auth/internal/quantile"
)

// scaleEnv names the fleet sizes TestScale runs, comma-separated (make
// bench-scale sets 100,1000,2000). Unset, it runs one small case, the
// regression test of the mechanism in make test.
const scaleEnv = "MEDINSIGHTS_SCALE_N"

// scaleCase is one run of the scale benchmark.
type scaleCase struct {
	gateways  int
	replicas  int
	baseline  int           // paced logouts with no gateway connected
	logouts   int           // paced logouts with every gateway connected
	pace      time.Duration // between logouts
	idle      time.Duration // the idle cost's measuring window
	startWait time.Duration // bound on the startup
}

// TestScale is the scale benchmark of issue 12: replicas issuer processes
// on one database, and gateways Syncers (this package's real code, each with
// a connection of its own) spread over them, all started at once. It
// measures the startup, the idle cost, the logout latency without and with
// the gateways, the propagation from each revocation's commit to each
// Syncer, and the feed's database reads per event; and it fails when any
// Syncer lost, duplicated or reordered an event, or saw a 5xx other than a
// 503 with Retry-After.
func TestScale(t *testing.T) {
	cases := []scaleCase{{gateways: 50, replicas: 3, baseline: 10, logouts: 20, pace: 50 * time.Millisecond, idle: time.Second, startWait: 30 * time.Second}}
	if v := os.Getenv(scaleEnv); v != "" {
		cases = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 10_000 {
				t.Fatalf("%s: %q is not a fleet size from 1 to 10000", scaleEnv, f)
			}
			cases = append(cases, scaleCase{gateways: n, replicas: 3, baseline: 50, logouts: 200, pace: 100 * time.Millisecond, idle: 10 * time.Second, startWait: 60 * time.Second})
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("N=%d", c.gateways), func(t *testing.T) { runScale(t, c) })
	}
}

// scaleGateway records what one Syncer applied.
type scaleGateway struct {
	syncer *Syncer
	mu     sync.Mutex
	seqs   []int64
	sids   []string
	lags   []time.Duration // receipt less CommittedAt, per event
	first  bool            // the first answer (the snapshot) applied
	fresh  bool            // LastSync set
}

func runScale(t *testing.T, c scaleCase) {
	// Each gateway holds a connection here and one in an issuer (whose Go
	// runtime, like this one's, raises its soft limit to the hard one).
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < uint64(2*c.gateways+512) {
		t.Fatalf("open files limit %d is too low for %d gateways: raise ulimit -n (make bench-scale raises it to the hard limit)", lim.Cur, c.gateways)
	}
	db := issuerproc.NewDatabase(t)
	issuers := make([]*issuerproc.Issuer, c.replicas)
	metricsURLs := make([]string, c.replicas)
	for i := range issuers {
		addr := issuerproc.FreeAddr(t)
		metricsURLs[i] = "http://" + addr + "/metrics"
		issuers[i] = db.Start(t, "METRICS_ADDR="+addr, "REVOCATION_STREAM_MAX_PER_ADDRESS="+strconv.Itoa(c.gateways+16))
	}
	users := make([]string, 10)
	for i := range users {
		users[i] = issuers[0].NewUser(t)
	}
	sessions := loginMany(t, issuers, users, c.baseline+c.logouts)

	// Logout latency with no gateway connected.
	baseline := pacedLogouts(t, issuers, sessions[:c.baseline], c.pace)

	// Startup: every Syncer at once.
	statuses := &statusCounter{}
	gateways := make([]*scaleGateway, c.gateways)
	var snapshots, fresh atomic.Int64
	allSnapshots, allFresh := make(chan struct{}), make(chan struct{})
	start := time.Now()
	for i := range gateways {
		g := &scaleGateway{}
		gateways[i] = g
		client := newClient()
		client.Transport = statuses.wrap(client.Transport)
		s, err := New(Options{
			URL: issuers[i%c.replicas].FeedURL(), Token: db.FeedToken, MaxStaleness: 30 * time.Second,
			Logger: discardLog, Client: client,
			OnApplied: func(events []Event, now time.Time) {
				g.applied(events, now, &snapshots, &fresh, c.gateways, allSnapshots, allFresh)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		g.syncer = s
		s.Start()
		t.Cleanup(s.Close)
	}
	startup := waitAll(t, "the first snapshot of every gateway", allSnapshots, start, c.startWait)
	startupFresh := waitAll(t, "every gateway fresh", allFresh, start, c.startWait)

	// Idle cost: every gateway connected, no event.
	pgPIDs := db.ServerPIDs(t)
	issuerPIDs := make([]int, len(issuers))
	for i, is := range issuers {
		issuerPIDs[i] = is.PID()
	}
	issuerCPU0, pgCPU0 := cpuTicks(t, issuerPIDs), cpuTicks(t, pgPIDs)
	idleStart := time.Now()
	time.Sleep(c.idle) // the quantity measured is the cost of this interval
	idleFor := time.Since(idleStart)
	issuerCPU := cpuShare(cpuTicks(t, issuerPIDs)-issuerCPU0, idleFor)
	pgCPU := cpuShare(cpuTicks(t, pgPIDs)-pgCPU0, idleFor)
	issuerRSS, pgRSS := rssKiB(t, issuerPIDs, "VmRSS"), rssKiB(t, pgPIDs, "RssAnon")

	// Paced logouts with every gateway following.
	reads0 := feedReads(t, metricsURLs)
	busyCPU0, selfCPU0, busyStart := cpuTicks(t, issuerPIDs), cpuTicks(t, []int{os.Getpid()}), time.Now()
	latency := pacedLogouts(t, issuers, sessions[c.baseline:], c.pace)
	want := make([]string, c.logouts)
	for i, s := range sessions[c.baseline:] {
		want[i] = s.SessionID
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, g := range gateways {
		for g.count() < c.logouts && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // bounded by deadline; the check below reports a shortfall
		}
	}
	reads1 := feedReads(t, metricsURLs)
	busyFor := time.Since(busyStart)
	// The issuers' CPU per event and gateway, less their idle rate: what an
	// event costs a replica for each gateway it serves. The simulated
	// gateways' own cost (this process) is reported beside it.
	busyTicks := cpuTicks(t, issuerPIDs) - busyCPU0
	idleTicks := float64(issuerCPU) / 100 * busyFor.Seconds() * 100 // issuerCPU is a percentage of a core
	perEventGateway := time.Duration((float64(busyTicks) - idleTicks) * 10 * float64(time.Millisecond) / float64(c.logouts*c.gateways))
	selfPerEventGateway := time.Duration(float64(cpuTicks(t, []int{os.Getpid()})-selfCPU0) * 10 * float64(time.Millisecond) / float64(c.logouts*c.gateways))

	var lags []time.Duration
	for i, g := range gateways {
		g.mu.Lock()
		if msg := checkOrder(g.seqs, g.sids, want); msg != "" {
			t.Errorf("gateway %d: %s", i, msg)
		}
		lags = append(lags, g.lags...)
		g.mu.Unlock()
	}
	if bad := statuses.unexpected(); bad != "" {
		t.Errorf("gateways saw %s", bad)
	}
	var windowReads, fallbackReads float64
	for i := range metricsURLs {
		windowReads = max(windowReads, (reads1[i][0]-reads0[i][0])/float64(c.logouts))
		fallbackReads = max(fallbackReads, (reads1[i][1]-reads0[i][1])/float64(c.logouts))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("N=%d replicas=%d logouts=%d every %v (load average %s)", c.gateways, c.replicas, c.logouts, c.pace, strings.Join(strings.Fields(string(load))[:3], " "))
	t.Logf("  propagation from commit: p50 %v  p99 %v  max %v  (%d receipts)", pct(lags, 50), pct(lags, 99), pct(lags, 100), len(lags))
	t.Logf("  logout latency: p50 %v  p99 %v  (no gateways: p50 %v  p99 %v)", pct(latency, 50), pct(latency, 99), pct(baseline, 50), pct(baseline, 99))
	t.Logf("  feed DB reads per event per replica (worst replica): window %.2f  fallback %.2f", windowReads, fallbackReads)
	t.Logf("  CPU per event per gateway: issuers %v (over their idle rate); the simulated gateways %v", perEventGateway.Round(100*time.Nanosecond), selfPerEventGateway.Round(100*time.Nanosecond))
	t.Logf("  idle over %v: issuers %.1f%% of a core, RSS %d MiB; PostgreSQL %.1f%% of a core, private RSS %d MiB", idleFor.Round(time.Millisecond), issuerCPU, issuerRSS>>10, pgCPU, pgRSS>>10)
	t.Logf("  startup: every snapshot loaded in %v, every gateway fresh in %v; answers %s", startup, startupFresh, statuses.summary())
}

func (g *scaleGateway) applied(events []Event, now time.Time, snapshots, fresh *atomic.Int64, n int, allSnapshots, allFresh chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.first {
		g.first = true
		if snapshots.Add(1) == int64(n) {
			close(allSnapshots)
		}
	}
	if !g.fresh && !g.syncer.lastSyncTime().IsZero() {
		g.fresh = true
		if fresh.Add(1) == int64(n) {
			close(allFresh)
		}
	}
	for _, e := range events {
		g.seqs = append(g.seqs, e.Seq)
		g.sids = append(g.sids, e.SessionID)
		g.lags = append(g.lags, now.Sub(e.CommittedAt))
	}
}

func (g *scaleGateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seqs)
}

// checkOrder reports a gateway that applied an event twice, out of order,
// or missed one of the revoked sessions want.
func checkOrder(seqs []int64, sids, want []string) string {
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			return fmt.Sprintf("event %d applied after %d", seqs[i], seqs[i-1])
		}
	}
	got := slices.Clone(sids)
	slices.Sort(got)
	exp := slices.Clone(want)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		return fmt.Sprintf("applied %d revocations, want the %d logged out", len(got), len(exp))
	}
	return ""
}

func waitAll(t *testing.T, what string, done chan struct{}, start time.Time, bound time.Duration) time.Duration {
	t.Helper()
	select {
	case <-done:
		return time.Since(start).Round(time.Millisecond)
	case <-time.After(bound - time.Since(start)):
		t.Fatalf("%s: not within %v", what, bound)
		return 0
	}
}

// loginMany logs n sessions in, spread over the issuers and users, four at
// a time (each login hashes a password).
func loginMany(t *testing.T, issuers []*issuerproc.Issuer, users []string, n int) []issuerproc.Tokens {
	out := make([]issuerproc.Tokens, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range out {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			tok, err := issuers[i%len(issuers)].TryLogin(users[i%len(users)], issuerproc.Password)
			if err != nil {
				t.Error(err) // not Fatal: this is not the test's goroutine
			}
			out[i] = tok
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// pacedLogouts logs the sessions out one every pace, round robin over the
// issuers, and returns each logout's latency.
func pacedLogouts(t *testing.T, issuers []*issuerproc.Issuer, sessions []issuerproc.Tokens, pace time.Duration) []time.Duration {
	out := make([]time.Duration, len(sessions))
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for i, s := range sessions {
		<-tick.C
		t0 := time.Now()
		issuers[i%len(issuers)].Logout(t, s)
		out[i] = time.Since(t0)
	}
	return out
}

// pct is the p-th percentile of ds, to 10 µs.
func pct(ds []time.Duration, p int) time.Duration {
	return quantile.Of(ds, float64(p)/100).Round(10 * time.Microsecond)
}

// statusCounter counts the feed's answers by status, and the 5xx without
// Retry-After.
type statusCounter struct {
	mu             sync.Mutex
	byStatus       map[int]int
	noRetryAfter5x int
}

func (c *statusCounter) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		if err == nil {
			c.mu.Lock()
			if c.byStatus == nil {
				c.byStatus = map[int]int{}
			}
			c.byStatus[resp.StatusCode]++
			if resp.StatusCode >= 500 && (resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "") {
				c.noRetryAfter5x++
			}
			c.mu.Unlock()
		}
		return resp, err
	})
}

func (c *statusCounter) unexpected() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noRetryAfter5x > 0 {
		return fmt.Sprintf("%d answers 5xx other than 503 with Retry-After (%v)", c.noRetryAfter5x, c.byStatus)
	}
	return ""
}

func (c *statusCounter) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.byStatus)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// feedReads reads medinsights_revocation_feed_db_reads_total{kind} from
// each issuer's metrics: [window, fallback] per issuer.
func feedReads(t *testing.T, urls []string) [][2]float64 {
	t.Helper()
	out := make([][2]float64, len(urls))
	for i, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("scrape %s: %v", u, err)
		}
		var b strings.Builder
		_, _ = fmt.Fprint(&b, readAll(t, resp))
		for _, line := range strings.Split(b.String(), "\n") {
			for k, kind := range []string{"window", "fallback"} {
				prefix := `medinsights_revocation_feed_db_reads_total{kind="` + kind + `"} `
				if v, ok := strings.CutPrefix(line, prefix); ok {
					out[i][k], _ = strconv.ParseFloat(v, 64)
				}
			}
		}
	}
	return out
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// cpuTicks sums the user and system CPU time of the processes, in clock
// ticks (1/100 s).
func cpuTicks(t *testing.T, pids []int) int64 {
	t.Helper()
	var sum int64
	for _, pid := range pids {
		f := issuerproc.ProcStat(pid)
		if len(f) < 13 {
			continue // exited
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		sum += u + s
	}
	return sum
}

// cpuShare is ticks over d as a percentage of one core.
func cpuShare(ticks int64, d time.Duration) float64 {
	return float64(ticks) * 10 * float64(time.Millisecond) / float64(d) * 100
}

// rssKiB sums a memory field of /proc/PID/status over the processes.
func rssKiB(t *testing.T, pids []int, field string) int64 {
	t.Helper()
	var sum int64
	for _, pid := range pids {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, field+":"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += n
			}
		}
	}
	return sum
}
