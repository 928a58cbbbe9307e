package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/feed"
)

// RevocationFeed serves GET /api/auth/revocations/?after=CURSOR&wait=SECONDS,
// the feed the gateways follow to refuse the access tokens of revoked
// sessions, and its stream, GET /api/auth/revocations/stream?after=CURSOR
// (see docs/revocation-stream.md). Both take a bearer credential of their
// own, REVOCATION_FEED_TOKEN, separate from any user's token. The issuer
// serves them only when that variable is set; otherwise the paths are 404.
type RevocationFeed struct {
	feed      *feed.Feed
	tokenHash [sha256.Size]byte
	stream    StreamConfig
	streams   streamCounter
	// errs renders the handler's errors through writeError, the package's
	// one path from error to HTTP answer; it needs only the logger.
	errs *Server
}

// NewRevocationFeed returns the feed's handler, for Options.Revocations.
func NewRevocationFeed(f *feed.Feed, token string, log *slog.Logger, sc StreamConfig) *RevocationFeed {
	if log == nil {
		log = slog.Default()
	}
	return &RevocationFeed{
		feed: f, tokenHash: sha256.Sum256([]byte(token)), stream: sc.withDefaults(),
		streams: streamCounter{perAddress: make(map[string]int)}, errs: &Server{log: log},
	}
}

const feedRealm = `Bearer realm="medinsights-revocations"`

func errFeedCredential() *Problem {
	p := newProblem(http.StatusUnauthorized, "invalid_feed_token", "This endpoint needs the revocation feed's bearer credential.")
	p.wwwAuthenticate = feedRealm
	return p
}

// ServeHTTP implements http.Handler: the stream for a path ending in
// /stream, the long poll otherwise.
func (h *RevocationFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serve := h.serve
	if strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/stream") {
		serve = h.serveStream
	}
	err := serve(w, r)
	if err == nil || r.Context().Err() != nil {
		return // done, or the reader left while waiting: nobody to answer
	}
	h.errs.writeError(w, r, err)
}

func (h *RevocationFeed) serve(w http.ResponseWriter, r *http.Request) error {
	if !h.authorized(r.Header.Get("Authorization")) {
		return errFeedCredential()
	}
	after, seconds, err := feedQuery(r, "wait")
	if err != nil {
		return err
	}
	page, err := h.feed.Read(r.Context(), after, seconds["wait"])
	if err != nil {
		return err
	}
	writeFeedPage(w, page)
	return nil
}

// authorized compares the presented credential with the configured one in
// constant time: both are hashed first, so neither the content nor the
// length of the secret leaks through timing.
func (h *RevocationFeed) authorized(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

// feedQuery reads after (a cursor, default 0) and the whole-second
// parameters the endpoint takes (wait for the long poll, heartbeat for the
// stream, see secondsParams); it refuses anything else in those parameters,
// and any other parameter. seconds holds the ones given.
func feedQuery(r *http.Request, allowed ...string) (after int64, seconds map[string]time.Duration, err error) {
	q := r.URL.Query()
	fields := map[string][]string{}
	seconds = map[string]time.Duration{}
	for name := range q {
		if name != "after" && !slices.Contains(allowed, name) {
			fields[name] = []string{"is not a parameter of this endpoint"}
		}
	}
	if v := q.Get("after"); v != "" {
		after, err = parseCursor(v)
		if err != nil {
			fields["after"] = []string{err.Error()}
		}
	}
	for _, name := range allowed {
		v := q.Get(name)
		if v == "" {
			continue
		}
		lo, hi := secondsParams[name][0], secondsParams[name][1]
		secs, err := strconv.Atoi(v)
		if err != nil || secs < lo || secs > hi {
			fields[name] = []string{fmt.Sprintf("must be a whole number of seconds from %d to %d", lo, hi)}
		}
		seconds[name] = time.Duration(secs) * time.Second
	}
	if len(fields) > 0 {
		p := newProblem(http.StatusBadRequest, "validation_failed", "The query parameters are invalid.")
		p.Errors = fields
		return 0, nil, p
	}
	return after, seconds, nil
}

// secondsParams are the whole-second query parameters and their bounds.
var secondsParams = map[string][2]int{
	"wait":      {0, int(feed.MaxWait / time.Second)},
	"heartbeat": {1, int(streamHeartbeatMax / time.Second)},
}

// errBadCursor is the message of a cursor that is not one.
var errBadCursor = errors.New("must be a cursor: an integer of at least 0")

func parseCursor(v string) (int64, error) {
	c, err := strconv.ParseInt(v, 10, 64)
	if err != nil || c < 0 {
		return 0, errBadCursor
	}
	return c, nil
}

// writeFeedPage writes page, encoded by appendPage, as the long poll's
// answer. A snapshot shared by concurrent readers is encoded once for all.
func writeFeedPage(w http.ResponseWriter, page feed.Page) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(page.Encoded("json", func(p feed.Page) []byte {
		return append(appendPage(nil, p), '\n')
	}))
}

// appendPage appends page as
//
//	{"cursor": 42, "snapshot": false, "more": false, "events": [{"seq": 42, "sid": "<uuid>", "expires_at": 1767225600, "committed_at_us": 1767224700123456}]}
//
// on one line, by hand rather than through encoding/json: a snapshot may
// list a hundred thousand events, and this encodes them with no allocation
// per event. committed_at_us is when the revoking transaction committed, in
// microseconds since the Unix epoch.
func appendPage(b []byte, page feed.Page) []byte {
	b = slices.Grow(b, 64+len(page.Events)*110)
	b = append(b, `{"cursor":`...)
	b = strconv.AppendInt(b, page.Cursor, 10)
	b = append(b, `,"snapshot":`...)
	b = strconv.AppendBool(b, page.Snapshot)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, page.More)
	b = append(b, `,"events":[`...)
	for i, e := range page.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"seq":`...)
		b = strconv.AppendInt(b, e.Seq, 10)
		b = append(b, `,"sid":"`...)
		b = appendUUID(b, e.SessionID)
		b = append(b, `","expires_at":`...)
		b = strconv.AppendInt(b, e.ExpiresAt.Unix(), 10)
		b = append(b, `,"committed_at_us":`...)
		b = strconv.AppendInt(b, e.CommittedAt.UnixMicro(), 10)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendUUID appends id in its canonical lower-case 8-4-4-4-12 form.
func appendUUID(b []byte, id uuid.UUID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], id[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], id[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], id[8:10])
	s[23] = '-'
	hex.Encode(s[24:], id[10:])
	return append(b, s[:]...)
}
