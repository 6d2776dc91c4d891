#!/usr/bin/env python3
"""`make bench`: every function measured on this machine next to three baselines, and the saga
under load on the local stack. Writes bench/results.json (and the charts in docs/images/bench/);
exits 1 when any budget of bench/budgets.toml is exceeded by more than its tolerance, or the
flash sale's checks fail.

    bench/run.py [--sections functions,relay,closed-loop,open-loop,flash-sale] [--cold-runs 20]
                 [--warm 500] [--clients 1,8,32] [--system-seconds 20] [--rates 2,5,10,20,40]
                 [--rate-seconds 20] [--flash-orders 300] [--flash-stock 100] [--out ...]

The run goes through its sections in order (SECTIONS); --sections picks some. Needs the
release binaries (cargo build --release) and the emulator at AWS_ENDPOINT_URL (make bench does
both).

functions: per function, against the emulator (its AWS calls are answered locally):
- size of the stripped arm64 bootstrap and of its zip;
- cold start: exec of the bootstrap until the first event is answered through a local Runtime
  API, median of --cold-runs starts, each a fresh process;
- warm: --warm more events through one process: latency and on-CPU time per invocation;
- peak RSS (VmHWM) after the warm events.
The events are the functions' main paths, run as the saga runs them: products-api creates the
product whose ProductCreated (read from the products table's outbox) sets up inventory and
orders; the orders placed by orders-api are the OrderPlaced events inventory-worker reserves
stock for, whose StockReserved events orders-worker charges and confirms, whose OrderConfirmed
events notifications-worker e-mails. Every warm event is a new one (new order, new event id):
no invocation is a cheap duplicate. Tables are copies of the template's (same keys and indexes)
with names unique to the run, deleted at the end.
Baselines, same harness, same emulator, same event (one GetItem): `floor` (bench/floor, built
exactly like the functions), `sdk-defaults` (bench/sdk-defaults, the same handler on the SDK's
and tokio's defaults) and `python` (bench/python/handler.py, boto3 under awslambdaric).

relay: the outbox relay's events per second per invocation (bench/relay.py).

closed-loop, open-loop, flash-sale: on the SAM template deployed as a fresh stack
`serverless-shop-bench` from those binaries (scripts/stack.py), after the functions are
measured (bench/load.py, bench/saga.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import boto3
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import census
import charts
import cost
import load
import relay
import saga
from budgets import Budgets, census_failures, check, load_failures
from lambda_bench import (
    FunctionError,
    Process,
    http_answer,
    http_event,
    no_batch_failures,
    scheduled_event,
    sqs_event,
    stream_event,
)
from saga import epoch, percentile
from shop_api import ShopApi


def call(url: str, method: str, path: str, body=None, token=None, headers=None):
    """One request to the HTTP API: the bench measures the shop as its clients reach it."""
    return ShopApi(url=url, via="http").call(method, path, body, token, headers)


ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
# `make build`: the arm64 zips AWS runs (cargo lambda build --release --arm64).
ARM64 = ROOT / "target" / "lambda-arm64"
TEMPLATE = ROOT / "infra" / "template.yaml"
BENCH_VENV = ROOT / ".venv-bench"

MB = 1_000_000
ADMIN = {"email": "admin@bench.local", "password": "bench-admin-password", "name": "Bench admin"}
CUSTOMER = {"email": "customer@bench.local", "password": "bench-customer-password", "name": "Bench customer"}
# Lists one page of notifications: the emulator's Query reads a whole partition, so listing the
# customer's 200+ notifications would time the emulator (15 ms), not the function.
READER = {"email": "reader@bench.local", "password": "bench-reader-password", "name": "Bench reader"}
PAGE = 20
SENDER = "shop@example.org"
BENCH_STACK = "serverless-shop-bench"
# How often a load client asks for its order's state. The latency is the order's own
# timestamps, so this only paces the clients; at 100 ms, 32 clients' polling alone was 320
# requests a second through the emulator, competing with the saga it measures.
POLL_SECONDS = 0.25
# The API spells the terminal states of the table (saga.TERMINAL) in capitals.
FINAL = {status.upper() for status in saga.TERMINAL}
# How long a load client waits for its order to end before counting it as a failure.
FINAL_WITHIN_SECONDS = 60
# The load's customers (the closed loop's largest level needs one each).
CUSTOMERS = 32
# The everyday section's clients cancel every this-many-th order of theirs once confirmed.
CANCEL_EVERY = 4
# The open loop keeps up with a rate when it completes at least this share of it per second.
KEEP_UP = 0.9
# Invocations of each function through the census proxy (bench/census.py), after one that
# starts the process.
CENSUS = 5


def endpoint() -> str:
    url = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    host = url.split("://", 1)[-1].split("/")[0].rsplit(":", 1)[0]
    if host not in ("127.0.0.1", "localhost"):
        sys.exit(f"refusing to run: AWS_ENDPOINT_URL={url!r} is not the local emulator")
    return url


# --- the template: tables and function environments ----------------------------------------


class CfnLoader(yaml.SafeLoader):
    pass


CfnLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: {
        suffix: loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    },
)


def load_template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


class Fixture:
    """The run's tables (copies of the template's) and topic on the emulator."""

    def __init__(self, template: dict, run: str):
        self.template, self.run = template, run
        self.dynamodb = boto3.client("dynamodb", endpoint_url=endpoint())
        self.sns = boto3.client("sns", endpoint_url=endpoint())
        self.tables: dict[str, str] = {}
        self.extra_env: dict[str, str] = {}
        for logical, resource in template["Resources"].items():
            if resource["Type"] != "AWS::DynamoDB::Table":
                continue
            props = resource["Properties"]
            name = f"bench-{run}-{logical.removesuffix('Table').lower()}"
            request = {
                key: props[key]
                for key in ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
                if key in props
            }
            self.dynamodb.create_table(TableName=name, **request)
            self.tables[logical] = name
        for name in self.tables.values():
            self.dynamodb.get_waiter("table_exists").wait(TableName=name)
        self.topic_arn = self.sns.create_topic(Name=f"bench-{run}-events")["TopicArn"]
        # As the template's CursorSecret: the list functions read it at cold start.
        self.cursor_secret_arn = boto3.client("secretsmanager", endpoint_url=endpoint()).create_secret(
            Name=f"bench-{run}-cursor-secret", SecretString=secrets.token_urlsafe(48)
        )["ARN"]
        # As `make up` does: users-api's signing keys in a secret, their public JWKS for the rest.
        self.signing_secret = f"bench-{run}-jwt-signing-keys"
        for action in ("ensure", "jwks"):
            result = subprocess.run(
                [str(RELEASE / "users-keys"), action, "--secret", self.signing_secret],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "AWS_ENDPOINT_URL": endpoint()},
            )
        self.public_keys = result.stdout.strip()
        # As the template's NotificationsSenderIdentity: SES sends only from a verified sender.
        sesv2 = boto3.client("sesv2", endpoint_url=endpoint())
        with contextlib.suppress(sesv2.exceptions.AlreadyExistsException):
            sesv2.create_email_identity(EmailIdentity=SENDER)

    def environment(self, binary: str, **overrides) -> dict[str, str]:
        """The function's environment from the template, pointed at this run's resources."""
        resources = self.template["Resources"]
        function = next(
            r
            for r in resources.values()
            if r["Type"] == "AWS::Serverless::Function"
            and r.get("Metadata", {}).get("BuildProperties", {}).get("Binary") == binary
        )
        params = {
            "Stage": "bench",
            "SenderEmail": SENDER,
            "LogLevel": "INFO",
            "JwtSigningSecretName": self.signing_secret,
            "JwtPublicKeys": self.public_keys,
        }
        defaults = {
            name: str(p["Default"]) for name, p in self.template["Parameters"].items() if "Default" in p
        }
        env = {"AWS_LAMBDA_LOG_LEVEL": "INFO", "AWS_ENDPOINT_URL": endpoint()}
        variables = {
            **self.template["Globals"]["Function"]["Environment"]["Variables"],
            **function["Properties"].get("Environment", {}).get("Variables", {}),
        }
        for key, value in variables.items():
            if isinstance(value, str):
                env[key] = value
            elif "Ref" in value and value["Ref"] in self.tables:
                env[key] = self.tables[value["Ref"]]
            elif "Ref" in value and value["Ref"] == "CursorSecret":
                env[key] = self.cursor_secret_arn
            elif "Ref" in value and value["Ref"].endswith("EventsTopic"):
                env[key] = self.topic_arn
            elif "Ref" in value and value["Ref"] in params:
                env[key] = params[value["Ref"]]
            elif "Ref" in value and value["Ref"] in defaults:
                env[key] = defaults[value["Ref"]]
            else:
                sys.exit(f"{binary}: cannot resolve {key}={value!r} for the bench")
        env.update(overrides)
        env.update(self.extra_env)
        return env

    def outbox(self, logical_table: str, event_type: str) -> list[dict]:
        """Outbox items of one event type in a table, in DynamoDB JSON."""
        items = []
        for page in self.dynamodb.get_paginator("scan").paginate(
            TableName=self.tables[logical_table],
            FilterExpression="event_type = :type",
            ExpressionAttributeValues={":type": {"S": event_type}},
        ):
            items.extend(page["Items"])
        return items

    def first_item(self, logical_table: str, pk_prefix: str) -> dict:
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=self.tables[logical_table]):
            for item in page["Items"]:
                if item["pk"]["S"].startswith(pk_prefix):
                    return item
        sys.exit(f"no {pk_prefix} item in {logical_table}")

    def delete(self):
        for name in self.tables.values():
            try:
                self.dynamodb.delete_table(TableName=name)
            except Exception as err:
                print(f"  could not delete {name}: {err}", file=sys.stderr)
        try:
            self.sns.delete_topic(TopicArn=self.topic_arn)
        except Exception as err:
            print(f"  could not delete {self.topic_arn}: {err}", file=sys.stderr)


# --- measuring one function ----------------------------------------------------------------


def zipped_size(files: dict[str, Path]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in files.items():
            archive.write(path, name)
    return len(buffer.getvalue())


def measure(
    name: str,
    command: list[str],
    env: dict,
    events,
    check,
    *,
    cold_runs: int,
    warm: int,
    cwd: Path | None = None,
    size: dict | None = None,
) -> dict:
    """Cold starts (a process per event) then warm invocations (one process). `events` is a
    list of at least cold_runs + 1 + warm events, each used once; `check` validates an answer."""
    assert len(events) >= cold_runs + 1 + warm, f"{name}: {len(events)} events"
    print(f"  {name:24}", end="", flush=True)
    starts, cold_rss = [], []
    for event in events[:cold_runs]:
        with Process(command, env, cwd) as process:
            invocation = process.invoke(event)
            check(invocation)
            starts.append((invocation.answered_at - process.started_at) * 1000)
            cold_rss.append(process.peak_rss_kib())
    with Process(command, env, cwd) as process:
        check(process.invoke(events[cold_runs]))
        invocations = []
        for event in events[cold_runs + 1 : cold_runs + 1 + warm]:
            invocation = process.invoke(event)
            check(invocation)
            invocations.append(invocation)
        rss = process.peak_rss_kib()
    latency = [i.latency_ms for i in invocations]
    cpu = [i.cpu_ms for i in invocations]
    result = {
        **(size or {}),
        "cold_start_ms": {
            "median": round(statistics.median(starts), 2),
            "min": round(min(starts), 2),
            "max": round(max(starts), 2),
            "runs": len(starts),
        },
        "cold_peak_rss_kib": statistics.median(r for r in cold_rss if r),
        "warm_latency_ms": {
            "p50": round(percentile(latency, 50), 3),
            "p95": round(percentile(latency, 95), 3),
            "p99": round(percentile(latency, 99), 3),
            "invocations": len(latency),
        },
        "cpu_ms": {
            "p50": round(percentile(cpu, 50), 3),
            "p99": round(percentile(cpu, 99), 3),
            "mean": round(statistics.fmean(cpu), 3),
        },
        "peak_rss_kib": rss,
    }
    print(
        f"cold {result['cold_start_ms']['median']:7.2f} ms   warm p50 {result['warm_latency_ms']['p50']:6.2f} ms"
        f"   cpu p50/p99 {result['cpu_ms']['p50']:.3f}/{result['cpu_ms']['p99']:.3f} ms"
        f"   rss {rss / 1024:5.1f} MiB" + (f"   size {size['size_bytes'] / MB:5.2f} MB" if size else "")
    )
    return result


def binary_size(binary: str) -> dict:
    """The size AWS deploys: the arm64 bootstrap in `make build`'s zip (stripped, as built) and
    the zip itself; and, for comparison, this machine's release build the bench runs."""
    archive = ARM64 / binary / "bootstrap.zip"
    if not archive.exists():
        sys.exit(
            f"{archive} is missing: make build, and for the baselines cargo lambda build --release --arm64 "
            "--output-format zip --lambda-dir target/lambda-arm64 --package bench-floor --package "
            "bench-sdk-defaults (make bench runs both)"
        )
    with zipfile.ZipFile(archive) as bundle:
        bootstrap = bundle.getinfo("bootstrap")
    host = RELEASE / binary
    return {
        "size_bytes": bootstrap.file_size,
        "zip_bytes": archive.stat().st_size,
        "architecture": "arm64",
        "host_size_bytes": host.stat().st_size if host.exists() else None,
    }


