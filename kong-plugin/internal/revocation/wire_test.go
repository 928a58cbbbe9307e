package revocation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseSessionID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		wantOK bool
	}{
		{in: "0f8fad5b-d9cb-469f-a165-70867728950e", wantOK: true},
		{in: "0F8FAD5B-D9CB-469F-A165-70867728950E", wantOK: true},
		{in: "00000000-0000-0000-0000-000000000000", wantOK: true},
		{in: "", wantOK: false},
		{in: "0f8fad5bd9cb469fa16570867728950e", wantOK: false},
		{in: "{0f8fad5b-d9cb-469f-a165-70867728950e}", wantOK: false},
		{in: "0f8fad5b-d9cb-469f-a165-70867728950", wantOK: false},
		{in: "0f8fad5b-d9cb-469f-a165-70867728950g", wantOK: false},
		{in: "0f8fad5b_d9cb-469f-a165-70867728950e", wantOK: false},
		{in: "0f8fad5b-d9cb-469f-a165-7086772895\x00e", wantOK: false},
		{in: "0f8fad5b-d9cb-469f-a165-7086772895\xffe", wantOK: false},
		{in: "0f8fad5-bd9cb-469f-a165-70867728950e", wantOK: false},
	}
	for _, tt := range tests {
		id, ok := parseSessionID(tt.in)
		if ok != tt.wantOK {
			t.Errorf("parseSessionID(%q) ok = %v, want %v", tt.in, ok, tt.wantOK)
			continue
		}
		if ok && id.String() != strings.ToLower(tt.in) {
			t.Errorf("parseSessionID(%q).String() = %q, want the lower-case input", tt.in, id.String())
		}
	}
}

