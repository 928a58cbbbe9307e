package quantile_test

import (
	"testing"
	"time"

	"github.com/medinsights/auth/internal/quantile"
)

func TestOf(t *testing.T) {
	t.Parallel()
	// 1..100 ms, shuffled by a stride coprime with 100.
	var ds []time.Duration
	for i := range 100 {
		ds = append(ds, time.Duration((i*37)%100+1)*time.Millisecond)
	}
	first := ds[0]
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0, time.Millisecond}, {0.5, 51 * time.Millisecond}, {0.99, 100 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		if got := quantile.Of(ds, c.q); got != c.want {
			t.Errorf("q %v: %v, want %v", c.q, got, c.want)
		}
	}
	if ds[0] != first {
		t.Error("Of sorted its argument")
	}
	if got := quantile.Of(nil, 0.5); got != 0 {
		t.Errorf("empty: %v", got)
	}
}
