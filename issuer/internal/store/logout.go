package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store/dbsqlc"
)

// Logout asks to revoke the session of RefreshHash, if it is a live session
// of UserID and CallerSessionID is one too.
type Logout struct {
	UserID          uuid.UUID
	CallerSessionID uuid.UUID
	RefreshHash     []byte
	Reason          string
	At              time.Time
	EventExpiresAt  time.Time
}

// LogoutResult tells whether the caller's session was live and whether the
// session was revoked by this logout.
type LogoutResult struct {
	CallerLive bool
	Revoked    bool
}

// maxLogoutBatch bounds the logouts of one statement.
const maxLogoutBatch = 256

// logoutBatcher lets concurrent logouts share statements. Every revocation
// takes its turn at the single revocation_feed row, whose lock is held to
// the commit; one logout per turn makes them queue at PostgreSQL one by one.
// Instead, the first logout to arrive runs at once and leads: the ones that
// arrive while its statement runs wait here, and the first of them then
// runs all of them in one statement (SessionRevokeBatch), and so on. No
// goroutine is started; an idle issuer runs each logout alone, at once.
type logoutBatcher struct {
	mu    sync.Mutex
	queue []*logoutCall
	busy  bool // a leader is running a batch
}

type logoutCall struct {
	logout Logout
	result LogoutResult
	err    error
	done   chan struct{} // closed when result or err is set
	lead   chan struct{} // closed when this call is to run the next batch
}

// RevokeForLogout runs l, batched with the logouts running concurrently in
// this process: one transaction per batch, one event per revoked session.
func (s *Store) RevokeForLogout(ctx context.Context, l Logout) (LogoutResult, error) {
	c := &logoutCall{logout: l, done: make(chan struct{}), lead: make(chan struct{})}
	b := &s.logouts
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if b.busy {
		b.mu.Unlock()
		select {
		case <-c.done:
			return c.result, c.err
		case <-c.lead:
		}
	} else {
		b.busy = true
		b.mu.Unlock()
	}
	for {
		// Lead: run what is queued (this call included, the first time).
		b.mu.Lock()
		n := min(len(b.queue), maxLogoutBatch)
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		s.runLogouts(ctx, batch)

		b.mu.Lock()
		switch {
		case len(b.queue) == 0:
			b.busy = false
		case isDone(c):
			close(b.queue[0].lead) // hand over: the next waiter leads
		default:
			b.mu.Unlock()
			continue // this call was beyond the batch bound: run the next one
		}
		b.mu.Unlock()
		<-c.done
		return c.result, c.err
	}
}

func isDone(c *logoutCall) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// runLogouts runs one batch and settles every call in it. The statement
// runs to its end even if the leader's client goes away: the others wait
// on it.
func (s *Store) runLogouts(ctx context.Context, batch []*logoutCall) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	defer func() {
		// Whatever happens, every call is settled: a call left waiting
		// would hold up every logout after it.
		if r := recover(); r != nil {
			for _, c := range batch {
				if !isDone(c) {
					c.err = fmt.Errorf("revoke for logout: panic: %v", r)
					close(c.done)
				}
			}
		}
	}()
	first := batch[0].logout
	p := dbsqlc.SessionRevokeBatchParams{Now: first.At, Reason: first.Reason, EventExpiresAt: first.EventExpiresAt}
	for _, c := range batch {
		p.UserIds = append(p.UserIds, c.logout.UserID)
		p.CallerSessionIds = append(p.CallerSessionIds, c.logout.CallerSessionID)
		p.RefreshHashes = append(p.RefreshHashes, c.logout.RefreshHash)
	}
	rows, err := s.Q.q.SessionRevokeBatch(ctx, s.Q.db, p)
	if err == nil && len(rows) != len(batch) {
		err = fmt.Errorf("revoke for logout: %d rows for %d logouts", len(rows), len(batch))
	}
	for i, c := range batch {
		if err != nil {
			c.err = interpretError(err)
		} else {
			c.result = LogoutResult{CallerLive: rows[i].CallerLive, Revoked: rows[i].Revoked}
		}
		close(c.done)
	}
}