def python_size() -> dict:
    handler = ROOT / "bench" / "python" / "handler.py"
    site = next((BENCH_VENV / "lib").glob("python3*/site-packages"))
    runtime = sum(
        f.stat().st_size
        for package in (
            "boto3",
            "botocore",
            "awslambdaric",
            "s3transfer",
            "jmespath",
            "dateutil",
            "urllib3",
            "simplejson",
        )
        for f in (site / package).rglob("*")
        if f.is_file()
    )
    return {
        "size_bytes": handler.stat().st_size,
        "zip_bytes": zipped_size({"handler.py": handler}),
        "runtime_dependencies_bytes": runtime,
    }


def take_census(command: list[str], env: dict, events: list, check) -> dict:
    """The function's AWS calls, DynamoDB units and messages per warm invocation, through the
    census proxy (bench/census.py): one invocation to start the process (its init calls are
    not counted), then the others."""
    proxy = census.Census(endpoint())
    try:
        with Process(command, {**env, "AWS_ENDPOINT_URL": proxy.url}) as process:
            check(process.invoke(events[0]))
            proxy.reset()
            for event in events[1:]:
                check(process.invoke(event))
        return proxy.snapshot(len(events) - 1)
    finally:
        proxy.close()


def bench_functions(args, fixture: Fixture) -> tuple[dict, dict]:
    measured = args.cold_runs + 1 + args.warm
    n = measured  # events each function's timed runs take; CENSUS more go through the census
    total = measured + CENSUS
    run = {"cold_runs": args.cold_runs, "warm": args.warm}
    results, extra = {}, {}

    def rust(binary: str, events, check, **env_overrides):
        if args.only and binary not in args.only:
            return
        environment = fixture.environment(binary, **env_overrides)
        results[binary] = measure(
            binary, [str(RELEASE / binary)], environment, events[:n], check, size=binary_size(binary), **run
        )
        results[binary]["census"] = take_census([str(RELEASE / binary)], environment, events[n:], check)

    def once(binary: str, events: list, **env_overrides) -> list:
        with Process([str(RELEASE / binary)], fixture.environment(binary, **env_overrides)) as process:
            return [process.invoke(event) for event in events]

    def http_ok(status):
        return lambda invocation: http_answer(invocation, status)

    def page_of(size):
        def check(invocation):
            items = http_answer(invocation, 200)["items"]
            if len(items) != size:
                raise FunctionError(f"expected a page of {size} notifications, got {len(items)}")

        return check

    def nothing_swept(invocation):
        if invocation.json() != {"republished": 0, "failed": 0}:
            raise FunctionError(f"the sweeper found items: {invocation.response[:300]!r}")

    # Set-up through the functions' own interfaces: users, their tokens, one product.
    def credentials(who: dict) -> dict:
        return {k: who[k] for k in ("email", "password")}

    registered = once("users-api", [http_event("POST", "/users", who) for who in (ADMIN, CUSTOMER, READER)])
    http_answer(registered[0], 201)
    http_answer(registered[1], 201)
    reader_id = http_answer(registered[2], 201)["id"]
    # Registration makes customers only: the operator's command makes the admin.
    subprocess.run(
        [str(RELEASE / "users-admin"), "grant", "--email", ADMIN["email"]],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint(), "USERS_TABLE": fixture.tables["UsersTable"]},
    )
    answers = once(
        "users-api",
        [http_event("POST", "/auth/token", credentials(who)) for who in (ADMIN, CUSTOMER, READER)],
    )
    admin_token, customer_token, reader_token = (http_answer(a, 200)["access_token"] for a in answers)
    product = http_answer(
        once(
            "products-api",
            [
                http_event(
                    "POST",
                    "/products",
                    {
                        "sku": f"BENCH-{fixture.run}",
                        "name": "Bench mug",
                        "category": "kitchen",
                        "price": {"amount_minor": 1999, "currency": "EUR"},
                    },
                    admin_token,
                )
            ],
        )[0],
        201,
    )
    product_created_items = fixture.outbox("ProductsTable", "ProductCreated")
    product_created = [i["envelope"]["S"] for i in product_created_items]
    user_registered = [i["envelope"]["S"] for i in fixture.outbox("UsersTable", "UserRegistered")]
    for binary, bodies in (
        ("inventory-worker", product_created),
        ("orders-worker", product_created),
        ("notifications-worker", user_registered),
    ):
        no_batch_failures(once(binary, [sqs_event(bodies, "bench")])[0])
    http_answer(
        once(
            "inventory-api",
            [http_event("PUT", f"/inventory/{product['id']}", {"on_hand": 10**9}, admin_token)],
        )[0],
        200,
    )
    # The products table's outbox relayed: the sweeper is measured in its steady state, finding
    # nothing left behind (an item it finds is published and marked, a different, rare path).
    no_batch_failures(
        once(
            "outbox-relay",
            [stream_event(product_created_items, fixture.tables["ProductsTable"])],
            OUTBOX_TABLE=fixture.tables["ProductsTable"],
        )[0]
    )

    # Baselines: one GetItem of the product item.
    item = fixture.first_item("ProductsTable", "PRODUCT#")
    lookup = {"table": fixture.tables["ProductsTable"], "pk": item["pk"]["S"], "sk": item["sk"]["S"]}

    def found(invocation):
        if not (invocation.json() or {}).get("found"):
            raise FunctionError(f"the baseline did not find the item: {invocation.response[:300]!r}")

    baselines = {}
    for name, label, binary in (
        ("floor", "baseline: rust floor", "bench-floor"),
        ("sdk-defaults", "baseline: sdk defaults", "bench-sdk-defaults"),
    ):
        if not args.only or name in args.only:
            baselines[name] = measure(
                label,
                [str(RELEASE / binary)],
                {"AWS_ENDPOINT_URL": endpoint()},
                [lookup] * n,
                found,
                size=binary_size(binary),
                **run,
            )
    if not args.only or "python" in args.only:
        baselines["python"] = measure(
            "baseline: python boto3",
            [str(BENCH_VENV / "bin" / "python"), "-m", "awslambdaric", "handler.handler"],
            {"AWS_ENDPOINT_URL": endpoint()},
            [lookup] * n,
            found,
            cwd=ROOT / "bench" / "python",
            size=python_size(),
            **run,
        )

    # Reads.
    rust(
        "users-api",
        [http_event("GET", "/users/me", token=customer_token) for _ in range(total)],
        http_ok(200),
    )
    rust(
        "products-api", [http_event("GET", f"/products/{product['id']}") for _ in range(total)], http_ok(200)
    )
    rust(
        "inventory-api",
        [http_event("GET", f"/inventory/{product['id']}") for _ in range(total)],
        http_ok(200),
    )

    # The saga, one function at a time, every event a new one.
    order = {"lines": [{"product_id": product["id"], "quantity": 1}], "payment_token": "tok_visa"}
    rust(
        "orders-api",
        [
            http_event("POST", "/orders", order, customer_token, {"idempotency-key": str(uuid.uuid4())})
            for _ in range(total)
        ],
        http_ok(201),
    )
    placed = fixture.outbox("OrdersTable", "OrderPlaced")
    rust(
        "inventory-worker",
        [sqs_event([i["envelope"]["S"]], "bench-inventory") for i in placed],
        no_batch_failures,
    )
    reserved = fixture.outbox("InventoryTable", "StockReserved")
    rust(
        "orders-worker",
        [sqs_event([i["envelope"]["S"]], "bench-orders") for i in reserved],
        no_batch_failures,
    )
    confirmed = fixture.outbox("OrdersTable", "OrderConfirmed")
    rust(
        "notifications-worker",
        [sqs_event([i["envelope"]["S"]], "bench-notifications") for i in confirmed],
        no_batch_failures,
    )

    # One page of notifications for the reader (PAGE order e-mails,
    # copies of real OrderConfirmed events addressed to the reader), then the list.
    def addressed_to_reader(envelope: str) -> str:
        event = json.loads(envelope)
        event["id"], event["data"]["customer_id"] = str(uuid.uuid4()), reader_id
        return json.dumps(event)

    no_batch_failures(
        once(
            "notifications-worker",
            [
                sqs_event(
                    [addressed_to_reader(i["envelope"]["S"]) for i in confirmed[:PAGE]], "bench-notifications"
                )
            ],
        )[0]
    )
    rust(
        "notifications-api",
        [http_event("GET", f"/notifications?limit={PAGE}", token=reader_token) for _ in range(total)],
        page_of(PAGE),
    )
    rust(
        "outbox-relay",
        [stream_event([i], fixture.tables["OrdersTable"]) for i in placed],
        no_batch_failures,
        OUTBOX_TABLE=fixture.tables["OrdersTable"],
    )
    rust(
        "outbox-sweeper",
        [scheduled_event() for _ in range(total)],
        nothing_swept,
        OUTBOX_TABLE=fixture.tables["ProductsTable"],
    )

    # Login: Argon2id verification is the point of it, so it is reported, not budgeted.
    if args.only and "login" not in args.only:
        return results, {"baselines": baselines, "extra": extra}
    extra["users-api POST /auth/token"] = measure(
        "users-api (login)",
        [str(RELEASE / "users-api")],
        fixture.environment("users-api"),
        [http_event("POST", "/auth/token", credentials(CUSTOMER)) for _ in range(args.cold_runs + 1 + 20)],
        http_ok(200),
        cold_runs=args.cold_runs,
        warm=20,
    )
    return results, {"baselines": baselines, "extra": extra}


