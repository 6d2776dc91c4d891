#!/usr/bin/env python3
"""Outbox relay throughput: events per second per `outbox-relay` invocation, on the emulator.

    bench/relay.py [--binary target/release/outbox-relay ...] [--batch 100] [--invocations 8]
                   [--rounds 3] [--out FILE]

One table shaped like the template's publishing tables (its keys and `outbox-pending` index),
one topic with a queue subscribed to it (raw delivery), as a service's topic has. Each invocation
hands one warm relay process (bench/lambda_bench.py's local Runtime API) a stream batch of
--batch new outbox items, written to the table first as a service writes them. An invocation
passes only without batch item failures, and a round only when afterwards every item is marked
published and the queue received every event: a relay that skipped work cannot score.

Events per second per invocation = batch size / the invocation's latency (event handed over ->
response posted); CPU is the process's on-CPU time per event. With several --binary (a build of
the commit before and the current one, say) the binaries take turns round by round against the
same emulator, so they see the same load: the figures are medians over every invocation of
every round, and each binary's ratio to the first.

The emulator answers a call in a few milliseconds and works on one request at a time, so on its
own it shows how much of the relay's time is round trips it waits on one after the other, not
what a network adds. `--call-latency-ms N --fault-proxy URL` puts the fault proxy
(tests/fault-proxy, `FAULT_PROXY_PORT` in scripts/emulator.sh) between the relay and the
emulator with every call delayed by N ms, as a round trip inside an AWS region takes.

Needs the emulator on AWS_ENDPOINT_URL (127.0.0.1:4566 unless told) and a release build of the
relay (`cargo build --release -p outbox-relay`). `bench/run.py` runs it as its own section.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lambda_bench import Process, no_batch_failures, stream_event

ROOT = Path(__file__).resolve().parent.parent
# The template's stream batch size for every relay mapping (BatchSize).
STREAM_BATCH = 100
# shared::dynamo: outbox items spread over this many partitions of the pending index.
PENDING_SHARDS = 4


def outbox_item(event_id: uuid.UUID, created_at: str, expires_at: int) -> dict:
    """An outbox item in DynamoDB JSON, as shared::dynamo::outbox_item writes it: a
    ProductArchived envelope, pending in its shard of the `outbox-pending` index."""
    envelope = {
        "id": str(event_id),
        "type": "ProductArchived",
        "version": 1,
        "source": "products",
        "time": created_at,
        "correlation_id": "bench-relay",
        "causation_id": "bench-relay",
        "data": {"product_id": str(uuid.uuid4()), "version": 2},
    }
    return {
        "pk": {"S": f"OUTBOX#{event_id}"},
        "sk": {"S": "OUTBOX"},
        "kind": {"S": "outbox"},
        "event_id": {"S": str(event_id)},
        "event_type": {"S": "ProductArchived"},
        "envelope": {"S": json.dumps(envelope, separators=(",", ":"))},
        "outbox_pending": {"S": f"PENDING#{event_id.bytes[0] % PENDING_SHARDS}"},
        "created_at": {"S": created_at},
        "expires_at": {"N": str(expires_at)},
    }


def summarise(invocations: list[dict]) -> dict:
    """Medians over invocations of {"events", "latency_ms", "cpu_ms"}."""
    rates = [i["events"] / (i["latency_ms"] / 1000) for i in invocations]
    return {
        "invocations": len(invocations),
        "events_per_invocation": invocations[0]["events"] if invocations else 0,
        "events_per_second": {
            "median": round(statistics.median(rates), 1),
            "min": round(min(rates), 1),
            "max": round(max(rates), 1),
        },
        "latency_ms": {"median": round(statistics.median(i["latency_ms"] for i in invocations), 2)},
        "cpu_ms_per_event": {
            "median": round(statistics.median(i["cpu_ms"] / i["events"] for i in invocations), 4)
        },
    }


def publishing_table(dynamodb, name: str) -> None:
    """A table with the keys and `outbox-pending` index of the template's users table."""
    from run import load_template

    props = load_template()["Resources"]["UsersTable"]["Properties"]
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        **{key: props[key] for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")},
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name)


class Fixture:
    """The run's table, topic and subscribed queue; deleted by close()."""

    def __init__(self, endpoint: str):
        run = uuid.uuid4().hex[:8]
        self.dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        self.sns = boto3.client("sns", endpoint_url=endpoint)
        self.sqs = boto3.client("sqs", endpoint_url=endpoint)
        self.table = f"bench-relay-{run}"
        self.topic_arn = self.queue_url = None
        try:
            publishing_table(self.dynamodb, self.table)
            self.topic_arn = self.sns.create_topic(Name=f"bench-relay-{run}")["TopicArn"]
            self.queue_url = self.sqs.create_queue(QueueName=f"bench-relay-{run}")["QueueUrl"]
            queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            self.sns.subscribe(
                TopicArn=self.topic_arn,
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes={"RawMessageDelivery": "true"},
            )
        except BaseException:
            self.close()
            raise

    def write_outbox(self, count: int) -> list[dict]:
        now = time.time()
        created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
        items = [outbox_item(uuid.uuid4(), created, int(now) + 2 * 86400) for _ in range(count)]
        for start in range(0, count, 25):
            pending = {self.table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
            while pending:
                pending = self.dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        return items

    def still_pending(self) -> int:
        count = 0
        for page in self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table, FilterExpression="attribute_exists(outbox_pending)", Select="COUNT"
        ):
            count += page["Count"]
        return count

    def drain_queue(self, expected: int, timeout: float = 30) -> set[str]:
        """Receives and deletes messages until `expected` distinct events arrived or `timeout`."""
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while len(seen) < expected and time.monotonic() < deadline:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            for message in messages:
                seen.add(json.loads(message["Body"])["id"])
            if messages:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                    ],
                )
        return seen

    def close(self) -> None:
        for action in (
            lambda: self.dynamodb.delete_table(TableName=self.table),
            lambda: self.topic_arn and self.sns.delete_topic(TopicArn=self.topic_arn),
            lambda: self.queue_url and self.sqs.delete_queue(QueueUrl=self.queue_url),
        ):
            try:
                action()
            except Exception as err:
                print(f"  cleanup: {err}", file=sys.stderr)


