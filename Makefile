# AgentScope — the operations plane for AI agents.
# `make help` lists the targets.

GO              ?= go
PG_TEST_URL     ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
STATICCHECK     ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEMPL           ?= github.com/a-h/templ/cmd/templ@v0.3.1100
SHELL_SCRIPTS   := scripts/*.sh .ci/run .ci/fuzz .ci/setup-browser .ci/setup-shellcheck
BENCH_PKGS      ?= ./bench/ ./spl/ ./splunkbridge/... ./runtime/... ./investigator/... ./web/...

# The one source of the version `agentscope version` prints and the MCP
# server announces (internal/version): a release tag on HEAD, else "dev",
# with the commit and the build time.
VERSION_PKG     := github.com/agentscope/agentscope/internal/version
VERSION         ?= $(shell git describe --tags --exact-match 2>/dev/null || echo dev)
COMMIT          ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell test -n "$$(git status --porcelain 2>/dev/null)" && echo -dirty)
BUILD_DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS         := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) -X $(VERSION_PKG).date=$(BUILD_DATE)

.PHONY: help run build test test-tools test-short interop interop-deps bench lint generate check-generated fmt clean fuzz fuzz-short

# Fuzz targets of the decoders and parsers that take outside input, as
# package:Target. `make fuzz` runs each for FUZZTIME; `make test` runs each
# briefly. Inputs that once failed are kept in each package's testdata/fuzz
# and run as ordinary tests.
FUZZTIME        ?= 60s
FUZZ_TARGETS    := .:FuzzDecodeEvent .:FuzzCanonical .:FuzzParseUSD .:FuzzParseCredential .:FuzzParseScopes .:FuzzNormalizeEmail \
	./internal/jsonscan:FuzzCheck ./internal/jsonscan:FuzzNextMembers ./internal/jsonscan:FuzzAppendString ./identity:FuzzAuthenticateHeader \
	./web:FuzzSplitEvents ./web:FuzzSafeNext .:FuzzAlertRuleFromJSON .:FuzzValidateWebhookURL ./billing/stripebilling:FuzzParseEvent \
	./spl:FuzzParse ./spl:FuzzEval ./store/sqlstore:FuzzDecodeCanonical \
	./pricing:FuzzParse ./signin:FuzzParseSMTPURL ./signin:FuzzFinishCallback \
	.:FuzzRedirectURI ./identity:FuzzAuthenticateResource ./oauth:FuzzParseAuthorize ./oauth:FuzzPKCE \
	./oauth:FuzzRegister ./oauth:FuzzClientMetadataDocument ./otlp:FuzzDecodeTraces \
	./billing:FuzzParse ./mcpproxy:FuzzSession ./mcpproxy:FuzzSSE ./gateway:FuzzSSE ./gateway:FuzzParse ./mcpserver:FuzzParseFastRequest

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {gsub(/\$$\(PG_TEST_URL\)/, "$(PG_TEST_URL)", $$2); printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## build bin/agentscope, start it on the embedded default (SQLite in the per-user data dir) and print where to connect
	@echo "make run: building bin/agentscope (the first build compiles every dependency: a minute or two)..."
	@$(GO) build -ldflags "$(LDFLAGS)" -o bin/agentscope ./cmd/agentscope
	@echo "make run: starting bin/agentscope serve"
	./bin/agentscope serve

build: ## build bin/agentscope
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/agentscope ./cmd/agentscope

test: interop-deps test-tools ## run every test with -race, SQLite and Postgres ($(PG_TEST_URL)), the interop suite (Node 20+), Mailpit and each fuzz target briefly
	AGENTSCOPE_TEST_INTEROP=required \
	AGENTSCOPE_TEST_MAILPIT=required AGENTSCOPE_TEST_MAILPIT_BIN=$(CURDIR)/$(MAILPIT) \
	AGENTSCOPE_TEST_STRIPE_MOCK=required AGENTSCOPE_TEST_STRIPE_MOCK_BIN=$(CURDIR)/$(STRIPE_MOCK) \
	AGENTSCOPE_TEST_DATABASE_URL="$${AGENTSCOPE_TEST_DATABASE_URL:-$(PG_TEST_URL)}" \
		$(GO) test -race -count=1 -timeout 15m ./...
	@$(MAKE) --no-print-directory fuzz-short

fuzz: ## run every fuzz target for FUZZTIME each (default 60s)
	GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/fuzz $(FUZZ_TARGETS)

fuzz-short: ## every fuzz target for a few seconds (part of make test)
	@$(MAKE) --no-print-directory fuzz FUZZTIME=2s

interop: interop-deps ## the official TypeScript MCP clients and the MCP conformance suite against the built binary
	AGENTSCOPE_TEST_INTEROP=required $(GO) test -race -count=1 -v ./interop/

# Programs the tests run as real servers: Mailpit, the SMTP server the
# sign-in and invitation tests read mail from (internal/mailpittest), and
# stripe-mock, Stripe's mock of its API the billing tests call
# (internal/stripemocktest).
MAILPIT_VERSION     := v1.33.1
MAILPIT             := bin/test/mailpit-$(MAILPIT_VERSION)
STRIPE_MOCK_VERSION := v0.203.0
STRIPE_MOCK         := bin/test/stripe-mock-$(STRIPE_MOCK_VERSION)
test-tools: $(MAILPIT) $(STRIPE_MOCK)

$(MAILPIT):
	@mkdir -p bin/test
	cd bin/test && GOBIN=$(CURDIR)/bin/test/tmp GOFLAGS= $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)
	mv bin/test/tmp/mailpit $@ && rmdir bin/test/tmp

$(STRIPE_MOCK):
	@mkdir -p bin/test
	cd bin/test && GOBIN=$(CURDIR)/bin/test/tmp GOFLAGS= $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)
	mv bin/test/tmp/stripe-mock $@ && rmdir bin/test/tmp

# interop/'s npm modules, installed again only when package-lock.json changes.
interop-deps: interop/node_modules/.installed

interop/node_modules/.installed: interop/package-lock.json
	cd interop && npm ci --no-audit --no-fund
	@touch $@

test-short: ## quick tests, SQLite only
	$(GO) test -short -count=1 ./...

bench: ## run the benchmarks (about 15 min) and write BENCHMARKS.md: machine, figures, targets PASS/MISS
	AGENTSCOPE_TEST_DATABASE_URL="$${AGENTSCOPE_TEST_DATABASE_URL:-$(PG_TEST_URL)}" \
		$(GO) run ./bench/cmd/benchreport -o BENCHMARKS.md

lint: ## gofmt, go vet, staticcheck and shellcheck (of scripts/ and .ci/; skipped without shellcheck unless AGENTSCOPE_LINT_SHELL=required)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt would change the files above"; exit 1)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@if command -v shellcheck >/dev/null 2>&1; then \
		shellcheck $(SHELL_SCRIPTS); \
	elif [ "$$AGENTSCOPE_LINT_SHELL" = required ]; then \
		echo "make lint: shellcheck is not installed (.ci/setup-shellcheck installs it)"; exit 1; \
	else \
		echo "make lint: shellcheck not installed; shell scripts not checked (.ci/setup-shellcheck installs it)"; \
	fi

generate: ## regenerate templ components
	$(GO) run $(TEMPL) generate

check-generated: ## fail if generated code is not current
	$(GO) run $(TEMPL) generate
	@git diff --exit-code -- '*_templ.go' || (echo "templ generate changed files: commit the generated code"; exit 1)

fmt: ## gofmt every file
	gofmt -w $$(git ls-files '*.go')

clean: ## remove build output (not the data dir)
	rm -rf bin testartifacts
