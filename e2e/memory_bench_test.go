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
// against the real bin/issuer in one run on one database, with the settings
// of before (PASSWORD_HASH_CONCURRENCY = 2 x GOMAXPROCS, argon2id m=19 MiB
// t=2, Go's default collector, no memory limit) and with today's defaults
// (concurrency GOMAXPROCS, m=12 MiB t=3, GOGC 50 and a memory limit): one
// process each, loaded in turn, in alternating rounds, so every setting
// sees the same share of a busy machine. Each round, 16 clients (the
// concurrency of the API benchmarks) log in as fast as the process
// answers, each as a user of its own registered with that setting's
// argon2id parameters (a login under other parameters would rehash). The
// benchmark reports, per setting, the logins per second, the issuer's CPU
// time per login (steadier than wall time on a shared machine), the
// refusals (503 overloaded: a request waited PASSWORD_HASH_WAIT for a
// hashing slot) and the peak resident memory (VmHWM of /proc/PID/status,
// the whole process from its start). Two more processes take the levers
// apart: today's concurrency and argon2id profile with Go's default
// collector, and today's collector settings with the old profile.
// Goal: peak under 100 MiB with the defaults, and no more than 5% fewer
// logins per second. LOGIN_LOAD_SECONDS sets each setting's total load
// time (default 40, in rounds of 5 s).
func BenchmarkLoginMemory(b *testing.B) {
	if b.N > 1 {
		b.Skip("runs once")
	}
	const clients, round = 16, 5 * time.Second
	total := 40 * time.Second
	if s := os.Getenv("LOGIN_LOAD_SECONDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			total = time.Duration(n) * time.Second
		}
	}
	db := issuerproc.NewDatabase(b)
	type setting struct {
		name        string
		env         []string
		is          *issuerproc.Issuer
		users       []string
		ok, refused int64
		wall, cpu   time.Duration
	}
	oldProfile := []string{"PASSWORD_HASH_MEMORY=19456", "PASSWORD_HASH_TIME=2"}
	settings := []*setting{
		{name: "before", env: append([]string{"PASSWORD_HASH_CONCURRENCY=" + strconv.Itoa(2*runtime.GOMAXPROCS(0)), "GOGC=100", "GOMEMLIMIT=off"}, oldProfile...)},
		{name: "concurrency-and-profile", env: []string{"GOGC=100", "GOMEMLIMIT=off"}},
		{name: "collector-only", env: oldProfile},
		{name: "after"},
	}
	for _, s := range settings {
		// Each setting's users are registered through a process of its own
		// with the same argon2id parameters and without throttling: 16
		// registrations from one address are more than an hour allows. The
		// loaded processes keep the default throttling.
		registrar := db.Start(b, append([]string{"THROTTLE_ENABLED=false"}, s.env...)...)
		for range clients {
			s.users = append(s.users, registrar.NewUser(b))
		}
		registrar.Stop(b)
		s.is = db.Start(b, s.env...)
	}
	for elapsed := time.Duration(0); elapsed < total; elapsed += round {
		for _, s := range settings {
			cpu := processCPU(b, s.is.PID())
			start := time.Now()
			ok, refused := loginLoad(s.is, s.users, round)
			s.wall += time.Since(start)
			s.cpu += processCPU(b, s.is.PID()) - cpu
			s.ok, s.refused = s.ok+ok, s.refused+refused
		}
	}
	b.ReportMetric(0, "ns/op")
	rate := map[string]float64{}
	for _, s := range settings {
		peak := vmHWM(b, s.is.PID())
		rate[s.name] = float64(s.ok) / s.wall.Seconds()
		cpuPerLogin := float64(s.cpu.Milliseconds()) / float64(max(s.ok, 1))
		b.Logf("%s (%s): %.1f logins/s, %.1f ms issuer CPU per login, %d refused (503), peak RSS %.1f MiB",
			s.name, strings.Join(append(s.env, "defaults otherwise"), " "), rate[s.name], cpuPerLogin, s.refused, peak)
		b.ReportMetric(rate[s.name], s.name+"-logins/s")
		b.ReportMetric(cpuPerLogin, s.name+"-cpu-ms/login")
		b.ReportMetric(peak, s.name+"-peak-RSS-MiB")
	}
	b.ReportMetric(100*(rate["after"]/rate["before"]-1), "throughput-change-%")
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average: %s (the settings share it; the figures compare, they are not absolute)", strings.TrimSpace(string(load)))
	}
}

// loginLoad logs users in from one client each, as fast as the issuer
// answers, for d, and counts the logins and the refusals.
func loginLoad(is *issuerproc.Issuer, users []string, d time.Duration) (ok, refused int64) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(users)}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var nOK, nRefused atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for _, u := range users {
		body, _ := json.Marshal(map[string]string{"username": u, "password": issuerproc.Password})
		wg.Go(func() {
			for time.Now().Before(deadline) {
				resp, err := client.Post(is.URL+"/api/auth/login/", "application/json", bytes.NewReader(body))
				if err != nil {
					nRefused.Add(1)
					continue
				}
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					nOK.Add(1)
				} else {
					nRefused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return nOK.Load(), nRefused.Load()
}

// processCPU is a process's user and system CPU time (/proc/PID/stat).
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("read the issuer's stat: %v", err)
	}
	// The fields after the command name, which ends with the last ')':
	// utime and stime are the 12th and 13th, in clock ticks (100 a second).
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
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
