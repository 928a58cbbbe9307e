package api

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/medinsights/auth/issuer/internal/feed"
)

// StreamConfig bounds the revocation stream (docs/revocation-stream.md).
type StreamConfig struct {
	// Heartbeat is the interval between heartbeats when the reader does not
	// ask for one (?heartbeat=SECONDS, 1 to 30; default 5 s).
	Heartbeat time.Duration
	// Lifetime is the longest a stream lasts before the issuer ends it
	// (default 5 min), less a random fifth, so gateways spread across the
	// replicas again after a rollout and do not reconnect together.
	Lifetime time.Duration
	// WriteTimeout is the longest one write to a stream may block (default
	// 10 s): a reader slower than that is cut, never buffered for.
	WriteTimeout time.Duration
	// MaxStreams bounds the streams this process serves at once (default
	// 10,000: one credential serves every gateway, so this is the bound per
	// credential); MaxPerAddress bounds those from one client address
	// (default 64). Past either, the stream is refused with 429 and
	// Retry-After.
	MaxStreams    int
	MaxPerAddress int
}

// The stream's defaults.
const (
	StreamHeartbeatDefault     = 5 * time.Second
	StreamLifetimeDefault      = 5 * time.Minute
	StreamWriteTimeoutDefault  = 10 * time.Second
	StreamMaxDefault           = 10_000
	StreamMaxPerAddressDefault = 64
	streamHeartbeatMax         = 30 * time.Second
	streamRetryAfterSecs       = 5
)

func (c StreamConfig) withDefaults() StreamConfig {
	c.Heartbeat = cmp.Or(c.Heartbeat, StreamHeartbeatDefault)
	c.Lifetime = cmp.Or(c.Lifetime, StreamLifetimeDefault)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, StreamWriteTimeoutDefault)
	c.MaxStreams = cmp.Or(c.MaxStreams, StreamMaxDefault)
	c.MaxPerAddress = cmp.Or(c.MaxPerAddress, StreamMaxPerAddressDefault)
	return c
}

func errTooManyStreams() *Problem {
	p := newProblem(http.StatusTooManyRequests, "too_many_streams", "Too many revocation streams are open; retry shortly.")
	p.retryAfter = streamRetryAfterSecs
	return p
}

// streamCounter counts the open streams, in all and by client address.
type streamCounter struct {
	mu         sync.Mutex
	total      int
	perAddress map[string]int
}

// acquire counts a stream from addr in, or reports false past a bound.
func (c *streamCounter) acquire(addr string, sc StreamConfig) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= sc.MaxStreams || c.perAddress[addr] >= sc.MaxPerAddress {
		return false
	}
	c.total++
	c.perAddress[addr]++
	return true
}

func (c *streamCounter) release(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.perAddress[addr]--; c.perAddress[addr] == 0 {
		delete(c.perAddress, addr)
	}
}

// serveStream serves GET /api/auth/revocations/stream?after=CURSOR&heartbeat=SECONDS as
// Server-Sent Events (docs/revocation-stream.md): a snapshot or the events
// after the cursor, then each event as it commits, with heartbeats. The
// Last-Event-ID header, when present (a reconnecting SSE client), is the
// cursor, and wins over after. The stream ends at its lifetime, at
// shutdown, and when the reader is too slow.
func (h *RevocationFeed) serveStream(w http.ResponseWriter, r *http.Request) error {
	if !h.authorized(r.Header.Get("Authorization")) {
		return errFeedCredential()
	}
	after, seconds, err := feedQuery(r, "heartbeat")
	if err != nil {
		return err
	}
	heartbeat := cmp.Or(seconds["heartbeat"], h.stream.Heartbeat)
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if after, err = parseCursor(v); err != nil {
			p := newProblem(http.StatusBadRequest, "validation_failed", "The Last-Event-ID header is not a cursor.")
			p.Errors = map[string][]string{"Last-Event-ID": {err.Error()}}
			return p
		}
	}
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	if !h.streams.acquire(addr, h.stream) {
		return errTooManyStreams()
	}
	defer h.streams.release(addr)

	sw := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: h.stream.WriteTimeout}
	// The server's read deadline would cancel the request's context once it
	// passes (the connection's background read fails): a stream reads no
	// body, so it has none.
	_ = sw.rc.SetReadDeadline(time.Time{})
	lifetime := h.stream.Lifetime - rand.N(h.stream.Lifetime/5+1)
	err = h.feed.Follow(r.Context(), after, feed.StreamOptions{Heartbeat: heartbeat, Lifetime: lifetime}, sw)
	switch {
	case err == nil || r.Context().Err() != nil:
		return nil
	case !sw.started:
		return err // nothing sent yet: answered as a problem (ErrBusy: 503 and Retry-After)
	case errors.Is(err, feed.ErrSlowReader) || sw.failed:
		h.errs.log.InfoContext(r.Context(), "revocation stream cut: the reader is too slow", "request_id", requestID(r.Context()), "remote", addr, "error", err.Error())
		return nil
	}
	h.errs.log.WarnContext(r.Context(), "revocation stream ended", "request_id", requestID(r.Context()), "error", err.Error())
	return nil
}

// sseWriter writes the stream's messages (feed.StreamWriter), each with a
// deadline: a write that blocks longer than timeout fails and ends the
// stream, so a slow reader costs at most one message of buffer.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	started bool
	failed  bool // a write failed: the reader is too slow or gone
	buf     []byte
}

// Page writes a snapshot or events as
//
//	id: 42
//	event: snapshot (or events)
//	data: {"cursor":42,"snapshot":true,"more":false,"events":[...]}
//
// a data line holding the long poll's answer; the id is the cursor.
func (s *sseWriter) Page(p feed.Page) error {
	kind := "events"
	if p.Snapshot {
		kind = "snapshot"
	}
	return s.write(p.Encoded("sse", func(p feed.Page) []byte {
		b := appendSSEHead(nil, p.Cursor, kind)
		return append(appendPage(b, p), "\n\n"...)
	}))
}

// Heartbeat writes
//
//	id: 42
//	event: heartbeat
//	data: {"cursor":42,"lag_ms":180}
//
// lag_ms: every revocation committed more than that long before the
// heartbeat was sent is at or below the cursor.
func (s *sseWriter) Heartbeat(cursor int64, lag time.Duration) error {
	b := appendSSEHead(s.buf[:0], cursor, "heartbeat")
	b = append(b, `{"cursor":`...)
	b = strconv.AppendInt(b, cursor, 10)
	b = append(b, `,"lag_ms":`...)
	b = strconv.AppendInt(b, max(lag.Milliseconds(), 0), 10)
	b = append(b, "}\n\n"...)
	s.buf = b
	return s.write(b)
}

func appendSSEHead(b []byte, cursor int64, kind string) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, cursor, 10)
	b = append(b, "\nevent: "...)
	b = append(b, kind...)
	return append(b, "\ndata: "...)
}

func (s *sseWriter) write(b []byte) error {
	if !s.started {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // a buffering proxy would hold the events back
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.w.Write(b); err != nil {
		s.failed = true
		return err
	}
	if err := s.rc.Flush(); err != nil {
		s.failed = true
		return err
	}
	return nil
}
