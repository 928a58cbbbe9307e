package store

import "time"

// PoolStats is a snapshot of the connection pool, for the metrics endpoint.
// It is a plain struct so that no other package needs pgxpool's types.
type PoolStats struct {
	MaxConns          int32 // the pool's ceiling
	TotalConns        int32 // open: acquired, idle and being opened
	AcquiredConns     int32 // in use by a statement or a transaction
	IdleConns         int32
	ConstructingConns int32 // being opened

	Acquires         int64         // connections handed out since the pool opened
	EmptyAcquires    int64         // of those, the ones that had to wait for a connection
	CanceledAcquires int64         // waits that ended with the caller's context
	AcquireWait      time.Duration // total time spent acquiring
	NewConns         int64         // connections opened since the pool opened
}

// PoolStats returns the pool's counters now.
func (s *Store) PoolStats() PoolStats {
	st := s.pool.Stat()
	return PoolStats{
		MaxConns:          st.MaxConns(),
		TotalConns:        st.TotalConns(),
		AcquiredConns:     st.AcquiredConns(),
		IdleConns:         st.IdleConns(),
		ConstructingConns: st.ConstructingConns(),
		Acquires:          st.AcquireCount(),
		EmptyAcquires:     st.EmptyAcquireCount(),
		CanceledAcquires:  st.CanceledAcquireCount(),
		AcquireWait:       st.AcquireDuration(),
		NewConns:          st.NewConnsCount(),
	}
}
