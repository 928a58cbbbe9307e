package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	"sigs.k8s.io/yaml"
)

// issuerEnvRE finds the names the config loader reads: the first argument of
// any of its methods (l.str, l.integer, l.prefixes, ...) except l.fail,
// which only names a variable in a message, and of getenv.
var issuerEnvRE = regexp.MustCompile(`(?:\bl\.([a-z][A-Za-z]*)|getenv)\("([A-Z][A-Z0-9_]*)"`)

// issuerEnvNames are the environment variables the issuer reads, taken from
// its config package, so a misspelled variable in a deployment fails here
// instead of being silently ignored at run time.
func issuerEnvNames(cfg *config) (map[string]bool, error) {
	src, err := cfg.read("issuer/internal/config/config.go")
	if err != nil {
		return nil, fmt.Errorf("read the issuer's config package: %w", err)
	}
	names := map[string]bool{}
	for _, m := range issuerEnvRE.FindAllSubmatch(src, -1) {
		if string(m[1]) != "fail" {
			names[string(m[2])] = true
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no environment variable names found in issuer/internal/config/config.go")
	}
	return names, nil
}

// composeServices the issue asks for, and what each one runs.
var composeServices = []string{"postgres", "migrate", "issuer", "kong", "patient-service", "dev-secrets"}

func checkCompose(cfg *config, f *findings) error {
	const file = "docker-compose.yml"
	info, err := loadPluginInfo(cfg)
	if err != nil {
		return err
	}
	envNames, err := issuerEnvNames(cfg)
	if err != nil {
		f.add(file, "%v", err)
	}
	if _, err := os.Stat(cfg.path(file)); err != nil {
		f.add(file, "%v", err)
		return nil
	}
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  cfg.root,
		ConfigFiles: []types.ConfigFile{{Filename: cfg.path(file)}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName("medinsights-auth", false)
		o.ResolvePaths = true
	})
	if err != nil {
		f.add(file, "compose-go: %v", err)
		return nil
	}

	for _, name := range composeServices {
		if _, ok := project.Services[name]; !ok {
			f.add(file, "service %q is missing", name)
		}
	}
	names := make([]string, 0, len(project.Services))
	for n := range project.Services {
		names = append(names, n)
	}
	sort.Strings(names)

	networks := map[string]bool{}
	for _, name := range names {
		s := project.Services[name]
		where := fmt.Sprintf("service %q", name)
		for n := range s.Networks {
			networks[n] = true
		}
		if s.Build != nil {
			checkComposeBuild(cfg, f, file, where, s.Build)
		} else if s.Image != "" {
			if named, err := reference.ParseNormalizedNamed(s.Image); err != nil {
				f.add(file, "%s: image %q: %v", where, s.Image, err)
			} else if t, ok := named.(reference.Tagged); !ok || t.Tag() == "latest" {
				f.add(file, "%s: image %q must be pinned to a version tag", where, s.Image)
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(v.Source); err != nil {
					f.add(file, "%s: bind mount source %s does not exist", where, cfg.rel(v.Source))
				}
			}
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				if _, ok := project.Volumes[v.Source]; !ok {
					f.add(file, "%s: named volume %q is not declared", where, v.Source)
				}
			}
		}
		for dep := range s.DependsOn {
			if _, ok := project.Services[dep]; !ok {
				f.add(file, "%s: depends on unknown service %q", where, dep)
			}
		}
	}
	if len(networks) != 1 {
		f.add(file, "services must share exactly one network, found %d", len(networks))
	}

	// The Django service's names, which its operators' commands use:
	// docker logs -f auth-service, docker exec -it auth-service-db psql -U
	// auth_user -d auth_db.
	for service, container := range map[string]string{"issuer": "auth-service", "postgres": "auth-service-db"} {
		if s, ok := project.Services[service]; ok && s.ContainerName != container {
			f.add(file, "service %q: container_name %q, want %s (the Django service's name)", service, s.ContainerName, container)
		}
	}
	if n, ok := project.Networks["auth-network"]; !ok || n.Name != "auth-network" {
		f.add(file, "the network must be auth-network, named so outside the project too")
	}
	if pg, ok := project.Services["postgres"]; ok {
		if u := pg.Environment["POSTGRES_USER"]; u == nil || *u != "auth_user" {
			f.add(file, "service \"postgres\": POSTGRES_USER must be auth_user")
		}
		// The image's init-time server listens on the Unix socket only: a
		// socket check passes before the real server starts.
		if pg.HealthCheck != nil && !slices.Contains(pg.HealthCheck.Test, "-h") {
			f.add(file, "service \"postgres\": the healthcheck must reach PostgreSQL over TCP (pg_isready -h 127.0.0.1), or the first start races the init-time server")
		}
		if !strings.Contains(pg.Image, "postgres:16") {
			f.add(file, "service \"postgres\": image %q, want PostgreSQL 16", pg.Image)
		}
		if pg.HealthCheck == nil || len(pg.HealthCheck.Test) == 0 {
			f.add(file, "service \"postgres\": needs a healthcheck (the issuer waits for it)")
		}
		if db := pg.Environment["POSTGRES_DB"]; db == nil || *db != "auth_db" {
			f.add(file, "service \"postgres\": POSTGRES_DB must be auth_db")
		}
		named := false
		for _, v := range pg.Volumes {
			named = named || (v.Type == types.VolumeTypeVolume && v.Target == "/var/lib/postgresql/data")
		}
		if !named {
			f.add(file, "service \"postgres\": data must live in a named volume at /var/lib/postgresql/data")
		}
		if len(pg.Ports) > 0 {
			f.add(file, "service \"postgres\": must not publish ports")
		}
	}
	if m, ok := project.Services["migrate"]; ok {
		if strings.Join(m.Command, " ") != "migrate up" {
			f.add(file, "service \"migrate\": command must be `migrate up`, got %q", strings.Join(m.Command, " "))
		}
		requireDependency(f, file, m, "postgres", types.ServiceConditionHealthy)
	}
	if s, ok := project.Services["issuer"]; ok {
		requireDependency(f, file, s, "postgres", types.ServiceConditionHealthy)
		requireDependency(f, file, s, "migrate", types.ServiceConditionCompletedSuccessfully)
		requirePublished(f, file, s, 8001, 8001)
		if !s.ReadOnly {
			f.add(file, "service \"issuer\": read_only must be true")
		}
		if s.HealthCheck == nil || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), "healthcheck") {
			f.add(file, "service \"issuer\": healthcheck must run `issuer healthcheck`")
		}
	}
	for _, name := range []string{"issuer", "migrate"} {
		s, ok := project.Services[name]
		if !ok || envNames == nil {
			continue
		}
		for k := range s.Environment {
			if !envNames[k] {
				f.add(file, "service %q: %s is not a variable the issuer reads (issuer/internal/config)", name, k)
			}
		}
	}
	if s, ok := project.Services["patient-service"]; ok {
		// It trusts the identity headers: only Kong may reach it.
		if len(s.Ports) > 0 {
			f.add(file, "service \"patient-service\": must not publish ports (it trusts X-User-Id; only Kong may reach it)")
		}
		if !s.ReadOnly {
			f.add(file, "service \"patient-service\": read_only must be true")
		}
	}
	if k, ok := project.Services["kong"]; ok {
		checkComposeKong(f, file, k, project.Volumes, info)
	}
	checkComposeKongConfig(cfg, f, project, info)
	return nil
}

