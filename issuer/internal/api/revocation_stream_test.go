package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medinsights/auth/issuer/internal/api"
	"github.com/medinsights/auth/issuer/internal/feed"
	"github.com/medinsights/auth/issuer/internal/feed/feedtest"
)

// setupStream serves the feed and its stream alone, with sc, on a database
// of the test's own; listen, when set, wraps the server's listener.
func setupStream(t *testing.T, sc api.StreamConfig, listen func(net.Listener) net.Listener) feedEnv {
	t.Helper()
	return setupFeedServer(t, sc, listen, feed.Hooks{})
}

// setupFeedServer serves the revocation feed and stream with sc, through
// listen when it is not nil, on a database of the test's own; hooks are the
// feed's.
func setupFeedServer(t *testing.T, sc api.StreamConfig, listen func(net.Listener) net.Listener, hooks feed.Hooks) feedEnv {
	t.Helper()
	st, dbURL := feedtest.NewStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := feed.New(feed.Options{Store: st, Logger: log, Recheck: 200 * time.Millisecond, Hooks: hooks})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	srv := httptest.NewUnstartedServer(api.NewRevocationFeed(f, feedToken, log, sc))
	if listen != nil {
		srv.Listener = listen(srv.Listener)
	}
	srv.Start()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); stop(); <-done })
	return feedEnv{srv: srv, url: dbURL}
}

// sse is one message of the stream.
type sse struct {
	id, event string
	data      struct {
		Cursor   int64 `json:"cursor"`
		Snapshot bool  `json:"snapshot"`
		LagMS    *int64
		Events   []struct {
			Seq           int64  `json:"seq"`
			SID           string `json:"sid"`
			ExpiresAt     int64  `json:"expires_at"`
			CommittedAtUS int64  `json:"committed_at_us"`
		} `json:"events"`
	}
}

// stream is an open stream.
type stream struct {
	resp *http.Response
	r    *bufio.Reader
}

// openStream opens the stream with query and header (name, value pairs).
func (e feedEnv) openStream(t *testing.T, client *http.Client, query string, header ...string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/auth/revocations/stream?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+feedToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return &stream{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next reads the next message, failing t after 15 s.
func (s *stream) next(t *testing.T) sse {
	t.Helper()
	got := make(chan sse, 1)
	fail := make(chan error, 1)
	go func() {
		var m sse
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				fail <- err
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "" && m.event != "":
				got <- m
				return
			case strings.HasPrefix(line, "id: "):
				m.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				m.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var lag struct {
					LagMS *int64 `json:"lag_ms"`
				}
				raw := []byte(strings.TrimPrefix(line, "data: "))
				if err := json.Unmarshal(raw, &m.data); err != nil {
					fail <- err
					return
				}
				_ = json.Unmarshal(raw, &lag)
				m.data.LagMS = lag.LagMS
			}
		}
	}()
	select {
	case m := <-got:
		return m
	case err := <-fail:
		t.Fatalf("read stream: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("no stream message within 15 s")
	}
	return sse{}
}

// nextEvents reads up to the next message that is not a heartbeat.
func (s *stream) nextEvents(t *testing.T) sse {
	t.Helper()
	for {
		if m := s.next(t); m.event != "heartbeat" {
			return m
		}
	}
}

func TestRevocationStreamSendsTheSnapshotThenEventsAndHeartbeats(t *testing.T) {
	t.Parallel()
	e := setupStream(t, api.StreamConfig{Heartbeat: 100 * time.Millisecond}, nil)
	before := time.Now()
	first := feedtest.Revoke(t, e.url, true, feedtest.Live())
	s := e.openStream(t, e.srv.Client(), "after=0")
	if ct := s.resp.Header.Get("Content-Type"); s.resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q; want 200 text/event-stream", s.resp.StatusCode, ct)
	}
	m := s.next(t)
	if m.event != "snapshot" || m.id != "1" || !m.data.Snapshot || len(m.data.Events) != 1 || m.data.Events[0].SID != first[0].String() {
		t.Fatalf("first message %+v, want the snapshot of the one revocation", m)
	}
	committed := time.UnixMicro(m.data.Events[0].CommittedAtUS)
	if committed.Before(before.Add(-time.Second)) || committed.After(time.Now().Add(time.Second)) {
		t.Errorf("committed_at_us %v, want the commit's time (about %v)", committed, before)
	}
	// Two heartbeats, with nothing committed between them.
	for range 2 {
		hb := s.next(t)
		if hb.event != "heartbeat" || hb.id != "1" || hb.data.Cursor != 1 || hb.data.LagMS == nil || *hb.data.LagMS < 0 || *hb.data.LagMS > 10_000 {
			t.Fatalf("message %+v, want a heartbeat at cursor 1 with lag_ms", hb)
		}
	}
	more := feedtest.Revoke(t, e.url, true, feedtest.Live(), feedtest.Live())
	ev := s.nextEvents(t)
	if ev.event != "events" || ev.id != "3" || ev.data.Snapshot || len(ev.data.Events) != 2 || ev.data.Events[0].SID != more[0].String() || ev.data.Events[1].Seq != 3 {
		t.Fatalf("message %+v, want the 2 new events", ev)
	}
}

