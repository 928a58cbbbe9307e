package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
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

// TestInternalPathsNotRouted specifies the exposure rule on small configs:
// whatever the route and service paths, no request through Kong may reach
// the issuer's feed or key documents unless a terminating route wins.
func TestInternalPathsNotRouted(t *testing.T) {
	t.Parallel()
	info, err := loadPluginInfo(&config{pluginDump: "testdata/plugin-dump.json"})
	if err != nil {
		t.Fatal(err)
	}
	const auth = `
  - name: patients
    url: http://patient-service:8080
    routes:
      - name: patients
        paths: [/patients]
        plugins:
          - name: medinsights-auth
            config: {jwks_url: "http://issuer:8001/.well-known/jwks.json"}
`
	tests := []struct {
		name     string
		services string
		want     string // "" when nothing internal is reachable
	}{
		{name: "api prefix stripped onto /api/auth", want: "GET /auth/revocations/ reaches", services: `
  - name: issuer
    url: http://issuer:8001/api/auth
    routes: [{name: auth, paths: [/auth]}]`},
		{name: "feed blocked by a longer terminating route", services: `
  - name: issuer
    url: http://issuer:8001/api/auth
    routes:
      - {name: auth, paths: [/auth]}
      - name: blocked
        paths: [/auth/revocations]
        plugins: [{name: request-termination, config: {status_code: 404}}]`},
		{name: "well-known passed through unstripped", want: "reaches the issuer's internal /.well-known/jwks.json", services: `
  - name: issuer-root
    url: http://issuer:8001
    routes: [{name: root, paths: [/.well-known], strip_path: false}]`},
		{name: "JWKS as the service path", want: "GET /keys reaches the issuer's internal /.well-known/jwks.json", services: `
  - name: keys
    url: http://issuer:8001/.well-known/jwks.json
    routes: [{name: keys, paths: [/keys]}]`},
		{name: "other hosts are not the issuer", services: `
  - name: other
    url: http://other:8001
    routes: [{name: other, paths: [/], strip_path: false}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc kongEntity
			if err := yaml.UnmarshalStrict([]byte("_format_version: \"3.0\"\nservices:"+tt.services+auth), &doc); err != nil {
				t.Fatal(err)
			}
			f := &findings{check: "kong"}
			checkKongDoc(f, "kong.yml", doc, info, nil)
			var exposed []string
			for _, p := range f.problems {
				if strings.Contains(p.msg, "reaches the issuer's internal") {
					exposed = append(exposed, p.msg)
				}
			}
			if tt.want == "" {
				if len(exposed) > 0 {
					t.Fatalf("want nothing reachable, got %q", exposed)
				}
				return
			}
			if !slices.ContainsFunc(exposed, func(m string) bool { return strings.Contains(m, tt.want) }) {
				t.Fatalf("want a problem containing %q, got %q", tt.want, exposed)
			}
		})
	}
}

// TestRouteProtection specifies "auth on every route": a route is protected
// unless the instance Kong applies to it is anonymous, and then it must be on
// the documented list of public routes.
func TestRouteProtection(t *testing.T) {
	t.Parallel()
	info, err := loadPluginInfo(&config{pluginDump: "testdata/plugin-dump.json"})
	if err != nil {
		t.Fatal(err)
	}
	const global = `
plugins:
  - name: medinsights-auth
    config: &auth {jwks_url: "http://issuer:8001/.well-known/jwks.json", issuer: i, audiences: [a]}
services:
  - name: issuer
    url: http://issuer:8001/api/auth
    routes:
      - name: auth
        paths: [/auth]
        plugins: [{name: medinsights-auth, config: {<<: *auth, anonymous: true}}]
  - name: patients
    url: http://patient-service:8080
    routes:
      - {name: patients, paths: [/patients]}
`
	tests := []struct {
		name   string
		doc    string
		public []string
		want   string // "" when the configuration passes
	}{
		{name: "global plugin, public route listed", doc: global, public: []string{"auth"}},
		{name: "route added without thinking is protected", public: []string{"auth"}, doc: global + `
      - {name: reports, paths: [/reports]}`},
		{name: "anonymous route not on the list", doc: global, want: `route "auth" lets callers without a token through but is not on the list`},
		{name: "unprotected route added with its own anonymous instance", public: []string{"auth"}, want: `route "reports" lets callers without a token through`, doc: global + `
      - name: reports
        paths: [/reports]
        plugins: [{name: medinsights-auth, config: {<<: *auth, anonymous: true}}]`},
		{name: "anonymous instance on a service", public: []string{"auth"}, want: `route "patients" lets callers without a token through`, doc: strings.Replace(global,
			"    url: http://patient-service:8080\n", "    url: http://patient-service:8080\n    plugins: [{name: medinsights-auth, config: {<<: *auth, anonymous: true}}]\n", 1)},
		{name: "listed route that is protected", doc: global, public: []string{"auth", "patients"}, want: `route "patients" is on the list of public routes`},
		{name: "listed route that does not exist", doc: global, public: []string{"auth", "gone"}, want: `public route "gone" is not a route`},
		{name: "disabled route instance does not exempt", public: []string{"auth"}, want: "does not exempt it", doc: global + `
      - name: reports
        paths: [/reports]
        plugins: [{name: medinsights-auth, enabled: false, config: {<<: *auth}}]`},
		{name: "plugin only on routes", want: "is not a global plugin", doc: `
services:
  - name: patients
    url: http://patient-service:8080
    routes:
      - name: patients
        paths: [/patients]
        plugins: [{name: medinsights-auth, config: {jwks_url: "http://issuer:8001/.well-known/jwks.json"}}]`},
		{name: "global plugin anonymous", want: "the global medinsights-auth plugin is anonymous", doc: `
plugins:
  - name: medinsights-auth
    config: {jwks_url: "http://issuer:8001/.well-known/jwks.json", anonymous: true}
services:
  - name: patients
    url: http://patient-service:8080
    routes:
      - {name: patients, paths: [/patients]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc kongEntity
			if err := yaml.UnmarshalStrict([]byte("_format_version: \"3.0\"\n"+tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			f := &findings{check: "kong"}
			checkKongDoc(f, "kong.yml", doc, info, tt.public)
			var got []string
			for _, p := range f.problems {
				if strings.Contains(p.msg, "token through") || strings.Contains(p.msg, "public route") || strings.Contains(p.msg, "exempt") ||
					strings.Contains(p.msg, "global medinsights-auth") || strings.Contains(p.msg, "not a global plugin") {
					got = append(got, p.msg)
				}
			}
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("want no problem, got %q", got)
				}
				return
			}
			if !slices.ContainsFunc(got, func(m string) bool { return strings.Contains(m, tt.want) }) {
				t.Fatalf("want a problem containing %q, got %q", tt.want, got)
			}
		})
	}
}

