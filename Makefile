# MedInsights Auth: the map of this repository. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
export GOTOOLCHAIN := local
MODULE    := github.com/medinsights/auth
VERSION   ?= 0.1.0
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# The same flags build the binaries CI tests and the images ship (see the Dockerfiles).
GO_BUILD_FLAGS := -trimpath -ldflags "-s -w -X $(MODULE)/internal/version.Version=$(VERSION) -X $(MODULE)/internal/version.Commit=$(COMMIT)"
BIN       := bin

# Tools are built once per machine and cached outside the checkout.
TOOLS_DIR ?= $(HOME)/.cache/medinsights-auth/tools
SQLC_VERSION := v1.31.1
SQLC      := $(TOOLS_DIR)/sqlc-$(SQLC_VERSION)/sqlc
# staticcheck 2026.2.2 (module version v0.8.2), the first release line built
# for Go 1.26.
STATICCHECK_VERSION := v0.8.2
STATICCHECK         := $(TOOLS_DIR)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
# Deployment validators (tools/infracheck, make infra-check).
HELM_VERSION             := v3.22.0
HELM                     := $(TOOLS_DIR)/helm-$(HELM_VERSION)/helm
KUBECTL_VALIDATE_VERSION := v0.0.4
KUBECTL_VALIDATE         := $(TOOLS_DIR)/kubectl-validate-$(KUBECTL_VALIDATE_VERSION)/kubectl-validate

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(SQLC) $(STATICCHECK) $(HELM) $(KUBECTL_VALIDATE) ## Build the pinned tools into the machine-wide cache

$(SQLC):
	@mkdir -p $(@D)
	GOBIN=$(abspath $(@D)) CGO_ENABLED=1 $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

$(STATICCHECK):
	@mkdir -p $(@D)
	GOBIN=$(abspath $(@D)) CGO_ENABLED=0 nice $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.PHONY: generate
generate: $(SQLC) ## Regenerate the sqlc code from sql/
	$(SQLC) generate

.PHONY: verify
verify: $(SQLC) ## Fail when generated code, go.mod or formatting is stale
	$(SQLC) diff
	$(SQLC) vet
	$(GO) mod tidy -diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }

.PHONY: lint
lint: $(STATICCHECK) ## go vet and static checks (staticcheck)
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) -C tools/infracheck vet ./...
	cd tools/infracheck && $(STATICCHECK) ./...

.PHONY: build
build: ## Build bin/issuer, bin/medinsights-auth and bin/patient-service (static, as in the images)
	CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -o $(BIN)/issuer ./issuer/cmd/issuer
	CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -o $(BIN)/medinsights-auth ./kong-plugin/cmd/medinsights-auth
	CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -o $(BIN)/patient-service ./examples/patient-service

# Fuzz targets and the budget CI gives each, in executions (about 5 s apiece on
# the 2-core CI machine). A count, not a duration: with a duration, Go 1.26's
# coordinator can fail a target with a bare "context deadline exceeded" when the
# deadline lands mid-execution (go.dev/issue/75804, fixed in Go 1.27). A count
# has no deadline to race. FUZZTIME (e.g. FUZZTIME=10m) replaces every budget for
# a longer hunt; such a run may still hit that race, which writes no failing input.
FUZZTIME ?=
FUZZ_TARGETS := \
	./internal/accesstoken:FuzzParse:25000x \
	./internal/accesstoken:FuzzKeyID:50000x \
	./internal/accesstoken:FuzzDecodeClaims:100000x \
	./internal/accesstoken:FuzzHeaderSafe:80000x \
	./issuer/internal/auth:FuzzDjangoHash:3000x \
	./kong-plugin/internal/plugin:FuzzTokenFromHeader:30000x \
	./kong-plugin/internal/plugin:FuzzDecide:40000x \
	./kong-plugin/internal/revocation:FuzzDecodePage:30000x \
	./internal/grammar:FuzzRole:200000x \
	./identity:FuzzMiddleware:40000x

