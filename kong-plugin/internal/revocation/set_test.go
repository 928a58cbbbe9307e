package revocation

import "testing"

func TestSetMergesDeltasIntoTheBase(t *testing.T) {
	t.Parallel()
	idOf := func(n int) sessionID { return mustSID(t, sid(n)) }
	s := &set{base: map[sessionID]int64{idOf(0): 500, idOf(1): 50}}

	s = s.with(map[sessionID]int64{idOf(0): 400, idOf(2): 600, idOf(3): 90}, 100)
	if exp, _ := s.expiresAt(idOf(0)); exp != 500 {
		t.Errorf("an earlier expiry replaced a later one: %d", exp)
	}
	if _, ok := s.expiresAt(idOf(3)); ok {
		t.Error("an event already past dropBefore was added")
	}
	if got := s.len(); got != 3 { // 0, 1 (still in the base until compaction), 2
		t.Errorf("len = %d, want 3", got)
	}

	// Enough events to pass the merge threshold fold everything into the
	// base and drop what has expired.
	many := make(map[sessionID]int64)
	for n := 10; n < 10+mergeThreshold(len(s.base))+1; n++ {
		many[idOf(n)] = 1000
	}
	s = s.with(many, 100)
	if len(s.delta) != 0 {
		t.Errorf("delta holds %d after passing the threshold, want 0", len(s.delta))
	}
	if _, ok := s.expiresAt(idOf(1)); ok {
		t.Error("compaction kept an expired entry")
	}
	if want := len(many) + 2; s.len() != want {
		t.Errorf("len = %d, want %d", s.len(), want)
	}
	if !s.hasExpired(1000) || s.hasExpired(499) {
		t.Error("hasExpired disagrees with the entries")
	}
}
