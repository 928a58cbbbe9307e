package revocation

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFeed plays the long poll of the issuer's revocation feed on
// 127.0.0.1, following the same contract: a snapshot for after=0 or a cursor
// it does not know, the events after the cursor otherwise, a long poll
// answered the moment an event is added. Like an issuer from before the
// stream, it answers 404 for the stream's path (streamRequests counts
// those). Tests script failures and contract breaks through its fields, and
// wait on progress, which it fires on every request it receives (after
// recording it) and a Syncer's hooks fire too (progress.hooks()).
type fakeFeed struct {
	t        *testing.T
	srv      *httptest.Server
	token    string
	progress signal

	mu             sync.Mutex
	events         []fakeEvent
	lastSeq        int64
	changed        chan struct{} // closed and replaced on every change
	requests       []fakeRequest
	streamRequests int
	// failures answers the next requests with these statuses, one each.
	failures []int
	// override, when set, answers a request with a raw body instead.
	override func(after int64) (body string, ok bool)
}

type fakeEvent struct {
	seq int64
	sid string
	exp int64
}

type fakeRequest struct {
	after, wait int64
	auth        string
	at          time.Time
}

func newFakeFeed(t *testing.T) *fakeFeed {
	t.Helper()
	f := &fakeFeed{t: t, token: "feed-token-for-tests", progress: newSignal(), changed: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeFeed) url() string { return f.srv.URL + "/api/auth/revocations/" }

// add records revocations of sids expiring at exp and wakes the long polls.
func (f *fakeFeed) add(exp int64, sids ...string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sid := range sids {
		f.lastSeq++
		f.events = append(f.events, fakeEvent{seq: f.lastSeq, sid: sid, exp: exp})
	}
	close(f.changed)
	f.changed = make(chan struct{})
	return f.lastSeq
}

// reset forgets every event, as a feed on a new database would.
func (f *fakeFeed) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events, f.lastSeq = nil, 0
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeFeed) fail(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, statuses...)
}

func (f *fakeFeed) setOverride(fn func(after int64) (string, bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.override = fn
}

func (f *fakeFeed) log() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

type wirePage struct {
	Cursor   int64           `json:"cursor"`
	Snapshot bool            `json:"snapshot"`
	Events   []wireEventJSON `json:"events"`
}

type wireEventJSON struct {
	Seq       int64  `json:"seq"`
	SID       string `json:"sid"`
	ExpiresAt int64  `json:"expires_at"`
}

func (f *fakeFeed) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/stream") {
		f.mu.Lock()
		f.streamRequests++
		f.mu.Unlock()
		f.progress.fire()
		http.NotFound(w, r)
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	wait, _ := strconv.ParseInt(r.URL.Query().Get("wait"), 10, 64)

	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{after: after, wait: wait, auth: r.Header.Get("Authorization"), at: time.Now()})
	f.progress.fire() // under f.mu: a waiter checks once the override below has run too
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.mu.Unlock()
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if len(f.failures) > 0 {
		status := f.failures[0]
		f.failures = f.failures[1:]
		f.mu.Unlock()
		http.Error(w, "scripted failure", status)
		return
	}
	if f.override != nil {
		if body, ok := f.override(after); ok {
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
			return
		}
	}
	deadline := time.After(time.Duration(wait) * time.Second)
	for {
		p, ready := f.pageLocked(after)
		if ready || wait == 0 {
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(p)
			return
		}
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			wait = 0
		case <-r.Context().Done():
			return
		}
		f.mu.Lock()
	}
}

// pageLocked builds the answer for after; ready is false when a long poll
// should keep waiting (nothing new, or an empty snapshot of an empty feed).
func (f *fakeFeed) pageLocked(after int64) (p wirePage, ready bool) {
	p = wirePage{Cursor: f.lastSeq, Events: []wireEventJSON{}}
	unknown := after > f.lastSeq // a cursor from another feed: start over
	p.Snapshot = after == 0 || unknown
	if p.Snapshot {
		after = 0
	}
	for _, e := range f.events {
		if e.seq > after {
			p.Events = append(p.Events, wireEventJSON{Seq: e.seq, SID: e.sid, ExpiresAt: e.exp})
		}
	}
	return p, unknown || (p.Snapshot && f.lastSeq > 0) || len(p.Events) > 0
}
