# Everyday commands. `make help` lists them. Every target installs what it needs (pinned):
# the Python venv with the emulator, cfn-lint and cargo-lambda comes from infra/requirements.lock.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export AWS_ENDPOINT_URL ?= http://127.0.0.1:4566
export AWS_REGION ?= us-east-1
export AWS_DEFAULT_REGION ?= $(AWS_REGION)
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_EC2_METADATA_DISABLED := true
# How tests, seed and demo reach the functions: the HTTP API, or (API_TRANSPORT=invoke) the Lambda
# Invoke API with API Gateway events, for LocalStack's free image, which has no HTTP APIs.
export API_TRANSPORT ?= $(if $(filter localstack,$(EMULATOR)),invoke,http)
LAMBDA_DIR  := target/lambda-arm64
# The binaries the SAM template deploys as functions. Others (users-admin, the operator's
# command) are never packaged as Lambda zips.
LAMBDA_BINS := $(addprefix --bin ,$(sort $(shell sed -n 's/^ *Binary: *//p' infra/template.yaml)))
# make admin and the operator's commands (dlq, redrive, status, logs) act on stage local unless
# told; make deploy / destroy on dev.
ADMIN_STAGE  = $(or $(STAGE),local)
DEPLOY_STAGE = $(or $(STAGE),dev)
# The local defaults exported above must not reach a deploy to AWS: there the caller's own
# credentials, region and endpoints apply. Unsets each one this Makefile set (not one the caller did).
# (AWS_DEFAULT_REGION defaults to AWS_REGION: the caller's region when the caller set that.)
AWS_AS_CALLER := env $(foreach v,AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY,$(if $(filter file,$(origin $(v))),-u $(v))) \
  $(if $(and $(filter file,$(origin AWS_DEFAULT_REGION)),$(filter file,$(origin AWS_REGION))),-u AWS_DEFAULT_REGION)

.PHONY: help setup setup-browser up emulator demo down admin dlq redrive status logs build build-local watch test test-emulator test-browser bench lint lint-venv fmt schemas deploy destroy sam-check clean openapi fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: ## install the pinned tools (venv: ministack, cfn-lint, cargo-lambda, AWS CLI) and fetch crates
	@scripts/setup-venv.sh
	@command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked --version 0.9.143
	cargo fetch --locked

setup-browser: ## install the browser tests' headless Chromium and chromedriver (Debian packages, pinned; make test does it)
	@scripts/setup-browser.sh

up: setup ## run the whole system locally: emulator, functions built, template deployed, demo data seeded
	@scripts/emulator.sh up
	cargo build --locked --bins
	$(VENV)/bin/python scripts/stack.py deploy
	$(VENV)/bin/python scripts/stack.py seed
	@if [[ "$$API_TRANSPORT" == invoke ]]; then echo "No HTTP API on this emulator (no shop page either): make demo and the tests call the functions through the Lambda Invoke API"; \
	 else echo "Shop:     $$(cat .local/api-url.local)/   (open it in a browser; admin@shop.local / local-admin-password)"; \
	      echo "HTTP API: $$(cat .local/api-url.local)   (make demo walks through a purchase)"; fi

emulator: setup ## only start the local AWS emulator (no stack)
	@scripts/emulator.sh up

demo: ## walk through the shop against the running stack (make up first)
	$(VENV)/bin/python scripts/demo.py

down: ## stop the emulator and every process it started
	@scripts/emulator.sh down

admin: ## grant a registered user the admin role on the local stack: make admin EMAIL=ops@example.org (REVOKE=1 revokes)
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=<a registered user's email> [REVOKE=1] [STAGE=local]"; exit 2; }
	USERS_TABLE=$(ADMIN_STAGE)-users cargo run --quiet --locked -p users --bin users-admin -- $(if $(REVOKE),revoke,grant) --email "$(EMAIL)"

# The operator's commands (scripts/ops.py; docs/operations.md). Against AWS, run them with the
# caller's credentials: `$(AWS_AS_CALLER)` drops the local defaults, as make deploy does.
OPS = $(if $(filter local,$(ADMIN_STAGE)),,$(AWS_AS_CALLER)) $(VENV)/bin/python scripts/ops.py
OPS_FLAGS = --stage $(ADMIN_STAGE) $(if $(JSON),--json)

dlq: ## every dead-letter queue's messages: event, correlation id, the consumer's logged reason [QUEUE=orders] [JSON=1]
	@$(OPS) dlq $(OPS_FLAGS) $(if $(QUEUE),--queue "$(QUEUE)")

redrive: ## move dead-lettered messages back to their source queue [QUEUE=orders] [MATCH=<event id>] [JSON=1]
	@$(OPS) redrive $(OPS_FLAGS) $(if $(QUEUE),--queue "$(QUEUE)") $(if $(MATCH),--match "$(MATCH)")

