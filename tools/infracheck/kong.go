package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// pluginInfo is the part of the plugin server's -dump output Kong reads.
type pluginInfo struct {
	Name     string
	Priority int
	Phases   []string
	Version  string
	Schema   map[string]any
	// config is the record schema of the plugin's `config` field.
	config map[string]any
}

type pluginDump struct {
	Protocol string
	Plugins  []pluginInfo
}

// loadPluginInfo runs the built plugin with -dump (or reads a saved dump)
// and returns its one plugin, with the config record extracted.
func loadPluginInfo(cfg *config) (*pluginInfo, error) {
	var out []byte
	if cfg.pluginDump != "" {
		b, err := os.ReadFile(cfg.pluginDump)
		if err != nil {
			return nil, fmt.Errorf("read plugin dump: %w", err)
		}
		out = b
	} else {
		s, ok, err := runTool(cfg.root, cfg.pluginBin, "-dump")
		if err != nil {
			return nil, fmt.Errorf("plugin -dump: %w", err)
		}
		if !ok {
			return nil, fmt.Errorf("%s -dump failed: %s", cfg.pluginBin, firstLines(s, 5))
		}
		out = []byte(s)
	}
	var d pluginDump
	if err := json.Unmarshal(out, &d); err != nil {
		return nil, fmt.Errorf("decode plugin -dump: %w", err)
	}
	if d.Protocol != "ProtoBuf:1" || len(d.Plugins) != 1 {
		return nil, fmt.Errorf("plugin -dump: want protocol ProtoBuf:1 and one plugin, got %q and %d", d.Protocol, len(d.Plugins))
	}
	p := d.Plugins[0]
	fields, _ := p.Schema["fields"].([]any)
	for _, fl := range fields {
		if m, ok := fl.(map[string]any); ok {
			if c, ok := m["config"].(map[string]any); ok {
				p.config = c
			}
		}
	}
	if p.config == nil || p.config["type"] != "record" {
		return nil, fmt.Errorf("plugin -dump: schema has no config record")
	}
	return &p, nil
}

// Kong 3.x declarative format: the entities and fields this project may use.
// Kong rejects unknown fields; so does this check.
var (
	kongTopLevel = []string{"_format_version", "_transform", "_info", "_workspace", "services", "routes", "plugins", "upstreams", "consumers", "certificates", "ca_certificates", "snis", "vaults", "consumer_groups"}
	kongService  = []string{"name", "url", "protocol", "host", "port", "path", "retries", "connect_timeout", "read_timeout", "write_timeout", "tags", "client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates", "enabled", "routes", "plugins"}
	kongRoute    = []string{"name", "protocols", "methods", "hosts", "paths", "headers", "https_redirect_status_code", "regex_priority", "strip_path", "path_handling", "preserve_host", "request_buffering", "response_buffering", "snis", "sources", "destinations", "tags", "service", "plugins"}
	kongPlugin   = []string{"name", "config", "enabled", "protocols", "tags", "instance_name", "ordering", "service", "route", "consumer"}
	kongProtos   = []string{"http", "https", "grpc", "grpcs", "tcp", "tls", "udp", "tls_passthrough", "ws", "wss"}
)

// bundledPlugins: the bundled Kong plugins this check knows, with their
// config fields and types (from Kong 3.9's schemas, the fields a gateway of
// this kind uses). A plugin missing here is refused until it is added, so a
// typo in a plugin or field name never reaches Kong.
var bundledPlugins = map[string]map[string]string{
	"cors": {
		"origins": "array", "methods": "array", "headers": "array", "exposed_headers": "array",
		"credentials": "boolean", "max_age": "number", "preflight_continue": "boolean", "private_network": "boolean",
	},
	"rate-limiting": {
		"second": "number", "minute": "number", "hour": "number", "day": "number", "month": "number", "year": "number",
		"limit_by": "string", "policy": "string", "fault_tolerant": "boolean", "hide_client_headers": "boolean",
		"error_code": "number", "error_message": "string", "header_name": "string", "path": "string",
	},
	"request-size-limiting": {"allowed_payload_size": "integer", "size_unit": "string", "require_content_length": "boolean"},
	"correlation-id":        {"header_name": "string", "generator": "string", "echo_downstream": "boolean"},
	"request-termination": {
		"status_code": "integer", "message": "string", "body": "string", "content_type": "string", "echo": "boolean", "trigger": "string",
	},
	"ip-restriction": {"allow": "array", "deny": "array", "status": "number", "message": "string"},
	"prometheus": {
		"per_consumer": "boolean", "status_code_metrics": "boolean", "latency_metrics": "boolean",
		"bandwidth_metrics": "boolean", "upstream_health_metrics": "boolean",
	},
}

