package revocation

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/medinsights/auth/e2e/issuerproc"
)

// snapshotJSON is a feed snapshot of n live revocations, as the issuer sends it.
func snapshotJSON(n int) []byte {
	exp := time.Now().Add(15 * time.Minute).Unix()
	var b bytes.Buffer
	b.Grow(n * 90)
	fmt.Fprintf(&b, `{"cursor":%d,"snapshot":true,"events":[`, n)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"seq":`)
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(`,"sid":"`)
		b.WriteString(sid(i))
		b.WriteString(`","expires_at":`)
		b.WriteString(strconv.FormatInt(exp, 10))
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkSnapshotLoad100k decodes and installs a snapshot of 100,000 live
// revocations (goal: under 1 s, under 32 MiB). heap-MiB is what the loaded
// set keeps; alloc-MiB/op is everything the load allocated on the way.
func BenchmarkSnapshotLoad100k(b *testing.B) {
	const n = 100_000
	body := snapshotJSON(n)
	b.SetBytes(int64(len(body)))
	s := &Syncer{log: discardLog}
	s.state.Store(emptySet)
	var before, after runtime.MemStats
	var retained uint64
	for b.Loop() {
		s.state.Store(emptySet)
		runtime.GC()
		runtime.ReadMemStats(&before)
		p, err := decodePage(bytes.NewReader(body), false)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.apply(p, 0, time.Now(), false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = after.HeapAlloc - before.HeapAlloc
		if s.Len() != n {
			b.Fatalf("loaded %d, want %d", s.Len(), n)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(retained)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "alloc-MiB/op")
}

// benchSyncer holds 100,000 revocations in its base and 500 in its delta.
func benchSyncer(b *testing.B) *Syncer {
	b.Helper()
	p, err := decodePage(bytes.NewReader(snapshotJSON(100_000)), false)
	if err != nil {
		b.Fatal(err)
	}
	s := &Syncer{log: discardLog}
	s.state.Store(&set{base: p.events})
	delta := make(map[sessionID]int64)
	for i := range 500 {
		id, _ := parseSessionID(sid(200_000 + i))
		delta[id] = time.Now().Add(time.Hour).Unix()
	}
	s.state.Store(s.state.Load().with(delta, 0))
	return s
}

// BenchmarkRevoked is the cost the check adds to a request: parse the sid,
// load the set, look it up. revoked is a hit in the base, live a miss.
func BenchmarkRevoked(b *testing.B) {
	s := benchSyncer(b)
	now := time.Now()
	for _, bc := range []struct {
		name string
		sid  string
		want bool
	}{
		{name: "live", sid: "0f8fad5b-d9cb-469f-a165-70867728950e", want: false},
		{name: "revoked", sid: sid(4242), want: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if s.Revoked(bc.sid, now) != bc.want {
					b.Fatal("wrong answer")
				}
			}
		})
		b.Run(bc.name+"-parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if s.Revoked(bc.sid, now) != bc.want {
						b.Error("wrong answer")
						return
					}
				}
			})
		})
	}
}

// BenchmarkCheck is what the plugin adds to each request: the staleness
// test (LastSync) and the lookup (Revoked), against 100,500 revocations.
func BenchmarkCheck(b *testing.B) {
	s := benchSyncer(b)
	s.lastSync.Store(time.Now().UnixNano())
	s.running.Store(true) // as if following its feed
	const bound = 30 * time.Second
	target := "0f8fad5b-d9cb-469f-a165-70867728950e"
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			if last := s.LastSync(); last.IsZero() || now.Sub(last) > bound || s.Revoked(target, now) {
				b.Error("wrong answer")
				return
			}
		}
	})
}

// BenchmarkRevokedRWMutex is the alternative design the syncer does not use
// (one map behind a sync.RWMutex), measured beside it under the same load
// while a writer adds an event every millisecond.
func BenchmarkRevokedRWMutex(b *testing.B) {
	s := benchSyncer(b)
	m := make(map[sessionID]int64)
	for _, level := range []map[sessionID]int64{s.state.Load().base, s.state.Load().delta} {
		for id, exp := range level {
			m[id] = exp
		}
	}
	var mu sync.RWMutex
	revoked := func(sid string, now time.Time) bool {
		id, ok := parseSessionID(sid)
		if !ok {
			return false
		}
		mu.RLock()
		exp, ok := m[id]
		mu.RUnlock()
		return ok && now.Unix() < exp+expiryGrace
	}
	for _, bc := range []struct {
		name  string
		check func(string, time.Time) bool
		add   func(n int)
	}{
		{name: "atomic-set", check: s.Revoked, add: func(n int) {
			id, _ := parseSessionID(sid(300_000 + n))
			s.state.Store(s.state.Load().with(map[sessionID]int64{id: time.Now().Add(time.Hour).Unix()}, 0))
		}},
		{name: "rwmutex-map", check: revoked, add: func(n int) {
			id, _ := parseSessionID(sid(300_000 + n))
			mu.Lock()
			m[id] = time.Now().Add(time.Hour).Unix()
			mu.Unlock()
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					case <-tick.C:
						bc.add(n)
					}
				}
			}()
			now := time.Now()
			target := sid(4242)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !bc.check(target, now) {
						b.Error("wrong answer")
						return
					}
				}
			})
			close(stop)
			<-done
		})
	}
}

// BenchmarkSnapshotFromIssuer100k is the whole first sync of a gateway that
// starts while 100,000 revocations are live: the real issuer reads them from
// PostgreSQL and serves them, the Syncer decodes and installs them. Goal:
// loaded in under 1 s, in under 32 MiB. heap-MiB is what the loaded set
// keeps; load-ms is from the Syncer's start to its first LastSync.
func BenchmarkSnapshotFromIssuer100k(b *testing.B) {
	const n = 100_000
	db := issuerproc.NewDatabase(b)
	db.RevokeMany(b, n, time.Now().Add(time.Hour))
	is := db.Start(b)

	var loads []time.Duration
	var retained uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, err := New(Options{URL: is.FeedURL(), Token: db.FeedToken, Logger: discardLog})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		s.Start()
		for s.LastSync().IsZero() {
			if time.Since(start) > time.Minute {
				b.Fatal("no snapshot within a minute")
			}
			time.Sleep(time.Millisecond)
		}
		loads = append(loads, time.Since(start))
		b.StopTimer()
		if s.Len() != n {
			b.Fatalf("loaded %d sessions, want %d", s.Len(), n)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = after.HeapAlloc - before.HeapAlloc
		s.Close()
		b.StartTimer()
	}
	slices.Sort(loads)
	b.ReportMetric(float64(loads[len(loads)-1])/float64(time.Millisecond), "load-ms")
	b.ReportMetric(float64(retained)/(1<<20), "heap-MiB")
}
