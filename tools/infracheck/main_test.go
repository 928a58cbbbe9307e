package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository this module lives in.
const repoRoot = "../.."

// artifacts are the paths the checks read, copied into each test's own tree.
var artifacts = []string{
	"Makefile", "go.mod", "go.sum", ".dockerignore", "Dockerfile.issuer", "Dockerfile.kong", "docker-compose.yml",
	"kong", "k8s", "charts", "scripts", ".ci/run",
	"tools/infracheck/crds", "tools/infracheck/yamllint.yaml",
	"issuer/internal/config/config.go",
	"examples/patient-service/Dockerfile", "docs/gateway-routes.md",
	"issuer/internal/metrics", "kong-plugin/internal/plugin",
}

// packageDirs only need to exist: the Dockerfiles build them.
var packageDirs = []string{"issuer/cmd/issuer", "kong-plugin/cmd/medinsights-auth", "examples/patient-service"}

// tool returns the path of an external tool for the tests: from the
// environment (make infra-check sets them) or the Makefile's tool cache.
func tool(t *testing.T, env, cached string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatalf("%s unset and no home directory: %v", env, err)
	}
	p := filepath.Join(home, ".cache/medinsights-auth/tools", cached)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s unset and %s missing: run `make tools` first", env, p)
	}
	return p
}