// checkComposeKongConfig: kong/kong.yml, as loaded by the compose stack's
// Kong, reaches upstreams that are services of the stack, and its plugin
// expects the issuer and audience the stack's issuer signs with.
func checkComposeKongConfig(cfg *config, f *findings, project *types.Project, info *pluginInfo) {
	const file = "kong/kong.yml"
	raw, err := cfg.read(file)
	if err != nil {
		return // the kong check reports it
	}
	var doc struct {
		Services []struct {
			Name   string `json:"name"`
			URL    string `json:"url"`
			Routes []struct {
				Plugins []kongEntity `json:"plugins"`
			} `json:"routes"`
			Plugins []kongEntity `json:"plugins"`
		} `json:"services"`
		Plugins []kongEntity `json:"plugins"` // global
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return
	}
	env := func(service, name string) string {
		if s, ok := project.Services[service]; ok {
			if v := s.Environment[name]; v != nil {
				return *v
			}
		}
		return ""
	}
	reachable := func(where, raw string) {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			return
		}
		if _, ok := project.Services[u.Hostname()]; !ok {
			f.add(file, "%s: %s names host %q, which is not a service of docker-compose.yml", where, raw, u.Hostname())
		}
	}
	type placed struct {
		where  string
		plugin kongEntity
	}
	var instances []placed
	for _, p := range doc.Plugins {
		instances = append(instances, placed{"global " + info.Name, p})
	}
	for _, s := range doc.Services {
		reachable(fmt.Sprintf("service %q", s.Name), s.URL)
		plugins := s.Plugins
		for _, r := range s.Routes {
			plugins = append(plugins, r.Plugins...)
		}
		for _, p := range plugins {
			instances = append(instances, placed{fmt.Sprintf("%s on service %q", info.Name, s.Name), p})
		}
	}
	for _, in := range instances {
		p, where := in.plugin, in.where
		if p["name"] != info.Name {
			continue
		}
		conf, _ := p["config"].(kongEntity)
		for _, k := range []string{"jwks_url", "revocation_url"} {
			if v, ok := conf[k].(string); ok {
				reachable(where+" "+k, v)
			}
		}
		if iss := env("issuer", "JWT_ISSUER"); conf["issuer"] != iss {
			f.add(file, "%s: issuer %v differs from the compose issuer's JWT_ISSUER %q", where, conf["issuer"], iss)
		}
		aud := env("issuer", "JWT_AUDIENCE")
		auds, _ := conf["audiences"].([]any)
		if !slices.Contains(auds, any(aud)) {
			f.add(file, "%s: audiences %v lack the compose issuer's JWT_AUDIENCE %q", where, auds, aud)
		}
	}
}

