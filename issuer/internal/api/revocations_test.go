package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/issuer/internal/api"
	"github.com/medinsights/auth/issuer/internal/feed"
	"github.com/medinsights/auth/issuer/internal/feed/feedtest"
)

const feedToken = "feed-credential-of-at-least-32-characters"

type feedEnv struct {
	srv *httptest.Server
	url string // the database
}

// setupFeed serves the revocation feed alone, on a database of the test's
// own; hooks, when given, are the feed's.
func setupFeed(t *testing.T, hooks ...feed.Hooks) feedEnv {
	t.Helper()
	var h feed.Hooks
	if len(hooks) > 0 {
		h = hooks[0]
	}
	return setupFeedServer(t, api.StreamConfig{}, nil, h)
}

type feedAnswer struct {
	status  int
	header  http.Header
	body    []byte
	problem struct {
		Status int                 `json:"status"`
		Code   string              `json:"code"`
		Errors map[string][]string `json:"errors"`
	}
	page struct {
		Cursor   *int64 `json:"cursor"`
		Snapshot *bool  `json:"snapshot"`
		Events   []struct {
			Seq       int64  `json:"seq"`
			SID       string `json:"sid"`
			ExpiresAt int64  `json:"expires_at"`
		} `json:"events"`
	}
}

func (e feedEnv) get(t *testing.T, query, authorization string) feedAnswer {
	t.Helper()
	a, err := e.fetch(query, authorization)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fetch is get for a goroutine other than the test's: it returns its error.
func (e feedEnv) fetch(query, authorization string) (feedAnswer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/auth/revocations/?"+query, nil)
	if err != nil {
		return feedAnswer{}, err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return feedAnswer{}, fmt.Errorf("GET ?%s: %w", query, err)
	}
	defer resp.Body.Close()
	a := feedAnswer{status: resp.StatusCode, header: resp.Header}
	if a.body, err = io.ReadAll(resp.Body); err != nil {
		return a, err
	}
	target := any(&a.page)
	if resp.StatusCode != http.StatusOK {
		target = &a.problem
	}
	if err := json.Unmarshal(a.body, target); err != nil {
		return a, fmt.Errorf("GET ?%s: status %d, body %q is not JSON: %w", query, resp.StatusCode, a.body, err)
	}
	return a, nil
}

func TestRevocationFeedNeedsItsCredential(t *testing.T) {
	t.Parallel()
	e := setupFeed(t)
	tests := []struct {
		name          string
		authorization string
		wantStatus    int
	}{
		{name: "no credential", authorization: "", wantStatus: http.StatusUnauthorized},
		{name: "wrong credential", authorization: "Bearer " + strings.Repeat("x", len(feedToken)), wantStatus: http.StatusUnauthorized},
		{name: "credential with a suffix", authorization: "Bearer " + feedToken + "x", wantStatus: http.StatusUnauthorized},
		{name: "credential cut short", authorization: "Bearer " + feedToken[:len(feedToken)-1], wantStatus: http.StatusUnauthorized},
		{name: "another scheme", authorization: "Basic " + feedToken, wantStatus: http.StatusUnauthorized},
		{name: "scheme alone", authorization: "Bearer", wantStatus: http.StatusUnauthorized},
		{name: "right credential", authorization: "Bearer " + feedToken, wantStatus: http.StatusOK},
		{name: "scheme in lower case", authorization: "bearer " + feedToken, wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := e.get(t, "after=0", tt.authorization)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", a.status, tt.wantStatus, a.body)
			}
			if tt.wantStatus != http.StatusUnauthorized {
				return
			}
			if a.problem.Code != "invalid_feed_token" || a.problem.Status != http.StatusUnauthorized {
				t.Errorf("problem = %+v, want code invalid_feed_token, status 401", a.problem)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			if got := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer realm=") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
			}
			if strings.Contains(string(a.body), feedToken[:8]) {
				t.Error("the problem body echoes the credential")
			}
		})
	}
}

func TestRevocationFeedQueryBounds(t *testing.T) {
	t.Parallel()
	e := setupFeed(t)
	feedtest.Revoke(t, e.url, true, feedtest.Live()) // so a snapshot answers at once
	tests := []struct {
		query      string
		wantStatus int
		wantField  string // the field named in errors
	}{
		{query: "", wantStatus: http.StatusOK},
		{query: "after=0&wait=0", wantStatus: http.StatusOK},
		{query: "after=0&wait=30", wantStatus: http.StatusOK},
		{query: "after=0&wait=31", wantStatus: http.StatusBadRequest, wantField: "wait"},
		{query: "after=0&wait=-1", wantStatus: http.StatusBadRequest, wantField: "wait"},
		{query: "after=0&wait=1.5", wantStatus: http.StatusBadRequest, wantField: "wait"},
		{query: "after=0&wait=ten", wantStatus: http.StatusBadRequest, wantField: "wait"},
		{query: "after=-1", wantStatus: http.StatusBadRequest, wantField: "after"},
		{query: "after=x", wantStatus: http.StatusBadRequest, wantField: "after"},
		{query: "after=99999999999999999999", wantStatus: http.StatusBadRequest, wantField: "after"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			a := e.get(t, tt.query, "Bearer "+feedToken)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", a.status, tt.wantStatus, a.body)
			}
			if tt.wantField == "" {
				return
			}
			if a.problem.Code != "validation_failed" || len(a.problem.Errors[tt.wantField]) == 0 {
				t.Errorf("problem = %+v, want validation_failed naming %q", a.problem, tt.wantField)
			}
		})
	}
}

