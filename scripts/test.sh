#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, template validation, then every test
# (unit, in-process handler and emulator tests) against an emulator this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}" CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "cfn-lint infra/template.yaml"
cfn-lint infra/template.yaml

step "ruff: the Python (scripts/, bench/) formatted and linted (ruff.toml)"
scripts/setup-venv.sh .venv-lint infra/lint-requirements.lock >/dev/null
.venv-lint/bin/ruff format --check
.venv-lint/bin/ruff check

step "headless Chromium and chromedriver for the storefront's browser tests (Debian packages, pinned)"
scripts/setup-browser.sh

step "bench harness self-test (the make bench budget check)"
.venv/bin/python -m unittest discover -s bench -p 'test_*.py'

step "scripts/ unit tests (stack.py, shop_api.py, ops.py and the template's alarms)"
.venv/bin/python -m unittest discover -s scripts -p 'test_*.py'

# One build for tests and function binaries: built together they share every artifact (a later
# plain `cargo build --bins` would unify features differently and rebuild a third of the tree).
step "build all tests and functions"
cargo build --locked --workspace --bins --tests

started_emulator=0
# The restart fault test needs the emulator to keep its state across a restart.
export EMULATOR_PERSIST=1
# The functions' AWS calls go through the fault proxy (tests/fault-proxy) for the whole run: with
# no plan it forwards every call unchanged, so the suite below also proves it transparent; the
# fault suite then switches faults on. Its port is the emulator's plus 10000 unless told.
endpoint="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
export FAULT_PROXY_PORT="${FAULT_PROXY_PORT:-$(( ${endpoint##*:} + 10000 ))}"
export FAULT_PROXY_URL="http://127.0.0.1:$FAULT_PROXY_PORT"
if ! scripts/emulator.sh status >/dev/null 2>&1; then
  step "start the emulator (state persisted in .local/state)"
  rm -rf .local/state
  scripts/emulator.sh up
  started_emulator=1
fi
cleanup() { if [[ $started_emulator == 1 ]]; then scripts/emulator.sh down; fi; }
trap cleanup EXIT

step "deploy infra/template.yaml onto the emulator and seed it (what make up does)"
.venv/bin/python scripts/stack.py deploy
.venv/bin/python scripts/stack.py seed

# Same --workspace selection as the real run below, so this reuses its build (a `-p` run would
# unify features differently and rebuild half the dependency tree).
step "the emulator suite must fail when the emulator is unreachable"
negative_log=$(mktemp)
if AWS_ENDPOINT_URL=http://127.0.0.1:9 cargo nextest run --locked --workspace -E 'package(emulator-tests)' --no-fail-fast >"$negative_log" 2>&1; then
  cat "$negative_log"; echo "emulator tests passed without an emulator: they do not test it" >&2; exit 1
fi
failed=$(grep -oE '[0-9]+ failed' "$negative_log" | tail -n1 | grep -oE '[0-9]+' || echo 0)
if [[ "$failed" -lt 1 ]]; then cat "$negative_log"; echo "no emulator test failed against a dead endpoint" >&2; exit 1; fi
echo "   as expected: $failed emulator tests failed against a dead endpoint"
rm -f "$negative_log"

# The browser tests run as their own step below, so their time is seen on its own.
browser_tests='package(emulator-tests) and test(/^storefront::/)'

step "cargo nextest run --workspace (unit, handler, emulator and end-to-end tests)"
cargo nextest run --locked --workspace --profile ci -E "not ($browser_tests)"

step "the storefront in a real browser (headless Chromium over WebDriver, against the deployed stack)"
if [[ "${API_TRANSPORT:-http}" == invoke ]]; then
  # A browser needs the HTTP API the page is served from.
  echo "   skipped: API_TRANSPORT=invoke (this emulator has no HTTP API)"