status: ## one screen on the running stack: queues, DLQs, outbox, orders by state, metrics, last errors [SINCE=1h] [JSON=1]
	@$(OPS) status $(OPS_FLAGS) $(if $(SINCE),--since $(SINCE))

logs: ## the functions' logs, readable [FUNCTION=orders-worker] [CORRELATION_ID=<id>] [SINCE=15m] [LIMIT=50] [JSON=1]
	@$(OPS) logs $(OPS_FLAGS) $(if $(FUNCTION),--function "$(FUNCTION)") $(if $(CORRELATION_ID),--correlation-id "$(CORRELATION_ID)") $(if $(SINCE),--since $(SINCE)) $(if $(LIMIT),--limit $(LIMIT))

build: setup ## release build of every function for AWS (arm64 zips in target/lambda-arm64)
	rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	cargo lambda build --release --arm64 --locked --output-format zip --lambda-dir $(LAMBDA_DIR) $(LAMBDA_BINS)

build-local: setup ## release build for this machine (what the local emulator runs)
	cargo lambda build --release --locked --lambda-dir target/lambda-local $(LAMBDA_BINS)

watch: setup ## cargo lambda watch on 127.0.0.1:9000 with the local stack's environment (make up first; OUTBOX=orders, WATCH_PORT=9000)
	$(VENV)/bin/python scripts/stack.py watch --stage $(ADMIN_STAGE) --outbox $(or $(OUTBOX),orders) --port $(or $(WATCH_PORT),9000)

test: setup ## everything CI runs: fmt, clippy, cfn-lint, emulator, all tests
	@scripts/test.sh

test-emulator: ## only the emulator suite, against an emulator already up (make up)
	cargo nextest run --locked --workspace -E 'package(emulator-tests)'

test-browser: setup-browser ## only the storefront's browser tests, against the stack make up started; prints where the screenshots are
	cargo nextest run --locked --workspace -E 'package(emulator-tests) and test(/^storefront::/)' --success-output final

# make bench SECTIONS=open-loop,flash-sale runs only those sections (bench/run.py --sections);
# BENCH_ARGS passes any other option (docs/performance.md lists them).
bench: setup ## measure every function against three baselines, the saga closed- and open-loop, a flash sale; writes bench/results.json and the charts, fails on any budget (docs/performance.md)
	@scripts/setup-venv.sh .venv-bench bench/requirements.lock
	@scripts/emulator.sh up
	cargo build --release --locked --workspace --exclude emulator-tests --bins
	cargo build --locked --bins
	$(MAKE) --no-print-directory build
	cargo lambda build --release --arm64 --locked --output-format zip --lambda-dir $(LAMBDA_DIR) --package bench-floor --package bench-sdk-defaults
	$(VENV)/bin/python bench/run.py $(if $(SECTIONS),--sections $(SECTIONS)) $(BENCH_ARGS)

lint: setup lint-venv ## clippy with warnings as errors, cfn-lint on the SAM template, ruff on the Python
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cfn-lint infra/template.yaml
	.venv-lint/bin/ruff format --check
	.venv-lint/bin/ruff check

lint-venv:
	@scripts/setup-venv.sh .venv-lint infra/lint-requirements.lock >/dev/null

fmt: lint-venv ## format the code (Rust and Python)
	cargo fmt --all
	.venv-lint/bin/ruff format

schemas: ## regenerate events/schemas/ from the Rust contracts
	UPDATE_SCHEMAS=1 cargo test --locked -p event-schemas checked_in_event_schemas

openapi: ## regenerate docs/openapi.json from the routes and Rust types (a test fails when it drifts)
	UPDATE_OPENAPI=1 cargo test --locked -p api-docs --test openapi checked_in_openapi

fuzz: setup ## the longer Schemathesis run from docs/openapi.json (200 examples per operation) against the stack make up started
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),200) scripts/fuzz.sh

deploy: ## sam build + sam deploy to AWS as stack serverless-shop-$(STAGE) (STAGE=dev unless told; guided the first time)
	@$(AWS_AS_CALLER) STAGE=$(DEPLOY_STAGE) scripts/sam-deploy.sh

destroy: ## sam delete of stack serverless-shop-$(STAGE) (STAGE=dev unless told); asks before deleting
	@scripts/setup-venv.sh .venv-sam infra/sam-requirements.lock >/dev/null
	cd infra && $(AWS_AS_CALLER) SAM_CLI_TELEMETRY=0 $(CURDIR)/.venv-sam/bin/sam delete --config-env $(DEPLOY_STAGE) --stack-name serverless-shop-$(DEPLOY_STAGE) $(SAM_DELETE_ARGS)

sam-check: setup ## the AWS path, locally: sam build + sam deploy of stage "sam" onto the emulator, then a smoke walk
	@scripts/sam-check.sh

clean: down ## remove build output and local state
	cargo clean
	rm -rf .local infra/.aws-sam
