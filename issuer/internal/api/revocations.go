package api

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/feed"
)

// RevocationFeed serves GET /api/auth/revocations/?after=CURSOR&wait=SECONDS,
// the feed the gateways follow to refuse the access tokens of revoked
// sessions (see the README, "Revocation feed"). It has a bearer credential of
// its own, REVOCATION_FEED_TOKEN, separate from any user's token. The issuer
// serves it only when that variable is set; otherwise the path is 404.
type RevocationFeed struct {
	feed      *feed.Feed
	tokenHash [sha256.Size]byte
	// errs renders the handler's errors through writeError, the package's
	// one path from error to HTTP answer; it needs only the logger.
	errs *Server
}

// NewRevocationFeed returns the feed's handler, for Options.Revocations.
func NewRevocationFeed(f *feed.Feed, token string, log *slog.Logger) *RevocationFeed {
	if log == nil {
		log = slog.Default()
	}
	return &RevocationFeed{feed: f, tokenHash: sha256.Sum256([]byte(token)), errs: &Server{log: log}}
}

const feedRealm = `Bearer realm="medinsights-revocations"`

func errFeedCredential() *Problem {
	p := newProblem(http.StatusUnauthorized, "invalid_feed_token", "This endpoint needs the revocation feed's bearer credential.")
	p.wwwAuthenticate = feedRealm
	return p
}

// ServeHTTP implements http.Handler.
func (h *RevocationFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	err := h.serve(w, r)
	if err == nil || r.Context().Err() != nil {
		return // done, or the reader left while waiting: nobody to answer
	}
	h.errs.writeError(w, r, err)
}

func (h *RevocationFeed) serve(w http.ResponseWriter, r *http.Request) error {
	if !h.authorized(r.Header.Get("Authorization")) {
		return errFeedCredential()
	}
	after, wait, err := feedQuery(r)
	if err != nil {
		return err
	}
	page, err := h.feed.Read(r.Context(), after, wait)
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

// feedQuery reads after (a cursor, default 0) and wait (seconds, 0 to 30,
// default 0), and refuses anything else in those two parameters.
func feedQuery(r *http.Request) (after int64, wait time.Duration, err error) {
	q := r.URL.Query()
	fields := map[string][]string{}
	if v := q.Get("after"); v != "" {
		after, err = strconv.ParseInt(v, 10, 64)
		if err != nil || after < 0 {
			fields["after"] = []string{"must be a cursor: an integer of at least 0"}
		}
	}
	if v := q.Get("wait"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil || secs < 0 || time.Duration(secs)*time.Second > feed.MaxWait {
			fields["wait"] = []string{"must be a whole number of seconds from 0 to " + strconv.Itoa(int(feed.MaxWait/time.Second))}
		}
		wait = time.Duration(secs) * time.Second
	}
	if len(fields) > 0 {
		p := newProblem(http.StatusBadRequest, "validation_failed", "The query parameters are invalid.")
		p.Errors = fields
		return 0, 0, p
	}
	return after, wait, nil
}

// writeFeedPage writes page as
//
//	{"cursor": 42, "snapshot": false, "more": false, "events": [{"seq": 42, "sid": "<uuid>", "expires_at": 1767225600, "committed_at_us": 1767224700123456}]}
//
// committed_at_us (microseconds since the epoch) is when the revoking
// transaction ran; left out when unknown. Written by hand rather than through encoding/json: a snapshot may list a hundred
// thousand events, and this writes them with no allocation per event.
func writeFeedPage(w http.ResponseWriter, page feed.Page) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)

	bw := bufio.NewWriterSize(w, 32<<10)
	b := make([]byte, 0, 128)
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
		if !e.CommittedAt.IsZero() {
			b = append(b, `,"committed_at_us":`...)
			b = strconv.AppendInt(b, e.CommittedAt.UnixMicro(), 10)
		}
		b = append(b, '}')
		_, _ = bw.Write(b)
		b = b[:0]
	}
	b = append(b, "]}\n"...)
	_, _ = bw.Write(b)
	_ = bw.Flush()
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
