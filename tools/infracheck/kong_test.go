package main

import (
	"strings"
	"testing"
)

func TestSchemaMismatch(t *testing.T) {
	t.Parallel()
	strings_ := map[string]any{"type": "array", "elements": map[string]any{"type": "string"}}
	tests := []struct {
		name   string
		value  any
		schema map[string]any
		want   string // "" when the value fits
	}{
		{name: "null is unset", value: nil, schema: map[string]any{"type": "integer"}},
		{name: "integer", value: float64(30), schema: map[string]any{"type": "integer"}},
		{name: "fraction for integer", value: 1.5, schema: map[string]any{"type": "integer"}, want: "must be of type integer"},
		{name: "string for boolean", value: "true", schema: map[string]any{"type": "boolean"}, want: "must be of type boolean"},
		{name: "array of strings", value: []any{"a", "b"}, schema: strings_},
		{name: "array with a number", value: []any{"a", float64(1)}, schema: strings_, want: "element 1 must be of type string"},
		{name: "unsigned out of range", value: float64(-1), schema: map[string]any{"type": "integer", "between": []any{float64(0), float64(2147483648)}}, want: "outside"},
		{name: "record with unknown field", value: map[string]any{"x": "1"}, schema: map[string]any{"type": "record", "fields": []any{map[string]any{"y": map[string]any{"type": "string"}}}}, want: "not in the plugin's -dump schema"},
		{name: "unknown schema type", value: "x", schema: map[string]any{"type": "foreign"}, want: "does not know"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := schemaMismatch(tt.value, tt.schema)
			if tt.want == "" && got != "" {
				t.Fatalf("want a fit, got %q", got)
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("got %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestParseGoBuild(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line string
		want       goBuild
	}{
		{name: "Makefile", line: "CGO_ENABLED=0 ${GO} build -trimpath -ldflags \"-s -w\" -o ${BIN}/issuer ./issuer/cmd/issuer",
			want: goBuild{env: "CGO_ENABLED=0", flags: "-trimpath -ldflags \"-s -w\"", output: "${BIN}/issuer", pkg: "./issuer/cmd/issuer"}},
		{name: "Dockerfile with continuation", line: "CGO_ENABLED=0 go build -trimpath \\\n -ldflags \"-s\" -o /out/x ./cmd/x",
			want: goBuild{env: "CGO_ENABLED=0", flags: "-trimpath -ldflags \"-s\"", output: "/out/x", pkg: "./cmd/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseGoBuild(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
