package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// baseImage is what the offline resolver knows of a pinned base image: the
// parts of its config that BuildKit's lint rules read (the environment, for
// UndefinedVar) and its user. Bumping a base image means adding it here, on
// purpose: an unknown or unpinned image fails the check.
type baseImage struct {
	env  []string
	user string
}

var baseImages = map[string]baseImage{
	"docker.io/library/golang:1.26.8-bookworm": {env: []string{
		"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"GOLANG_VERSION=1.26.8", "GOTOOLCHAIN=local", "GOPATH=/go",
	}},
	"gcr.io/distroless/static-debian12:nonroot": {
		env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		user: "65532",
	},
	"gcr.io/distroless/static-debian12:debug-nonroot": {
		env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/busybox", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		user: "65532",
	},
	"docker.io/library/kong:3.9.1": {
		env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "KONG_VERSION=3.9.1"},
		user: "kong",
	},
}

// offlineResolver answers BuildKit's base-image lookups from baseImages, so
// the full `docker build --check` rule set runs with no registry.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", "", nil, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	tagged, ok := named.(reference.Tagged)
	if !ok || tagged.Tag() == "latest" {
		return "", "", nil, fmt.Errorf("base image %q is not pinned to a version tag", ref)
	}
	img, ok := baseImages[named.String()]
	if !ok {
		return "", "", nil, fmt.Errorf("base image %q is not in infracheck's list of pinned base images (tools/infracheck/dockerfile.go)", ref)
	}
	cfg := ocispecs.Image{
		Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"},
		Config:   ocispecs.ImageConfig{Env: img.env, User: img.user},
		RootFS:   ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString(named.String())}},
	}
	dt, err := json.Marshal(cfg)
	if err != nil {
		return "", "", nil, err
	}
	return named.String(), "", dt, nil
}

// imageSpec is what the code says an image must be.
type imageSpec struct {
	file       string // Dockerfile, relative to the root
	binary     string // the binary the Makefile builds and the image ships
	finalStage string // name of the last (default) stage
}

var imageSpecs = []imageSpec{
	{file: "Dockerfile.issuer", binary: "issuer", finalStage: "issuer"},
	{file: "Dockerfile.kong", binary: "medinsights-auth", finalStage: "kong"},
	{file: "examples/patient-service/Dockerfile", binary: "patient-service", finalStage: "patient-service"},
}

func checkDockerfiles(cfg *config, f *findings) error {
	info, err := loadPluginInfo(cfg)
	if err != nil {
		return err
	}
	ignore, err := loadDockerignore(cfg)
	if err != nil {
		f.add(".dockerignore", "%v", err)
	}
	for _, spec := range imageSpecs {
		dt, err := cfg.read(spec.file)
		if err != nil {
			f.add(spec.file, "%v", err)
			continue
		}
		lintDockerfile(f, spec.file, dt)
		stages, ok := parseStages(f, spec.file, dt)
		if !ok {
			continue
		}
		checkStages(cfg, f, spec, stages, ignore)
		switch spec.binary {
		case "issuer":
			checkIssuerImage(cfg, f, spec, stages[len(stages)-1])
		case "medinsights-auth":
			checkKongImage(f, spec, stages, info)
		}
	}
	if ignore != nil {
		for _, secret := range []string{".git/config", "keys/private.pem", ".env", "bin/issuer", "private.pem"} {
			if m, _ := ignore.MatchesOrParentMatches(secret); !m {
				f.add(".dockerignore", "%s would be sent to the Docker build context", secret)
			}
		}
	}
	return nil
}

// lintDockerfile runs BuildKit's own lint (the rules of `docker build
// --check`, every stage) and reports each warning and any build error.
func lintDockerfile(f *findings, file string, dt []byte) {
	sm := llb.NewSourceMap(nil, file, "Dockerfile", dt)
	sm.Definition = &llb.Definition{}
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:    sm,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		f.add(file, "lint: %v", err)
		return
	}
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		f.add(file, "line %d: %s: %s", line, w.RuleName, w.Detail)
	}
	if res.Error != nil {
		f.add(file, "build error: %s", res.Error.Message)
	}
}