else
  export STOREFRONT_SCREENSHOTS="${STOREFRONT_SCREENSHOTS:-$PWD/target/storefront-screenshots}"
  echo "   screenshots (also of a page a test gave up waiting on) go to $STOREFRONT_SCREENSHOTS"
  browser_started=$SECONDS
  cargo nextest run --locked --workspace --profile ci -E "$browser_tests"
  echo "   browser suite: $((SECONDS - browser_started)) s; screenshots of the pages in $STOREFRONT_SCREENSHOTS"
fi

# The end-to-end suite once more, through the Lambda Invoke API with API Gateway (payload 2.0)
# events instead of the HTTP API: how it runs on emulators without HTTP APIs (LocalStack's free
# image, EMULATOR=localstack). Without the two tests that exercise queues, not the transport.
if [[ "${API_TRANSPORT:-http}" == http ]]; then
  step "the end-to-end suite through the Lambda Invoke API (API_TRANSPORT=invoke)"
  API_TRANSPORT=invoke cargo nextest run --locked --workspace --profile ci \
    -E 'test(/^e2e::/) - test(/poison_message/) - test(/two_hundred_orders/)'
fi

# The make watch loop (cargo lambda watch with the stack's environment, cargo lambda invoke),
# on its own: the watch builds the functions it serves with `cargo run`.
step "the make watch loop: an API function and a worker under cargo lambda watch"
cargo nextest run --locked --workspace --profile ci --run-ignored only -E 'test(/make_watch_runs/)'

# The operator's commands against the stack: a saga's metrics in its log lines, a dead-lettered
# message redriven and applied once, make status after make demo (docs/operations.md).
step "the operator's commands on the emulator (make dlq / redrive / status / logs)"
.venv/bin/python -m unittest scripts/ops_stack_tests.py

# One test at a time: the proxy's fault plan applies to every function of the stack.
step "fault suite: the saga while 10 % of the functions' AWS calls throttle, fail, drop or lag"
if curl -fsS --max-time 2 "$FAULT_PROXY_URL/_faults" >/dev/null 2>&1; then
  cargo nextest run --locked --workspace --profile ci --run-ignored only -E 'test(/e2e::faults::/)' --test-threads 1 --success-output final
else
  # An emulator this run did not start (make up) has no proxy in front of its functions.
  echo "   skipped: no fault proxy answers on $FAULT_PROXY_URL; run 'make down' first to include it"
fi

# The HTTP API held to its document: Schemathesis from docs/openapi.json against the stack
# deployed above (every operation, as a customer and an admin; fixed seed, 10 examples each).
step "fuzz the HTTP API from docs/openapi.json (scripts/fuzz.sh: Schemathesis)"
scripts/fuzz.sh

# The user's path to AWS, on the emulator: sam build (cargo-lambda) + sam deploy of a second
# stack, then the demo walk through it; deleted afterwards so the restart test below meets only
# the stack it was written for.
step "the AWS path: make sam-check (sam build + sam deploy onto the emulator, smoke walk)"
SAM_CHECK_DELETE=1 scripts/sam-check.sh

# Last, on its own: it restarts the emulator, after which ministack's stream mappings no longer
# deliver promptly (only the outbox sweepers carry events, a minute late; see
# docs/local-development.md), so nothing may run after it.
step "fault test: restart the emulator mid-saga"
if [[ "${EMULATOR:-ministack}" != ministack ]]; then
  # LocalStack's free image keeps no state across a restart.
  echo "   skipped: EMULATOR=${EMULATOR} (the test needs ministack's persisted state)"
elif [[ $started_emulator == 1 ]]; then
  cargo nextest run --locked --workspace --profile ci --run-ignored only -E 'test(/restart_mid_saga/)' --success-output final
else
  # Someone else's emulator (make up) may not persist its state: restarting it would lose their
  # stack. CI always starts its own, so there the test always runs.
  echo "   skipped: this run did not start the emulator; run 'make down' first to include it"
fi
