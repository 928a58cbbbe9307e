package revocation

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// page is one decoded answer of the revocation feed:
//
//	{"cursor": 42, "snapshot": false, "more": false, "events": [{"seq": 42, "sid": "<uuid>", "expires_at": 1767225600, "committed_at_us": 1767224700123456}]}
//
// A snapshot lists every live revocation and replaces the set; anything else
// lists the events after the cursor the request named. more (optional,
// false when absent) says the page is full: events may already follow the
// cursor.
type page struct {
	cursor   int64
	snapshot bool
	more     bool
	events   map[sessionID]int64 // expiry (Unix seconds) by session, the latest per session
	count    int                 // events on the wire, duplicates included
	maxSeq   int64
	// list holds the events in order when the decoder was asked to keep
	// them (for Options.OnApplied) and the answer is not a snapshot.
	list []Event
}

// errFeedProtocol marks an answer that breaks the feed's contract.
var errFeedProtocol = errors.New("revocation feed: answer breaks the contract")

// decodePage reads one feed answer as a stream.
//
// It is a small JSON reader of its own rather than encoding/json: a gateway
// that starts while 100,000 revocations are live must load them in well
// under a second, and encoding/json spends most of that on reflection and
// a value per event. This reader makes one pass over the bytes, allocates
// nothing per event, and holds only the resulting set in memory. It accepts
// any JSON the contract allows (whitespace, fields in any order, fields it
// does not know, which it skips) and refuses anything else.
func decodePage(r io.Reader, keep bool) (page, error) {
	s := &jsonReader{r: bufio.NewReaderSize(r, 64<<10)}
	p, err := s.answer(keep)
	if err != nil {
		return p, err
	}
	if c, err := s.peek(); err != io.EOF {
		if err == nil {
			err = fmt.Errorf("unexpected %q after the answer", c)
		}
		return p, fmt.Errorf("%w: %w", errFeedProtocol, err)
	}
	return p, nil
}

// answer reads one answer object and checks it, leaving what follows it
// unread (a stream's next message). keep keeps the events of an answer that
// is not a snapshot in p.list.
func (s *jsonReader) answer(keep bool) (page, error) {
	p := page{events: make(map[sessionID]int64)}
	if keep {
		p.list = []Event{}
	}
	if err := s.decodePage(&p); err != nil {
		return p, fmt.Errorf("%w: %w", errFeedProtocol, err)
	}
	if p.snapshot {
		p.list = nil
	}
	switch {
	case p.cursor < 0:
		return p, fmt.Errorf("%w: negative cursor %d", errFeedProtocol, p.cursor)
	case p.maxSeq > p.cursor:
		return p, fmt.Errorf("%w: event %d is past the cursor %d", errFeedProtocol, p.maxSeq, p.cursor)
	}
	return p, nil
}

// jsonReader reads JSON (RFC 8259) from a buffered stream, one token at a time.
type jsonReader struct {
	r       *bufio.Reader
	scratch []byte
}

func (s *jsonReader) decodePage(p *page) error {
	var seen struct{ cursor, snapshot, more, events bool }
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "cursor":
			return once("cursor", &seen.cursor, func() (err error) { p.cursor, err = s.integer(); return err })
		case "snapshot":
			return once("snapshot", &seen.snapshot, func() (err error) { p.snapshot, err = s.boolean(); return err })
		case "more":
			return once("more", &seen.more, func() (err error) { p.more, err = s.boolean(); return err })
		case "events":
			return once("events", &seen.events, func() error { return s.events(p) })
		default: // a field added later
			return wrap("unknown field", s.skip(0))
		}
	})
	if err != nil {
		return err
	}
	if !seen.cursor || !seen.snapshot || !seen.events {
		return errors.New("cursor, snapshot and events are required")
	}
	return nil
}

// heartbeat is a stream's heartbeat: {"cursor": 42, "lag_ms": 180}.
type heartbeat struct {
	cursor int64
	lag    time.Duration
}

func (s *jsonReader) heartbeat() (heartbeat, error) {
	var hb heartbeat
	var seen struct{ cursor, lag bool }
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "cursor":
			return once("cursor", &seen.cursor, func() (err error) { hb.cursor, err = s.integer(); return err })
		case "lag_ms":
			return once("lag_ms", &seen.lag, func() error {
				ms, err := s.integer()
				hb.lag = time.Duration(ms) * time.Millisecond
				if err == nil && ms < 0 {
					err = errors.New("negative")
				}
				return err
			})
		default:
			return wrap("unknown field", s.skip(0))
		}
	})
	if err == nil && (!seen.cursor || !seen.lag) {
		err = errors.New("cursor and lag_ms are required")
	}
	if err != nil {
		return hb, fmt.Errorf("%w: heartbeat: %w", errFeedProtocol, err)
	}
	return hb, nil
}

