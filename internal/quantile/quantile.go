// Package quantile picks quantiles of measured durations, for the
// benchmarks and load tests that report latencies.
package quantile

import (
	"slices"
	"time"
)

// Of returns the q quantile (0 to 1) of ds by nearest rank: the value at
// index ⌊q·n⌋ of ds sorted, the largest for q = 1; zero when ds is empty.
// ds is left as it is.
func Of(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, max(0, int(q*float64(len(s)))))]
}