func TestDecodePage(t *testing.T) {
	t.Parallel()
	const a, b = "0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	tests := []struct {
		name         string
		body         string
		wantErr      bool
		wantCursor   int64
		wantSnapshot bool
		wantMore     bool
		wantEvents   map[string]int64
	}{
		{
			name:         "snapshot",
			body:         `{"cursor": 7, "snapshot": true, "events": [{"seq": 3, "sid": "` + a + `", "expires_at": 100}, {"seq": 7, "sid": "` + b + `", "expires_at": 200}]}`,
			wantCursor:   7,
			wantSnapshot: true,
			wantEvents:   map[string]int64{a: 100, b: 200},
		},
		{
			name:       "fields in any order, unknown ones ignored",
			body:       `{"events": [{"expires_at": 100, "sid": "` + a + `", "seq": 2}], "next": {"x": [1]}, "snapshot": false, "cursor": 9}`,
			wantCursor: 9,
			wantEvents: map[string]int64{a: 100},
		},
		{
			name:       "a full page: more",
			body:       `{"cursor": 2, "snapshot": false, "more": true, "events": [{"seq": 2, "sid": "` + a + `", "expires_at": 100}]}`,
			wantCursor: 2,
			wantMore:   true,
			wantEvents: map[string]int64{a: 100},
		},
		{
			name:       "more false",
			body:       `{"more": false, "cursor": 2, "snapshot": false, "events": []}`,
			wantCursor: 2,
			wantEvents: map[string]int64{},
		},
		{
			name:       "a session twice keeps the later expiry",
			body:       `{"cursor": 2, "snapshot": false, "events": [{"seq": 1, "sid": "` + a + `", "expires_at": 300}, {"seq": 2, "sid": "` + a + `", "expires_at": 100}]}`,
			wantCursor: 2,
			wantEvents: map[string]int64{a: 300},
		},
		{
			name:       "null events",
			body:       `{"cursor": 4, "snapshot": false, "events": null}`,
			wantCursor: 4,
			wantEvents: map[string]int64{},
		},
		{
			name:       "whitespace everywhere, nested unknown fields, escapes",
			body:       " \n{ \"cursor\" :\t3 ,\"x\":{\"a\":[1,-2.5e+3,true,false,null,\"\\u00e9\\\"\\n\\ud83d\\ude00\"]},\r\n\"snapshot\": false , \"events\" : [ { \"seq\" : 3 , \"x\": [] , \"sid\" : \"" + a + "\" , \"expires_at\" : 100 } ] }\n",
			wantCursor: 3,
			wantEvents: map[string]int64{a: 100},
		},
		{
			name:       "largest cursor",
			body:       `{"cursor": 9223372036854775807, "snapshot": false, "events": []}`,
			wantCursor: 9223372036854775807,
			wantEvents: map[string]int64{},
		},
		{
			name:       "minus zero",
			body:       `{"cursor": -0, "snapshot": false, "events": []}`,
			wantCursor: 0,
			wantEvents: map[string]int64{},
		},
		{name: "empty", body: ``, wantErr: true},
		{name: "not an object", body: `[]`, wantErr: true},
		{name: "trailing garbage", body: `{"cursor": 1, "snapshot": false, "events": []} x`, wantErr: true},
		{name: "two answers", body: `{"cursor": 1, "snapshot": false, "events": []}{}`, wantErr: true},
		{name: "events twice", body: `{"cursor": 1, "snapshot": false, "events": [], "events": []}`, wantErr: true},
		{name: "cursor overflows", body: `{"cursor": 9223372036854775808, "snapshot": false, "events": []}`, wantErr: true},
		{name: "cursor with 20 digits", body: `{"cursor": 18446744073709551617, "snapshot": false, "events": []}`, wantErr: true},
		{name: "cursor a fraction", body: `{"cursor": 1.0, "snapshot": false, "events": []}`, wantErr: true},
		{name: "cursor an exponent", body: `{"cursor": 1e3, "snapshot": false, "events": []}`, wantErr: true},
		{name: "cursor with a leading zero", body: `{"cursor": 01, "snapshot": false, "events": []}`, wantErr: true},
		{name: "cursor with a plus", body: `{"cursor": +1, "snapshot": false, "events": []}`, wantErr: true},
		{name: "snapshot misspelt", body: `{"cursor": 1, "snapshot": fals, "events": []}`, wantErr: true},
		{name: "snapshot another word", body: `{"cursor": 1, "snapshot": xalse, "events": []}`, wantErr: true},
		{name: "snapshot a string", body: `{"cursor": 1, "snapshot": "false", "events": []}`, wantErr: true},
		{name: "trailing comma", body: `{"cursor": 1, "snapshot": false, "events": [],}`, wantErr: true},
		{name: "trailing comma in events", body: `{"cursor": 1, "snapshot": false, "events": [{"seq": 1, "sid": "` + a + `", "expires_at": 1},]}`, wantErr: true},
		{name: "single quotes", body: `{'cursor': 1, "snapshot": false, "events": []}`, wantErr: true},
		{name: "control character in a key", body: "{\"cur\nsor\": 1, \"snapshot\": false, \"events\": []}", wantErr: true},
		{name: "bad escape in an unknown field", body: `{"x": "\q", "cursor": 1, "snapshot": false, "events": []}`, wantErr: true},
		{name: "malformed number in an unknown field", body: `{"x": 1., "cursor": 1, "snapshot": false, "events": []}`, wantErr: true},
		{name: "minus alone in an unknown field", body: `{"x": -, "cursor": 1, "snapshot": false, "events": []}`, wantErr: true},
		{name: "leading zero in an unknown field", body: `{"x": 00, "cursor": 1, "snapshot": false, "events": []}`, wantErr: true},
		{name: "unknown field nested too deep", body: `{"x": ` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `, "cursor": 1, "snapshot": false, "events": []}`, wantErr: true},
		{name: "sid with an escape", body: `{"cursor": 4, "snapshot": false, "events": [{"seq": 1, "sid": "\u0030f8fad5b-d9cb-469f-a165-70867728950e", "expires_at": 1}]}`, wantErr: true},
		{name: "sid too long", body: `{"cursor": 4, "snapshot": false, "events": [{"seq": 1, "sid": "` + a + `0", "expires_at": 1}]}`, wantErr: true},
		{name: "truncated", body: `{"cursor": 4, "snapshot": false, "events": [`, wantErr: true},
		{name: "events missing", body: `{"cursor": 4, "snapshot": false}`, wantErr: true},
		{name: "snapshot missing", body: `{"cursor": 4, "events": []}`, wantErr: true},
		{name: "cursor a string", body: `{"cursor": "4", "snapshot": false, "events": []}`, wantErr: true},
		{name: "negative cursor", body: `{"cursor": -1, "snapshot": false, "events": []}`, wantErr: true},
		{name: "events an object", body: `{"cursor": 4, "snapshot": false, "events": {}}`, wantErr: true},
		{name: "seq zero", body: `{"cursor": 4, "snapshot": false, "events": [{"seq": 0, "sid": "` + a + `", "expires_at": 1}]}`, wantErr: true},
		{name: "sid missing", body: `{"cursor": 4, "snapshot": false, "events": [{"seq": 1, "expires_at": 1}]}`, wantErr: true},
		{name: "sid a number", body: `{"cursor": 4, "snapshot": false, "events": [{"seq": 1, "sid": 5, "expires_at": 1}]}`, wantErr: true},
		{name: "expiry missing", body: `{"cursor": 4, "snapshot": false, "events": [{"seq": 1, "sid": "` + a + `"}]}`, wantErr: true},
		{name: "expiry RFC 3339", body: `{"cursor": 4, "snapshot": false, "events": [{"seq": 1, "sid": "` + a + `", "expires_at": "2030-01-01T00:00:00Z"}]}`, wantErr: true},
		{name: "event past the cursor", body: `{"cursor": 4, "snapshot": false, "events": [{"seq": 5, "sid": "` + a + `", "expires_at": 1}]}`, wantErr: true},
		{name: "more a string", body: `{"cursor": 1, "snapshot": false, "more": "true", "events": []}`, wantErr: true},
		{name: "more twice", body: `{"cursor": 1, "snapshot": false, "more": false, "more": true, "events": []}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := decodePage(strings.NewReader(tt.body), false)
			if tt.wantErr {
				if !errors.Is(err, errFeedProtocol) {
					t.Fatalf("decodePage = %v, want errFeedProtocol", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodePage: %v", err)
			}
			if p.cursor != tt.wantCursor || p.snapshot != tt.wantSnapshot || p.more != tt.wantMore {
				t.Errorf("cursor, snapshot, more = %d, %v, %v; want %d, %v, %v", p.cursor, p.snapshot, p.more, tt.wantCursor, tt.wantSnapshot, tt.wantMore)
			}
			got := make(map[string]int64, len(p.events))
			for id, exp := range p.events {
				got[id.String()] = exp
			}
			if len(got) != len(tt.wantEvents) {
				t.Errorf("events = %v, want %v", got, tt.wantEvents)
			}
			for k, v := range tt.wantEvents {
				if got[k] != v {
					t.Errorf("events[%s] = %d, want %d", k, got[k], v)
				}
			}
		})
	}
}

// FuzzDecodePage: the feed reader never panics, refuses everything that is
// not JSON, and what it accepts survives a round trip through the
// issuer's encoding unchanged.
func FuzzDecodePage(f *testing.F) {
	const a = "0f8fad5b-d9cb-469f-a165-70867728950e"
	for _, seed := range []string{
		`{"cursor": 7, "snapshot": true, "events": [{"seq": 3, "sid": "` + a + `", "expires_at": 100}]}`,
		`{"events": null, "snapshot": false, "cursor": 0, "x": {"y": [1, 2.5e-3, "\u00e9"]}}`,
		`{"cursor": 01, "snapshot": false, "events": []}`,
		`{"cursor": 1, "snapshot": fals, "events": []}`,
		`[]`, ``, `{`, `{"cursor": -9223372036854775808}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePage(bytes.NewReader(body), false)
		if err != nil {
			if !errors.Is(err, errFeedProtocol) {
				t.Fatalf("error %v does not wrap errFeedProtocol", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var b strings.Builder
		fmt.Fprintf(&b, `{"cursor":%d,"snapshot":%t,"events":[`, p.cursor, p.snapshot)
		i := 0
		for id, exp := range p.events {
			if i > 0 {
				b.WriteByte(',')
			}
			i++
			fmt.Fprintf(&b, `{"seq":%d,"sid":"%s","expires_at":%d}`, max(1, min(p.cursor, p.maxSeq)), id, exp)
		}
		b.WriteString("]}")
		again, err := decodePage(strings.NewReader(b.String()), false)
		if err != nil {
			t.Fatalf("re-encoded %q refused: %v", b.String(), err)
		}
		if again.cursor != p.cursor || again.snapshot != p.snapshot || len(again.events) != len(p.events) {
			t.Fatalf("round trip changed the page: %+v then %+v", p, again)
		}
		for id, exp := range p.events {
			if again.events[id] != exp {
				t.Fatalf("round trip changed %s: %d then %d", id, exp, again.events[id])
			}
		}
	})
}

// TestDecodePageKeepsEventsForOnApplied: asked to keep them, the reader
// lists a delta's events in feed order with their commit time (zero when
// the issuer did not send it), and never a snapshot's.
func TestDecodePageKeepsEventsForOnApplied(t *testing.T) {
	const a, b = "0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	delta := `{"cursor": 9, "snapshot": false, "events": [
		{"seq": 8, "sid": "` + a + `", "expires_at": 2000000000, "committed_at_us": 1767224700123456},
		{"seq": 9, "sid": "` + b + `", "expires_at": 2000000060}]}`
	p, err := decodePage(strings.NewReader(delta), true)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Seq: 8, SessionID: a, ExpiresAt: time.Unix(2000000000, 0), CommittedAt: time.UnixMicro(1767224700123456)},
		{Seq: 9, SessionID: b, ExpiresAt: time.Unix(2000000060, 0)},
	}
	if len(p.list) != len(want) {
		t.Fatalf("kept %d events, want %d", len(p.list), len(want))
	}
	for i, w := range want {
		if g := p.list[i]; g.Seq != w.Seq || g.SessionID != w.SessionID || !g.ExpiresAt.Equal(w.ExpiresAt) || !g.CommittedAt.Equal(w.CommittedAt) {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
	}
	snapshot := strings.Replace(delta, `"snapshot": false`, `"snapshot": true`, 1)
	if p, err := decodePage(strings.NewReader(snapshot), true); err != nil || p.list != nil {
		t.Errorf("snapshot: kept %d events (err %v), want none", len(p.list), err)
	}
	if p, err := decodePage(strings.NewReader(delta), false); err != nil || p.list != nil {
		t.Errorf("not asked: kept %d events (err %v), want none", len(p.list), err)
	}
}
