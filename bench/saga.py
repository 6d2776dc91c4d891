"""What `make bench` computes from the saga's own records, as pure functions (tested by
bench/test_saga.py): percentiles, the knee of the load curve, each order's timeline from the
tables' timestamps, the hop-by-hop attribution of its latency with the functions' invocations
from their logs (REPORT lines), and the invocations per function.

Every timestamp comes from the system itself, all on one clock (one machine): the client's
send time, the order's `placed_at` / `updated_at`, the events' envelope `time` (set in the
transaction that wrote the outbox item), the outbox items' `published_at` (set by the relay
after publishing), the payment record's `charged_at`, the notification's `sent_at`; and for
each invocation the emulator's REPORT line (its end and its duration).
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from datetime import datetime

TERMINAL = {"confirmed", "rejected", "cancelled"}


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float], digits: int = 1) -> dict:
    """p50 / p95 / p99 and the count, or just the count when there is nothing to summarise."""
    if not values:
        return {"count": 0}
    return {
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "p99": round(percentile(values, 99), digits),
        "count": len(values),
    }


def throughput(ends: list[float]) -> float:
    """Orders completed per second: the completions after the first, over the time from the
    first to the last (an open loop of n arrivals at rate r spans (n - 1) / r seconds, so a
    system that keeps up completes at r)."""
    if len(ends) < 2 or ends[-1] <= ends[0]:
        return 0.0
    return round((len(ends) - 1) / (ends[-1] - ends[0]), 2)


def knee(levels: list[dict], p95_budget_ms: float, keep_up: float) -> float | None:
    """The highest offered rate the system sustains: going up from the lowest rate, the last
    one whose placed -> terminal p95 is within `p95_budget_ms` and whose achieved throughput is
    at least `keep_up` (a fraction) of the offered rate, with every order terminal. A rate past
    the first one that fails does not count even if it passes (noise, not capacity). None when
    even the lowest rate fails.

    `levels`: [{"offered_per_s", "achieved_per_s", "placed_to_terminal_ms": {"p95"}, "not_terminal"}]."""
    best = None
    for level in sorted(levels, key=lambda level: level["offered_per_s"]):
        p95 = level["placed_to_terminal_ms"].get("p95")
        if (
            p95 is None
            or p95 > p95_budget_ms
            or level["not_terminal"]
            or level["achieved_per_s"] < keep_up * level["offered_per_s"]
        ):
            break
        best = level["offered_per_s"]
    return best


def epoch(text: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp (any sub-second precision)."""
    if not text:
        return None
    match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    whole, fraction, zone = match.groups()
    seconds = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    return seconds + (float("0." + fraction) if fraction else 0.0)


# --- the order's timeline ------------------------------------------------------------------

# The saga's hops, each between two points of an order's timeline: the function that does the
# hop's work, and the points it starts and ends at.
HOPS = [
    ("API: POST /orders", "orders-api", "sent", "placed"),
    ("relay: OrderPlaced", "orders-outbox-relay", "placed", "placed_published"),
    ("inventory: reserve", "inventory-worker", "placed_published", "reserved"),
    ("relay: StockReserved", "inventory-outbox-relay", "reserved", "reserved_published"),
    ("orders: to the charge", "orders-worker", "reserved_published", "charged"),
    ("payment: charge to confirmed", "orders-worker", "charged", "terminal"),
    ("relay: OrderConfirmed", "orders-outbox-relay", "terminal", "confirmed_published"),
    ("notification: e-mail sent", "notifications-worker", "confirmed_published", "notified"),
]
# Which event's id names the invocation of each hop's function in its log lines (the relays
# and workers log the event they handle); the API's is found by the saga's correlation id.
HOP_EVENT = {
    "relay: OrderPlaced": "OrderPlaced",
    "inventory: reserve": "OrderPlaced",
    "relay: StockReserved": "StockReserved",
    "orders: to the charge": "StockReserved",
    "payment: charge to confirmed": "StockReserved",
    "relay: OrderConfirmed": "OrderConfirmed",
    "notification: e-mail sent": "OrderConfirmed",
}


def items_by_order(
    orders_items: list[dict], inventory_items: list[dict], notification_items: list[dict]
) -> dict[str, dict]:
    """Per order id, what the tables hold about it (items as plain JSON, not DynamoDB JSON):
    {"order": item, "events": {type: {"id", "time", "published_at", "correlation_id"}},
     "charged_at": str, "notified_at": str}."""
    found: dict[str, dict] = {}

    def entry(order_id: str) -> dict:
        return found.setdefault(
            order_id, {"order": None, "events": {}, "charged_at": None, "notified_at": None}
        )

    events_by_id = {}
    for item in orders_items + inventory_items:
        kind = item.get("kind")
        if kind == "order":
            entry(item["order_id"])["order"] = item
        elif kind == "payment_charge":
            entry(item["order_id"])["charged_at"] = item.get("charged_at")
        elif kind == "outbox":
            envelope = json.loads(item["envelope"])
            order_id = envelope.get("data", {}).get("order_id")
            if order_id:
                event = {
                    "id": envelope["id"],
                    "time": envelope["time"],
                    "published_at": item.get("published_at"),
                    "correlation_id": envelope.get("correlation_id"),
                }
                entry(order_id)["events"][envelope["type"]] = event
                events_by_id[envelope["id"]] = order_id
    for item in notification_items:
        order_id = events_by_id.get(item.get("event_id"))
        if item.get("kind") == "notification" and order_id and item.get("sent_at"):
            entry(order_id)["notified_at"] = item["sent_at"]
    return found


