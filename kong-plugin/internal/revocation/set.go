package revocation

import "maps"

// set is one published state of the revoked sessions: every session id with
// the Unix time (seconds) after which it no longer matters. A set is never
// modified once published, so any number of requests read it through an
// atomic pointer with no lock and no write to shared memory.
//
// It has two levels so a single new event does not copy 100,000 entries: an
// immutable base (from the last snapshot or compaction) and a small delta
// that is copied on each update. When the delta grows past a share of the
// base, the two are merged into a new base, which keeps the cost per event
// amortised constant.
type set struct {
	base  map[sessionID]int64
	delta map[sessionID]int64
}

// emptySet is the state before the first snapshot.
var emptySet = &set{}

// expiresAt reports when id stops being revoked, or false when it is not in the set.
func (s *set) expiresAt(id sessionID) (int64, bool) {
	if exp, ok := s.delta[id]; ok {
		return exp, true
	}
	exp, ok := s.base[id]
	return exp, ok
}

// len counts the distinct ids (an id in both levels counts once).
func (s *set) len() int {
	n := len(s.base)
	for id := range s.delta {
		if _, ok := s.base[id]; !ok {
			n++
		}
	}
	return n
}

// with returns a new set holding s plus events, leaving out any entry whose
// expiry is at or before dropBefore. An id seen twice keeps its later expiry.
func (s *set) with(events map[sessionID]int64, dropBefore int64) *set {
	if len(events) == 0 {
		return s
	}
	delta := make(map[sessionID]int64, len(s.delta)+len(events))
	maps.Copy(delta, s.delta)
	for id, exp := range events {
		if exp <= dropBefore {
			continue
		}
		if old, ok := s.expiresAt(id); ok && old >= exp {
			continue
		}
		delta[id] = exp
	}
	next := &set{base: s.base, delta: delta}
	if len(delta) > mergeThreshold(len(s.base)) {
		return next.compact(dropBefore)
	}
	return next
}

// mergeThreshold is the delta size past which the delta is folded into the
// base: a fixed floor, so small sets never rebuild, and an eighth of the base,
// so copying the delta stays cheap beside rebuilding the base.
func mergeThreshold(baseLen int) int {
	return max(1024, baseLen/8)
}

// compact returns one map holding every entry of s still alive after dropBefore.
func (s *set) compact(dropBefore int64) *set {
	base := make(map[sessionID]int64, len(s.base)+len(s.delta))
	for _, level := range []map[sessionID]int64{s.base, s.delta} {
		for id, exp := range level {
			if exp > dropBefore && exp > base[id] {
				base[id] = exp
			}
		}
	}
	return &set{base: base}
}

// hasExpired reports whether any entry expires at or before dropBefore.
func (s *set) hasExpired(dropBefore int64) bool {
	for _, level := range []map[sessionID]int64{s.base, s.delta} {
		for _, exp := range level {
			if exp <= dropBefore {
				return true
			}
		}
	}
	return false
}
