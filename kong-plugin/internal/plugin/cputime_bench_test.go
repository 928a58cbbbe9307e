//go:build linux

package plugin

import (
	"testing"
	"time"

	"github.com/medinsights/auth/internal/cputime"
)

// BenchmarkDecideWithMetricsCPU is BenchmarkDecideWithMetrics in thread CPU
// time, in alternating blocks of cached decisions as Access made them before
// metrics (one time.Now, then decide) and as it makes them now (the same,
// then time.Since and the recording): metrics-cpu-ns/op is what metrics add
// to a cached decision (goal: at most 1 µs). decide is given the fixed test
// time, so that the test token stays valid.
func BenchmarkDecideWithMetricsCPU(b *testing.B) {
	tok := signToken(b, nil)
	s := testSettings(b, at(epoch), nil)
	r := request{headers: map[string][]string{"host": {"api.test"}, "authorization": {"Bearer " + tok}}}
	if o := decide(s, r, epoch); o.status != 0 {
		b.Fatal(o.reason)
	}
	plain, measured := cputime.Alternate(b, 50, func() {
		_ = time.Now()
		if o := decide(s, r, epoch); o.status != 0 {
			b.Fatal(o.reason)
		}
	}, func() {
		now := time.Now()
		o := decide(s, r, epoch)
		metrics.decided(&o, time.Since(now))
	})
	b.ReportMetric(plain, "decide-cpu-ns/op")
	b.ReportMetric(measured, "decide+metrics-cpu-ns/op")
	b.ReportMetric(measured-plain, "metrics-cpu-ns/op")
}
