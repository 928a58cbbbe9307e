package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Where the monitoring artifacts and the code that defines metrics live.
const (
	dashboardFile      = "k8s/monitoring/grafana-dashboard.json"
	prometheusRuleFile = "k8s/monitoring/prometheusrule.yaml"
	podMonitorFile     = "k8s/monitoring/kong-podmonitor.yaml"
	pluginMetricsFile  = "kong-plugin/internal/plugin/metrics.go"
)

// metricSources are the packages whose code defines the metrics the
// dashboard and the alerts may name.
var metricSources = []string{"issuer/internal/metrics", "kong-plugin/internal/plugin"}

// checkMonitoring: the Grafana dashboard parses and, like the
// PrometheusRule, queries only metrics the code defines; the plugin server's
// metrics endpoint is turned on where Kong runs (chart values, compose) and
// scraped on the port it listens on.
func checkMonitoring(cfg *config, f *findings) error {
	names, err := definedMetrics(cfg)
	if err != nil {
		f.add(metricSources[0], "%v", err)
		return nil
	}
	if raw, err := cfg.read(dashboardFile); err != nil {
		f.add(dashboardFile, "%v", err)
	} else if exprs, err := dashboardExprs(raw); err != nil {
		f.add(dashboardFile, "%v", err)
	} else {
		checkExprs(f, dashboardFile, exprs, names)
	}
	if raw, err := cfg.read(prometheusRuleFile); err != nil {
		f.add(prometheusRuleFile, "%v", err)
	} else {
		var rule struct {
			Kind string `json:"kind"`
			Spec struct {
				Groups []struct {
					Rules []struct {
						Alert string `json:"alert"`
						Expr  string `json:"expr"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(raw, &rule); err != nil || rule.Kind != "PrometheusRule" {
			f.add(prometheusRuleFile, "not a PrometheusRule: %v", err)
		}
		var exprs []string
		for _, g := range rule.Spec.Groups {
			for _, r := range g.Rules {
				exprs = append(exprs, r.Expr)
			}
		}
		if len(exprs) == 0 {
			f.add(prometheusRuleFile, "no rules")
		}
		checkExprs(f, prometheusRuleFile, exprs, names)
	}
	checkMetricsEndpoint(cfg, f)

	// The Prometheus Operator objects against their CRDs (crds/).
	objects := map[string][]byte{}
	for _, file := range []string{podMonitorFile, prometheusRuleFile} {
		if raw, err := cfg.read(file); err == nil {
			objects[file] = raw
		}
	}
	if _, err := validateRendered(cfg, f, objects); err != nil {
		return err
	}
	return nil
}

func checkExprs(f *findings, file string, exprs []string, defined map[string]bool) {
	for _, e := range exprs {
		used := promQLMetrics(e)
		if len(used) == 0 {
			f.add(file, "query %q names no metric", e)
		}
		for _, m := range used {
			if !defined[m] {
				f.add(file, "query %q names %s, which no code defines (%s)", e, m, strings.Join(metricSources, ", "))
			}
		}
	}
}

// dashboardExprs returns every query of a Grafana dashboard, row panels'
// nested panels included.
func dashboardExprs(raw []byte) ([]string, error) {
	type panel struct {
		Title   string  `json:"title"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var d struct {
		Title  string  `json:"title"`
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		return nil, fmt.Errorf("a dashboard needs a title, a uid and panels")
	}
	var exprs []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				exprs = append(exprs, t.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if len(exprs) == 0 {
		return nil, fmt.Errorf("no panel has a query")
	}
	return exprs, nil
}

// definedMetrics reads the metric names the code defines: every string
// literal that is a whole medinsights_ name, and every "medinsights_..._"
// prefix joined to the literals its file passes around (the issuer's pool
// collector builds its names that way). Histograms also expose _bucket,
// _sum and _count.
func definedMetrics(cfg *config) (map[string]bool, error) {
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, dir := range metricSources {
		files, err := filepath.Glob(cfg.path(filepath.Join(dir, "*.go")))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("no Go files in %s", dir)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", cfg.rel(file), err)
			}
			var prefixes, words []string
			ast.Inspect(af, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BinaryExpr:
					if s, ok := stringLit(n.X); ok && n.Op == token.ADD && metricNameRE.MatchString(s) && strings.HasSuffix(s, "_") {
						prefixes = append(prefixes, s)
					}
				case *ast.BasicLit:
					if s, ok := stringLit(n); ok {
						switch {
						case metricNameRE.MatchString(s) && !strings.HasSuffix(s, "_"):
							names[s] = true
						case metricWordRE.MatchString(s):
							words = append(words, s)
						}
					}
				}
				return true
			})
			for _, p := range prefixes {
				for _, w := range words {
					names[p+w] = true
				}
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no metric names found in %s", strings.Join(metricSources, ", "))
	}
	for n := range names {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			names[n+suffix] = true
		}
	}
	names["up"] = true // Prometheus's own, per scrape target
	return names, nil
}

var (
	metricNameRE = regexp.MustCompile(`^medinsights_[a-z0-9_]+$`)
	metricWordRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

var (
	promStringRE   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promBracesRE   = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGroupingRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdentRE    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords   = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"}
)

// promQLMetrics returns the metric names a PromQL expression selects: its
// identifiers once strings, label matchers, ranges and grouping clauses are
// removed, less functions (an identifier before "(") and keywords.
func promQLMetrics(expr string) []string {
	e := promStringRE.ReplaceAllString(expr, `""`)
	e = promBracesRE.ReplaceAllString(e, " ")
	e = promGroupingRE.ReplaceAllString(e, " ")
	var out []string
	for _, loc := range promIdentRE.FindAllStringIndex(e, -1) {
		id := e[loc[0]:loc[1]]
		rest := strings.TrimLeft(e[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || slices.Contains(promKeywords, strings.ToLower(id)) {
			continue
		}
		if loc[0] > 0 && (e[loc[0]-1] >= '0' && e[loc[0]-1] <= '9' || e[loc[0]-1] == '.') {
			continue // a unit or exponent of a number: 5m, 1e3
		}
		out = append(out, id)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// checkMetricsEndpoint: Kong's chart values and the compose stack set the
// plugin server's metrics address (and let it through nginx's environment
// clearing with nginx_main_env), and the PodMonitor scrapes that port.
func checkMetricsEndpoint(cfg *config, f *findings) {
	envName, err := pluginMetricsEnv(cfg)
	if err != nil {
		f.add(pluginMetricsFile, "%v", err)
		return
	}
	const values = "charts/kong-values.yaml"
	raw, err := cfg.read(values)
	if err != nil {
		f.add(values, "%v", err)
		return
	}
	var v struct {
		Env       map[string]any    `json:"env"`
		CustomEnv map[string]string `json:"customEnv"`
	}
	if err := yaml.Unmarshal(raw, &v); err != nil {
		f.add(values, "YAML: %v", err)
		return
	}
	addr := v.CustomEnv[envName]
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		f.add(values, "customEnv.%s must be the plugin server's metrics address host:port (got %q)", envName, addr)
	}
	if fmt.Sprint(v.Env["nginx_main_env"]) != envName {
		f.add(values, "env.nginx_main_env must be %s: nginx clears the environment of the workers that start the plugin server", envName)
	}
	if raw, err := cfg.read(podMonitorFile); err != nil {
		f.add(podMonitorFile, "%v", err)
	} else {
		var pm struct {
			Kind string `json:"kind"`
			Spec struct {
				Endpoints []struct {
					PortNumber int    `json:"portNumber"`
					Path       string `json:"path"`
				} `json:"podMetricsEndpoints"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(raw, &pm); err != nil || pm.Kind != "PodMonitor" || len(pm.Spec.Endpoints) != 1 {
			f.add(podMonitorFile, "want a PodMonitor with one endpoint: %v", err)
		} else if e := pm.Spec.Endpoints[0]; strconv.Itoa(e.PortNumber) != port || e.Path != "/metrics" {
			f.add(podMonitorFile, "scrapes port %d%s, the plugin server listens on %s/metrics", e.PortNumber, e.Path, port)
		}
	}
}

// pluginMetricsEnv reads the name of the metrics address variable from the
// plugin's code.
func pluginMetricsEnv(cfg *config) (string, error) {
	af, err := parser.ParseFile(token.NewFileSet(), cfg.path(pluginMetricsFile), nil, 0)
	if err != nil {
		return "", fmt.Errorf("parse: %w", err)
	}
	for _, d := range af.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name == "MetricsAddrEnv" && i < len(vs.Values) {
					if s, ok := stringLit(vs.Values[i]); ok {
						return s, nil
					}
				}
			}
		}
	}
	return "", fmt.Errorf("no MetricsAddrEnv constant")
}
