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
LAMBDA_DIR  := target/lambda-arm64
# The binaries the SAM template deploys as functions. Others (users-admin, the operator's
# command) are never packaged as Lambda zips.
LAMBDA_BINS := $(addprefix --bin ,$(sort $(shell sed -n 's/^ *Binary: *//p' infra/template.yaml)))
# make admin acts on stage local unless told; make deploy / destroy on dev.
ADMIN_STAGE  = $(or $(STAGE),local)
DEPLOY_STAGE = $(or $(STAGE),dev)
# The local defaults exported above must not reach a deploy to AWS: there the caller's own
# credentials, region and endpoints apply. Unsets each one this Makefile set (not one the caller did).
# (AWS_DEFAULT_REGION defaults to AWS_REGION: the caller's region when the caller set that.)
AWS_AS_CALLER := env $(foreach v,AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY,$(if $(filter file,$(origin $(v))),-u $(v))) \
  $(if $(and $(filter file,$(origin AWS_DEFAULT_REGION)),$(filter file,$(origin AWS_REGION))),-u AWS_DEFAULT_REGION)

.PHONY: help setup up emulator demo down admin build build-local watch test test-emulator bench lint fmt schemas openapi fuzz deploy destroy sam-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: ## install the pinned tools (venv: ministack, cfn-lint, cargo-lambda) and fetch crates
	@scripts/setup-venv.sh
	@command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked --version 0.9.143
	cargo fetch --locked

up: setup ## run the whole system locally: emulator, functions built, template deployed, demo data seeded
	@scripts/emulator.sh up
	cargo build --locked --bins
	$(VENV)/bin/python scripts/stack.py deploy
	$(VENV)/bin/python scripts/stack.py seed
	@echo "HTTP API: $$(cat .local/api-url.local)   (make demo walks through a purchase)"

emulator: setup ## only start the local AWS emulator (no stack)
	@scripts/emulator.sh up

demo: ## walk through the shop against the running stack (make up first)
	$(VENV)/bin/python scripts/demo.py

down: ## stop the emulator and every process it started
	@scripts/emulator.sh down

admin: ## grant a registered user the admin role on the local stack: make admin EMAIL=ops@example.org (REVOKE=1 revokes)
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=<a registered user's email> [REVOKE=1] [STAGE=local]"; exit 2; }
	USERS_TABLE=$(ADMIN_STAGE)-users cargo run --quiet --locked -p users --bin users-admin -- $(if $(REVOKE),revoke,grant) --email "$(EMAIL)"

build: setup ## release build of every function for AWS (arm64 zips in target/lambda-arm64)
	rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	cargo lambda build --release --arm64 --locked --output-format zip --lambda-dir $(LAMBDA_DIR) $(LAMBDA_BINS)

build-local: setup ## release build for this machine (what the local emulator runs)
	cargo lambda build --release --locked --lambda-dir target/lambda-local $(LAMBDA_BINS)

watch: setup ## serve the functions locally with cargo lambda watch (loopback only)
	cargo lambda watch -A 127.0.0.1 -P 9000

test: setup ## everything CI runs: fmt, clippy, cfn-lint, emulator, all tests
	@scripts/test.sh

test-emulator: ## only the emulator suite, against an emulator already up (make up)
	cargo nextest run --locked --workspace -E 'package(emulator-tests)'

bench: setup ## measure every function, two baselines and the saga under load; writes bench/results.json (docs/performance.md)
	@scripts/setup-venv.sh .venv-bench bench/requirements.lock
	@scripts/emulator.sh up
	cargo build --release --locked --workspace --exclude emulator-tests --bins
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

lint: setup ## clippy with warnings as errors, and cfn-lint on the SAM template
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cfn-lint infra/template.yaml

fmt: ## format the code
	cargo fmt --all

schemas: ## regenerate events/schemas/ from the Rust contracts
	UPDATE_SCHEMAS=1 cargo test --locked -p shared schemas

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
