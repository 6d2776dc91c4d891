#!/usr/bin/env bash
# Creates the project's Python virtualenv with the pinned tools: the ministack emulator (with
# aws-sam-translator for SAM templates), cfn-lint, cargo-lambda (binary + zig) and boto3.
# Works offline from a package mirror or with PyPI only; no Docker.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
python="${PYTHON:-python3}"
lock="$root/infra/requirements.lock"
stamp="$venv/.requirements.lock"
if [[ -x "$venv/bin/python" ]] && cmp -s "$lock" "$stamp"; then exit 0; fi
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$lock"
cp "$lock" "$stamp"
echo "venv ready: $("$venv/bin/ministack" --help >/dev/null && echo ministack) $("$venv/bin/cfn-lint" --version) $("$venv/bin/cargo-lambda" lambda --version 2>/dev/null || true)"
