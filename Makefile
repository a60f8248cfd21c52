# The POET platform's commands. Everything here needs only Go, except
# test-integration and ci, which expect PostgreSQL and Kafka started by
# tools/ci (see .ci/run).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Every module of the workspace, as ./dir/... patterns.
MODULES  := $(shell sed -n 's/^[[:space:]]*\.\/\([^[:space:]]*\)$$/\1/p' go.work)
PKGS     := $(addprefix ./,$(addsuffix /...,$(MODULES)))
SERVICES := survey consent identity scoring reporting
GOTEST   ?= go test
TEST_FLAGS ?= -count=1 -timeout 15m

.PHONY: help run test test-integration vet lint fmt generate generate-check fuzz bench bench-pipeline bench-linkage charts-check frontend frontend-check browser-test ci tidy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 20

run: ## Run the whole platform locally on embedded defaults (only Go needed)
	go run ./tools/devstack -root . -data .data

test: ## Fast tier: every module's tests, in-process broker, SQLite, dev issuer
	$(GOTEST) $(TEST_FLAGS) $(PKGS)

test-integration: ## Integration tier against real PostgreSQL and Kafka (POET_TEST_POSTGRES_URL, POET_TEST_KAFKA_BROKERS)
	@test -n "$${POET_TEST_POSTGRES_URL:-}" || { echo "POET_TEST_POSTGRES_URL is not set: run tools/ci/start-postgres.sh (see README)"; exit 1; }
	@test -n "$${POET_TEST_KAFKA_BROKERS:-}" || { echo "POET_TEST_KAFKA_BROKERS is not set: run tools/ci/start-kafka.sh (see README)"; exit 1; }
	$(GOTEST) -tags integration $(TEST_FLAGS) $(PKGS)

vet: ## go vet every module, both tiers
	go vet $(PKGS)
	go vet -tags integration,charts $(PKGS)

fmt: ## Format every Go file
	gofmt -w $(MODULES)

lint: vet ## gofmt check, go vet and staticcheck
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	cd tools && go tool staticcheck $(addprefix ../,$(PKGS))

generate: ## Regenerate server types from api-specs/ (oapi-codegen)
	@for s in $(SERVICES); do \
	  cfg=services/$$s/internal/http/api/oapi-codegen.yaml; \
	  [ -f $$cfg ] || continue; \
	  echo "oapi-codegen $$s"; \
	  (cd tools && go tool oapi-codegen -config ../$$cfg -o ../services/$$s/internal/http/api/api.gen.go ../api-specs/$$s/openapi.yaml); \
	done

generate-check: generate ## Fail if generated files differ from what is committed
	@git add -N services/*/internal/http/api >/dev/null 2>&1 || true
	@if ! git diff --quiet -- services/*/internal/http/api; then \
	  echo "Generated code is out of date with api-specs/: run 'make generate' and commit."; \
	  git diff --stat -- services/*/internal/http/api; exit 1; fi

FUZZTIME ?= 100000x
# Each fuzz target, as package:Name; `go test -fuzz` takes one target at a time.
FUZZ_TARGETS := ./services/survey/internal/domain:FuzzValidateAnswers ./services/survey/internal/domain/csvform:FuzzCSVImport

fuzz: ## Run every fuzz target for FUZZTIME each (executions, bounded)
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
	  go test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

bench: bench-pipeline bench-linkage ## Benchmarks (figures go to BENCHMARKS.md)

bench-pipeline: ## HTTP submit to counted in reporting, embedded broker and (with POET_TEST_KAFKA_BROKERS) real Kafka, against raw kafka-go
	go run ./tools/bench -root . -out .data/bench

bench-linkage: ## Identity linkage on 1,000,000 synthetic records per scenario: precision, recall, F1, time, memory
	go run ./tools/linkbench -records 1000000

charts-check: ## helm lint --strict, render, and strictly decode every document into Kubernetes types
	bash tools/chartcheck/install-helm.sh
	cd tools && go test -tags charts -count=1 ./chartcheck/...

frontend: ## Copy GOV.UK Frontend (version pinned in tools/browsertest/package-lock.json) into services/web (needs npm)
	bash tools/browsertest/build-frontend.sh

frontend-check: ## Fail if the committed GOV.UK Frontend files differ from a fresh build (needs npm)
	bash tools/browsertest/check-frontend.sh

browser-test: ## Respondent journey in Debian's Chromium, JS on and off, axe-core, screenshots (needs npm)
	bash tools/ci/install-browser.sh
	bash tools/browsertest/run.sh

tidy: ## go mod tidy in every module
	@for m in $(MODULES); do (cd $$m && GOWORK=off go mod tidy); done

ci: generate-check lint test fuzz charts-check frontend-check browser-test test-integration ## What CI runs

clean: ## Remove local data, binaries and caches
	rm -rf .data .cache/kafka
