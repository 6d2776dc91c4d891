"""Schemathesis hooks for scripts/fuzz.sh: every request is authenticated as the operation needs.

At the first request, registers a fresh customer and a second account that the operator's command
(`users-admin grant`, what `make admin` runs) makes an admin, logs both in through the API, and
from then on sends the admin's token to operations marked `x-required-role: admin` and the
customer's to every other operation with a security requirement. Operations with `security: []`
get no token. Configured through the environment by scripts/fuzz.sh:
  FUZZ_API_URL      the stack's HTTP API
  FUZZ_USERS_ADMIN  the users-admin binary
  FUZZ_USERS_TABLE  the stack's users table
  FUZZ_COUNT_FILE   where to write how many requests were sent, by status class, at exit
"""

import atexit
import collections
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import schemathesis

PASSWORD = "fuzz-password-" + uuid.uuid4().hex[:12]


def _post(path: str, body: dict) -> dict:
    request = urllib.request.Request(
        os.environ["FUZZ_API_URL"].rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"POST {path}: {err.code} {err.read()[:300]!r}") from err


def _account(label: str) -> str:
    email = f"fuzz-{label}-{uuid.uuid4().hex[:10]}@example.org"
    _post("/users", {"email": email, "password": PASSWORD, "name": f"Fuzz {label}"})
    return email


def _login(email: str) -> str:
    return _post("/auth/token", {"email": email, "password": PASSWORD})["access_token"]


_accounts: dict[str, str] = {}


def _ensure_accounts() -> dict[str, str]:
    if not _accounts:
        customer = _account("customer")
        admin = _account("admin")
        subprocess.run(
            [os.environ["FUZZ_USERS_ADMIN"], "grant", "--email", admin],
            env={**os.environ, "USERS_TABLE": os.environ["FUZZ_USERS_TABLE"]},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _accounts.update(customer=customer, admin=admin)
    return _accounts


@schemathesis.auth(refresh_interval=600)
class ShopTokens:
    """A customer's and an admin's bearer tokens, refreshed well within their hour."""

    def get(self, case, context):
        try:
            return {role: _login(email) for role, email in _ensure_accounts().items()}
        except RuntimeError:
            # The fuzzer may have changed an account's email (PATCH /users/me): start afresh.
            _accounts.clear()
            return {role: _login(email) for role, email in _ensure_accounts().items()}

    def set(self, case, data, context):
        operation = case.operation.definition.raw
        if not operation.get("security"):
            return
        role = "admin" if operation.get("x-required-role") == "admin" else "customer"
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data[role]}"


_sent: collections.Counter = collections.Counter()


@schemathesis.hook
def after_call(context, case, response):
    _sent[f"{response.status_code // 100}xx"] += 1


@atexit.register
def _write_counts() -> None:
    if os.environ.get("FUZZ_COUNT_FILE"):
        Path(os.environ["FUZZ_COUNT_FILE"]).write_text(
            json.dumps(dict(sorted(_sent.items()))), encoding="utf-8"
        )
