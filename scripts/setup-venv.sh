#!/usr/bin/env bash
# Creates a Python virtualenv from a lock file, once per change of the lock.
#   scripts/setup-venv.sh                  .venv: ministack emulator (with aws-sam-translator),
#                                          cfn-lint, cargo-lambda (binary + zig), boto3, AWS CLI v1
#   scripts/setup-venv.sh .venv-bench bench/requirements.lock
#                                          the Python baseline of make bench (awslambdaric, boto3)
# Works offline from a package mirror or with PyPI only; no Docker.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/${1:-.venv}"
lock="$root/${2:-infra/requirements.lock}"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.lock"
if [[ -x "$venv/bin/python" ]] && cmp -s "$lock" "$stamp"; then exit 0; fi
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$lock"
cp "$lock" "$stamp"
if [[ -x "$venv/bin/ministack" ]]; then
  echo "venv ready: $("$venv/bin/ministack" --help >/dev/null && echo ministack) $("$venv/bin/cfn-lint" --version) $("$venv/bin/cargo-lambda" lambda --version 2>/dev/null || true)"
else
  echo "venv ready: $venv from ${lock#"$root"/}"
fi