// setup copies the repository's artifacts into a temporary tree and
// returns a config for it. The plugin schema comes from the built binary
// when INFRACHECK_PLUGIN names it, else from testdata/plugin-dump.json.
func setup(t *testing.T) *config {
	t.Helper()
	dir := t.TempDir()
	for _, a := range artifacts {
		src := filepath.Join(repoRoot, a)
		dst := filepath.Join(dir, a)
		info, err := os.Stat(src)
		if err != nil {
			t.Fatalf("artifact %s: %v", a, err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if info.IsDir() {
			if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
				t.Fatalf("copy %s: %v", a, err)
			}
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range packageDirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config{
		root:            dir,
		helm:            tool(t, "INFRACHECK_HELM", "helm-v3.22.0/helm"),
		kubectlValidate: tool(t, "INFRACHECK_KUBECTL_VALIDATE", "kubectl-validate-v0.0.4/kubectl-validate"),
		yamllint:        "yamllint",
		shellcheck:      "shellcheck",
		pluginBin:       os.Getenv("INFRACHECK_PLUGIN"),
	}
	if cfg.pluginBin == "" {
		abs, err := filepath.Abs("testdata/plugin-dump.json")
		if err != nil {
			t.Fatal(err)
		}
		cfg.pluginDump = abs
	}
	return cfg
}

// edit replaces the first occurrence of old in a file; old must be there,
// so a test notices when the artifact it breaks has changed.
type edit struct {
	file, old, new string
}

func apply(t *testing.T, cfg *config, edits []edit) {
	t.Helper()
	for _, e := range edits {
		p := cfg.path(e.file)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), e.old) {
			t.Fatalf("%s no longer contains %q: update this test", e.file, e.old)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(data), e.old, e.new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestArtifactsPass is the control for every mutation below: the
// repository's artifacts as committed pass every check.
func TestArtifactsPass(t *testing.T) {
	t.Parallel()
	cfg := setup(t)
	problems, err := run(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("unexpected problem: %s", p)
	}
}

// TestDeliberateErrorsFail breaks each artifact in one way and asserts the
// check that owns it reports exactly that.
func TestDeliberateErrorsFail(t *testing.T) {
	t.Parallel()
	const finalIssuer = "FROM gcr.io/distroless/static-debian12:nonroot AS issuer\nCOPY --from=build /out/issuer /usr/local/bin/issuer\n"
	tests := []struct {
		name  string
		check string
		edits []edit
		want  string
	}{
		// Dockerfiles: BuildKit's parser and lint rules, and what the code expects.
		{name: "lint rule FromAsCasing", check: "dockerfile",
			edits: []edit{{"Dockerfile.issuer", " AS issuer\n", " as issuer\n"}}, want: "FromAsCasing"},
		{name: "unknown instruction", check: "dockerfile",
			edits: []edit{{"Dockerfile.issuer", "WORKDIR /src", "WORKDIRR /src"}}, want: "unknown instruction"},
		{name: "issuer runs as root", check: "dockerfile",
			edits: []edit{{"Dockerfile.issuer", finalIssuer + "USER 65532:65532", finalIssuer + "USER root"}}, want: "non-root USER"},
		{name: "issuer port not exposed", check: "dockerfile",
			edits: []edit{{"Dockerfile.issuer", finalIssuer + "USER 65532:65532\nENV LISTEN_ADDR=:8001\nEXPOSE 8001", finalIssuer + "USER 65532:65532\nENV LISTEN_ADDR=:8001\nEXPOSE 8080"}}, want: "does not EXPOSE 8001"},
		{name: "unpinned Kong", check: "dockerfile",
			edits: []edit{{"Dockerfile.kong", "FROM kong:3.9.1 AS kong", "FROM kong:latest AS kong"}}, want: "not pinned"},
		{name: "Kong older than 3.8", check: "dockerfile",
			edits: []edit{{"Dockerfile.kong", "FROM kong:3.9.1 AS kong", "FROM kong:3.4.2 AS kong"}}, want: "older than 3.8"},
		{name: "plugin socket outside the prefix", check: "dockerfile",
			edits: []edit{{"Dockerfile.kong", "MEDINSIGHTS_AUTH_SOCKET=/var/run/kong/", "MEDINSIGHTS_AUTH_SOCKET=/usr/local/kong/"}}, want: "_SOCKET"},
		{name: "no build-time -dump check", check: "dockerfile",
			edits: []edit{
				{"Dockerfile.kong", "RUN /out/medinsights-auth -dump | grep -q '\"Name\":\"medinsights-auth\"'\n", ""},
				{"Dockerfile.kong", "RUN /usr/local/bin/medinsights-auth -dump | grep -q '\"Protocol\":\"ProtoBuf:1\"'\n", ""},
			}, want: "-dump` at build time"},
		{name: "COPY of a missing file", check: "dockerfile",
			edits: []edit{{"Dockerfile.issuer", "COPY scripts/infra-dev-run.sh", "COPY scripts/infra-dev-gone.sh"}}, want: "does not exist in the build context"},
		{name: "keys reach the build context", check: "dockerfile",
			edits: []edit{{".dockerignore", "**/*.pem\n", ""}, {".dockerignore", "keys/\n", ""}}, want: "keys/private.pem would be sent"},

		// The images build what CI builds.
		{name: "flags drift from the Makefile", check: "buildflags",
			edits: []edit{{"Dockerfile.kong", "-s -w -X", "-w -X"}}, want: "flags differ"},
		{name: "package drifts from the Makefile", check: "buildflags",
			edits: []edit{{"Dockerfile.issuer", "-o /out/issuer ./issuer/cmd/issuer", "-o /out/issuer ./issuer/cmd/server"}}, want: "from ./issuer/cmd/server, the Makefile from ./issuer/cmd/issuer"},

		// Compose: compose-go's loader and schema, and the stack's wiring.
		{name: "compose schema violation", check: "compose",
			edits: []edit{{"docker-compose.yml", "    restart: unless-stopped\n", "    restart_policy: unless-stopped\n"}}, want: "compose-go"},
		{name: "bind mount source missing", check: "compose",
			edits: []edit{{"docker-compose.yml", "./kong:/kong:ro", "./kong-config:/kong:ro"}}, want: "bind mount source kong-config does not exist"},
		{name: "issuer does not wait for migrations", check: "compose",
			edits: []edit{{"docker-compose.yml", "      migrate:\n        condition: service_completed_successfully\n", ""}}, want: "must depend on \"migrate\""},
		{name: "Kong admin API on the host", check: "compose",
			edits: []edit{{"docker-compose.yml", "      - \"8000:8000\"\n", "      - \"8000:8000\"\n      - \"8444:8444\"\n"}}, want: "only the proxy"},
		{name: "misspelled issuer variable", check: "compose",
			edits: []edit{{"docker-compose.yml", "  JWT_AUDIENCE: medinsights", "  JWT_AUDIENCES: medinsights"}}, want: "JWT_AUDIENCES is not a variable the issuer reads"},
		{name: "Kong prefix not on a tmpfs", check: "compose",
			edits: []edit{{"docker-compose.yml", "      type: tmpfs\n      device: tmpfs\n", "      type: none\n      device: /srv\n"}}, want: "must be a tmpfs"},
		{name: "plugin expects another issuer", check: "compose",
			edits: []edit{{"kong/kong.yml", "issuer: http://localhost:8001", "issuer: http://localhost:8000"}}, want: "differs from the compose issuer's JWT_ISSUER"},
		{name: "upstream not in the stack", check: "compose",
			edits: []edit{{"kong/kong.yml", "url: http://patient-service:8080", "url: http://patients:8080"}}, want: "not a service of docker-compose.yml"},
		{name: "issuer container not auth-service", check: "compose",
			edits: []edit{{"docker-compose.yml", "    container_name: auth-service\n", "    container_name: issuer\n"}}, want: "container_name \"issuer\", want auth-service"},
		{name: "database user not auth_user", check: "compose",
			edits: []edit{{"docker-compose.yml", "POSTGRES_USER: auth_user", "POSTGRES_USER: auth"}}, want: "POSTGRES_USER must be auth_user"},
		{name: "network not auth-network", check: "compose",
			edits: []edit{{"docker-compose.yml", "    name: auth-network\n", ""}}, want: "must be auth-network"},
		{name: "database readiness over the socket", check: "compose",
			edits: []edit{{"docker-compose.yml", `"pg_isready", "-h", "127.0.0.1", `, `"pg_isready", `}}, want: "over TCP"},
		{name: "build target missing", check: "compose",
			edits: []edit{{"docker-compose.yml", "  target: dev\n", "  target: development\n"}}, want: "build target \"development\""},

		// kong.yml: Kong 3.0 structure and the plugin's own -dump schema.
		{name: "field unknown to the plugin", check: "kong",
			edits: []edit{{"kong/kong.yml", "jwks_refresh_seconds: 60", "jwks_refresh_secs: 60"}}, want: "\"jwks_refresh_secs\" is not in the plugin's -dump schema"},
		{name: "string for an integer", check: "kong",
			edits: []edit{{"kong/kong.yml", "clock_skew_seconds: 30", "clock_skew_seconds: \"30\""}}, want: "must be of type integer"},
		{name: "scalar for an array", check: "kong",
			edits: []edit{{"kong/kong.yml", "required_roles: []", "required_roles: patient"}}, want: "must be of type array"},
		{name: "revocation feed routed publicly", check: "kong",
			edits: []edit{{"kong/kong.yml", "          - /auth/revocations\n", "          - /auth/revocation-feed\n"}}, want: "reaches the issuer's internal /api/auth/revocations/ publicly"},
		{name: "old format version", check: "kong",
			edits: []edit{{"kong/kong.yml", "_format_version: \"3.0\"", "_format_version: \"1.1\""}}, want: "_format_version"},
		{name: "literal feed token", check: "kong",
			edits: []edit{{"kong/kong.yml", "revocation_token: '${{ env \"DECK_MEDINSIGHTS_REVOCATION_TOKEN\" }}'", "revocation_token: 0123456789abcdef0123456789abcdef"}}, want: "never a literal secret"},
		{name: "login without rate limit", check: "kong",
			edits: []edit{{"kong/kong.yml", "          - /auth/login\n", "          - /auth/signin\n"}}, want: "/auth/login/ is not served by a route with rate-limiting"},
		{name: "misspelled bundled plugin", check: "kong",
			edits: []edit{{"kong/kong.yml", "  - name: correlation-id\n", "  - name: correlation_id\n"}}, want: "neither medinsights-auth nor a bundled plugin"},
		{name: "unprotected route not on the public list", check: "kong",
			edits: []edit{{"kong/kong.yml", "        strip_path: false\n", "        strip_path: false\n        plugins:\n          - name: medinsights-auth\n            config: *issuer-public\n"}},
			want:  `route "patients" lets callers without a token through but is not on the list of public routes`},
		{name: "disabled instance meant as an exemption", check: "kong",
			edits: []edit{{"kong/kong.yml", "        strip_path: false\n", "        strip_path: false\n        plugins:\n          - name: medinsights-auth\n            enabled: false\n            config: *issuer-public\n"}},
			want:  "does not exempt it"},
		{name: "global auth plugin removed", check: "kong",
			edits: []edit{{"kong/kong.yml", "  - name: medinsights-auth\n    config:\n      jwks_url:", "  - name: request-termination\n    enabled: false\n    config:\n      jwks_url:"}},
			want:  "not a global plugin"},
		{name: "unknown route field", check: "kong",
			edits: []edit{{"kong/kong.yml", "        strip_path: false\n", "        strip_paths: false\n"}}, want: "unknown field \"strip_paths\""},

		// Kustomize: rendered, kubectl-validate, strict k8s.io/api decode.
		{name: "bad quantity", check: "kustomize",
			edits: []edit{{"k8s/base/issuer-deployment.yaml", "memory: 128Mi", "memory: 128MB"}}, want: "quantities must match"},
		{name: "unnamed container", check: "kustomize",
			edits: []edit{{"k8s/base/issuer-deployment.yaml", "        - name: issuer\n          image:", "        - image:"}}, want: "no name"},
		{name: "bad protocol", check: "kustomize",
			edits: []edit{{"k8s/base/issuer-deployment.yaml", "              protocol: TCP", "              protocol: TPC"}}, want: "protocol \"TPC\""},
		{name: "unknown field", check: "kustomize",
			edits: []edit{{"k8s/base/issuer-deployment.yaml", "  revisionHistoryLimit: 5", "  revisionHistoryLimits: 5"}}, want: "unknown field"},
		{name: "wrong overlay prefix", check: "kustomize",
			edits: []edit{{"k8s/overlays/prod/kustomization.yaml", "namePrefix: prod-", "namePrefix: production-"}}, want: "lacks the name prefix prod-"},
		{name: "secret value committed", check: "kustomize",
			edits: []edit{{"k8s/base/secret.template.yaml", "  DATABASE_URL: \"\"", "  DATABASE_URL: \"postgres://auth:hunter2@db/auth_db\""}}, want: "has a value"},
		{name: "readiness on the wrong path", check: "kustomize",
			edits: []edit{{"k8s/base/issuer-deployment.yaml", "path: /api/auth/ready/", "path: /api/auth/readyz/"}}, want: "readinessProbe must GET /api/auth/ready/"},
		{name: "capabilities kept", check: "kustomize",
			edits: []edit{{"k8s/base/postgres-statefulset.yaml", "              drop: [\"ALL\"]\n", "              drop: [\"NET_RAW\"]\n"}}, want: "capabilities.drop must include ALL"},
		{name: "issuer Deployment renamed", check: "kustomize",
			edits: []edit{{"k8s/overlays/prod/kustomization.yaml", "namePrefix: prod-\n", "namePrefix: prod-\nnameSuffix: -v2\n"}}, want: "no Deployment prod-auth-service"},
		{name: "issuer Service renamed", check: "kustomize",
			edits: []edit{{"k8s/base/issuer-service.yaml", "  name: auth-service\n", "  name: issuer\n"}}, want: "no Service dev-auth-service"},
		{name: "Secrets prefixed by the overlay", check: "kustomize",
			edits: []edit{{"k8s/base/kustomization.yaml", "resources:\n", "resources:\n  - secret.template.yaml\n"}}, want: "\"prod-auth-jwt-keys\", which k8s/base/secret.template.yaml does not document"},
		{name: "keys from another Secret", check: "kustomize",
			edits: []edit{{"k8s/base/issuer-deployment.yaml", "secretName: auth-jwt-keys", "secretName: auth-service-secrets"}}, want: "mounts no volume from Secret auth-jwt-keys"},
		{name: "overlay without the namespace", check: "kustomize",
			edits: []edit{{"k8s/overlays/dev/kustomization.yaml", "  - ../../namespace\n", ""}}, want: "does not create Namespace medinsights"},
		{name: "broken kustomization", check: "kustomize",
			edits: []edit{{"k8s/overlays/dev/kustomization.yaml", "  - ../../base\n", "  - ../../basis\n"}}, want: "kustomize build"},

		// Helm: lint --strict, template, kubectl-validate, strict decode.
		{name: "values do not parse", check: "helm",
			edits: []edit{{"charts/medinsights-auth/values.yaml", "replicaCount: 2", "replicaCount: [2"}}, want: "helm lint --strict"},
		{name: "misspelled value refused by values.schema.json", check: "helm",
			edits: []edit{{"charts/medinsights-auth/ci/production-values.yaml", "autoscaling:\n  enabled: true", "autoscaling:\n  enable: true"}}, want: "additional properties 'enable' not allowed"},
		{name: "template renders a bad port", check: "helm",
			edits: []edit{{"charts/medinsights-auth/templates/deployment.yaml", "containerPort: {{ .Values.service.port }}", "containerPort: {{ .Values.service.port }}x"}}, want: "containerPort"},
		{name: "migrations not a pre-upgrade hook", check: "helm",
			edits: []edit{{"charts/medinsights-auth/templates/migrate-job.yaml", "helm.sh/hook: pre-install,pre-upgrade", "helm.sh/hook: post-install"}}, want: "pre-install,pre-upgrade hook"},
		{name: "Kong chart prefix mismatch", check: "helm",
			edits: []edit{{"charts/kong-values.yaml", "-kong-prefix /kong_prefix", "-kong-prefix /usr/local/kong"}}, want: "-kong-prefix must match KONG_PREFIX"},
		{name: "ServiceMonitor field unknown to its CRD", check: "helm",
			edits: []edit{{"charts/medinsights-auth/templates/servicemonitor.yaml", "      path: {{ .Values.serviceMonitor.path }}", "      paths: {{ .Values.serviceMonitor.path }}"}}, want: "unknown field"},

		// ArgoCD: the Application against the CRD kept in the repository.
		{name: "Application field unknown to the CRD", check: "argocd",
			edits: []edit{{"k8s/argocd/application.yaml", "      prune: true", "      prunes: true"}}, want: "unknown field"},
		{name: "Application points at no overlay", check: "argocd",
			edits: []edit{{"k8s/argocd/application.yaml", "path: k8s/overlays/prod", "path: k8s/overlays/staging"}}, want: "Application auth-service syncs k8s/overlays/prod"},
		{name: "Application syncs dev", check: "argocd",
			edits: []edit{{"k8s/argocd/application.yaml", "path: k8s/overlays/prod", "path: k8s/overlays/dev"}}, want: "Application auth-service syncs k8s/overlays/prod"},
		{name: "Application renamed", check: "argocd",
			edits: []edit{{"k8s/argocd/application.yaml", "  name: auth-service\n", "  name: medinsights-auth-prod\n"}}, want: "metadata.name \"medinsights-auth-prod\", want auth-service"},
		{name: "dev Application renamed", check: "argocd",
			edits: []edit{{"k8s/argocd/application-dev.yaml", "  name: auth-service-dev\n", "  name: medinsights-auth-dev\n"}}, want: "want auth-service-dev"},
		{name: "self-heal undoes kubectl scale", check: "argocd",
			edits: []edit{{"k8s/argocd/application.yaml", "      - RespectIgnoreDifferences=true\n", ""}}, want: "self-heal undoes kubectl scale"},
		{name: "Application without required destination", check: "argocd",
			edits: []edit{{"k8s/argocd/application.yaml", "  destination:\n", "  target:\n"}}, want: "kubectl-validate"},

		// Monitoring: queries name metrics the code defines; the endpoint is on and scraped.
		{name: "dashboard names a metric that does not exist", check: "monitoring",
			edits: []edit{{"k8s/monitoring/grafana-dashboard.json", "(medinsights_gateway_jwks_keys)", "(medinsights_gateway_jwks_key_count)"}},
			want:  "names medinsights_gateway_jwks_key_count, which no code defines"},
		{name: "alert names a metric that does not exist", check: "monitoring",
			edits: []edit{{"k8s/monitoring/prometheusrule.yaml", "(medinsights_gateway_revocation_stale)", "(medinsights_revocation_stale)"}},
			want:  "names medinsights_revocation_stale, which no code defines"},
		{name: "dashboard is not JSON", check: "monitoring",
			edits: []edit{{"k8s/monitoring/grafana-dashboard.json", "{", "{,"}}, want: "not JSON"},
		{name: "metric renamed in the code only", check: "monitoring",
			edits: []edit{{"kong-plugin/internal/plugin/metrics.go", `"medinsights_gateway_revocation_entries"`, `"medinsights_gateway_revocation_sessions"`}},
			want:  "names medinsights_gateway_revocation_entries, which no code defines"},
		{name: "PodMonitor on another port", check: "monitoring",
			edits: []edit{{"k8s/monitoring/kong-podmonitor.yaml", "portNumber: 9542", "portNumber: 9543"}}, want: "scrapes port 9543"},
		{name: "PodMonitor field unknown to its CRD", check: "monitoring",
			edits: []edit{{"k8s/monitoring/kong-podmonitor.yaml", "      scrapeTimeout: 10s", "      scrapeTimeOut: 10s"}}, want: "unknown field"},
		{name: "alert with a bad duration", check: "monitoring",
			edits: []edit{{"k8s/monitoring/prometheusrule.yaml", "for: 10m", "for: ten minutes"}}, want: "kubectl-validate"},
		{name: "metrics address not let through nginx", check: "monitoring",
			edits: []edit{{"charts/kong-values.yaml", "  nginx_main_env: MEDINSIGHTS_AUTH_METRICS_ADDR\n", ""}}, want: "nginx_main_env"},

		// Linters.
		{name: "yamllint trailing spaces", check: "yamllint",
			edits: []edit{{"kong/kong.yml", "_format_version: \"3.0\"\n", "_format_version: \"3.0\"   \n"}}, want: "trailing-spaces"},
		{name: "shellcheck warning", check: "shellcheck",
			edits: []edit{{"scripts/infra-dev-run.sh", "set -eu\n", "set -eu\nunused=1\n"}}, want: "SC2034"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := setup(t)
			apply(t, cfg, tt.edits)
			problems, err := run(cfg, []string{tt.check})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				if strings.Contains(p.String(), tt.want) {
					return
				}
			}
			t.Errorf("check %s reported no problem containing %q; got:", tt.check, tt.want)
			for _, p := range problems {
				t.Errorf("  %s", p)
			}
		})
	}
}