// events reads the list of events ("null" is an empty list).
func (s *jsonReader) events(p *page) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == 'n' {
		return s.literal("null")
	}
	return s.array(func() error {
		var (
			seq, exp, committedUs int64
			id                    sessionID
			hasSID                bool
		)
		err := s.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "seq":
				seq, err = s.integer()
				return wrap("seq", err)
			case "expires_at":
				exp, err = s.integer()
				return wrap("expires_at", err)
			case "committed_at_us":
				committedUs, err = s.integer()
				return wrap("committed_at_us", err)
			case "sid":
				id, err = s.sessionID()
				hasSID = err == nil
				return wrap("sid", err)
			default:
				return wrap("unknown field", s.skip(0))
			}
		})
		if err != nil {
			return fmt.Errorf("event %d: %w", p.count, err)
		}
		if seq <= 0 || !hasSID || exp <= 0 {
			return fmt.Errorf("event %d needs a positive seq, a sid and a positive expires_at", p.count)
		}
		p.count++
		p.maxSeq = max(p.maxSeq, seq)
		if p.list != nil && !p.snapshot {
			e := Event{Seq: seq, SessionID: id.String(), ExpiresAt: time.Unix(exp, 0)}
			if committedUs > 0 {
				e.CommittedAt = time.UnixMicro(committedUs)
			}
			p.list = append(p.list, e)
		}
		if exp > p.events[id] {
			p.events[id] = exp
		}
		return nil
	})
}

// next returns the next byte that is not JSON whitespace, consuming it.
func (s *jsonReader) next() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, nil
	}
}

// peek returns the next byte that is not JSON whitespace, leaving it; io.EOF
// at the end of the stream.
func (s *jsonReader) peek() (byte, error) {
	for {
		b, err := s.r.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\n', '\r':
			_, _ = s.r.ReadByte()
			continue
		}
		return b[0], nil
	}
}

func (s *jsonReader) expect(want byte) error {
	c, err := s.next()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("want %q, got %q", want, c)
	}
	return nil
}

