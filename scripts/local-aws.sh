# Sourced (never run) by the scripts that must only ever talk to the local emulator (fuzz.sh
# and sam-check.sh). It defaults the endpoint to the emulator's port and the
# credentials and region to the emulator's dummies, and refuses any endpoint that is not this
# machine, so a stray AWS_ENDPOINT_URL can never point a test or a deploy at a real account.
# scripts/stack.py applies the same rule in Python (`endpoint()`).

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
case "${AWS_ENDPOINT_URL#*://}" in
  127.0.0.1:* | localhost:* | "[::1]":*) ;;
  *) echo "refusing: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL is not the local emulator" >&2; exit 1 ;;
esac
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
export AWS_EC2_METADATA_DISABLED=true