// internalIssuerPaths must never be reachable through Kong from outside:
// the revocation feed and the key/discovery documents are for Kong itself,
// on the internal network.
var internalIssuerPaths = []string{"/api/auth/revocations/", "/api/auth/revocations", "/.well-known/jwks.json", "/.well-known/openid-configuration"}

type kongEntity = map[string]any

type kongRouteInfo struct {
	name      string
	paths     []string
	strip     bool
	service   kongEntity
	svcURL    *url.URL
	plugins   []kongEntity
	svcPlugin []kongEntity
}

func checkKong(cfg *config, f *findings) error {
	info, err := loadPluginInfo(cfg)
	if err != nil {
		return err
	}
	const file = "kong/kong.yml"
	raw, err := cfg.read(file)
	if err != nil {
		f.add(file, "%v", err)
		return nil
	}
	var doc kongEntity
	if err := yaml.UnmarshalStrict(raw, &doc); err != nil {
		f.add(file, "YAML: %v", err)
		return nil
	}
	public, err := loadPublicRoutes(cfg)
	if err != nil {
		f.add(publicRoutesDoc, "%v", err)
	}
	checkKongDoc(f, file, doc, info, public)
	return nil
}

func checkKongDoc(f *findings, file string, doc kongEntity, info *pluginInfo, public []string) {
	if v, _ := doc["_format_version"].(string); v != "3.0" {
		f.add(file, "_format_version must be the string \"3.0\" (got %v)", doc["_format_version"])
	}
	unknownKeys(f, file, "top level", doc, kongTopLevel)

	var routes []kongRouteInfo
	var authPlugins []kongEntity
	serviceNames := map[string]bool{}
	routeNames := map[string]bool{}
	pluginSeen := map[string]bool{}

	checkPlugins := func(where string, list any) []kongEntity {
		var out []kongEntity
		items, ok := list.([]any)
		if list != nil && !ok {
			f.add(file, "%s: plugins must be a list", where)
			return nil
		}
		for i, it := range items {
			p, ok := it.(kongEntity)
			if !ok {
				f.add(file, "%s: plugins[%d] is not a mapping", where, i)
				continue
			}
			name, _ := p["name"].(string)
			pw := fmt.Sprintf("%s plugin %q", where, name)
			unknownKeys(f, file, pw, p, kongPlugin)
			conf, _ := p["config"].(kongEntity)
			if p["config"] != nil && conf == nil {
				f.add(file, "%s: config must be a mapping", pw)
			}
			switch {
			case name == info.Name:
				checkRecord(f, file, pw+" config", conf, info.config)
				authPlugins = append(authPlugins, p)
			case bundledPlugins[name] != nil:
				for k, v := range conf {
					want, ok := bundledPlugins[name][k]
					if !ok {
						f.add(file, "%s: unknown config field %q", pw, k)
						continue
					}
					if problem := typeMismatch(v, want); problem != "" {
						f.add(file, "%s: config.%s %s", pw, k, problem)
					}
				}
			default:
				f.add(file, "%s: neither %s nor a bundled plugin this check knows (add it to bundledPlugins in tools/infracheck/kong.go)", pw, info.Name)
			}
			pluginSeen[name] = true
			out = append(out, p)
		}
		return out
	}

	services, _ := doc["services"].([]any)
	if len(services) == 0 {
		f.add(file, "no services")
	}
	for i, it := range services {
		s, ok := it.(kongEntity)
		if !ok {
			f.add(file, "services[%d] is not a mapping", i)
			continue
		}
		name, _ := s["name"].(string)
		where := fmt.Sprintf("service %q", name)
		if name == "" {
			f.add(file, "services[%d] has no name", i)
		} else if serviceNames[name] {
			f.add(file, "%s: duplicate name", where)
		}
		serviceNames[name] = true
		unknownKeys(f, file, where, s, kongService)
		u := serviceURL(s)
		if u == nil || u.Host == "" || !slices.Contains([]string{"http", "https", "grpc", "grpcs"}, u.Scheme) {
			f.add(file, "%s: needs url (or protocol/host/port) with an http(s) or grpc(s) upstream", where)
			u = &url.URL{}
		}
		svcPlugins := checkPlugins(where, s["plugins"])
		rs, _ := s["routes"].([]any)
		for j, rit := range rs {
			r, ok := rit.(kongEntity)
			if !ok {
				f.add(file, "%s: routes[%d] is not a mapping", where, j)
				continue
			}
			rname, _ := r["name"].(string)
			rwhere := fmt.Sprintf("route %q", rname)
			if rname == "" {
				f.add(file, "%s: routes[%d] has no name", where, j)
			} else if routeNames[rname] {
				f.add(file, "%s: duplicate name", rwhere)
			}
			routeNames[rname] = true
			unknownKeys(f, file, rwhere, r, kongRoute)
			ri := kongRouteInfo{name: rname, service: s, svcURL: u, strip: true, svcPlugin: svcPlugins}
			if v, ok := r["strip_path"]; ok {
				b, isBool := v.(bool)
				if !isBool {
					f.add(file, "%s: strip_path must be a boolean", rwhere)
				}
				ri.strip = b
			}
			paths, _ := r["paths"].([]any)
			hosts, _ := r["hosts"].([]any)
			if len(paths) == 0 && len(hosts) == 0 {
				f.add(file, "%s: needs paths or hosts", rwhere)
			}
			for _, p := range paths {
				ps, _ := p.(string)
				if !strings.HasPrefix(ps, "/") && !strings.HasPrefix(ps, "~/") {
					f.add(file, "%s: path %v must start with / (or ~/ for a regex)", rwhere, p)
					continue
				}
				ri.paths = append(ri.paths, ps)
			}
			if protos, ok := r["protocols"].([]any); ok {
				for _, p := range protos {
					if ps, _ := p.(string); !slices.Contains(kongProtos, ps) {
						f.add(file, "%s: unknown protocol %v", rwhere, p)
					}
				}
			}
			ri.plugins = checkPlugins(rwhere, r["plugins"])
			routes = append(routes, ri)
		}
	}
	global := checkPlugins("global", doc["plugins"])

	checkKongPolicy(f, file, routes, authPlugins, pluginSeen, info)
	checkRouteProtection(f, file, routes, global, public, info)
}

