package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medinsights/auth/e2e/issuerproc"
)

// BenchmarkLoginMemory is the login load of issue 9's memory goal, run
// against the real bin/issuer twice in one run on one database: first with
// the settings of before (PASSWORD_HASH_CONCURRENCY = 2 x GOMAXPROCS, no Go
// memory limit), then with today's defaults. Each process serves 16
// clients logging in as fast as they can for loginLoadTime, and the
// benchmark reports its logins per second and its peak resident memory
// (VmHWM of /proc/PID/status, the whole process from its start).
// Goal: peak under 100 MiB with the defaults, at no more than 5% fewer
// logins per second.
func BenchmarkLoginMemory(b *testing.B) {
	if b.N > 1 {
		b.Skip("runs once")
	}
	const clients = 16
	loginLoadTime := 20 * time.Second
	if s := os.Getenv("LOGIN_LOAD_SECONDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			loginLoadTime = time.Duration(n) * time.Second
		}
	}
	db := issuerproc.NewDatabase(b)
	before := []string{"PASSWORD_HASH_CONCURRENCY=" + strconv.Itoa(2*runtime.GOMAXPROCS(0)), "GOMEMLIMIT=off"}
	var users []string
	report := map[string][2]float64{}
	for _, run := range []struct {
		name string
		env  []string
	}{{"before", before}, {"after", nil}} {
		is := db.Start(b, run.env...)
		if users == nil {
			for range clients {
				users = append(users, is.NewUser(b))
			}
		}
		rate := loginLoad(b, is, users, loginLoadTime)
		peak := vmHWM(b, is.PID())
		is.Stop(b)
		report[run.name] = [2]float64{rate, peak}
		b.Logf("%s (%s): %.1f logins/s, peak RSS %.1f MiB", run.name, strings.Join(append(run.env, "defaults otherwise"), " "), rate, peak)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(report["before"][0], "before-logins/s")
	b.ReportMetric(report["before"][1], "before-peak-RSS-MiB")
	b.ReportMetric(report["after"][0], "after-logins/s")
	b.ReportMetric(report["after"][1], "after-peak-RSS-MiB")
	b.ReportMetric(100*(report["after"][0]/report["before"][0]-1), "throughput-change-%")
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average: %s (the two runs share it; the figures compare, they are not absolute)", strings.TrimSpace(string(load)))
	}
}

// loginLoad logs users in from one client each, as fast as the issuer
// answers, for d, and returns the logins per second.
func loginLoad(b *testing.B, is *issuerproc.Issuer, users []string, d time.Duration) float64 {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(users)}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var ok, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for _, u := range users {
		body, _ := json.Marshal(map[string]string{"username": u, "password": issuerproc.Password})
		wg.Go(func() {
			for time.Now().Before(deadline) {
				resp, err := client.Post(is.URL+"/api/auth/login/", "application/json", bytes.NewReader(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Logf("%d logins failed (503 overloaded when a hashing slot stays busy over PASSWORD_HASH_WAIT)", n)
	}
	return float64(ok.Load()) / time.Since(start).Seconds()
}

// vmHWM is a process's peak resident set size in MiB.
func vmHWM(b *testing.B, pid int) float64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("read the issuer's status: %v", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in the issuer's status")
	return 0
}