# --- the saga under load on the deployed stack ---------------------------------------------


def remove_bench_stack() -> None:
    """The bench stack and its tables (which the template retains on stack deletion) gone."""
    cfn = boto3.client("cloudformation", endpoint_url=endpoint())
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint())
    try:
        cfn.delete_stack(StackName=BENCH_STACK)
        for _ in range(120):
            cfn.describe_stacks(StackName=BENCH_STACK)
            time.sleep(0.5)
    except cfn.exceptions.ClientError:
        pass  # gone (or never deployed)
    for resource in load_template()["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            name = resource["Properties"]["TableName"]["Sub"].replace("${Stage}", "bench")
            try:
                dynamodb.delete_table(TableName=name)
                dynamodb.get_waiter("table_not_exists").wait(TableName=name)
            except dynamodb.exceptions.ResourceNotFoundException:
                pass


def wait_until_idle(timeout: float = 180) -> None:
    """Until the bench stack's worker queues have been empty for 3 s in a row: each load level
    starts on a drained pipeline (orders of the previous level, or events a fresh deployment's
    stream mappings replay, would otherwise queue ahead of the measured ones)."""
    sqs = boto3.client("sqs", endpoint_url=endpoint())
    queues = [
        url
        for url in sqs.list_queues(QueueNamePrefix="bench-").get("QueueUrls", [])
        if url.rsplit("/", 1)[-1] in ("bench-inventory", "bench-orders", "bench-notifications")
    ]
    quiet_since, deadline = None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        depth = 0
        for url in queues:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depth += sum(int(value) for value in attributes.values())
        if depth:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 3:
            return
        time.sleep(0.5)
    sys.exit(f"the bench stack's queues did not drain within {timeout:.0f} s")


@dataclass
class Context:
    """One run: its options, its budgets, and the bench stack once a section has set it up."""

    args: argparse.Namespace
    run: str
    budgets: Budgets
    shop: load.Shop | None = None
    admin_token: str | None = None
    profile: str | None = None  # the build the bench stack runs: release, or `make up`'s debug


def stack(ctx: Context, profile: str = "release") -> load.Shop:
    """The bench stack, set up by the first section that loads it (and again by the first that
    wants another build): deployed fresh from target/<profile> (tables included) and seeded, a
    load-test product with stock for any load, and the load's customers, registered and logged
    in."""
    if ctx.shop is not None and ctx.profile == profile:
        return ctx.shop
    args = ctx.args
    # Deployed only now: the stack's pollers and schedules would load the machine while the
    # functions are measured one by one. And deployed fresh, tables included: the emulator slows
    # down as a table's stream grows (32 clients: 18.7, 14.0, 10.3 orders/s in three runs on one
    # stack), and a new stack over the old, retained tables would replay their streams.
    if not args.no_deploy:
        if profile == "release" and RELEASE != ROOT / "target" / "release":
            sys.exit("the load sections deploy target/release: use --sections functions with --release-dir")
        remove_bench_stack()
        for command in ("deploy", "seed"):
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "scripts" / "stack.py"),
                    command,
                    "--stage",
                    "bench",
                    "--profile",
                    profile,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
    url_file = ROOT / ".local" / "api-url.bench"
    if not url_file.exists():
        sys.exit(
            f"the bench stack is not deployed: scripts/stack.py deploy --stage bench --profile {profile}"
        )
    url = url_file.read_text().strip()
    status, token = call(
        url, "POST", "/auth/token", {"email": "admin@shop.local", "password": "local-admin-password"}
    )
    if status != 200:
        sys.exit(f"admin login on the bench stack failed ({status}): scripts/stack.py seed --stage bench")
    admin = token["access_token"]
    status, product = call(
        url,
        "POST",
        "/products",
        {
            "sku": f"LOAD-{ctx.run}",
            "name": "Load-test mug",
            "category": "kitchen",
            "price": {"amount_minor": 999, "currency": "EUR"},
        },
        admin,
    )
    if status != 201:
        sys.exit(f"creating the load-test product failed: {status} {product}")
    for _ in range(120):
        status, _ = call(url, "PUT", f"/inventory/{product['id']}", {"on_hand": 10**9}, admin)
        if status == 200:
            break
        time.sleep(0.5)
    else:
        sys.exit("inventory never learned of the load-test product")
    tokens = []
    for index in range(CUSTOMERS):
        who = {
            "email": f"load-{ctx.run}-{index}@bench.local",
            "password": "load-test-password",
            "name": f"Load {index}",
        }
        call(url, "POST", "/users", who)
        status, token = call(url, "POST", "/auth/token", {"email": who["email"], "password": who["password"]})
        if status != 200:
            sys.exit(f"load-test customer login failed: {status} {token}")
        tokens.append(token["access_token"])
    # The orders service learns of the product through ProductCreated: wait until it sells it.
    for _ in range(120):
        if load.priced(product["id"]):
            break
        time.sleep(0.5)
    else:
        sys.exit("orders never learned of the load-test product")
    ctx.shop, ctx.admin_token = load.Shop(url=url, product_id=product["id"], tokens=tokens), admin
    ctx.profile = profile
    return ctx.shop


