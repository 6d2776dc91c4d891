#!/usr/bin/env bash
# `sam build` + `sam deploy` of infra/template.yaml as stack serverless-shop-<stage>: what
# `make deploy` runs against AWS, and `make sam-check` against the local emulator.
#   STAGE=dev scripts/sam-deploy.sh
# 1. the stage's token signing keys: `users-keys ensure` creates the Secrets Manager secret
#    serverless-shop/<stage>/jwt-signing-keys unless it exists; `users-keys jwks` prints the
#    public keys, passed as JwtPublicKeys (and the secret's name as JwtSigningSecretName);
# 2. `sam validate --lint`, `sam build` (cargo lambda build of every function, for ARCH:
#    arm64 unless told);
# 3. `sam deploy`: `--guided` the first time (it saves the answers in infra/samconfig.toml under
#    [<stage>.deploy]), from infra/samconfig.toml afterwards.
# Environment:
#   STAGE=dev                 the template's Stage; the stack is serverless-shop-<stage>
#   ARCH=arm64                the template's Architecture (x86_64 for the local emulator)
#   SAM_BUILD_MODE=debug      sam build without --release (read by sam itself)
#   SAM_GUIDED=auto|1|0       0: never guided (needs SAM_DEPLOY_ARGS such as --resolve-s3 when
#                             infra/samconfig.toml has no [<stage>.deploy])
#   SAM_DEPLOY_ARGS=...       more arguments for sam deploy
#   SAM_PARAMETER_OVERRIDES="K=v ..."  more template parameters (make sam-check: ApiErrorAlarmKind=count)
#   SAM_AFTER_BUILD=<command> run in infra/ after sam build, before sam deploy (make sam-check)
#   USERS_KEYS=<path>         a users-keys binary already built (default: cargo run --release)
# The SAM CLI comes pinned from infra/sam-requirements.lock into .venv-sam (it pins a boto3
# that conflicts with infra/requirements.lock, hence its own venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stage="${STAGE:-dev}"
arch="${ARCH:-arm64}"
stack="serverless-shop-$stage"
secret="serverless-shop/$stage/jwt-signing-keys"
config="$root/infra/samconfig.toml"

timed() { local start=$SECONDS; "$@"; echo "   ($(( SECONDS - start )) s: $*)" | cut -c1-120; }

scripts/setup-venv.sh >/dev/null
scripts/setup-venv.sh .venv-sam infra/sam-requirements.lock >/dev/null
# .venv first: cargo-lambda finds zig as `python3 -m ziglang`, which only .venv's python has.
export PATH="$root/.venv/bin:$root/.venv-sam/bin:$PATH"
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"

echo "==> token signing keys ($secret)"
keys() {
  if [[ -n ${USERS_KEYS:-} ]]; then "$USERS_KEYS" "$@"  # an already built users-keys
  else cargo run --quiet --locked --release -p users --bin users-keys -- "$@"; fi
}
timed keys ensure --secret "$secret"
jwks=$(keys jwks --secret "$secret")
# sam's --parameter-overrides takes Key='value': single quotes keep the JSON's double quotes
# and commas (unquoted, a JSON value is silently cut at its first double quote). A JWKS is
# base64url and JSON punctuation, so it never holds a single quote or a backslash; check.
case "$jwks" in
  '{'*'}') ;;
  *) echo "users-keys jwks printed no JSON object: $jwks" >&2; exit 1 ;;
esac
case "$jwks" in *"'"* | *'\'*) echo "the JWKS holds a quote or backslash sam cannot pass" >&2; exit 1 ;; esac
overrides=("Stage=$stage" "Architecture=$arch" "JwtSigningSecretName=$secret" "JwtPublicKeys='$jwks'")
# More Key=value overrides, space-separated (make sam-check: ApiErrorAlarmKind=count).
if [[ -n ${SAM_PARAMETER_OVERRIDES:-} ]]; then
  read -ra extra_overrides <<<"$SAM_PARAMETER_OVERRIDES"
  overrides+=("${extra_overrides[@]}")
fi

echo "==> sam validate --lint"
timed sam validate --lint --template infra/template.yaml

echo "==> sam build ($arch${SAM_BUILD_MODE:+, $SAM_BUILD_MODE})"
if [[ $arch == arm64 ]] && ! rustup target list --installed | grep -q aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi
# From infra/: the build lands in infra/.aws-sam, and sam deploy, run there too, finds both it
# and infra/samconfig.toml.
cd infra
timed sam build --parameter-overrides "Architecture=$arch"
# A command run in infra/ between build and deploy (make sam-check: the emulator's one rewrite).
if [[ -n ${SAM_AFTER_BUILD:-} ]]; then eval "$SAM_AFTER_BUILD"; fi

guided="${SAM_GUIDED:-auto}"
if [[ $guided == auto ]]; then
  if [[ -f $config ]] && grep -q "^\[$stage\.deploy" "$config"; then guided=0; else guided=1; fi
fi
echo "==> sam deploy ($stack$([[ $guided == 1 ]] && echo ', guided: answers saved in infra/samconfig.toml'))"
if [[ $guided == 1 ]]; then
  timed sam deploy --guided --config-env "$stage" --stack-name "$stack" \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
    --parameter-overrides "${overrides[@]}" ${SAM_DEPLOY_ARGS:-}
else
  # Parameters not given here keep the stack's previous values (sam sends UsePreviousValue).
  timed sam deploy --config-env "$stage" --stack-name "$stack" \
    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
    --parameter-overrides "${overrides[@]}" ${SAM_DEPLOY_ARGS:-}
fi

sender=$("$root/.venv/bin/python" - "$stack" <<'PY' 2>/dev/null || echo '<SenderEmail>'
import sys, boto3
stack = boto3.client("cloudformation").describe_stacks(StackName=sys.argv[1])["Stacks"][0]
print({p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["SenderEmail"])
PY
)
cat <<EOF

==> done: stack $stack. What a deploy cannot do for you (once per account and region):
  1. SES sender identity: the stack created the identity $sender; AWS mailed that address a
     link. Click it, then check:
       .venv/bin/aws sesv2 get-email-identity --email-identity $sender --query VerifiedForSendingStatus
     (.venv/bin/aws is the AWS CLI make setup installed, pinned.)
  2. SES production access: until granted, SES sends only to verified addresses. Request it:
       .venv/bin/aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL \\
         --website-url <https://your-shop> --use-case-description "<order confirmations>"
     (or the console: SES > Account dashboard > Request production access).
  3. The first admin: register through POST /users, then
       USERS_TABLE=$stage-users cargo run --release -p users --bin users-admin -- grant --email <you>
EOF
