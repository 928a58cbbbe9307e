package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/internal/quantile"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/store"
)

// The benchmarks run the real handler on a loopback HTTP server against the
// PostgreSQL of TEST_DATABASE_URL, with the production argon2id parameters.
// BenchmarkLoadReport measures the goals as ratios within one run
// and prints them; the others are ordinary Go benchmarks of each part.

const concurrency = 16

func benchIssuer(b *testing.B) *issuertest.Issuer {
	b.Helper()
	return benchIssuerWith(b, issuertest.Options{})
}

// benchIssuerWith is benchIssuer with o's throttle settings.
func benchIssuerWith(b *testing.B, o issuertest.Options) *issuertest.Issuer {
	b.Helper()
	o.Password, o.MaxConns = auth.DefaultPasswordParams, 4
	is := issuertest.New(b, o)
	tr := is.Server.Client().Transport.(*http.Transport)
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	is.Register(b, "alice", password)
	return is
}

// call posts body and returns the status and, for 200, the decoded tokens.
func call(client *http.Client, url, token string, body []byte) (int, map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode == http.StatusOK {
		err = json.NewDecoder(resp.Body).Decode(&out)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, out, err
}

func refreshBody(token string) []byte {
	b, _ := json.Marshal(map[string]string{"refresh_token": token})
	return b
}

// run spreads n operations over workers goroutines; op(worker) returns an
// error to stop. It returns the wall time and every latency.
func run(workers, n int, op func(worker int) error) (time.Duration, []time.Duration, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			var mine []time.Duration
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				if err := op(w); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return time.Since(start), all, firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// load is what a load run measured.
type load struct {
	wall      time.Duration
	latencies []time.Duration
	stmts     float64       // statements per request
	cpu       time.Duration // CPU of this process (server and client) per request
}

// measure runs n operations over 16 workers with the benchmark timer on,
// counting the statements they send.
func measure(b *testing.B, is *issuertest.Issuer, n int, op func(worker int) error) load {
	b.Helper()
	before, cpu := is.Statements.Count(), processCPU()
	b.StartTimer()
	wall, lat, err := run(concurrency, n, op)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	return load{wall: wall, latencies: lat, stmts: float64(is.Statements.Count()-before) / float64(n), cpu: (processCPU() - cpu) / time.Duration(n)}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// refreshLoad rotates n refresh tokens over 16 concurrent sessions.
func refreshLoad(b *testing.B, is *issuertest.Issuer, n int) load {
	b.Helper()
	b.StopTimer()
	tokens := make([]string, concurrency)
	for i := range tokens {
		tokens[i] = is.Login(b, "alice", password).Refresh
	}
	client, url := is.Server.Client(), is.Server.URL+"/api/auth/refresh/"
	return measure(b, is, n, func(w int) error {
		status, out, err := call(client, url, "", refreshBody(tokens[w]))
		if err != nil || status != 200 {
			return fmt.Errorf("refresh: %d %v", status, err)
		}
		tokens[w] = out["refresh_token"].(string)
		return nil
	})
}

// logoutLoad logs out n sessions, 16 at a time: each worker is a live
// session of the user that ends other sessions of the same user.
func logoutLoad(b *testing.B, is *issuertest.Issuer, n int) load {
	b.Helper()
	b.StopTimer()
	callers := make([]string, concurrency)
	for i := range callers {
		callers[i] = is.Login(b, "alice", password).Access
	}
	userID := uuid.MustParse(parseAccessB(b, is, callers[0]).Subject)
	victims := make([][]byte, n)
	for i := range victims {
		victims[i] = refreshBody(is.NewRefreshSession(b, userID))
	}
	var next atomic.Int64
	client, url := is.Server.Client(), is.Server.URL+"/api/auth/logout/"
	return measure(b, is, n, func(w int) error {
		status, _, err := call(client, url, callers[w], victims[next.Add(1)-1])
		if err != nil || status != 204 {
			return fmt.Errorf("logout: %d %v", status, err)
		}
		return nil
	})
}

func parseAccessB(b *testing.B, is *issuertest.Issuer, token string) *accesstoken.Claims {
	b.Helper()
	p, _ := accesstoken.NewParser(accesstoken.Options{Issuer: issuertest.IssuerURL, Audiences: []string{issuertest.Audience}, Now: is.Clock.Now})
	c, err := p.Parse(token, is.Signer.Keys())
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkArgon2idHash(b *testing.B) {
	for b.Loop() {
		if _, err := auth.HashPassword(auth.DefaultPasswordParams, password); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignAccessToken(b *testing.B) {
	is := issuertest.New(b, issuertest.Options{})
	now := time.Now()
	c := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: issuertest.IssuerURL, Subject: uuid.NewString(), Audience: jwt.ClaimStrings{issuertest.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ID: uuid.NewString()},
		SessionID: uuid.NewString(), Roles: []string{"patient"}, Username: "alice",
	}
	for b.Loop() {
		if _, err := is.Signer.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin is one login end to end, one at a time, with the
// throttle on (as in production) and off (THROTTLE_ENABLED=false).
func BenchmarkLogin(b *testing.B) {
	for _, c := range []struct {
		name string
		off  bool
	}{{"throttle=on", false}, {"throttle=off", true}} {
		b.Run(c.name, func(b *testing.B) {
			is := benchIssuerWith(b, issuertest.Options{NoThrottle: c.off})
			body, _ := json.Marshal(map[string]string{"username": "alice", "password": password})
			client, url := is.Server.Client(), is.Server.URL+"/api/auth/login/"
			before := is.Statements.Count()
			for b.Loop() {
				if status, _, err := call(client, url, "", body); err != nil || status != 200 {
					b.Fatalf("login: %d %v", status, err)
				}
			}
			b.ReportMetric(float64(is.Statements.Count()-before)/float64(b.N), "stmts/op")
		})
	}
}

// throttleCounters fills the counters table with n counters, as a
// long attack would, and returns the keys of three of them.
func throttleCounters(b *testing.B, is *issuertest.Issuer, n int) store.LoginKeys {
	b.Helper()
	issuertest.Exec(b, is.DatabaseURL, `INSERT INTO throttle_counters (key, hits, started_at, expires_at, max_hits, period, delay, max_delay)
		SELECT sha256(i::text::bytea), 3, now(), now() + interval '1 hour', 5, interval '15 min', interval '1 min', interval '15 min'
		FROM generate_series(1, $1::int) AS i`, n)
	issuertest.Exec(b, is.DatabaseURL, "ANALYZE throttle_counters")
	key := func(i int) []byte { sum := sha256.Sum256([]byte(strconv.Itoa(i))); return sum[:] }
	return store.LoginKeys{Pair: key(1), Address: key(n / 2), Account: key(n)}
}

// BenchmarkLoginThrottleCheck is the statement a login runs before the
// password check, alone, with and without its three throttle counters
// (100 000 counters in the table): the difference is what the throttle
// check costs a login.
func BenchmarkLoginThrottleCheck(b *testing.B) {
	is := benchIssuer(b)
	keys := throttleCounters(b, is, 100_000)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		keys store.LoginKeys
	}{{"throttle=off", store.LoginKeys{}}, {"throttle=on", keys}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := is.Store.UserGetForLogin(ctx, "alice", nil, c.keys, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRefresh is refresh rotation end to end at concurrency 16.
func BenchmarkRefresh(b *testing.B) {
	is := benchIssuer(b)
	l := refreshLoad(b, is, b.N)
	b.ReportMetric(ms(quantile.Of(l.latencies, 0.99)), "p99-ms")
	b.ReportMetric(l.stmts, "stmts/op")
}

// BenchmarkLogout is logout end to end at concurrency 16.
func BenchmarkLogout(b *testing.B) {
	is := benchIssuer(b)
	l := logoutLoad(b, is, b.N)
	b.ReportMetric(ms(quantile.Of(l.latencies, 0.99)), "p99-ms")
	b.ReportMetric(l.stmts, "stmts/op")
}

// BenchmarkLoadReport measures the goals of issue 2 in one run and prints them:
//
//   - refresh rotations per second at concurrency 16, at least 35% of the
//     signing bound (cores / time of one RSA-2048 signature), p99 under 30 ms;
//   - one login costs at most 1.15 x one argon2id hash;
//   - logouts per second at least 2x the refresh rate;
//   - SQL statements per request;
//
// and of issue 9: login with and without the throttle (statements
// included: a login gains at most one, refresh none), and the cost of the
// throttle check, under 1 ms.
func BenchmarkLoadReport(b *testing.B) {
	if b.N > 1 {
		b.Skip("runs once")
	}
	is := benchIssuer(b)
	const rounds = 3000

	// One RSA-2048 signature, one argon2id hash.
	signTime := timeEach(200, func() {
		_, _ = is.Signer.Sign(&accesstoken.Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "i", Subject: "s"}, SessionID: "x", Roles: []string{}, Username: "u"})
	})
	hashTime := timeEach(20, func() { _, _ = auth.HashPassword(auth.DefaultPasswordParams, password) })

	// Login, one at a time, with the throttle on (is) and off.
	body, _ := json.Marshal(map[string]string{"username": "alice", "password": password})
	wrongBody, _ := json.Marshal(map[string]string{"username": "alice", "password": "not the password"})
	login := func(is *issuertest.Issuer, body []byte, want int) func() {
		return func() {
			if status, _, err := call(is.Server.Client(), is.Server.URL+"/api/auth/login/", "", body); err != nil || status != want {
				b.Fatalf("login: %d %v, want %d", status, err, want)
			}
		}
	}
	st0 := is.Statements.Count()
	loginTime := timeEach(20, login(is, body, 200))
	loginStmts := float64(is.Statements.Count()-st0) / 21 // timeEach warms up once
	unthrottled := benchIssuerWith(b, issuertest.Options{NoThrottle: true})
	st0 = unthrottled.Statements.Count()
	loginOffTime := timeEach(20, login(unthrottled, body, 200))
	loginOffStmts := float64(unthrottled.Statements.Count()-st0) / 21
	failedStmts := func(is *issuertest.Issuer) int64 {
		st0 := is.Statements.Count()
		login(is, wrongBody, 401)()
		n := is.Statements.Count() - st0
		is.Login(b, "alice", password) // the success forgets the pair's failure
		return n
	}
	failedOn, failedOff := failedStmts(is), failedStmts(unthrottled)

	// The statement a login runs before the password check, with and
	// without the throttle counters, on a table of 100 000 counters.
	keys := throttleCounters(b, is, 100_000)
	check := func(keys store.LoginKeys) func() {
		return func() {
			if _, err := is.Store.UserGetForLogin(context.Background(), "alice", nil, keys, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	}
	checkOn, checkOff := alternate(1000, check(keys), check(store.LoginKeys{}))

	refresh := refreshLoad(b, is, rounds)
	refreshWall, refreshLat, refreshStmts := refresh.wall, refresh.latencies, refresh.stmts
	logout := logoutLoad(b, is, rounds)
	logoutWall, logoutLat, logoutStmts := logout.wall, logout.latencies, logout.stmts

	cores := runtime.GOMAXPROCS(0)
	bound := float64(cores) / signTime.Seconds()
	refreshRate := rounds / refreshWall.Seconds()
	logoutRate := rounds / logoutWall.Seconds()
	p99 := quantile.Of(refreshLat, 0.99)
	verdict := func(ok bool) string {
		if ok {
			return "meets goal"
		}
		return "BELOW GOAL"
	}
	b.Logf("machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cores, runtime.Version())
	b.Logf("one RSA-2048 signature %.3f ms -> signing bound %.0f/s on %d cores; one argon2id hash (m=%d KiB, t=%d, p=%d) %.1f ms",
		ms(signTime), bound, cores, auth.DefaultPasswordParams.Memory, auth.DefaultPasswordParams.Time, auth.DefaultPasswordParams.Threads, ms(hashTime))
	b.Logf("refresh: %.0f rotations/s at concurrency %d = %.0f%% of the signing bound (goal >= 35%%: %s); p50 %.1f ms, p99 %.1f ms (goal < 30 ms: %s); %.1f statements/request; %.2f ms CPU/request in this process (server and client; PostgreSQL not counted)",
		refreshRate, concurrency, 100*refreshRate/bound, verdict(refreshRate >= 0.35*bound), ms(quantile.Of(refreshLat, 0.5)), ms(p99), verdict(p99 < 30*time.Millisecond), refreshStmts, ms(refresh.cpu))
	b.Logf("login: %.1f ms each = %.2f x one argon2id hash (goal <= 1.15: %s); %.1f statements/request",
		ms(loginTime), loginTime.Seconds()/hashTime.Seconds(), verdict(loginTime.Seconds() <= 1.15*hashTime.Seconds()), loginStmts)
	b.Logf("login throttle: %.1f ms with it, %.1f ms without (THROTTLE_ENABLED=false); statements per successful login %.1f with, %.1f without; per failed login %d with, %d without (goal: at most one more: %s)",
		ms(loginTime), ms(loginOffTime), loginStmts, loginOffStmts, failedOn, failedOff, verdict(loginStmts <= loginOffStmts+1 && failedOn <= failedOff+1))
	b.Logf("throttle check: the login's first statement takes %.3f ms (median) with its three counters (100 000 in the table), %.3f ms without: the check costs %.3f ms (goal < 1 ms: %s)",
		ms(checkOn), ms(checkOff), ms(checkOn-checkOff), verdict(checkOn-checkOff < time.Millisecond))
	b.Logf("logout: %.0f/s at concurrency %d = %.2f x the refresh rate (goal >= 2: %s); p99 %.1f ms; %.1f statements/request; %.2f ms CPU/request in this process",
		logoutRate, concurrency, logoutRate/refreshRate, verdict(logoutRate >= 2*refreshRate), ms(quantile.Of(logoutLat, 0.99)), logoutStmts, ms(logout.cpu))
	if load1, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average during the run: %s (figures are only meaningful on an otherwise idle machine)", strings.TrimSpace(string(load1)))
	}
}

// timeEach returns the mean time of n calls of f.
func timeEach(n int, f func()) time.Duration {
	f() // warm up
	start := time.Now()
	for range n {
		f()
	}
	return time.Since(start) / time.Duration(n)
}

// alternate calls f and g in turn n times each, so both see the same load,
// and returns the median time of each.
func alternate(n int, f, g func()) (time.Duration, time.Duration) {
	var tf, tg []time.Duration
	for range n {
		t0 := time.Now()
		f()
		t1 := time.Now()
		g()
		tf, tg = append(tf, t1.Sub(t0)), append(tg, time.Since(t1))
	}
	return quantile.Of(tf, 0.5), quantile.Of(tg, 0.5)
}

// BenchmarkMe is a Bearer request end to end at concurrency 16: access token
// verification and the session check in the database.
func BenchmarkMe(b *testing.B) {
	is := benchIssuer(b)
	b.StopTimer()
	access := make([]string, concurrency)
	for i := range access {
		access[i] = is.Login(b, "alice", password).Access
	}
	client, url := is.Server.Client(), is.Server.URL+"/api/auth/me/"
	l := measure(b, is, b.N, func(w int) error {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+access[w])
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("me: %d", resp.StatusCode)
		}
		return nil
	})
	b.ReportMetric(ms(quantile.Of(l.latencies, 0.99)), "p99-ms")
	b.ReportMetric(l.stmts, "stmts/op")
}

// BenchmarkLoginUnknownVsWrongPassword times, over HTTP, a login of an
// unknown user and a login of a known user with a wrong password, in
// alternation so both see the same load, and reports each and their ratio:
// it should stay near 1 (the unknown user is checked against a dummy hash
// with the same parameters), or the answer time tells which users exist.
func BenchmarkLoginUnknownVsWrongPassword(b *testing.B) {
	is := benchIssuer(b)
	client := is.Server.Client()
	url := is.Server.URL + "/api/auth/login/"
	unknown, _ := json.Marshal(map[string]string{"username": "nobody-here", "password": "wrong password here"})
	wrong, _ := json.Marshal(map[string]string{"username": "alice", "password": "wrong password here"})
	var unknownTime, wrongTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		bodies := [][]byte{unknown, wrong}
		if i%2 == 1 {
			bodies = [][]byte{wrong, unknown}
		}
		for _, body := range bodies {
			start := time.Now()
			status, _, err := call(client, url, "", body)
			took := time.Since(start)
			if err != nil || status != http.StatusUnauthorized {
				b.Fatalf("login: %d %v, want 401", status, err)
			}
			if bytes.Equal(body, unknown) {
				unknownTime += took
			} else {
				wrongTime += took
			}
		}
	}
	b.ReportMetric(float64(unknownTime.Nanoseconds())/float64(b.N), "unknown-ns/op")
	b.ReportMetric(float64(wrongTime.Nanoseconds())/float64(b.N), "wrong-password-ns/op")
	b.ReportMetric(float64(unknownTime)/float64(wrongTime), "unknown/wrong")
}

// BenchmarkRegister is one registration end to end, one at a time.
func BenchmarkRegister(b *testing.B) {
	is := benchIssuer(b)
	client, url := is.Server.Client(), is.Server.URL+"/api/auth/register/"
	before, i := is.Statements.Count(), 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("patient%d", i)
		body, _ := json.Marshal(map[string]string{"username": name, "email": name + "@example.org", "password": password})
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("register: %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(is.Statements.Count()-before)/float64(b.N), "stmts/op")
}

// BenchmarkLoginFailed is one login with a wrong password end to end.
func BenchmarkLoginFailed(b *testing.B) {
	is := benchIssuer(b)
	body, _ := json.Marshal(map[string]string{"username": "alice", "password": "wrong password here"})
	client, url := is.Server.Client(), is.Server.URL+"/api/auth/login/"
	before := is.Statements.Count()
	for b.Loop() {
		if status, _, err := call(client, url, "", body); err != nil || status != http.StatusUnauthorized {
			b.Fatalf("login: %d %v", status, err)
		}
	}
	b.ReportMetric(float64(is.Statements.Count()-before)/float64(b.N), "stmts/op")
}
