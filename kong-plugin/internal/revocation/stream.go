package revocation

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The revocation stream (GET .../revocations/stream, Server-Sent Events; see
// docs/revocation-stream.md): messages "snapshot" and "events" carry the
// long poll's answer on their data line, "heartbeat" carries the cursor
// and lag_ms, the age of the issuer's view of the database. The Syncer
// prefers it; an issuer that answers 404 for its path has none, and the
// Syncer long-polls instead, trying the stream again after noStreamRetry.
const (
	// streamHeartbeatMax is the longest heartbeat interval the Syncer asks
	// for; it asks for a third of its staleness bound when that is shorter.
	streamHeartbeatMax = 5
	// noStreamRetry is how long the Syncer long-polls after a 404 for the
	// stream before it tries the stream again (an issuer upgraded meanwhile).
	noStreamRetry = 10 * time.Minute
	// maxFieldLine bounds an SSE line other than data.
	maxFieldLine = 1 << 10
)

// errNoStream: the issuer answered 404 for the stream's path.
var errNoStream = errors.New("the issuer has no revocation stream")

// streamURLFor returns the stream's URL for the feed's:
// .../revocations/ gives .../revocations/stream.
func streamURLFor(feed *url.URL) *url.URL {
	u := *feed
	u.Path = strings.TrimSuffix(u.Path, "/") + "/stream"
	u.RawPath = ""
	return &u
}

// streamHeartbeat is the heartbeat interval, in seconds, the Syncer asks
// the stream for: a third of its bound, at most streamHeartbeatMax; 0 when
// the bound is too short for a whole-second heartbeat (the Syncer polls).
func (s *Syncer) streamHeartbeat() int64 {
	return min(s.waitSeconds.Load(), streamHeartbeatMax)
}

// followStream reads one stream from the cursor until it ends and applies
// each message. A stream the issuer ends (its lifetime, a shutdown) returns
// nil: the Syncer reconnects from its cursor. A stream silent for three
// heartbeats and requestSlack is cut as dead.
func (s *Syncer) followStream(ctx context.Context, heartbeat int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	after := s.cursor
	if !s.synced {
		after = 0
	}
	u := *s.streamURL
	q := u.Query()
	q.Set("after", strconv.FormatInt(after, 10))
	q.Set("heartbeat", strconv.FormatInt(heartbeat, 10))
	u.RawQuery = q.Encode()
	idle := 3*time.Duration(heartbeat)*time.Second + requestSlack
	watchdog := time.AfterFunc(idle, cancel)
	defer watchdog.Stop()

	resp, err := s.do(ctx, u.String(), "text/event-stream")
	if err != nil {
		if resp == nil {
			return err
		}
		if resp.StatusCode == http.StatusNotFound {
			return errNoStream
		}
		return err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	jr := &jsonReader{r: br}
	for {
		kind, err := readSSEHead(br)
		if err == io.EOF {
			return nil // the issuer ended the stream between messages
		}
		if err != nil {
			return fmt.Errorf("read stream: %w", err)
		}
		watchdog.Reset(idle)
		received := time.Now()
		switch kind {
		case "snapshot", "events":
			p, err := jr.answer(s.onApplied != nil)
			if err == nil {
				err = endSSEData(br)
			}
			if err != nil {
				return fmt.Errorf("read stream %s: %w", kind, err)
			}
			if p.snapshot != (kind == "snapshot") {
				return fmt.Errorf("%w: a %s message with snapshot=%v", errFeedProtocol, kind, p.snapshot)
			}
			if err := s.apply(p, s.cursor, received, false); err != nil {
				return err
			}
			s.applied(p.list, received)
		case "heartbeat":
			hb, err := jr.heartbeat()
			if err == nil {
				err = endSSEData(br)
			}
			if err != nil {
				return fmt.Errorf("read stream heartbeat: %w", err)
			}
			if err := s.applyHeartbeat(hb, received); err != nil {
				return err
			}
			s.applied(nil, received)
		default: // a message type added later
			if _, err := br.ReadSlice('\n'); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return fmt.Errorf("read stream: %w", err)
			}
		}
	}
}

// applyHeartbeat moves LastSync to the moment the heartbeat vouches for:
// every revocation committed more than lag before it was received is at or
// below its cursor, which the Syncer has applied (the stream is in order).
// The one-way delay of the heartbeat is not counted: on a gateway's network
// it is far below any staleness bound.
func (s *Syncer) applyHeartbeat(hb heartbeat, received time.Time) error {
	if !s.synced {
		return fmt.Errorf("%w: a heartbeat before the snapshot", errFeedProtocol)
	}
	if hb.cursor != s.cursor {
		return fmt.Errorf("%w: heartbeat at cursor %d, applied %d", errFeedProtocol, hb.cursor, s.cursor)
	}
	if fresh := received.Add(-hb.lag).UnixNano(); fresh > s.lastSync.Load() {
		s.lastSync.Store(fresh)
	}
	return nil
}

// readSSEHead reads the field lines of the next message up to its data
// field and returns the message's event type, leaving br at the data's
// first byte. Blank lines between messages, comments and id lines (the
// cursor is in the data) are skipped. io.EOF means the stream ended between
// messages.
func readSSEHead(br *bufio.Reader) (string, error) {
	kind := "message"
	for {
		var name []byte
		for {
			c, err := br.ReadByte()
			if err != nil {
				if err == io.EOF && len(name) > 0 {
					err = io.ErrUnexpectedEOF
				}
				return "", err
			}
			if c == ':' || c == '\n' || len(name) > 16 {
				if c == '\n' && len(name) == 0 {
					break // a blank line
				}
				if c != ':' {
					return "", fmt.Errorf("%w: malformed stream line", errFeedProtocol)
				}
				if len(name) == 0 { // a comment
					if _, err := br.ReadSlice('\n'); err != nil {
						return "", unexpectedEOF(err)
					}
					break
				}
				if b, _ := br.Peek(1); len(b) == 1 && b[0] == ' ' {
					_, _ = br.ReadByte()
				}
				if string(name) == "data" {
					return kind, nil
				}
				line, err := br.ReadSlice('\n')
				if err != nil {
					return "", unexpectedEOF(err)
				}
				if len(line) > maxFieldLine {
					return "", fmt.Errorf("%w: stream field too long", errFeedProtocol)
				}
				if string(name) == "event" {
					kind = strings.TrimRight(string(line), "\r\n")
				}
				break
			}
			name = append(name, c)
		}
	}
}

// endSSEData reads the end of a data line after its JSON value.
func endSSEData(br *bufio.Reader) error {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return unexpectedEOF(err)
		}
		switch c {
		case '\n':
			return nil
		case ' ', '\t', '\r':
		default:
			return fmt.Errorf("%w: unexpected %q after a stream message", errFeedProtocol, c)
		}
	}
}
