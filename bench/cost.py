"""Cost per 1,000 orders on AWS, from what `make bench` measured: invocations per order (the
open loop's REPORT lines), each function's CPU and AWS calls per event (the functions section
and its census), DynamoDB units (ReturnConsumedCapacity, through the census), log bytes per
order (the open loop's log groups), priced with bench/prices.toml. Pure; tested by
bench/test_cost.py."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

PRICES_FILE = Path(__file__).resolve().parent / "prices.toml"
# The saga's events per order and which function handles each (docs/design.md): one request,
# OrderPlaced to inventory, StockReserved to orders, OrderConfirmed to notifications; the orders
# table's relay publishes two of them, the inventory table's one.
EVENTS_PER_ORDER = {
    "orders-api": 1,
    "inventory-worker": 1,
    "orders-worker": 1,
    "notifications-worker": 1,
    "orders-outbox-relay": 2,
    "inventory-outbox-relay": 1,
}
QUEUE_WORKERS = ("inventory-worker", "orders-worker", "notifications-worker")


def load_prices(path: Path = PRICES_FILE) -> dict:
    return tomllib.loads(path.read_text())


def binary(function: str) -> str:
    """The bootstrap a stack function runs (the relays and sweepers are one binary each)."""
    for shared in ("outbox-relay", "outbox-sweeper"):
        if function.endswith(shared):
            return shared
    return function


def estimated_billed_ms(cpu_ms: float, aws_calls: float, estimate: dict) -> int:
    """Billed milliseconds of one invocation at 128 MB: CPU stretched to the function's share of
    a vCPU, plus the awaited calls, rounded up to the millisecond as Lambda bills."""
    return max(1, math.ceil(cpu_ms * estimate["cpu_stretch"] + aws_calls * estimate["ms_per_aws_call"]))


def per_thousand_orders(level: dict, functions: dict, prices: dict) -> dict:
    """The usage and cost of 1,000 orders. `level`: an open-loop level (placed, invocations
    per stack function, log_bytes); `functions`: the functions section (cpu_ms, census)."""
    price, estimate = prices["prices"], prices["lambda_estimate"]
    scale = 1000 / level["placed"]
    gb = estimate["memory_mb"] / 1024
    lines, lambda_rows = [], []
    requests = gb_seconds = gb_seconds_emulator = 0.0
    read_units = write_units = sns = emails = 0.0
    for function, counted in sorted(level["invocations"].items()):
        invocations = counted["invocations"] * scale
        measured = functions.get(binary(function))
        census = (measured or {}).get("census")
        per_invocation_ms = (
            estimated_billed_ms(measured["cpu_ms"]["p50"], census["aws_calls"], estimate)
            if census
            else counted["billed_ms_p50"]
        )
        requests += invocations
        # Each invocation billed as one event's work: at the open loop's rates most carry one.
        gb_seconds += invocations * per_invocation_ms / 1000 * gb
        gb_seconds_emulator += counted["billed_ms_total"] * scale / 1000 * gb
        lambda_rows.append(
            {
                "function": function,
                "invocations": round(invocations, 1),
                "estimated_billed_ms": per_invocation_ms,
                "emulator_billed_ms_p50": counted["billed_ms_p50"],
            }
        )
        events = EVENTS_PER_ORDER.get(function, 0) * 1000
        if census and events:
            read_units += census["dynamodb_read_units"] * events
            write_units += census["dynamodb_write_units"] * events
            sns += census["sns_messages"] * events
            emails += census["by_operation"].get("ses:SendEmail", 0.0) * events
    queue_messages = sum(EVENTS_PER_ORDER[w] for w in QUEUE_WORKERS) * 1000
    worker_invocations = sum(
        level["invocations"].get(w, {}).get("invocations", 0) * scale for w in QUEUE_WORKERS
    )
    # One request per message delivered (SNS -> SQS; SNS itself charges nothing for it), and a
    # receive and a delete per batch the event source mapping hands a worker.
    sqs_requests = queue_messages + 2 * worker_invocations
    log_gb = sum(level.get("log_bytes", {}).values()) * scale / 1e9

    def line(service, quantity, unit, usd, how):
        lines.append(
            {
                "service": service,
                "quantity": round(quantity, 4),
                "unit": unit,
                "usd": round(usd, 5),
                "how": how,
            }
        )

    line(
        "Lambda requests",
        requests,
        "invocations",
        requests * price["lambda_request_usd_per_million"] / 1e6,
        "REPORT lines in the open loop",
    )
    line(
        "Lambda duration (arm64, 128 MB)",
        gb_seconds,
        "GB-s",
        gb_seconds * price["lambda_arm64_usd_per_gb_second"],
        "CPU p50 x 128 MB's vCPU share + awaited calls, per invocation",
    )
    line(
        "DynamoDB writes",
        write_units,
        "WRU",
        write_units * price["dynamodb_write_request_unit_usd_per_million"] / 1e6,
        "ReturnConsumedCapacity, census",
    )
    line(
        "DynamoDB reads",
        read_units,
        "RRU",
        read_units * price["dynamodb_read_request_unit_usd_per_million"] / 1e6,
        "ReturnConsumedCapacity, census",
    )
    line(
        "SNS publishes",
        sns,
        "messages",
        sns * price["sns_publish_usd_per_million"] / 1e6,
        "census (each under 64 KB)",
    )
    line(
        "SQS requests",
        sqs_requests,
        "requests",
        sqs_requests * price["sqs_request_usd_per_million"] / 1e6,
        "deliveries + a receive and a delete per worker invocation",
    )
    line(
        "HTTP API requests",
        1000,
        "requests",
        1000 * price["http_api_request_usd_per_million"] / 1e6,
        "POST /orders (a client's status polls add the same per request)",
    )
    line("SES e-mails", emails, "e-mails", emails * price["ses_email_usd_per_thousand"] / 1e3, "census")
    line(
        "CloudWatch Logs ingestion",
        log_gb,
        "GB",
        log_gb * price["cloudwatch_logs_ingestion_usd_per_gb"],
        "log bytes in the open loop",
    )
    return {
        "prices_date": prices["date"],
        "region": prices["region"],
        "orders_measured": level["placed"],
        "offered_per_s": level.get("offered_per_s"),
        "lines": lines,
        "total_usd": round(sum(item["usd"] for item in lines), 4),
        "lambda": lambda_rows,
        "lambda_gb_seconds_as_the_emulator_billed": round(gb_seconds_emulator, 3),
    }