func TestRevocationStreamResumesFromLastEventID(t *testing.T) {
	t.Parallel()
	e := setupStream(t, api.StreamConfig{}, nil)
	feedtest.Revoke(t, e.url, true, feedtest.Live())
	s := e.openStream(t, e.srv.Client(), "after=0")
	id := s.next(t).id
	s.resp.Body.Close() // the cut
	missed := feedtest.Revoke(t, e.url, true, feedtest.Live())
	// A reconnecting SSE client repeats its URL (after=0 here) with
	// Last-Event-ID, which wins: no snapshot, just what it missed.
	again := e.openStream(t, e.srv.Client(), "after=0", "Last-Event-ID", id)
	m := again.nextEvents(t)
	if m.event != "events" || len(m.data.Events) != 1 || m.data.Events[0].SID != missed[0].String() || m.data.Cursor != 2 {
		t.Fatalf("after the cut: %+v, want the one event missed", m)
	}
}

func TestRevocationStreamQueryBounds(t *testing.T) {
	t.Parallel()
	e := setupStream(t, api.StreamConfig{}, nil)
	tests := []struct {
		name       string
		query      string
		header     []string
		wantStatus int
		wantField  string
	}{
		{name: "wait is not a stream parameter", query: "after=0&wait=5", wantStatus: http.StatusBadRequest, wantField: "wait"},
		{name: "unknown parameter", query: "after=0&x=1", wantStatus: http.StatusBadRequest, wantField: "x"},
		{name: "negative cursor", query: "after=-1", wantStatus: http.StatusBadRequest, wantField: "after"},
		{name: "cursor not a number", query: "after=x", wantStatus: http.StatusBadRequest, wantField: "after"},
		{name: "heartbeat 0", query: "heartbeat=0", wantStatus: http.StatusBadRequest, wantField: "heartbeat"},
		{name: "heartbeat 31", query: "heartbeat=31", wantStatus: http.StatusBadRequest, wantField: "heartbeat"},
		{name: "bad Last-Event-ID", header: []string{"Last-Event-ID", "abc"}, wantStatus: http.StatusBadRequest, wantField: "Last-Event-ID"},
		{name: "no credential", header: []string{"Authorization", ""}, wantStatus: http.StatusUnauthorized},
		{name: "wrong credential", header: []string{"Authorization", "Bearer " + strings.Repeat("x", len(feedToken))}, wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := e.openStream(t, e.srv.Client(), tt.query, tt.header...)
			if s.resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", s.resp.StatusCode, tt.wantStatus)
			}
			var p struct {
				Code   string              `json:"code"`
				Errors map[string][]string `json:"errors"`
			}
			if err := json.NewDecoder(s.r).Decode(&p); err != nil {
				t.Fatalf("problem: %v", err)
			}
			if tt.wantField != "" && (p.Code != "validation_failed" || len(p.Errors[tt.wantField]) == 0) {
				t.Errorf("problem %+v, want validation_failed naming %q", p, tt.wantField)
			}
			if tt.wantStatus == http.StatusUnauthorized && p.Code != "invalid_feed_token" {
				t.Errorf("code %q, want invalid_feed_token", p.Code)
			}
		})
	}
}

// TestRevocationStreamCutsASlowReader: a reader that stops reading is cut
// once a write blocks past the write timeout, and its stream no longer
// counts against the per-address limit (here 1), so it can come back.
func TestRevocationStreamCutsASlowReader(t *testing.T) {
	t.Parallel()
	smallBuffers := func(l net.Listener) net.Listener { return smallBufferListener{l} }
	e := setupStream(t, api.StreamConfig{WriteTimeout: 200 * time.Millisecond, MaxPerAddress: 1}, smallBuffers)
	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Control: smallReceiveBuffer}).DialContext}}
	feedtest.Revoke(t, e.url, true, feedtest.Live())
	slow := e.openStream(t, client, "after=0")
	if slow.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", slow.resp.StatusCode)
	}
	// A second stream from the same address is over the limit.
	over := e.openStream(t, e.srv.Client(), "after=0")
	if over.resp.StatusCode != http.StatusTooManyRequests || over.resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second stream: status %d, Retry-After %q; want 429 with Retry-After", over.resp.StatusCode, over.resp.Header.Get("Retry-After"))
	}
	// Far more than the two small buffers hold, never read (in one
	// statement; the window finds it at its next recheck).
	feedtest.RevokeMany(t, e.url, 2000, feedtest.Live())
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := e.openStream(t, e.srv.Client(), "after=0")
		if s.resp.StatusCode == http.StatusOK {
			return // the slow stream was cut and released its place
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow reader still holds its stream after 15 s (status %d)", s.resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond) // waiting for the server's write deadline, which has no signal
	}
}

// smallBufferListener gives each accepted connection a small send buffer.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

func smallReceiveBuffer(_, _ string, c syscall.RawConn) error {
	var err error
	_ = c.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
	return err
}