// checkKongPolicy: what the issue asks of the gateway configuration.
func checkKongPolicy(f *findings, file string, routes []kongRouteInfo, authPlugins []kongEntity, seen map[string]bool, info *pluginInfo) {
	for _, p := range []string{"cors", "correlation-id", "request-size-limiting", "rate-limiting", info.Name} {
		if !seen[p] {
			f.add(file, "plugin %s is not configured", p)
		}
	}
	if len(authPlugins) == 0 {
		return
	}
	issuerHosts := map[string]bool{}
	for _, p := range authPlugins {
		conf, _ := p["config"].(kongEntity)
		ju, _ := conf["jwks_url"].(string)
		u, err := url.Parse(ju)
		if err != nil || u.Host == "" {
			f.add(file, "%s config.jwks_url %q is not a URL of the issuer", info.Name, ju)
			continue
		}
		issuerHosts[u.Host] = true
		if tok, ok := conf["revocation_token"].(string); ok && !strings.HasPrefix(tok, "${{ env \"DECK_") {
			f.add(file, "%s config.revocation_token must be a decK environment reference (${{ env \"DECK_...\" }}), never a literal secret", info.Name)
		}
		if conf["revocation_url"] != nil && conf["revocation_token"] == nil {
			f.add(file, "%s: revocation_url without revocation_token", info.Name)
		}
	}

	// The login and register routes carry their own rate limit.
	for _, want := range []string{"/auth/login", "/auth/register"} {
		r := matchRoute(routes, want+"/")
		if r == nil || !hasPlugin(r.plugins, "rate-limiting") {
			f.add(file, "%s/ is not served by a route with rate-limiting", want)
		}
	}

	// Nothing internal is reachable: for every route onto the issuer, work
	// out which request path would reach each internal path, and make sure
	// Kong's longest-prefix match sends that request to a route that
	// terminates it.
	for _, r := range routes {
		if !issuerHosts[r.svcURL.Host] {
			continue
		}
		for _, prefix := range r.paths {
			if strings.HasPrefix(prefix, "~") {
				f.add(file, "route %q: regex paths onto the issuer cannot be proven safe by this check", r.name)
				continue
			}
			for _, internal := range internalIssuerPaths {
				req, ok := requestPathFor(r, prefix, internal)
				if !ok {
					continue
				}
				winner := matchRoute(routes, req)
				if winner == nil || hasPlugin(winner.plugins, "request-termination") || hasPlugin(winner.svcPlugin, "request-termination") {
					continue
				}
				if winner.name == r.name || reaches(winner, req) == internal {
					f.add(file, "GET %s reaches the issuer's internal %s publicly (route %q)", req, internal, winner.name)
				}
			}
		}
	}
}

// requestPathFor returns the request path that route r, matched on prefix,
// would forward to the upstream path target, with Kong's default
// path_handling v0: stripped, the rest of the path follows the service's
// path; not stripped, the whole request path does.
func requestPathFor(r kongRouteInfo, prefix, target string) (string, bool) {
	rest, ok := strings.CutPrefix(target, strings.TrimSuffix(r.svcURL.Path, "/"))
	if !ok {
		return "", false
	}
	if r.strip {
		return strings.TrimSuffix(prefix, "/") + rest, true
	}
	if !strings.HasPrefix(rest, prefix) {
		return "", false
	}
	return rest, true
}

