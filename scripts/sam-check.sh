#!/usr/bin/env bash
# The path to AWS, proven locally: what `make deploy` runs (scripts/sam-deploy.sh: signing keys,
# `sam build`, `sam deploy`), aimed at the emulator as stack serverless-shop-sam, then the demo
# walk (scripts/demo.py) through that stack's HTTP API. Every step is timed.
#   scripts/sam-check.sh          (make sam-check)
#   SAM_CHECK_DELETE=1 scripts/sam-check.sh   also deletes the stack afterwards (make test does)
# Starts its own emulator when none answers on AWS_ENDPOINT_URL, and stops it afterwards.
# Differences from a deploy to AWS, each forced by running locally:
#   - Architecture=x86_64: the emulator runs each bootstrap as a process on this machine;
#   - SAM_BUILD_MODE=debug: the debug profile the rest of the local suite builds;
#   - not guided, no confirmation: --resolve-s3 --no-confirm-changeset, into the emulator's S3;
#   - the workers' ScalingConfig.MaximumConcurrency becomes the literal 5 in the built template
#     (.aws-sam/build/template.yaml) before sam deploy sends it: ministack 1.5.33 keeps a Number
#     parameter a string, and its SQS poller, comparing it with an integer, stops delivering
#     from every queue (the one rewrite scripts/stack.py makes too; AWS converts the value);
#   - ApiErrorAlarmKind=count: the emulator has no metric-math alarms (docs/operations.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/local-aws.sh
source scripts/local-aws.sh
export SAM_CLI_TELEMETRY=0
stage=sam
target="${CARGO_TARGET_DIR:-$root/target}"

step() { printf '\n==> %s\n' "$*"; }
declare -a timings=()
timed() {
  local name=$1 start=$SECONDS; shift
  "$@"
  timings+=("$(printf '%-28s %4d s' "$name" $(( SECONDS - start )))")
}

started_emulator=0
if ! scripts/emulator.sh status >/dev/null 2>&1; then
  step "start the emulator"
  timed "emulator up" scripts/emulator.sh up
  started_emulator=1
fi
cleanup() { if [[ $started_emulator == 1 ]]; then scripts/emulator.sh down; fi; }
trap cleanup EXIT

step "SAM CLI venv (.venv-sam from infra/sam-requirements.lock)"
timed "sam install" scripts/setup-venv.sh .venv-sam infra/sam-requirements.lock

# users-keys for the signing keys, users-admin for the demo admin (scripts/stack.py seed): the
# workspace's debug binaries, built exactly as scripts/test.sh builds them (tests and binaries in
# one invocation), so this is a no-op after it; `--bins` alone would unify features differently
# and rebuild a third of the tree.
step "operator commands (cargo build --workspace --bins --tests)"
timed "cargo build (operator cmds)" cargo build --locked --workspace --bins --tests

step "scripts/sam-deploy.sh: signing keys, sam build, sam deploy (stack serverless-shop-$stage)"
# A sender of its own: the stack creates the SES identity of its SenderEmail and `sam delete`
# removes it, which must not take the local stack's identity (same default address) with it.
timed "sam build + deploy" env STAGE=$stage ARCH=x86_64 SAM_BUILD_MODE=debug SAM_GUIDED=0 \
  USERS_KEYS="$target/debug/users-keys" \
  SAM_AFTER_BUILD="$root/.venv/bin/python $root/scripts/stack.py literal-concurrency --template .aws-sam/build/template.yaml" \
  SAM_DEPLOY_ARGS="--resolve-s3 --no-confirm-changeset --no-progressbar" \
  SAM_PARAMETER_OVERRIDES="ApiErrorAlarmKind=count SenderEmail=shop-$stage@example.org" \
  scripts/sam-deploy.sh

step "smoke: seed the demo catalog and walk through the shop on the SAM-deployed stack"
.venv/bin/python scripts/stack.py outputs --stage $stage  # .local/api-url.sam, .local/stack.sam.json
timed "seed" .venv/bin/python scripts/stack.py seed --stage $stage
timed "demo walk" env SHOP_STAGE=$stage .venv/bin/python scripts/demo.py

if [[ "${SAM_CHECK_DELETE:-0}" == 1 ]]; then
  # As `make destroy` does: what a stage leaves behind is deleted with it.
  step "sam delete (stack serverless-shop-$stage)"
  timed "sam delete" bash -c "cd infra && '$root/.venv-sam/bin/sam' delete --stack-name serverless-shop-$stage --region '$AWS_REGION' --no-prompts"
fi

step "timings"
printf '   %s\n' "${timings[@]}"