func checkComposeBuild(cfg *config, f *findings, file, where string, b *types.BuildConfig) {
	if info, err := os.Stat(b.Context); err != nil || !info.IsDir() {
		f.add(file, "%s: build context %s does not exist", where, cfg.rel(b.Context))
		return
	}
	df := b.Dockerfile
	if !filepath.IsAbs(df) {
		df = filepath.Join(b.Context, df)
	}
	dt, err := os.ReadFile(df)
	if err != nil {
		f.add(file, "%s: Dockerfile %s does not exist", where, cfg.rel(df))
		return
	}
	if b.Target == "" {
		return
	}
	var sub findings
	stages, ok := parseStages(&sub, df, dt)
	if !ok {
		f.add(file, "%s: Dockerfile %s does not parse", where, cfg.rel(df))
		return
	}
	for _, st := range stages {
		if st.Name == b.Target {
			return
		}
	}
	f.add(file, "%s: build target %q is not a stage of %s", where, b.Target, cfg.rel(df))
}

func requireDependency(f *findings, file string, s types.ServiceConfig, dep, condition string) {
	d, ok := s.DependsOn[dep]
	if !ok || d.Condition != condition {
		f.add(file, "service %q: must depend on %q with condition %s", s.Name, dep, condition)
	}
}

func requirePublished(f *findings, file string, s types.ServiceConfig, target uint32, published int) {
	for _, p := range s.Ports {
		if p.Target == target && p.Published == fmt.Sprint(published) {
			return
		}
	}
	f.add(file, "service %q: port %d must be published on host port %d", s.Name, target, published)
}

// checkComposeKong: DB-less, kong/kong.yml, only the proxy on the host,
// the plugin server settings consistent with the prefix, read-only root
// with the prefix on a tmpfs, Kong's own user.
func checkComposeKong(f *findings, file string, s types.ServiceConfig, volumes types.Volumes, info *pluginInfo) {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	if env["KONG_DATABASE"] != "off" {
		f.add(file, "service \"kong\": KONG_DATABASE must be off (DB-less)")
	}
	if env["KONG_DECLARATIVE_CONFIG"] == "" {
		f.add(file, "service \"kong\": KONG_DECLARATIVE_CONFIG must be set")
	}
	mountsKongDir := false
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && filepath.Base(v.Source) == "kong" {
			mountsKongDir = true
		}
	}
	if !mountsKongDir {
		f.add(file, "service \"kong\": must mount ./kong (kong/kong.yml)")
	}
	for _, p := range checkKongEnv(env, info, "/usr/local/bin/"+info.Name) {
		f.add(file, "service \"kong\": %s", p)
	}
	requirePublished(f, file, s, 8000, 8000)
	for _, p := range s.Ports {
		if p.Target != 8000 && p.Target != 8443 {
			f.add(file, "service \"kong\": publishes container port %d; only the proxy (8000/8443) may reach the host", p.Target)
		}
	}
	if admin := env["KONG_ADMIN_LISTEN"]; admin == "" || !(strings.HasPrefix(admin, "127.0.0.1:") || strings.HasPrefix(admin, "off")) {
		f.add(file, "service \"kong\": KONG_ADMIN_LISTEN=%q must be off or on the container's loopback", admin)
	}
	if !s.ReadOnly {
		f.add(file, "service \"kong\": read_only must be true")
	}
	prefix := strings.TrimSuffix(env["KONG_PREFIX"], "/")
	onTmpfs := slices.ContainsFunc(s.Tmpfs, func(t string) bool { return strings.Split(t, ":")[0] == prefix })
	for _, v := range s.Volumes {
		if v.Target != prefix {
			continue
		}
		switch v.Type {
		case types.VolumeTypeTmpfs:
			onTmpfs = true
		case types.VolumeTypeVolume:
			onTmpfs = onTmpfs || volumes[v.Source].DriverOpts["type"] == "tmpfs"
		}
	}
	if !onTmpfs {
		f.add(file, "service \"kong\": KONG_PREFIX %q must be a tmpfs (the root file system is read-only)", prefix)
	}
	if s.User != "" && s.User != "kong" && s.User != "1000" {
		f.add(file, "service \"kong\": user %q, want kong", s.User)
	}
}