func parseStages(f *findings, file string, dt []byte) ([]instructions.Stage, bool) {
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		f.add(file, "parse: %v", err)
		return nil, false
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		f.add(file, "parse: %v", err)
		return nil, false
	}
	if len(stages) == 0 {
		f.add(file, "no stages")
		return nil, false
	}
	return stages, true
}

var goVersionRE = regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`)

// checkStages applies the rules every image shares: the Go builder matches
// go.mod, the build compiles a package that exists, the final stage has the
// expected name and a non-root user, and every file copied from the context
// exists and is not excluded by .dockerignore.
func checkStages(cfg *config, f *findings, spec imageSpec, stages []instructions.Stage, ignore *patternmatcher.PatternMatcher) {
	gomod, err := cfg.read("go.mod")
	if err != nil {
		f.add("go.mod", "%v", err)
		return
	}
	m := goVersionRE.FindSubmatch(gomod)
	if m == nil {
		f.add("go.mod", "no go directive")
		return
	}
	wantGo := fmt.Sprintf("golang:%s.%s", m[1], m[2])

	final := stages[len(stages)-1]
	if final.Name != spec.finalStage {
		f.add(spec.file, "the last (default) stage is %q, want %q", final.Name, spec.finalStage)
	}
	if u := stageUser(final); u == "" || u == "root" || u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
		f.add(spec.file, "stage %q must end with a non-root USER (got %q)", final.Name, u)
	}

	built := false
	for _, st := range stages {
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.RunCommand:
				line := strings.Join(c.CmdLine, " ")
				if !strings.Contains(line, "go build") {
					continue
				}
				built = true
				if !strings.HasPrefix(st.BaseName, wantGo) {
					f.add(spec.file, "stage %q builds Go on %q, want %s (go.mod)", st.Name, st.BaseName, wantGo)
				}
				if b, err := parseGoBuild(line); err != nil {
					f.add(spec.file, "stage %q: %v", st.Name, err)
				} else if info, err := os.Stat(cfg.path(b.pkg)); err != nil || !info.IsDir() {
					f.add(spec.file, "stage %q builds %s, which is not a package directory in the repository", st.Name, b.pkg)
				}
			case *instructions.CopyCommand:
				if c.From != "" {
					continue
				}
				for _, src := range c.SourcePaths {
					checkContextPath(cfg, f, spec.file, src, ignore)
				}
			}
		}
	}
	if !built {
		f.add(spec.file, "no stage runs go build")
	}
}

func checkContextPath(cfg *config, f *findings, file, src string, ignore *patternmatcher.PatternMatcher) {
	clean := path.Clean(strings.TrimPrefix(src, "/"))
	if clean == "." {
		return
	}
	matches, _ := filepath.Glob(cfg.path(clean))
	if len(matches) == 0 {
		f.add(file, "COPY source %s does not exist in the build context", src)
		return
	}
	if ignore != nil {
		if m, _ := ignore.MatchesOrParentMatches(clean); m {
			f.add(file, "COPY source %s is excluded by .dockerignore", src)
		}
	}
}

func loadDockerignore(cfg *config) (*patternmatcher.PatternMatcher, error) {
	r, err := os.Open(cfg.path(".dockerignore"))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	patterns, err := ignorefile.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return patternmatcher.New(patterns)
}

// stageUser is the stage's last USER, or "" when it sets none.
func stageUser(st instructions.Stage) string {
	user := ""
	for _, c := range st.Commands {
		if u, ok := c.(*instructions.UserCommand); ok {
			user = u.User
		}
	}
	return user
}

// stageEnv is the stage's ENV, with quotes and references resolved as
// BuildKit resolves them.
func stageEnv(st instructions.Stage) map[string]string {
	env := map[string]string{}
	lex := shell.NewLex('\\')
	for _, c := range st.Commands {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				var list []string
				for k, v := range env {
					list = append(list, k+"="+v)
				}
				v, _, err := lex.ProcessWord(kv.Value, shell.EnvsFromSlice(list))
				if err != nil {
					v = kv.Value
				}
				env[kv.Key] = v
			}
		}
	}
	return env
}

// copiedBinary reports whether the stage copies the build output of binary
// from another stage to dest.
func copiedBinary(st instructions.Stage, binary, dest string) bool {
	for _, c := range st.Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" && cp.DestPath == dest {
			for _, s := range cp.SourcePaths {
				if path.Base(s) == binary {
					return true
				}
			}
		}
	}
	return false
}

var listenPortRE = regexp.MustCompile(`listenAddrDefault\s*=\s*":(\d+)"`)

// checkIssuerImage: distroless or scratch, numeric non-root user, the port
// of the issuer's LISTEN_ADDR default exposed, a HEALTHCHECK through
// `issuer healthcheck`, the binary as entry point.
func checkIssuerImage(cfg *config, f *findings, spec imageSpec, final instructions.Stage) {
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") && final.BaseName != "scratch" {
		f.add(spec.file, "final stage is based on %q, want distroless static or scratch", final.BaseName)
	}
	if u := strings.Split(stageUser(final), ":")[0]; u != "" {
		if n, err := strconv.Atoi(u); err != nil || n == 0 {
			f.add(spec.file, "final USER %q must be a numeric non-root uid (Kubernetes runAsNonRoot checks it)", u)
		}
	}
	port := "8001"
	if src, err := cfg.read("issuer/internal/config/config.go"); err == nil {
		if m := listenPortRE.FindSubmatch(src); m != nil {
			port = string(m[1])
		}
	}
	var exposed, health, entry bool
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.ExposeCommand:
			for _, p := range c.Ports {
				if strings.TrimSuffix(p, "/tcp") == port {
					exposed = true
				}
			}
		case *instructions.HealthCheckCommand:
			t := strings.Join(c.Health.Test, " ")
			health = strings.Contains(t, "issuer") && strings.Contains(t, "healthcheck") && !strings.Contains(t, "curl")
		case *instructions.EntrypointCommand:
			entry = len(c.CmdLine) > 0 && path.Base(c.CmdLine[0]) == spec.binary
		}
	}
	if !exposed {
		f.add(spec.file, "final stage does not EXPOSE %s (the issuer's LISTEN_ADDR default)", port)
	}
	if !health {
		f.add(spec.file, "final stage needs HEALTHCHECK CMD [\"/usr/local/bin/issuer\", \"healthcheck\"]")
	}
	if !entry {
		f.add(spec.file, "final stage ENTRYPOINT must run the issuer binary")
	}
	if !copiedBinary(final, spec.binary, "/usr/local/bin/issuer") {
		f.add(spec.file, "final stage must COPY the built issuer to /usr/local/bin/issuer")
	}
}

var kongVersionRE = regexp.MustCompile(`^(?:docker\.io/(?:library/)?)?kong(?:/kong-gateway)?:3\.(\d+)`)

// checkKongImage: Kong 3.8 or later, the plugin copied as a real file named
// after the plugin, a build-time -dump check, every plugin server setting
// spelled with the name the plugin reports, socket and -kong-prefix inside
// KONG_PREFIX, Kong's non-root user.
func checkKongImage(f *findings, spec imageSpec, stages []instructions.Stage, info *pluginInfo) {
	final := stages[len(stages)-1]
	m := kongVersionRE.FindStringSubmatch(final.BaseName)
	if m == nil {
		f.add(spec.file, "final stage is based on %q, want a pinned kong:3.x image", final.BaseName)
	} else if minor, _ := strconv.Atoi(m[1]); minor < 8 {
		f.add(spec.file, "Kong %s is older than 3.8: it lets requests through when a Go plugin server fails", final.BaseName)
	}
	if u := stageUser(final); u != "kong" && u != "1000" {
		f.add(spec.file, "final USER is %q, want kong", u)
	}
	bin := "/usr/local/bin/" + info.Name
	if !copiedBinary(final, spec.binary, bin) {
		f.add(spec.file, "final stage must COPY the plugin to %s (go-pdk names the plugin after the executable)", bin)
	}
	dumped := false
	for _, st := range stages {
		for _, c := range st.Commands {
			if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), spec.binary+" -dump") {
				dumped = true
			}
		}
	}
	if !dumped {
		f.add(spec.file, "no RUN checks `%s -dump` at build time", spec.binary)
	}
	for _, p := range checkKongEnv(stageEnv(final), info, bin) {
		f.add(spec.file, "%s", p)
	}
}

// checkKongEnv checks the settings Kong needs to start the plugin server,
// as they appear in an image, a compose file or Helm values.
func checkKongEnv(env map[string]string, info *pluginInfo, bin string) []string {
	var problems []string
	key := "KONG_PLUGINSERVER_" + strings.ToUpper(strings.ReplaceAll(info.Name, "-", "_"))
	if !slices.Contains(strings.Split(env["KONG_PLUGINS"], ","), info.Name) || !slices.Contains(strings.Split(env["KONG_PLUGINS"], ","), "bundled") {
		problems = append(problems, fmt.Sprintf("KONG_PLUGINS=%q must list bundled and %s", env["KONG_PLUGINS"], info.Name))
	}
	if !slices.Contains(strings.Split(env["KONG_PLUGINSERVER_NAMES"], ","), info.Name) {
		problems = append(problems, fmt.Sprintf("KONG_PLUGINSERVER_NAMES=%q must list %s", env["KONG_PLUGINSERVER_NAMES"], info.Name))
	}
	prefix := strings.TrimSuffix(env["KONG_PREFIX"], "/")
	if prefix == "" {
		problems = append(problems, "KONG_PREFIX must be set: the plugin's socket and -kong-prefix live there")
	}
	if sock, want := env[key+"_SOCKET"], prefix+"/"+info.Name+".socket"; sock != want {
		problems = append(problems, fmt.Sprintf("%s_SOCKET=%q, want %q (inside KONG_PREFIX)", key, sock, want))
	}
	if start, want := strings.Join(strings.Fields(env[key+"_START_CMD"]), " "), bin+" -kong-prefix "+prefix; strings.TrimSuffix(start, "/") != want {
		problems = append(problems, fmt.Sprintf("%s_START_CMD=%q, want %q (-kong-prefix must match KONG_PREFIX)", key, env[key+"_START_CMD"], want))
	}
	if q, want := strings.Join(strings.Fields(env[key+"_QUERY_CMD"]), " "), bin+" -dump"; q != want {
		problems = append(problems, fmt.Sprintf("%s_QUERY_CMD=%q, want %q", key, env[key+"_QUERY_CMD"], want))
	}
	return problems
}

// goBuild is one `go build` command line, as the Makefile or a Dockerfile
// writes it.
type goBuild struct {
	env    string // the environment assignments before `go build`
	flags  string // everything between `build` and `-o`
	output string
	pkg    string
}

var goBuildRE = regexp.MustCompile(`((?:[A-Z_]+=\S+\s+)*)(?:\S*/)?(?:go|\$\{GO\})\s+build\s+(.*?)\s+-o\s+(\S+)\s+(\./\S+)`)

func parseGoBuild(line string) (goBuild, error) {
	line = strings.Join(strings.Fields(strings.ReplaceAll(line, "\\\n", " ")), " ")
	m := goBuildRE.FindStringSubmatch(line)
	if m == nil {
		return goBuild{}, errors.New("go build line is not `[ENV=...] go build FLAGS -o OUTPUT ./PACKAGE`: " + line)
	}
	return goBuild{env: strings.TrimSpace(m[1]), flags: m[2], output: m[3], pkg: m[4]}, nil
}