.PHONY: fuzz
fuzz: ## Run every fuzz target for its execution budget, or for FUZZTIME each when given
	@for t in $(FUZZ_TARGETS); do \
		IFS=: read -r pkg name budget <<<"$$t"; \
		budget="$${FUZZTIME:-$$budget}"; \
		echo "fuzz $$name ($$pkg) for $$budget"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime "$$budget" "$$pkg" 2>&1 | tail -n 20; \
	done

.PHONY: test
test: verify lint build infra-check fuzz web ## Everything CI checks: verify, vet, race tests (Chromium scenarios included) on a private PostgreSQL
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$$(scripts/pg.sh start)}" \
	MEDINSIGHTS_BIN_DIR=$(abspath $(BIN)) \
		$(GO) test -race -count=1 ./...

.PHONY: bench
bench: build ## Benchmarks and load programs; figures for the closing notes
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$$(scripts/pg.sh start)}" \
	MEDINSIGHTS_BIN_DIR=$(abspath $(BIN)) \
		$(GO) test -run '^$$' -bench . -benchmem ./...

# SCALE_N: the fleet sizes make bench-scale runs (gateway syncers).
SCALE_N ?= 100,1000,2000

.PHONY: bench-scale
bench-scale: build ## Revocation feed at scale: 3 replicas, SCALE_N syncers (not in make test; minutes)
	ulimit -n "$$(ulimit -Hn)"; \
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$$(scripts/pg.sh start)}" \
	MEDINSIGHTS_BIN_DIR=$(abspath $(BIN)) \
	MEDINSIGHTS_SCALE_N=$(SCALE_N) \
		$(GO) test -count=1 -timeout 60m -v -run '^TestScale$$' ./kong-plugin/internal/revocation/

.PHONY: run
run: build ## Start the issuer on :8001 (private PostgreSQL and dev keys when unset)
	scripts/run.sh

.PHONY: db-stop
db-stop: ## Stop the private PostgreSQL and delete its data
	scripts/pg.sh stop

# --- Deployment artifacts (issue 5) -----------------------------------------
# tools/infracheck is its own Go module, so Kubernetes, BuildKit and
# compose-go never enter the product's go.mod. yamllint and shellcheck come
# from Debian (.ci/run installs them).

$(HELM):
	@mkdir -p $(@D)
	GOBIN=$(abspath $(@D)) CGO_ENABLED=0 nice $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(KUBECTL_VALIDATE):
	@mkdir -p $(@D)
	GOBIN=$(abspath $(@D)) CGO_ENABLED=0 nice $(GO) install sigs.k8s.io/kubectl-validate@$(KUBECTL_VALIDATE_VERSION)

.PHONY: infra-check
infra-check: build $(HELM) $(KUBECTL_VALIDATE) ## Validate Dockerfiles, compose, kong.yml, Kustomize, Helm, ArgoCD offline
	$(GO) -C tools/infracheck mod tidy -diff
	$(GO) -C tools/infracheck build -o $(abspath $(BIN))/infracheck .
	$(BIN)/infracheck -root . -plugin $(BIN)/medinsights-auth -helm $(HELM) -kubectl-validate $(KUBECTL_VALIDATE)
	INFRACHECK_PLUGIN=$(abspath $(BIN))/medinsights-auth INFRACHECK_HELM=$(HELM) INFRACHECK_KUBECTL_VALIDATE=$(KUBECTL_VALIDATE) \
		$(GO) -C tools/infracheck test -count=1 ./...

# --- Browser client (clients/web, issue 11) ---------------------------------
# Its dev tools (typescript, playwright-core) come from its lockfile; npm ci
# runs again only when the lockfile changes. e2e/browser_test.go drives
# Debian's Chromium with them (.ci/run installs chromium and Node.js).
WEB := clients/web

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund

.PHONY: web
web: $(WEB)/node_modules/.package-lock.json ## Build the browser client (clients/web/dist, ESM and .d.ts)
	cd $(WEB) && npm run build
