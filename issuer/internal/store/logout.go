package store

import (
	"context"
	"fmt"
	"slices"
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
	EventMargin     time.Duration // see Revocation
	Client          Client
	// AuditEvent names the audit row written when the session is revoked.
	AuditEvent string
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
	// queuedFunc, set by tests only, is called with the queue's length
	// when a logout queues behind a running batch.
	queuedFunc func(queued int)
	// batchFunc, set by tests only, is called with a batch's size when its
	// leader is about to run it: every logout from then on queues.
	batchFunc func(size int)
}

type logoutCall struct {
	logout Logout
	result LogoutResult
	err    error
	done   chan struct{} // closed when result or err is set
	lead   chan struct{} // closed when this call is to run the next batch
}

// RevokeForLogout runs l, batched with the logouts running concurrently in
// this process: one transaction per batch, one event per revoked session,
// each logout with its own time, reason and event expiry. A waiting call
// whose ctx ends returns ctx's error at once: when its logout has not yet
// been taken into a batch it never runs; when it has, it runs to the end
// without it.
func (s *Store) RevokeForLogout(ctx context.Context, l Logout) (LogoutResult, error) {
	c := &logoutCall{logout: l, done: make(chan struct{}), lead: make(chan struct{})}
	b := &s.logouts
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if b.busy {
		if b.queuedFunc != nil {
			b.queuedFunc(len(b.queue))
		}
		b.mu.Unlock()
		select {
		case <-c.done:
			return c.result, c.err
		case <-c.lead:
		case <-ctx.Done():
			b.leave(c)
			return LogoutResult{}, fmt.Errorf("revoke for logout: %w", ctx.Err())
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
		if b.batchFunc != nil {
			b.batchFunc(len(batch))
		}
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

// leave takes a call that gave up out of the queue. A call handed the lead
// at that moment passes it on to the next one, or ends the busy spell.
func (b *logoutBatcher) leave(c *logoutCall) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.Index(b.queue, c)
	if i < 0 {
		return // already in a batch that runs without it
	}
	b.queue = slices.Delete(b.queue, i, i+1)
	if !isClosed(c.lead) {
		return
	}
	if len(b.queue) > 0 {
		close(b.queue[0].lead)
	} else {
		b.busy = false
	}
}

func isDone(c *logoutCall) bool { return isClosed(c.done) }

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
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
	results, err := s.revokeBatch(ctx, batch)
	if err != nil && len(batch) > 1 {
		// One bad item fails the whole statement: run each alone, so it
		// fails only its own logout.
		for _, c := range batch {
			r, err := s.revokeBatch(ctx, []*logoutCall{c})
			if err == nil {
				c.result = r[0]
			} else {
				c.err = err
			}
			close(c.done)
		}
		return
	}
	for i, c := range batch {
		if err != nil {
			c.err = err
		} else {
			c.result = results[i]
		}
		close(c.done)
	}
}

// revokeBatch runs the logouts of batch in one statement.
func (s *Store) revokeBatch(ctx context.Context, batch []*logoutCall) ([]LogoutResult, error) {
	var p dbsqlc.SessionRevokeBatchParams
	for _, c := range batch {
		l := c.logout
		p.UserIds = append(p.UserIds, l.UserID)
		p.CallerSessionIds = append(p.CallerSessionIds, l.CallerSessionID)
		p.RefreshHashes = append(p.RefreshHashes, l.RefreshHash)
		p.Nows = append(p.Nows, l.At)
		p.Reasons = append(p.Reasons, l.Reason)
		p.EventExpiresAts = append(p.EventExpiresAts, l.EventExpiresAt)
		p.EventMargins = append(p.EventMargins, interval(l.EventMargin))
		p.ClientAddrs = append(p.ClientAddrs, l.Client.Addr)
		p.UserAgents = append(p.UserAgents, l.Client.UserAgent)
		p.AuditEvents = append(p.AuditEvents, l.AuditEvent)
	}
	rows, err := s.Q.q.SessionRevokeBatch(ctx, s.Q.db, p)
	if err != nil {
		return nil, interpretError(err)
	}
	if len(rows) != len(batch) {
		return nil, fmt.Errorf("revoke for logout: %d rows for %d logouts", len(rows), len(batch))
	}
	results := make([]LogoutResult, len(rows))
	for i, r := range rows {
		results[i] = LogoutResult{CallerLive: r.CallerLive, Revoked: r.Revoked}
	}
	return results, nil
}
