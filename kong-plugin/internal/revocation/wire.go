package revocation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// page is one decoded answer of the revocation feed:
//
//	{"cursor": 42, "snapshot": false, "events": [{"seq": 42, "sid": "<uuid>", "expires_at": 1767225600}]}
//
// A snapshot lists every live revocation and replaces the set; anything else
// lists the events after the cursor the request named.
type page struct {
	cursor   int64
	snapshot bool
	events   map[sessionID]int64 // expiry (Unix seconds) by session, the latest per session
	count    int                 // events on the wire, duplicates included
	maxSeq   int64
}

// wireEvent is one element of "events".
type wireEvent struct {
	Seq       int64   `json:"seq"`
	SID       wireSID `json:"sid"`
	ExpiresAt int64   `json:"expires_at"`
}

// wireSID decodes a quoted UUID straight into its 16 bytes, so a snapshot of
// 100,000 events allocates no string per event.
type wireSID struct {
	id sessionID
	ok bool
}

func (w *wireSID) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return errors.New("sid is not a string")
	}
	id, ok := parseSessionID(b[1 : len(b)-1])
	if !ok {
		return errors.New("sid is not a UUID")
	}
	w.id, w.ok = id, true
	return nil
}

// errFeedProtocol marks an answer that breaks the feed's contract.
var errFeedProtocol = errors.New("revocation feed: answer breaks the contract")

// decodePage reads one feed answer as a stream, so a large snapshot is never
// held twice in memory (once as JSON, once as values).
func decodePage(r io.Reader) (page, error) {
	p := page{events: make(map[sessionID]int64)}
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return p, err
	}
	var seen struct{ cursor, snapshot, events bool }
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return p, fmt.Errorf("%w: %w", errFeedProtocol, err)
		}
		switch tok {
		case "cursor":
			seen.cursor = true
			err = dec.Decode(&p.cursor)
		case "snapshot":
			seen.snapshot = true
			err = dec.Decode(&p.snapshot)
		case "events":
			seen.events = true
			err = decodeEvents(dec, &p)
		default: // a field added later: ignore it
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return p, fmt.Errorf("%w: %v: %w", errFeedProtocol, tok, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return p, err
	}
	switch {
	case !seen.cursor || !seen.snapshot || !seen.events:
		return p, fmt.Errorf("%w: cursor, snapshot and events are required", errFeedProtocol)
	case p.cursor < 0:
		return p, fmt.Errorf("%w: negative cursor %d", errFeedProtocol, p.cursor)
	case p.maxSeq > p.cursor:
		return p, fmt.Errorf("%w: event %d is past the cursor %d", errFeedProtocol, p.maxSeq, p.cursor)
	}
	return p, nil
}

func decodeEvents(dec *json.Decoder, p *page) error {
	if tok, err := dec.Token(); err != nil {
		return err
	} else if tok == nil { // "events": null is an empty list
		return nil
	} else if tok != json.Delim('[') {
		return fmt.Errorf("events is %v, not a list", tok)
	}
	for dec.More() {
		var e wireEvent
		if err := dec.Decode(&e); err != nil {
			return err
		}
		if e.Seq <= 0 || !e.SID.ok || e.ExpiresAt <= 0 {
			return fmt.Errorf("event %d needs a positive seq, a sid and a positive expires_at", p.count)
		}
		p.count++
		p.maxSeq = max(p.maxSeq, e.Seq)
		if e.ExpiresAt > p.events[e.SID.id] {
			p.events[e.SID.id] = e.ExpiresAt
		}
	}
	_, err := dec.Token() // the closing ']'
	return err
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %w", errFeedProtocol, err)
	}
	if tok != want {
		return fmt.Errorf("%w: want %v, got %v", errFeedProtocol, want, tok)
	}
	return nil
}