def functions_section(ctx: Context) -> dict:
    args = ctx.args
    print(f"functions (release build, {args.cold_runs} cold starts + {args.warm} warm invocations each):")
    fixture = Fixture(load_template(), ctx.run)
    fixture.extra_env = dict(pair.split("=", 1) for pair in args.env)
    try:
        functions, others = bench_functions(args, fixture)
    finally:
        fixture.delete()
    for result in functions.values():
        for name, baseline in others["baselines"].items():
            result[f"ratio_to_{name}"] = ratios(result, baseline)
    return {"functions": functions, **others}


def until_final(fetch) -> dict | None:
    """Asks `fetch()` for the order (None when the request failed) every POLL_SECONDS until it
    is confirmed, rejected or cancelled: that order, or None after FINAL_WITHIN_SECONDS."""
    give_up = time.monotonic() + FINAL_WITHIN_SECONDS
    while time.monotonic() < give_up:
        time.sleep(POLL_SECONDS)
        current = fetch()
        if current is not None and current["status"] in FINAL:
            return current
    return None


def closed_loop(ctx: Context) -> dict:
    """N clients each place an order, wait for it to end, and place the next: the saga's
    latency at a given concurrency (the load adapts to the system's speed)."""
    shop, args = stack(ctx), ctx.args
    print("closed loop (clients each waiting for their order before the next):")
    order = {"lines": [{"product_id": shop.product_id, "quantity": 1}], "payment_token": "tok_visa"}
    results = {}
    for clients in [int(c) for c in args.clients.split(",")]:
        wait_until_idle()
        print(f"  {clients:2} concurrent clients for {args.system_seconds} s ...", end="", flush=True)
        records, failures, lock = [], [], threading.Lock()
        stop_at = time.monotonic() + args.system_seconds

        def client(token, stop_at=stop_at, records=records, failures=failures, lock=lock):
            while time.monotonic() < stop_at:
                status, placed = call(
                    shop.url, "POST", "/orders", order, token, {"idempotency-key": str(uuid.uuid4())}
                )
                if status != 201:
                    with lock:
                        failures.append(f"POST /orders {status}: {placed}")
                    continue

                def fetch(order_id=placed["id"], token=token):
                    status, current = call(shop.url, "GET", f"/orders/{order_id}", token=token)
                    return current if status == 200 else None

                current = until_final(fetch)
                with lock:
                    if current is None:
                        failures.append(f"order {placed['id']} not final after {FINAL_WITHIN_SECONDS} s")
                    else:
                        records.append(
                            (
                                current["status"],
                                epoch(current["updated_at"]) - epoch(current["placed_at"]),
                                time.monotonic(),
                            )
                        )

        began = time.monotonic()
        threads = [
            threading.Thread(target=client, args=(shop.tokens[i % len(shop.tokens)],)) for i in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = max((r[2] for r in records), default=time.monotonic()) - began
        confirmed = [r[1] * 1000 for r in records if r[0] == "CONFIRMED"]
        result = {
            "clients": clients,
            "orders": len(records),
            "confirmed": len(confirmed),
            "failures": len(failures),
            "orders_per_second": round(len(confirmed) / elapsed, 2) if elapsed > 0 else 0.0,
        }
        if confirmed:
            result.update(
                {f"placed_to_confirmed_ms_p{p}": round(percentile(confirmed, p), 1) for p in (50, 95, 99)}
            )
        if failures:
            result["first_failure"] = failures[0]
        results[f"{clients} clients"] = result
        print(
            f" {result['orders_per_second']:6.2f} orders/s, placed->confirmed p50/p95/p99 "
            f"{result.get('placed_to_confirmed_ms_p50', '-')}/{result.get('placed_to_confirmed_ms_p95', '-')}/"
            f"{result.get('placed_to_confirmed_ms_p99', '-')} ms ({len(confirmed)} confirmed, {len(failures)} failed)"
        )
    return {"closed_loop": results}


def everyday(ctx: Context) -> dict:
    """The stack a newcomer runs: `make up`'s debug build, deployed as `make up` deploys it,
    under clients that each, over and over, register a new customer, log in, place an order,
    wait for it to end, and cancel every CANCEL_EVERY-th confirmed one. The budget is on the
    saga (placed -> terminal p95); every request's latency is reported too."""
    args = ctx.args
    shop = stack(ctx, args.everyday_build)
    wait_until_idle()
    clients, seconds = args.everyday_clients, args.everyday_seconds
    print(
        f"everyday stack ({args.everyday_build} build): {clients} clients for {seconds} s, each registering, "
        f"logging in, ordering, cancelling every {CANCEL_EVERY}th confirmed order ...",
        end="",
        flush=True,
    )
    requests: dict[str, list[float]] = {}
    terminal: list[tuple[str, float]] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def timed(name: str, expected: int, method: str, path: str, body=None, token=None, headers=None):
        began = time.perf_counter()
        status, answer = call(shop.url, method, path, body, token, headers)
        with lock:
            requests.setdefault(name, []).append((time.perf_counter() - began) * 1000)
            if status != expected:
                failures.append(f"{name} {status}: {str(answer)[:200]}")
        return answer if status == expected else None

    def client(index: int) -> None:
        iteration = 0
        while time.monotonic() < stop_at:
            iteration += 1
            who = {
                "email": f"everyday-{ctx.run}-{index}-{iteration}@bench.local",
                "password": "everyday-password",
                "name": f"Everyday {index}-{iteration}",
            }
            if timed("POST /users", 201, "POST", "/users", who) is None:
                continue
            login = {"email": who["email"], "password": who["password"]}
            token = timed("POST /auth/token", 200, "POST", "/auth/token", login)
            if token is None:
                continue
            token = token["access_token"]
            order = {"lines": [{"product_id": shop.product_id, "quantity": 1}], "payment_token": "tok_visa"}
            placed = timed(
                "POST /orders", 201, "POST", "/orders", order, token, {"idempotency-key": str(uuid.uuid4())}
            )
            if placed is None:
                continue
            current = until_final(
                lambda order_id=placed["id"], token=token: timed(
                    "GET /orders/{id}", 200, "GET", f"/orders/{order_id}", token=token
                )
            )
            if current is None:
                with lock:
                    failures.append(f"order {placed['id']} not terminal after {FINAL_WITHIN_SECONDS} s")
                continue
            with lock:
                terminal.append(
                    (current["status"], (epoch(current["updated_at"]) - epoch(current["placed_at"])) * 1000)
                )
            if current["status"] == "CONFIRMED" and iteration % CANCEL_EVERY == 0:
                cancelled = timed(
                    "POST /orders/{id}/cancel", 200, "POST", f"/orders/{placed['id']}/cancel", token=token
                )
                if cancelled is not None and cancelled["status"] != "CANCELLED":
                    with lock:
                        failures.append(f"cancelled order {placed['id']} is {cancelled['status']}")

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = [ms for _, ms in terminal]
    result = {
        "build": args.everyday_build,
        "clients": clients,
        "seconds": seconds,
        "orders": len(terminal),
        "by_status": dict(sorted(Counter(status for status, _ in terminal).items())),
        "placed_to_terminal_ms": saga.summary(latencies),
        "requests_ms": {name: saga.summary(values) for name, values in sorted(requests.items())},
        "failures": len(failures),
    }
    if failures:
        result["first_failures"] = failures[:5]
    print(
        f" {len(terminal)} orders, placed->terminal p50/p95/p99 "
        f"{result['placed_to_terminal_ms'].get('p50', '-')}/{result['placed_to_terminal_ms'].get('p95', '-')}/"
        f"{result['placed_to_terminal_ms'].get('p99', '-')} ms, {len(failures)} failed requests"
    )
    for name, figures in result["requests_ms"].items():
        print(
            f"    {name:26} p50 {figures.get('p50', '-'):>8} ms  p95 {figures.get('p95', '-'):>8} ms  ({figures['count']})"
        )
    return {"everyday": result}


def open_loop(ctx: Context) -> dict:
    """Orders arriving at fixed rates, whatever the answers take, as real traffic does."""
    shop, args = stack(ctx), ctx.args
    print(f"open loop (orders arriving at fixed rates for {args.rate_seconds} s each):")
    rates = [float(r) for r in args.rates.split(",")]
    levels = load.open_loop(shop, rates, args.rate_seconds, wait_until_idle)
    knee = saga.knee(levels, ctx.budgets.saga_p50_ms, KEEP_UP)
    print(
        f"  knee: {knee if knee is not None else 'below the lowest rate'} orders/s "
        f"(p95 <= {ctx.budgets.saga_p50_ms:g} ms, throughput >= {KEEP_UP:.0%} of offered, every order terminal)"
    )
    return {
        "open_loop": {
            "levels": levels,
            "knee_per_s": knee,
            "knee_rule": {"p95_ms_at_most": ctx.budgets.saga_p50_ms, "keep_up_at_least": KEEP_UP},
        }
    }


def flash_sale(ctx: Context) -> dict:
    shop, args = stack(ctx), ctx.args
    print("flash sale (one product, more orders than stock, all at once):")
    result = load.flash_sale(
        shop,
        ctx.admin_token,
        ctx.run,
        args.flash_orders,
        args.flash_stock,
        args.flash_within,
        wait_until_idle,
    )
    return {"flash_sale": result}


def relay_section(ctx: Context) -> dict:
    """The outbox relay's events per second per invocation (bench/relay.py), on its own."""
    print("outbox relay throughput (bench/relay.py: events per second per invocation):")
    return {"relay": relay.bench([RELEASE / "outbox-relay"], endpoint=endpoint())}


# The sections that run local processes against the emulator, without the bench stack.
LOCAL_SECTIONS = ("functions", "relay")
# The run's sections, in the order they run; each returns its part of results.json. A new
# measurement is one more entry (and its option in --sections).
SECTIONS = [
    ("functions", functions_section),
    ("relay", relay_section),
    ("closed-loop", closed_loop),
    ("open-loop", open_loop),
    ("flash-sale", flash_sale),
    ("everyday", everyday),
]


# --- ratios, budgets, results ---------------------------------------------------------------


def ratios(result: dict, baseline: dict) -> dict:
    def ratio(a, b):
        return round(a / b, 2) if a and b else None

    return {
        "size": ratio(result.get("size_bytes"), baseline.get("size_bytes")),
        "cold_start": ratio(result["cold_start_ms"]["median"], baseline["cold_start_ms"]["median"]),
        "warm_latency_p50": ratio(result["warm_latency_ms"]["p50"], baseline["warm_latency_ms"]["p50"]),
        "cpu_p50": ratio(result["cpu_ms"]["p50"], baseline["cpu_ms"]["p50"]),
        "cpu_p99": ratio(result["cpu_ms"]["p99"], baseline["cpu_ms"]["p99"]),
        "peak_rss": ratio(result["peak_rss_kib"], baseline["peak_rss_kib"]),
    }


def machine() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True)
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "rustc": rustc.stdout.strip(),
        "commit": commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else ""),
        "load_average": os.getloadavg(),
    }


