# The two commands: `make start` runs the suite, `make test-all` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := help

# Debian's hiredis.pc carries a -D flag SwiftPM refuses with a warning; ours is the same without it.
export PKG_CONFIG_PATH := $(CURDIR)/build-support/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))

FUZZ_SECONDS ?= 60
CHAOS_SCHEMATHESIS_EXAMPLES ?= 100
RELEASE_BIN := .build/release
PARSER_SOURCES := $(addprefix Sources/HTTPServer/,RequestParser.swift RequestLimits.swift HTTPRequest.swift PathParameters.swift HTTPHeaders.swift \
	HTTPMethod.swift HTTPVersion.swift HTTPStatus.swift PercentDecoding.swift QueryParameters.swift)

.PHONY: help deps deps-runtime build release start stop restart status logs demo dataset test test-socket test-fuzz test-integration test-chaos test-all perf-light perf soak bench bench-predict clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

deps: ## Install missing system packages for building and testing (apt-get; prints the command when not root)
	@scripts/install-deps.sh test

deps-runtime:
	@scripts/install-deps.sh runtime

build: deps-runtime ## Debug build
	swift build

release: deps-runtime ## Release build
	swift build -c release

start: release ## Install what is missing, build, start Postgres and Redis (project-local unless DATABASE_URL/REDIS_URL answer) and the three services; wait until ready
	@scripts/services.sh start

stop: ## Stop what `make start` started, gracefully
	@scripts/services.sh stop

restart: stop start ## Stop, then start

status: ## Each service's process and health
	@scripts/services.sh status

logs: ## Follow the services' logs
	@tail -n 50 -F run/*.log

demo: ## Train the dataset/ series and stream predictions to the running services (make start first)
	@python3 scripts/demo.py

dataset: ## Regenerate the sample CSVs in dataset/ (seeded: the same bytes every time)
	python3 dataset/generate.py

test: deps ## Unit tests (swift test)
	swift test

test-socket: deps release ## Socket tests against the release binaries with curl, Python, raw sockets and wrk
	BIN_DIR=$(CURDIR)/$(RELEASE_BIN) python3 -m pytest Tests/system -q -rA --tb=short

test-fuzz: deps ## libFuzzer on the HTTP parser for FUZZ_SECONDS (default 60) under AddressSanitizer
	@mkdir -p .build/fuzz/corpus
	swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name ParserFuzz \
		$(PARSER_SOURCES) fuzz/ParserFuzzer.swift -o .build/fuzz/parser-fuzzer
	.build/fuzz/parser-fuzzer -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 -detect_leaks=1 \
		.build/fuzz/corpus fuzz/seeds 2>&1 | grep -E "^(Done|stat::number_of_executed|stat::peak_rss|==|SUMMARY|Fatal|.*ERROR)" 

test-integration: deps release ## Against real Postgres and Redis the tests start on free ports: seeds, model, versions, faults
	BIN_DIR=$(CURDIR)/$(RELEASE_BIN) python3 -m pytest Tests/integration -q -rA --tb=short

test-chaos: deps release ## Faults and load: Redis/Postgres killed, SIGKILL, SIGTERM, 10k connections, slowloris, scale-out behind nginx, schemathesis at 4x budget (report: .build/artifacts/chaos.txt)
	BIN_DIR=$(CURDIR)/$(RELEASE_BIN) python3 -m pytest Tests/chaos -q -rA --tb=short
	SCHEMATHESIS_EXAMPLES=$(CHAOS_SCHEMATHESIS_EXAMPLES) BIN_DIR=$(CURDIR)/$(RELEASE_BIN) python3 -m pytest Tests/integration/test_schemathesis.py -q --tb=short

test-all: test-fuzz test test-socket test-integration test-chaos ## Everything: fuzz, unit, socket, integration (with browser and API conformance) and chaos tests

PERF_LIGHT_SECONDS ?= 10
perf-light: release ## A short load run against the running services (make start: the same ports, from the environment or .env): PERF_LIGHT_SECONDS (10) of predicts over 32 connections
	@set -- $$(scripts/services.sh urls) && $(RELEASE_BIN)/anomaly-loadtest --training-url "$$1" --inference-url "$$2" \
		--series perf-light --connections 32 --duration $(PERF_LIGHT_SECONDS)

bench-predict: release ## /predict (cached, latest) against nginx: starts Postgres, Redis and the services, inference pinned to CPU 1
	@scripts/bench-predict.sh

perf: release ## The README's benchmarks: /predict vs nginx, /fit 10k and 1M points, inference RSS with 100k series
	@scripts/perf.sh

soak: release ## SOAK_MINUTES (30) of steady load against the running services, memory sampled: no growth after warm-up
	@python3 scripts/soak.py

bench: release ## /livez against nginx, both pinned to CPU 1, wrk on CPU 0
	@scripts/bench-livez.sh

clean: stop ## Stop what make start started, then remove build products and run-time data
	@scripts/backends.sh stop
	rm -rf .build run
