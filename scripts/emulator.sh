#!/usr/bin/env bash
# Local AWS emulator on 127.0.0.1:4566 (the LocalStack port): ministack, from the project venv.
#   scripts/emulator.sh up      start it (idempotent) and wait until DynamoDB, SQS and SNS answer
#   scripts/emulator.sh down    stop it and every function process it started; remove its files
#   scripts/emulator.sh status  exit 0 when it answers
# EMULATOR=localstack runs LocalStack's free image in Docker instead (needs Docker; see
# docs/local-development.md, "LocalStack", for what runs there). EMULATOR=external skips
# start/stop and only waits for whatever answers on AWS_ENDPOINT_URL.
# EMULATOR_PERSIST=1 keeps the emulator's state in .local/state across down/up (saved on a
# graceful stop, loaded at start).
# FAULT_PROXY_PORT=<port> puts the fault-injecting proxy (tests/fault-proxy, built by
# `cargo build --workspace --bins`) between the functions and the emulator: it listens on that
# port and the functions' AWS_ENDPOINT_URL points at it. Callers outside the functions (tests,
# stack.py) still talk to the emulator directly. Control: http://127.0.0.1:<port>/_faults.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
state="$root/.local"
pidfile="$state/ministack.pid"
log="$state/ministack.log"
endpoint="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
port="${endpoint##*:}"
proxy_pidfile="$state/fault-proxy.pid"
proxy_log="$state/fault-proxy.log"
proxy_port="${FAULT_PROXY_PORT:-}"

healthy() {
  curl -fsS --max-time 2 "$endpoint/_localstack/health" >/dev/null 2>&1 || return 1
  # The health route answers before the services do; ask DynamoDB itself.
  AWS_ENDPOINT_URL="$endpoint" "$venv/bin/python" - <<'PY' >/dev/null 2>&1
import boto3
boto3.client("dynamodb").list_tables(Limit=1)
boto3.client("sqs").list_queues()
boto3.client("sns").list_topics()
PY
}

wait_healthy() {
  for _ in $(seq 1 120); do
    if healthy; then echo "emulator ready on $endpoint"; return 0; fi
    sleep 0.5
  done
  echo "emulator did not become ready on $endpoint within 60 s; last log lines:" >&2
  tail -n 40 "$log" >&2 2>/dev/null || true
  return 1
}

running_pid() {
  local file="${1:-$pidfile}"
  [[ -f "$file" ]] || return 1
  local pid; pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# The last LocalStack image that runs without an auth token; later tags need one.
localstack_image="localstack/localstack:4.14.0"
localstack_container="serverless-shop-localstack"
# Starts the fault proxy (no faults until a plan is PUT) and prints the endpoint the functions
# must use; without FAULT_PROXY_PORT, the emulator's own.
functions_endpoint() {
  if [[ -z "$proxy_port" ]]; then echo "$endpoint"; return; fi
  local url="http://127.0.0.1:$proxy_port"
  if ! running_pid "$proxy_pidfile" >/dev/null; then
    local binary="${CARGO_TARGET_DIR:-$root/target}/debug/fault-proxy"
    if [[ ! -x "$binary" ]]; then
      echo "FAULT_PROXY_PORT is set but $binary is missing: cargo build --locked --workspace --bins" >&2
      return 1
    fi
    setsid "$binary" --listen "127.0.0.1:$proxy_port" --upstream "$endpoint" >"$proxy_log" 2>&1 < /dev/null &
    echo $! >"$proxy_pidfile"
  fi
  for _ in $(seq 1 40); do
    if curl -fsS --max-time 1 "$url/_faults" >/dev/null 2>&1; then echo "$url"; return; fi
    sleep 0.25
  done
  echo "the fault proxy did not answer on $url; its log:" >&2
  cat "$proxy_log" >&2 2>/dev/null || true
  return 1
}

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_EC2_METADATA_DISABLED=true

case "${1:-}" in
  up)
    [[ -x "$venv/bin/ministack" ]] || "$root/scripts/setup-venv.sh"
    if [[ "${EMULATOR:-ministack}" == external ]]; then wait_healthy; exit; fi
    if [[ "${EMULATOR:-ministack}" == localstack ]]; then
      if healthy; then echo "emulator already answers on $endpoint"; exit 0; fi
      # The Docker socket: LocalStack runs each function in a container of its own.
      # CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES: the free image has no API Gateway v2, so the
      # template's HTTP API resources deploy as no-ops (reach the functions with
      # API_TRANSPORT=invoke); newer images fail the stack on them unless this is set.
      docker run -d --rm --name "$localstack_container" \
        -p "127.0.0.1:$port:4566" \
        -v /var/run/docker.sock:/var/run/docker.sock \
        -e CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES=1 \
        "$localstack_image" >/dev/null
      wait_healthy
      exit
    fi
    if pid=$(running_pid); then echo "emulator already running (pid $pid)"; wait_healthy; exit; fi
    if healthy; then echo "something else already answers on $endpoint; refusing to start a second emulator" >&2; exit 1; fi
    mkdir -p "$state/tmp"
    functions_url=$(functions_endpoint)
    # Function processes the emulator starts inherit this environment: AWS_ENDPOINT_URL makes
    # their SDK clients call the emulator (through the fault proxy when there is one). The
    # emulator itself makes no calls to it. TMPDIR keeps its code caches inside the project.
    (
      cd "$state"
      if [[ "${EMULATOR_PERSIST:-0}" == 1 ]]; then export PERSIST_STATE=1 STATE_DIR="$state/state"; fi
      # The functions' SDK timeouts are sized for AWS (docs/architecture.md, "Failure
      # handling"); this Python emulator answers a burst (a 200-order flash sale) seconds late.
      export AWS_SDK_TIMEOUT_SCALE="${AWS_SDK_TIMEOUT_SCALE:-3}"
      GATEWAY_PORT="$port" BIND_HOST=127.0.0.1 AWS_ENDPOINT_URL="$functions_url" TMPDIR="$state/tmp" \
        LOG_LEVEL="${EMULATOR_LOG_LEVEL:-WARNING}" \
        setsid "$venv/bin/python" "$root/scripts/run_ministack.py" >"$log" 2>&1 < /dev/null &
      echo $! >"$pidfile"
    )
    wait_healthy
    ;;
  down)
    if [[ "${EMULATOR:-ministack}" == external ]]; then echo "EMULATOR=external: leaving it running"; exit 0; fi
    if [[ "${EMULATOR:-ministack}" == localstack ]]; then
      docker rm -f "$localstack_container" >/dev/null 2>&1 && echo "LocalStack stopped" || echo "LocalStack not running"
      exit 0
    fi
    if pid=$(running_pid); then
      # The emulator's function processes share its process group: stop them all.
      kill -TERM -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      echo "emulator stopped"
    else
      echo "emulator not running"
    fi
    if pid=$(running_pid "$proxy_pidfile"); then kill -TERM "$pid" 2>/dev/null || true; echo "fault proxy stopped"; fi
    rm -rf "$pidfile" "$proxy_pidfile" "$state/tmp"
    ;;
  status)
    healthy && echo "emulator answers on $endpoint"
    ;;
  *)
    echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