def cost_per_thousand(results: dict) -> dict:
    """Priced from the open loop's level at the knee (the lowest rate when there is none): the
    system at its sustainable best, not queueing."""
    open_loop = results["open_loop"]
    level = next(
        (level for level in open_loop["levels"] if level["offered_per_s"] == open_loop["knee_per_s"]),
        open_loop["levels"][0],
    )
    return cost.per_thousand_orders(level, results["functions"], cost.load_prices())


def sections_option(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = [name for name, _ in SECTIONS]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section(s) {unknown}; known: {','.join(known)}")
    return names


def main() -> None:
    global RELEASE
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sections",
        type=sections_option,
        default=[name for name, _ in SECTIONS],
        help="the sections to run, in the run's order (default: all: "
        + ",".join(name for name, _ in SECTIONS)
        + ")",
    )
    parser.add_argument(
        "--skip-system", action="store_true", help="only the sections that need no stack (functions, relay)"
    )
    parser.add_argument("--skip-functions", action="store_true", help="every section but the functions")
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--warm", type=int, default=500)
    parser.add_argument("--clients", default="1,8,32", help="closed loop: concurrent clients per level")
    parser.add_argument("--system-seconds", type=int, default=20, help="closed loop: seconds per level")
    parser.add_argument("--rates", default="2,5,10,20,40", help="open loop: orders per second per level")
    parser.add_argument("--rate-seconds", type=float, default=20, help="open loop: seconds per rate")
    parser.add_argument("--everyday-clients", type=int, default=16, help="everyday: concurrent clients")
    parser.add_argument("--everyday-seconds", type=int, default=60, help="everyday: seconds of load")
    parser.add_argument(
        "--everyday-build",
        choices=["debug", "release"],
        default="debug",
        help="everyday: the build the stack runs (default `make up`'s debug build; release to compare)",
    )
    parser.add_argument("--flash-orders", type=int, default=300)
    parser.add_argument("--flash-stock", type=int, default=100)
    parser.add_argument(
        "--flash-within", type=float, default=1.0, help="flash sale: seconds the orders arrive in"
    )
    parser.add_argument(
        "--no-deploy",
        action="store_true",
        help="use the bench stack as deployed (default: deploy it fresh from target/release and seed it)",
    )
    parser.add_argument(
        "--skip-relay", action="store_true", help="every section but the relay throughput (bench/relay.py)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument(
        "--release-dir",
        type=Path,
        default=RELEASE,
        help="where the bootstraps are (default target/release); for before/after runs",
    )
    parser.add_argument("--logs", type=Path, help="keep the functions' logs in this directory")
    parser.add_argument(
        "--wrap",
        help="run each function under this command, e.g. "
        '"perf record -F 5000 -g -o /tmp/{name}.perf --" (figures are then meaningless)',
    )
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        help="measure only these (binaries, floor, sdk-defaults, python, login); for experiments",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every service function; for experiments",
    )
    args = parser.parse_args()
    if args.skip_system:
        args.sections = [name for name in args.sections if name in LOCAL_SECTIONS]
    if args.skip_functions:
        args.sections = [name for name in args.sections if name != "functions"]
    if args.skip_relay:
        args.sections = [name for name in args.sections if name != "relay"]
    Process.log_dir = args.logs
    Process.wrapper = args.wrap
    RELEASE = args.release_dir.resolve()
    if "functions" in args.sections and args.cold_runs + 1 + args.warm < PAGE:
        parser.error(
            f"--cold-runs + 1 + --warm must be at least {PAGE}: notifications-api lists a page "
            f"of {PAGE} notifications made from that many confirmed orders"
        )
    if "functions" in args.sections and args.cold_runs < 20:
        print(f"note: {args.cold_runs} cold starts (the budget is a median of >= 20)")
    os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    for key, value in (
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ):
        os.environ.setdefault(key, value)
    endpoint()

    ctx = Context(args=args, run=uuid.uuid4().hex[:8], budgets=Budgets.load())
    results = {
        "machine": machine(),
        "budgets": ctx.budgets.as_dict(),
        "settings": {
            "sections": args.sections,
            "cold_runs": args.cold_runs,
            "warm_invocations": args.warm,
            "clients": args.clients,
            "system_seconds": args.system_seconds,
            "rates": args.rates,
            "rate_seconds": args.rate_seconds,
            "flash_orders": args.flash_orders,
            "flash_stock": args.flash_stock,
            "flash_within_s": args.flash_within,
            "everyday_clients": args.everyday_clients,
            "everyday_seconds": args.everyday_seconds,
            "everyday_build": args.everyday_build,
        },
        "functions": {},
        "baselines": {},
        "extra": {},
    }
    for name, section in SECTIONS:
        if name in args.sections:
            began = time.monotonic()
            results.update(section(ctx))
            results.setdefault("section_seconds", {})[name] = round(time.monotonic() - began, 1)
    if results.get("open_loop") and results["functions"]:
        results["cost_per_1000_orders"] = cost_per_thousand(results)
    verdicts, failures = check(
        results["functions"], results.get("closed_loop", {}), ctx.budgets, results.get("everyday")
    )
    failures += census_failures(results["functions"], ctx.budgets)
    failures += load_failures(results)
    results["verdicts"] = verdicts
    results["check"] = {"passed": not failures, "failures": failures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    # The charts of docs/performance.md come from the default results file; another run's go
    # next to its own.
    chart_dir = (
        charts.OUT if args.out.resolve() == (ROOT / "bench" / "results.json") else args.out.parent / "charts"
    )
    written = charts.render(results, chart_dir)
    if written:
        print(
            f"wrote {len(written)} charts in {chart_dir.relative_to(ROOT) if chart_dir.is_relative_to(ROOT) else chart_dir}"
        )
    for name, verdict in verdicts.items():
        over = {k: v for k, v in verdict.items() if v != "within"}
        if over:
            print(f"  budget: {name}: {over}")
    if failures:
        print("bench check FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("bench check passed: every budget met (within its tolerance), the flash sale exact")


if __name__ == "__main__":
    main()