// reaches returns the upstream path a request on route r is sent to.
func reaches(r *kongRouteInfo, req string) string {
	for _, p := range r.paths {
		if !strings.HasPrefix(req, p) {
			continue
		}
		base := strings.TrimSuffix(r.svcURL.Path, "/")
		if r.strip {
			return base + strings.TrimPrefix(req, strings.TrimSuffix(p, "/"))
		}
		return base + req
	}
	return ""
}

// matchRoute: Kong's router normalizes the request path (dot segments,
// RFC 3986) and picks, among plain prefix paths, the longest one that
// prefixes it.
func matchRoute(routes []kongRouteInfo, req string) *kongRouteInfo {
	normalized := path.Clean(req)
	if strings.HasSuffix(req, "/") && normalized != "/" {
		normalized += "/"
	}
	var best *kongRouteInfo
	bestLen := -1
	for i := range routes {
		for _, p := range routes[i].paths {
			if strings.HasPrefix(p, "~") || !strings.HasPrefix(normalized, p) {
				continue
			}
			if len(p) > bestLen {
				best, bestLen = &routes[i], len(p)
			}
		}
	}
	return best
}

func hasPlugin(list []kongEntity, name string) bool {
	for _, p := range list {
		if p["name"] == name && p["enabled"] != false {
			return true
		}
	}
	return false
}

func serviceURL(s kongEntity) *url.URL {
	if raw, ok := s["url"].(string); ok {
		u, err := url.Parse(raw)
		if err != nil {
			return nil
		}
		return u
	}
	host, _ := s["host"].(string)
	if host == "" {
		return nil
	}
	proto, _ := s["protocol"].(string)
	p, _ := s["path"].(string)
	u := &url.URL{Scheme: proto, Host: host, Path: p}
	if port, ok := s["port"].(float64); ok {
		u.Host = fmt.Sprintf("%s:%d", host, int(port))
	}
	return u
}

func unknownKeys(f *findings, file, where string, m kongEntity, allowed []string) {
	var keys []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		f.add(file, "%s: unknown field %q", where, k)
	}
}

// checkRecord checks a config mapping against a go-pdk record schema: every
// field exists in the schema and has its type. Missing fields are allowed
// (Kong sends them as null and the plugin applies its defaults).
func checkRecord(f *findings, file, where string, conf kongEntity, schema map[string]any) {
	fields := map[string]map[string]any{}
	list, _ := schema["fields"].([]any)
	for _, fl := range list {
		if m, ok := fl.(map[string]any); ok {
			for k, v := range m {
				fields[k], _ = v.(map[string]any)
			}
		}
	}
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fs, ok := fields[k]
		if !ok {
			f.add(file, "%s: field %q is not in the plugin's -dump schema", where, k)
			continue
		}
		if problem := schemaMismatch(conf[k], fs); problem != "" {
			f.add(file, "%s: field %q %s", where, k, problem)
		}
	}
}

// schemaMismatch compares a YAML value with a go-pdk schema type; "" when
// it fits. null always fits: Kong treats it as unset.
func schemaMismatch(v any, schema map[string]any) string {
	if v == nil {
		return ""
	}
	t, _ := schema["type"].(string)
	if p := typeMismatch(v, t); p != "" {
		return p
	}
	switch t {
	case "array":
		elems, _ := schema["elements"].(map[string]any)
		for i, e := range v.([]any) {
			if p := schemaMismatch(e, elems); p != "" {
				return fmt.Sprintf("element %d %s", i, p)
			}
		}
	case "record":
		var sub findings
		checkRecord(&sub, "", "", v.(kongEntity), schema)
		if len(sub.problems) > 0 {
			return sub.problems[0].msg
		}
	case "integer":
		if b, ok := schema["between"].([]any); ok && len(b) == 2 {
			lo, _ := b[0].(float64)
			hi, _ := b[1].(float64)
			if n := v.(float64); n < lo || n > hi {
				return fmt.Sprintf("is %v, outside [%v, %v]", n, lo, hi)
			}
		}
	}
	return ""
}

// typeMismatch compares a decoded YAML value with a Kong schema type name.
func typeMismatch(v any, t string) string {
	ok := false
	switch t {
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "number":
		_, ok = v.(float64)
	case "integer":
		n, isNum := v.(float64)
		ok = isNum && n == math.Trunc(n)
	case "array", "set":
		_, ok = v.([]any)
	case "map", "record":
		_, ok = v.(kongEntity)
	default:
		return fmt.Sprintf("has a schema type %q this check does not know", t)
	}
	if ok {
		return ""
	}
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return fmt.Sprintf("must be of type %s, got %s", t, strings.TrimSpace(b.String()))
}