def fault_plan(proxy: str, plan: dict | None) -> None:
    """Sets the fault proxy's plan (None: no faults)."""
    request = urllib.request.Request(
        f"{proxy}/_faults",
        method="DELETE" if plan is None else "PUT",
        data=None if plan is None else json.dumps(plan).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def latency_plan(millis: int) -> dict:
    """Every call the relay makes delayed by `millis`."""
    return {
        "seed": 1,
        "rules": [
            {"service": "*", "operation": "*", "share": 1.0, "fault": {"kind": "delay", "millis": millis}}
        ],
    }


def one_round(binary: Path, fixture: Fixture, endpoint: str, batch: int, invocations: int) -> list[dict]:
    """One warm process of `binary` relaying `invocations` stream batches of `batch` items; its
    AWS calls go to `endpoint`."""
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "STAGE": "bench",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "EVENTS_TOPIC_ARN": fixture.topic_arn,
        "OUTBOX_TABLE": fixture.table,
    }
    batches = [fixture.write_outbox(batch) for _ in range(invocations + 1)]
    measured = []
    with Process([str(binary)], env) as process:
        # The first invocation pays for the cold start and the first connections: not counted.
        for index, items in enumerate(batches):
            invocation = process.invoke(stream_event(items, fixture.table))
            no_batch_failures(invocation)
            if index:
                measured.append(
                    {"events": batch, "latency_ms": invocation.latency_ms, "cpu_ms": invocation.cpu_ms}
                )
    expected = batch * len(batches)
    received = fixture.drain_queue(expected)
    if len(received) != expected:
        raise RuntimeError(f"{binary}: the queue received {len(received)} of {expected} events")
    pending = fixture.still_pending()
    if pending:
        raise RuntimeError(f"{binary}: {pending} outbox items were left pending")
    return measured


def bench(
    binaries: list[Path],
    *,
    endpoint: str,
    batch: int = STREAM_BATCH,
    invocations: int = 8,
    rounds: int = 3,
    call_latency_ms: int = 0,
    fault_proxy: str | None = None,
) -> dict:
    """Every binary, `rounds` times in turn; results per binary, with ratios to the first."""
    for binary in binaries:
        if not binary.is_file():
            sys.exit(f"{binary} is missing: cargo build --release -p outbox-relay")
    if call_latency_ms and not fault_proxy:
        sys.exit("--call-latency-ms needs --fault-proxy (the fault proxy in front of the emulator)")
    fixture = Fixture(endpoint)
    measured: dict[str, list[dict]] = {str(b): [] for b in binaries}
    try:
        if call_latency_ms:
            fault_plan(fault_proxy, latency_plan(call_latency_ms))
        for number in range(rounds):
            for binary in binaries:
                measured[str(binary)] += one_round(
                    binary, fixture, fault_proxy if call_latency_ms else endpoint, batch, invocations
                )
                rate = summarise(measured[str(binary)])["events_per_second"]["median"]
                print(f"  round {number + 1}/{rounds} {binary}: {rate} events/s so far (median)", flush=True)
    finally:
        if call_latency_ms:
            fault_plan(fault_proxy, None)
        fixture.close()
    results = {name: summarise(runs) for name, runs in measured.items()}
    first = results[str(binaries[0])]["events_per_second"]["median"]
    for result in results.values():
        result["ratio_to_first"] = round(result["events_per_second"]["median"] / first, 2)
    return {
        "batch": batch,
        "rounds": rounds,
        "invocations_per_round": invocations,
        "call_latency_ms": call_latency_ms,
        "binaries": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--binary",
        type=Path,
        action="append",
        help="a relay bootstrap; repeat to compare (default target/release/outbox-relay)",
    )
    parser.add_argument("--batch", type=int, default=STREAM_BATCH, help="records per stream batch")
    parser.add_argument("--invocations", type=int, default=8, help="measured invocations per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--call-latency-ms",
        type=int,
        default=0,
        help="delay every call of the relay by this much, through --fault-proxy",
    )
    parser.add_argument("--fault-proxy", help="the fault proxy's URL, e.g. http://127.0.0.1:14566")
    parser.add_argument("--out", type=Path, help="also write the results here as JSON")
    args = parser.parse_args()
    endpoint = os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    for key, value in (
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ):
        os.environ.setdefault(key, value)
    host = endpoint.split("://", 1)[-1].split("/")[0].rsplit(":", 1)[0]
    if host not in ("127.0.0.1", "localhost"):
        sys.exit(f"refusing to run: AWS_ENDPOINT_URL={endpoint!r} is not the local emulator")
    binaries = args.binary or [ROOT / "target" / "release" / "outbox-relay"]
    results = bench(
        binaries,
        endpoint=endpoint,
        batch=args.batch,
        invocations=args.invocations,
        rounds=args.rounds,
        call_latency_ms=args.call_latency_ms,
        fault_proxy=args.fault_proxy,
    )
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