def timeline(sent_at: float | None, record: dict) -> dict:
    """An order's points in time (epoch seconds, None when not reached) from `items_by_order`'s
    record and the client's send time."""
    order, events = record["order"] or {}, record["events"]
    status = (order.get("status") or "").lower()
    reserved = events.get("StockReserved") or events.get("StockReservationFailed") or {}
    outcome = (
        events.get("OrderConfirmed") or events.get("OrderRejected") or events.get("OrderCancelled") or {}
    )
    return {
        "status": status,
        "sent": sent_at,
        "placed": epoch(order.get("placed_at")),
        "placed_published": epoch((events.get("OrderPlaced") or {}).get("published_at")),
        "reserved": epoch(reserved.get("time")),
        "reserved_published": epoch(reserved.get("published_at")),
        "charged": epoch(record.get("charged_at")),
        "terminal": epoch(order.get("updated_at")) if status in TERMINAL else None,
        "confirmed_published": epoch(outcome.get("published_at")) if status == "confirmed" else None,
        "notified": epoch(record.get("notified_at")) if status == "confirmed" else None,
    }


# --- invocations, from the functions' logs -------------------------------------------------

REPORT = re.compile(r"REPORT RequestId: (\S+)\s+Duration: ([\d.]+) ms\s+Billed Duration: ([\d.]+) ms")


@dataclass(frozen=True)
class Invocation:
    function: str
    request_id: str
    end: float  # epoch seconds: the REPORT line's timestamp
    duration_ms: float
    billed_ms: float

    @property
    def start(self) -> float:
        return self.end - self.duration_ms / 1000


def invocations(function: str, events: list[dict]) -> tuple[list[Invocation], dict[str, str]]:
    """A function's invocations from its log group's events ({"timestamp" ms, "message"}), and
    which invocation (request id) handled which event id / correlation id."""
    found, handled = [], {}
    for event in events:
        message = event["message"]
        report = REPORT.search(message)
        if report:
            found.append(
                Invocation(
                    function,
                    report.group(1),
                    event["timestamp"] / 1000,
                    float(report.group(2)),
                    float(report.group(3)),
                )
            )
            continue
        if not message.lstrip().startswith("{"):
            continue
        try:
            line = json.loads(message)
        except ValueError:
            continue
        request_id, keys = None, []
        for span in line.get("spans") or []:
            request_id = span.get("requestId", request_id)
            keys += [span.get("event_id"), span.get("correlation_id")]
        keys += [line.get("event_id")]
        if request_id:
            for key in keys:
                if key:
                    handled.setdefault(key, request_id)
    return found, handled


def attribute(
    timelines: list[tuple[dict, dict]], by_function: dict[str, tuple[list[Invocation], dict[str, str]]]
) -> dict[str, dict]:
    """Per hop, its duration and how it splits: the part inside the invocation of the hop's
    function (the function's own work and its AWS calls, as the emulator times the invocation)
    and the part before it (delivery: the API's front door, the table stream, SNS -> SQS and the
    queue's poller, all the emulator's). `timelines`: (timeline, record) per order; hops whose
    points or invocation are missing are left out. Milliseconds, summarised."""
    index = {
        function: ({i.request_id: i for i in found}, handled)
        for function, (found, handled) in by_function.items()
    }
    per_hop: dict[str, dict[str, list[float]]] = {
        hop: {"total": [], "in_function": [], "delivery": []} for hop, *_ in HOPS
    }
    for points, record in timelines:
        for hop, function, start_point, end_point in HOPS:
            start, end = points.get(start_point), points.get(end_point)
            if start is None or end is None:
                continue
            per_hop[hop]["total"].append((end - start) * 1000)
            if function not in index:
                continue
            by_id, handled = index[function]
            event_type = HOP_EVENT.get(hop)
            if event_type:
                key = (record["events"].get(event_type) or {}).get("id")
            else:
                key = (record["events"].get("OrderPlaced") or {}).get("correlation_id")
            invocation = by_id.get(handled.get(key)) if key else None
            if invocation is None:
                continue
            inside = max(0.0, min(end, invocation.end) - max(start, invocation.start)) * 1000
            per_hop[hop]["in_function"].append(inside)
            per_hop[hop]["delivery"].append(max(0.0, (end - start) * 1000 - inside))
    return {hop: {part: summary(values) for part, values in parts.items()} for hop, parts in per_hop.items()}


def invocation_totals(
    by_function: dict[str, tuple[list[Invocation], dict]], since: float, until: float
) -> dict:
    """Per function, the invocations that ended in [since, until]: how many, and their billed
    milliseconds in total (for the cost per order) and per invocation."""
    totals = {}
    for function, (found, _) in by_function.items():
        window = [i for i in found if since <= i.end <= until]
        if window:
            billed = [i.billed_ms for i in window]
            totals[function] = {
                "invocations": len(window),
                "billed_ms_total": round(sum(billed), 1),
                "billed_ms_p50": round(statistics.median(billed), 1),
            }
    return totals