func TestPromQLMetrics(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		`sum by (le) (rate(a_bucket{x="y", z=~"5.."}[5m]))`:               "a_bucket",
		`histogram_quantile(0.99, sum by (le) (rate(b_bucket[10m]))) > 1`: "b_bucket",
		`sum(rate(c{status=~"5.."}[5m])) / sum(rate(c[5m])) > 0.05`:       "c",
		`increase(d[10m]) > 2 or max by (pod) (e) > 900`:                  "d e",
		`max(f) * 1e3 offset 5m`:                                          "f",
	} {
		if got := strings.Join(promQLMetrics(expr), " "); got != want {
			t.Errorf("promQLMetrics(%q) = %q, want %q", expr, got, want)
		}
	}
}

// TestPluginDumpFixtureCurrent keeps testdata/plugin-dump.json (used when
// the tests run without a built plugin) equal to what the built plugin
// prints; make infra-check passes the binary.
func TestPluginDumpFixtureCurrent(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("INFRACHECK_PLUGIN")
	if bin == "" {
		abs, err := filepath.Abs(filepath.Join(repoRoot, "bin/medinsights-auth"))
		if err != nil {
			t.Fatal(err)
		}
		bin = abs
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("no built plugin at %s and INFRACHECK_PLUGIN unset: run `make build` first", bin)
		}
	}
	built, err := loadPluginInfo(&config{root: repoRoot, pluginBin: bin})
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := loadPluginInfo(&config{pluginDump: "testdata/plugin-dump.json"})
	if err != nil {
		t.Fatal(err)
	}
	if built.Name != fixture.Name || !reflect.DeepEqual(built.config, fixture.config) {
		t.Fatalf("testdata/plugin-dump.json is stale: regenerate it with `bin/medinsights-auth -dump > tools/infracheck/testdata/plugin-dump.json`")
	}
}