func TestRevocationFeedAnswers(t *testing.T) {
	t.Parallel()
	waiting := make(chan struct{}, 1)
	e := setupFeed(t, feed.Hooks{Waiting: func() {
		select {
		case waiting <- struct{}{}:
		default:
		}
	}})
	exp := time.Now().Add(15 * time.Minute).Truncate(time.Second)
	first := feedtest.Revoke(t, e.url, true, exp, exp)

	snap := e.get(t, "after=0", "Bearer "+feedToken)
	if snap.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", snap.status, snap.body)
	}
	if ct := snap.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := snap.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if snap.page.Cursor == nil || *snap.page.Cursor != 2 || snap.page.Snapshot == nil || !*snap.page.Snapshot || len(snap.page.Events) != 2 {
		t.Fatalf("snapshot = %s, want cursor 2, snapshot true, 2 events", snap.body)
	}
	for i, ev := range snap.page.Events {
		if ev.Seq != int64(i+1) || ev.SID != first[i].String() || ev.ExpiresAt != exp.Unix() {
			t.Errorf("event %d = %+v, want seq %d, sid %s, expires_at %d", i, ev, i+1, first[i], exp.Unix())
		}
	}

	empty := e.get(t, "after=2", "Bearer "+feedToken)
	if string(empty.body) != `{"cursor":2,"snapshot":false,"more":false,"events":[]}`+"\n" {
		t.Errorf("nothing new = %s, want an empty list (never null) at cursor 2", empty.body)
	}

	// A long poll is answered by a commit from another connection.
	type answer struct {
		a   feedAnswer
		err error
	}
	got := make(chan answer, 1)
	start := time.Now()
	go func() {
		a, err := e.fetch("after=2&wait=20", "Bearer "+feedToken)
		got <- answer{a, err}
	}()
	<-waiting // the long poll waits
	second := feedtest.Revoke(t, e.url, true, exp)
	ans := <-got
	if ans.err != nil {
		t.Fatal(ans.err)
	}
	a := ans.a
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the long poll answered after %v, not at the commit", took)
	}
	if a.page.Snapshot == nil || *a.page.Snapshot || *a.page.Cursor != 3 || len(a.page.Events) != 1 || a.page.Events[0].SID != second[0].String() {
		t.Errorf("long poll = %s, want the new event at cursor 3, not a snapshot", a.body)
	}
}

// BenchmarkRevocationFeedSnapshot100k is the issuer's side of a gateway's
// first sync while 100,000 revocations are live: read them in one
// transaction and write the JSON.
func BenchmarkRevocationFeedSnapshot100k(b *testing.B) {
	st, dbURL := feedtest.NewStore(b)
	feedtest.RevokeMany(b, dbURL, 100_000, time.Now().Add(time.Hour))
	f := feed.New(feed.Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := api.NewRevocationFeed(f, feedToken, nil, api.StreamConfig{})
	req := httptest.NewRequest(http.MethodGet, "/api/auth/revocations/?after=0", nil)
	req.Header.Set("Authorization", "Bearer "+feedToken)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Body.Len() < 8_000_000 {
			b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}

// TestRevocationFeedDatabaseDown: the feed's errors take the API's one
// error path: a database outage is 503 service_unavailable with
// Retry-After, and logged.
func TestRevocationFeedDatabaseDown(t *testing.T) {
	t.Parallel()
	st, _ := feedtest.NewStore(t)
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := api.NewRevocationFeed(feed.New(feed.Options{Store: st, Logger: log}), feedToken, log, api.StreamConfig{})
	st.Close()
	for _, query := range []string{"after=0", "after=5&wait=0"} {
		req := httptest.NewRequest(http.MethodGet, "/api/auth/revocations/?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+feedToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != http.StatusServiceUnavailable || p.Code != "service_unavailable" || w.Header().Get("Retry-After") == "" {
			t.Errorf("?%s: status %d code %q Retry-After %q, want 503 service_unavailable with Retry-After", query, w.Code, p.Code, w.Header().Get("Retry-After"))
		}
	}
	if n := strings.Count(logs.String(), `msg="database unavailable"`); n != 2 {
		t.Errorf("%d log lines for the outage, want 2:\n%s", n, logs.String())
	}
}
