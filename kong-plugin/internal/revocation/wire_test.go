package revocation

import (
	"errors"
	"strings"
	"testing"
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
		{name: "not an object", body: `[]`, wantErr: true},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := decodePage(strings.NewReader(tt.body))
			if tt.wantErr {
				if !errors.Is(err, errFeedProtocol) {
					t.Fatalf("decodePage = %v, want errFeedProtocol", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodePage: %v", err)
			}
			if p.cursor != tt.wantCursor || p.snapshot != tt.wantSnapshot {
				t.Errorf("cursor, snapshot = %d, %v; want %d, %v", p.cursor, p.snapshot, tt.wantCursor, tt.wantSnapshot)
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
