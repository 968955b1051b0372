# Developer and CI entry points. The README's two commands are `make run` and `make test`.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/outpost-rs/target
CARGO ?= cargo
OUTPOST := $(CARGO_TARGET_DIR)/debug/outpost

.PHONY: run build test test-rust test-matrix test-sdk test-grpc test-openapi test-portal portal lint fmt services bench-logs bench

## Run everything in one process with embedded in-memory stores on :3333 (portal at /).
run: portal
	$(CARGO) run --locked --bin outpost -- serve

build: portal
	$(CARGO) build --workspace --all-targets --locked

## The tenant portal (React + Vite, npm): portal/ -> portal/dist, which the api-service embeds
## at compile time. Rebuilt only when its sources change.
PORTAL_SOURCES := $(shell find portal/src -type f 2>/dev/null) portal/index.html portal/package-lock.json portal/vite.config.ts portal/tsconfig.json
portal: portal/dist/index.html
portal/dist/index.html: $(PORTAL_SOURCES)
	cd portal && if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
	cd portal && npm run build

## The whole test suite: Rust unit/integration/end-to-end tests, the published SDKs, gRPC,
## Helm, and the portal in headless Chromium.
test: services build test-rust test-matrix test-sdk test-grpc test-openapi test-helm test-chart-e2e test-portal test-faults test-soak

## Fault injection (outpost-faults): kill -9 of each service, Redis/RabbitMQ restarts, a
## PostgreSQL outage, a hanging and a resetting destination, each under publish load; prints
## the table (lost must be 0). `make test` runs the short form; `make faults` the full one
## (100 events/s for 40 s per fault, 10 s outages, PostgreSQL down 30 s).
.PHONY: test-faults faults fuzz test-soak soak
test-faults: build
	$(CARGO_TARGET_DIR)/debug/outpost-faults --short --outpost $(OUTPOST)
faults: build
	$(CARGO_TARGET_DIR)/debug/outpost-faults --outpost $(OUTPOST) $(FAULTS_ARGS)

## Soak: the split services under steady load (SOAK_RATE events/s, default 100) for SOAK_SECS
## (default 1800) in 10 windows; fails on lost events, growing memory or rising p99 latency.
## `make test` runs 20 s of it.
test-soak: build
	$(CARGO_TARGET_DIR)/debug/outpost-faults --outpost $(OUTPOST) --soak 20 --rate 50
soak: build
	$(CARGO_TARGET_DIR)/debug/outpost-faults --outpost $(OUTPOST) --soak $${SOAK_SECS:-1800} --rate $${SOAK_RATE:-100}

## cargo-fuzz targets (fuzz/): the filter language, templates, cursors, the publish body;
## FUZZ_SECS per target (default 60). Seeds in fuzz/corpus.
fuzz:
	scripts/fuzz.sh $${FUZZ_SECS:-60}

## The portal's browser acceptance test (Debian chromium + playwright-core) against the
## embedded portal of the debug binary; screenshots under portal/test-artifacts.
test-portal: build
	PORTAL_SKIP_BUILD=1 scripts/portal-test.sh $(OUTPOST)

test-rust:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --locked --no-fail-fast; \
	else \
		echo "cargo-nextest not found: using cargo test"; \
		$(CARGO) test --workspace --locked --no-fail-fast; \
	fi

## The split-services end-to-end suite again with each other backend: internal queues
## (TEST_INTERNAL_MQ) on SQS (moto), Pub/Sub (pstest) and Service Bus (our fake), and the log
## store (TEST_LOG_STORE) on ClickHouse (chDB behind our shim). RabbitMQ and PostgreSQL are
## the default run.
MATRIX_TESTS = test(/^split_faults::|^otel::split_/)
MATRIX_RUN = $(CARGO) nextest run -p outpost --test e2e --locked --no-fail-fast -E '$(MATRIX_TESTS)'
test-matrix:
	TEST_INTERNAL_MQ=sqs $(MATRIX_RUN)
	TEST_INTERNAL_MQ=pubsub $(MATRIX_RUN)
	TEST_INTERNAL_MQ=servicebus $(MATRIX_RUN)
	TEST_LOG_STORE=clickhouse $(MATRIX_RUN)

test-sdk: build
	scripts/sdk-smoke.sh $(OUTPOST)

## schemathesis (PyPI) against the OpenAPI document the binary serves: no 5xx, no response
## outside the document, invalid input refused. ST_MAX_EXAMPLES per operation (default 30).
test-openapi: build
	scripts/schemathesis.sh $(OUTPOST)

## A generic reflection-driven gRPC client (the grpcurl role) against the log service.
test-grpc: build
	scripts/grpc-smoke.sh $(OUTPOST)

## The Helm chart (helm/outpost), offline: lint, render for two Kubernetes versions, strict schema
## validation, rejected bad values, render assertions. Installs helm and kubernetes-validate once.
.PHONY: test-helm test-chart-e2e
test-helm:
	scripts/helm-check.sh

## The three services as separate processes, configured exactly as the chart renders them
## (migration Job, then log, delivery, api), delivering events end to end on the local servers.
test-chart-e2e: build
	scripts/chart-e2e.sh $(OUTPOST)

## fmt and clippy, as CI runs them.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## Make sure the local Redis the tests use is up.
services:
	scripts/ensure-services.sh
	scripts/stand-ins.sh start-all
	scripts/clean-test-databases.sh

## Log query latency on 1,000,000 attempts in a fresh Postgres database (prints a table).
bench-logs:
	$(CARGO) run --release --locked -p outpost-bench -- --attempts $${ATTEMPTS:-1000000}

## Publish→delivery load test (not a timed test): the release binary split on the local Redis,
## RabbitMQ and PostgreSQL, then embedded; prints one table. BENCH_ARGS="--quick" for small
## counts; `outpost-loadgen --help` lists the options (cases, concurrency, sizes, fan-out).
bench:
	scripts/ensure-services.sh
	$(CARGO) build --release --locked --bin outpost -p outpost
	$(CARGO) run --release --locked -p outpost-loadgen --bin outpost-loadgen -- --outpost $(CARGO_TARGET_DIR)/release/outpost $(BENCH_ARGS)
