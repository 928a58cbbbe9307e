package revocation

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/medinsights/auth/kong-plugin/internal/sleep"
)

// The long poll (GET .../revocations/?after=CURSOR&wait=SECONDS): the
// Syncer's way when the issuer has no stream or the bound is too short for
// one.

// longPoll sends one request and applies its answer.
func (s *Syncer) longPoll(ctx context.Context) error {
	after := s.cursor
	wait := s.waitSeconds.Load()
	switch {
	case !s.synced:
		after, wait = 0, 0 // a snapshot, answered at once
	case !s.confirmed:
		wait = 0 // after a snapshot or a full page: the read that makes the set fresh (see LastSync), answered at once
	}
	// Once synced, even a cursor of 0 (a feed that never had an event) is
	// long-polled: the feed holds an empty snapshot until something happens.
	held := s.synced
	started := time.Now()
	p, err := s.fetch(ctx, after, wait)
	if err != nil {
		return err
	}
	if err := s.apply(p, after, started, held); err != nil {
		return err
	}
	s.applied(p.list, time.Now())
	shortPoll := s.waitSeconds.Load() == 0
	if p.count == 0 && (shortPoll || wait > 0 && time.Since(started) < time.Duration(wait)*time.Second/4) {
		sleep.For(ctx, emptyPause)
	}
	return nil
}

// fetch asks the feed for what follows after, holding up to wait seconds.
func (s *Syncer) fetch(ctx context.Context, after, wait int64) (page, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(wait)*time.Second+requestSlack)
	defer cancel()

	u := *s.url
	q := u.Query()
	q.Set("after", strconv.FormatInt(after, 10))
	q.Set("wait", strconv.FormatInt(wait, 10))
	u.RawQuery = q.Encode()
	resp, err := s.do(ctx, u.String(), "application/json")
	if err != nil {
		return page{}, err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
		_ = resp.Body.Close()
	}()
	p, err := decodePage(io.LimitReader(resp.Body, maxPageBytes), s.onApplied != nil)
	if err != nil {
		return page{}, fmt.Errorf("read feed answer: %w", err)
	}
	return p, nil
}