// object reads an object, calling field for each key with the reader
// positioned on its value; field must read the value.
func (s *jsonReader) object(field func(key []byte) error) error {
	return s.list('{', '}', func() error {
		if err := s.expect('"'); err != nil {
			return err
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		return field(key) // key's bytes may be reused by now
	})
}

// array reads an array, calling elem with the reader on each element.
func (s *jsonReader) array(elem func() error) error {
	return s.list('[', ']', elem)
}

// list reads what object and array share: open, then elements separated by
// commas, each read by elem, then end.
func (s *jsonReader) list(open, end byte, elem func() error) error {
	if err := s.expect(open); err != nil {
		return err
	}
	if c, err := s.peek(); err != nil {
		return unexpectedEOF(err)
	} else if c == end {
		_, _ = s.r.ReadByte()
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		c, err := s.next()
		if err != nil {
			return err
		}
		switch c {
		case ',':
		case end:
			return nil
		default:
			return fmt.Errorf("want ',' or %q, got %q", end, c)
		}
	}
}

// str reads the rest of a string whose opening quote is consumed, decoding
// its escapes. The result is valid until the next call.
func (s *jsonReader) str() ([]byte, error) {
	out := s.scratch[:0]
	defer func() { s.scratch = out[:0] }()
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		switch {
		case c == '"':
			return out, nil
		case c < 0x20:
			return nil, errors.New("control character in a string")
		case c != '\\':
			out = append(out, c)
			continue
		}
		c, err = s.r.ReadByte()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		switch c {
		case '"', '\\', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, err := s.hex4()
			if err != nil {
				return nil, err
			}
			if utf16.IsSurrogate(r) { // a pair, or the replacement character
				r2 := rune(utf8.RuneError)
				if b, _ := s.r.Peek(2); len(b) == 2 && b[0] == '\\' && b[1] == 'u' {
					_, _ = s.r.Discard(2)
					if r2, err = s.hex4(); err != nil {
						return nil, err
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, fmt.Errorf("invalid escape \\%c", c)
		}
	}
}

func (s *jsonReader) hex4() (rune, error) {
	var r rune
	for range 4 {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, unexpectedEOF(err)
		}
		v := unhex[c]
		if v > 0x0f {
			return 0, errors.New("invalid \\u escape")
		}
		r = r<<4 | rune(v)
	}
	return r, nil
}

// sessionID reads a string holding a UUID, which needs no escape.
func (s *jsonReader) sessionID() (sessionID, error) {
	if err := s.expect('"'); err != nil {
		return sessionID{}, err
	}
	b, err := s.r.Peek(37)
	if err != nil || b[36] != '"' {
		return sessionID{}, errors.New("not a UUID")
	}
	id, ok := parseSessionID(b[:36])
	if !ok {
		return sessionID{}, errors.New("not a UUID")
	}
	_, _ = s.r.Discard(37)
	return id, nil
}

// integer reads a JSON number that is an integer fitting in an int64: no
// fraction, no exponent, no leading zero.
func (s *jsonReader) integer() (int64, error) {
	c, err := s.next()
	if err != nil {
		return 0, err
	}
	neg := c == '-'
	if neg {
		if c, err = s.r.ReadByte(); err != nil {
			return 0, unexpectedEOF(err)
		}
	}
	if c < '0' || c > '9' {
		return 0, fmt.Errorf("want an integer, got %q", c)
	}
	var v uint64
	digits := 0
	for {
		v = v*10 + uint64(c-'0')
		digits++
		if digits > 19 || v > 1<<63 {
			return 0, errors.New("integer out of range")
		}
		b, err := s.r.Peek(1)
		if err != nil || b[0] < '0' || b[0] > '9' {
			if err == nil && (b[0] == '.' || b[0] == 'e' || b[0] == 'E') {
				return 0, errors.New("want an integer, got a fraction or an exponent")
			}
			break
		}
		if v == 0 {
			return 0, errors.New("integer with a leading zero")
		}
		c, _ = s.r.ReadByte()
	}
	if neg {
		return -int64(v), nil // -(1<<63) wraps to itself: still in range
	}
	if v > 1<<63-1 {
		return 0, errors.New("integer out of range")
	}
	return int64(v), nil
}

func (s *jsonReader) boolean() (bool, error) {
	c, err := s.peek()
	if err != nil {
		return false, unexpectedEOF(err)
	}
	if c == 't' {
		return true, s.literal("true")
	}
	return false, s.literal("false")
}

func (s *jsonReader) literal(word string) error {
	c, err := s.next()
	for i := 0; ; i++ {
		if err != nil {
			return unexpectedEOF(err)
		}
		if c != word[i] {
			return fmt.Errorf("want %s", word)
		}
		if i == len(word)-1 {
			return nil
		}
		c, err = s.r.ReadByte()
	}
}

// maxDepth bounds the nesting of a skipped value.
const maxDepth = 32

// skip reads and discards one value of any kind.
func (s *jsonReader) skip(depth int) error {
	if depth > maxDepth {
		return errors.New("value nested too deep")
	}
	c, err := s.peek()
	if err != nil {
		return unexpectedEOF(err)
	}
	switch {
	case c == '{':
		return s.object(func([]byte) error { return s.skip(depth + 1) })
	case c == '[':
		return s.array(func() error { return s.skip(depth + 1) })
	case c == '"':
		_, _ = s.r.ReadByte()
		_, err := s.str()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return fmt.Errorf("unexpected %q", c)
}

// number reads any JSON number: -? int frac? exp?
func (s *jsonReader) number() error {
	first, _ := s.next()
	ok := first != '-'   // a digit seen in the current part
	zero := first == '0' // the integer part is a lone zero so far
	state := 0           // 0 integer, 1 fraction, 2 exponent
	for {
		b, err := s.r.Peek(1)
		if err != nil {
			break
		}
		c := b[0]
		switch {
		case c >= '0' && c <= '9':
			if state == 0 && zero {
				return errors.New("number with a leading zero")
			}
			zero = state == 0 && !ok && c == '0'
			ok = true
		case c == '.' && state == 0 && ok:
			state, ok = 1, false
		case (c == 'e' || c == 'E') && state < 2 && ok:
			state, ok = 2, false
			_, _ = s.r.ReadByte()
			if b, err := s.r.Peek(1); err == nil && (b[0] == '+' || b[0] == '-') {
				_, _ = s.r.ReadByte()
			}
			continue
		default:
			if !ok {
				return errors.New("malformed number")
			}
			return nil
		}
		_, _ = s.r.ReadByte()
	}
	if !ok {
		return errors.New("malformed number")
	}
	return nil
}

// once reads a field of the page with read, refusing a second copy of it.
func once(field string, seen *bool, read func() error) error {
	if *seen {
		return fmt.Errorf("%s given twice", field)
	}
	*seen = true
	return wrap(field, read())
}

func wrap(field string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", field, err)
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
