"""The saga under load on the deployed bench stack: open-loop arrivals at fixed rates and a flash
sale. The figures come from the system's own records (bench/saga.py): the orders' timestamps,
the outbox items, the payment and notification records, and the functions' logs in the
emulator's CloudWatch Logs, read after each load so that measuring does not load the system.
"""

from __future__ import annotations

import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from boto3.dynamodb.types import TypeDeserializer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import ops
import saga
from shop_api import ShopApi

STAGE = "bench"
# The functions whose invocations are read from the logs: the saga's, and the relays.
SAGA_FUNCTIONS = [
    "orders-api",
    "orders-outbox-relay",
    "inventory-worker",
    "inventory-outbox-relay",
    "orders-worker",
    "notifications-worker",
]
# A placement the API refuses for a passing reason (a 503 with Retry-After, a 429 from the
# stage throttle) is sent again with the same Idempotency-Key, as a real client does.
RETRIED = {429, 500, 502, 503, 504}
# At most this many placements in flight. An open loop sends on schedule whatever the answers
# take, so arrivals must never wait for a free sender: a flash sale's burst has one each, and
# at the open loop's rates this many outlast any answer.
SENDERS = 1000


@dataclass
class Placement:
    key: str
    scheduled: float  # epoch seconds the arrival was due
    sent: float = 0.0  # epoch seconds the first attempt left
    answered: float = 0.0
    status: int = 0
    order_id: str | None = None
    attempts: int = 0
    error: str | None = None


@dataclass
class Shop:
    """The bench stack as the load sees it: its API and its customers."""

    url: str
    product_id: str
    tokens: list[str]
    api: ShopApi = field(init=False)

    def __post_init__(self):
        self.api = ShopApi(url=self.url, via="http")

    def place(self, placement: Placement, customer: int, product_id: str | None = None) -> Placement:
        body = {
            "lines": [{"product_id": product_id or self.product_id, "quantity": 1}],
            "payment_token": "tok_visa",
        }
        placement.sent = time.time()
        for attempt in range(1, 6):
            placement.attempts = attempt
            try:
                status, answer = self.api.call(
                    "POST",
                    "/orders",
                    body,
                    self.tokens[customer % len(self.tokens)],
                    {"idempotency-key": placement.key},
                )
            except OSError as err:  # a timeout or a dropped connection: retried like a 5xx
                status, answer = 0, {"detail": str(err)}
            if status in (200, 201):
                placement.status, placement.order_id = status, answer["id"]
                break
            placement.status, placement.error = status, str(answer)[:300]
            if status and status not in RETRIED:
                break
            time.sleep(1.0)
        placement.answered = time.time()
        return placement


def arrivals(shop: Shop, rate: float, seconds: float, product_id: str | None = None) -> list[Placement]:
    """Orders placed at `rate` per second for `seconds`, each on its schedule whatever the
    earlier ones' answers take (an open loop), from the customers in turn."""
    count = max(1, round(rate * seconds))
    start = time.time() + 0.2
    placements = [Placement(key=str(uuid.uuid4()), scheduled=start + index / rate) for index in range(count)]
    with ThreadPoolExecutor(max_workers=min(SENDERS, count)) as pool:
        futures = []
        for index, placement in enumerate(placements):
            delay = placement.scheduled - time.time()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(shop.place, placement, index, product_id))
        for future in futures:
            future.result()
    return placements


def plain(item: dict) -> dict:
    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in item.items()}


def scan(table: str) -> list[dict]:
    dynamodb = boto3.client("dynamodb")
    items = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        items.extend(plain(item) for item in page["Items"])
    return items


def order_states(order_ids: list[str]) -> dict[str, dict]:
    """The orders' items, read in batches of 100 (BatchGetItem), not through the API."""
    dynamodb = boto3.client("dynamodb")
    found = {}
    for offset in range(0, len(order_ids), 100):
        keys = [
            {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}
            for order_id in order_ids[offset : offset + 100]
        ]
        request = {f"{STAGE}-orders": {"Keys": keys}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(f"{STAGE}-orders", []):
                order = plain(item)
                found[order["order_id"]] = order
            request = answer.get("UnprocessedKeys") or None
    return found


def wait_terminal(order_ids: list[str], timeout: float) -> dict[str, dict]:
    """Until every order is confirmed, rejected or cancelled (or `timeout`); their items."""
    deadline = time.monotonic() + timeout
    while True:
        states = order_states(order_ids)
        pending = [i for i in order_ids if (states.get(i) or {}).get("status") not in saga.TERMINAL]
        if not pending or time.monotonic() > deadline:
            return states
        time.sleep(1.0)


def log_events(function: str, since: float) -> list[dict]:
    return ops.log_lines(boto3.client("logs"), f"/aws/lambda/{STAGE}-{function}", int(since * 1000))


def all_functions() -> list[str]:
    """Every function of the bench stack, by its name without the stage."""
    logs = boto3.client("logs")
    prefix = f"/aws/lambda/{STAGE}-"
    names, kwargs = [], {"logGroupNamePrefix": prefix}
    while True:
        page = logs.describe_log_groups(**kwargs)
        names += [group["logGroupName"][len(prefix) :] for group in page.get("logGroups", [])]
        if not page.get("nextToken"):
            return names
        kwargs["nextToken"] = page["nextToken"]


def logged_since(since: float) -> dict[str, list[dict]]:
    """Every log event of every bench stack function since `since` (epoch seconds)."""
    return {function: log_events(function, since) for function in all_functions()}


def dead_letters() -> dict[str, int]:
    """Messages in each of the bench stack's dead-letter and relay-failure queues."""
    sqs = boto3.client("sqs")
    depth = {}
    for url in sqs.list_queues(QueueNamePrefix=f"{STAGE}-").get("QueueUrls", []):
        name = url.rsplit("/", 1)[-1]
        if name.endswith("-dlq") or name.endswith("-failures"):
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depth[name] = sum(int(value) for value in attributes.values())
    return depth


def outcome(placements: list[Placement], timeout: float) -> dict:
    """What became of a load's orders, from the tables and the logs once every order is
    terminal (or `timeout` passed): latency, throughput, the hop attribution, invocations."""
    placed = [p for p in placements if p.order_id]
    ids = [p.order_id for p in placed]
    states = wait_terminal(ids, timeout)
    # Notifications and the last relay run after the order is terminal: let them finish.
    time.sleep(3)
    records = saga.items_by_order(
        scan(f"{STAGE}-orders"), scan(f"{STAGE}-inventory"), scan(f"{STAGE}-notifications")
    )
    timelines = []
    for placement in placed:
        record = records.get(placement.order_id) or {
            "order": states.get(placement.order_id),
            "events": {},
            "charged_at": None,
            "notified_at": None,
        }
        record["order"] = states.get(placement.order_id) or record["order"]
        timelines.append((saga.timeline(placement.sent, record), record))
    terminal = [points for points, _ in timelines if points["terminal"] is not None]
    by_status: dict[str, int] = {}
    for points, _ in timelines:
        by_status[points["status"] or "unknown"] = by_status.get(points["status"] or "unknown", 0) + 1
    first_sent = min((p.sent for p in placements), default=0.0)
    last_sent = max((p.sent for p in placements), default=0.0)
    ends = sorted(points["terminal"] for points in terminal)
    last_terminal = ends[-1] if ends else first_sent
    lateness = [(p.sent - p.scheduled) * 1000 for p in placements]
    logged = logged_since(first_sent - 1)
    invoked = {function: saga.invocations(function, events) for function, events in logged.items()}
    since, until = first_sent - 1, last_terminal + 3
    log_bytes = {
        function: sum(
            len(event["message"].encode()) for event in events if since <= event["timestamp"] / 1000 <= until
        )
        for function, events in logged.items()
    }
    return {
        "orders": len(placements),
        "placed": len(placed),
        "refused": [{"status": p.status, "error": p.error} for p in placements if not p.order_id][:5],
        "refused_count": len(placements) - len(placed),
        "retried_placements": sum(1 for p in placements if p.attempts > 1),
        "by_status": by_status,
        "not_terminal": len(placed) - len(terminal),
        "arrival_spread_s": round(last_sent - first_sent, 3),
        "send_lateness_ms": saga.summary(lateness),
        "api_latency_ms": saga.summary([(p.answered - p.sent) * 1000 for p in placed]),
        "placed_to_terminal_ms": saga.summary([(t["terminal"] - t["placed"]) * 1000 for t in terminal]),
        "placed_to_confirmed_ms": saga.summary(
            [(t["terminal"] - t["placed"]) * 1000 for t in terminal if t["status"] == "confirmed"]
        ),
        "achieved_per_s": saga.throughput(ends),
        "hops_ms": saga.attribute(timelines, {f: invoked[f] for f in SAGA_FUNCTIONS if f in invoked}),
        "invocations": saga.invocation_totals(invoked, since, until),
        "log_bytes": {function: size for function, size in log_bytes.items() if size},
        "completions": sorted([round(t["terminal"] - first_sent, 3), t["status"]] for t in terminal),
    }


def open_loop(shop: Shop, rates: list[float], seconds: float, wait_idle, timeout: float = 300) -> list[dict]:
    levels = []
    for rate in rates:
        wait_idle()
        print(f"  {rate:5g} orders/s for {seconds:g} s ...", end="", flush=True)
        result = {
            "offered_per_s": rate,
            "seconds": seconds,
            **outcome(arrivals(shop, rate, seconds), timeout),
        }
        del result[
            "completions"
        ]  # the flash sale's chart needs them; here they would only bloat results.json
        latency = result["placed_to_terminal_ms"]
        print(
            f" achieved {result['achieved_per_s']:6.2f}/s, placed->terminal p50/p95/p99 "
            f"{latency.get('p50', '-')}/{latency.get('p95', '-')}/{latency.get('p99', '-')} ms, "
            f"{result['not_terminal']} not terminal, {result['refused_count']} refused"
        )
        levels.append(result)
    return levels


def flash_sale(
    shop: Shop,
    admin_token: str,
    run: str,
    orders: int,
    stock: int,
    within: float,
    wait_idle,
    timeout: float = 300,
) -> dict:
    """`orders` customers order one unit of a product with `stock` units, all within `within`
    seconds: exactly `stock` confirmed, the rest rejected, every order terminal, no dead
    letters, the stock at zero. Returns the figures and the checks' outcome."""
    api = shop.api
    status, product = api.call(
        "POST",
        "/products",
        {
            "sku": f"FLASH-{run}",
            "name": "Flash-sale mug",
            "category": "kitchen",
            "price": {"amount_minor": 1499, "currency": "EUR"},
        },
        admin_token,
    )
    if status != 201:
        raise RuntimeError(f"creating the flash-sale product failed: {status} {product}")
    for _ in range(120):
        status, _ = api.call("PUT", f"/inventory/{product['id']}", {"on_hand": stock}, admin_token)
        if status == 200:
            break
        time.sleep(0.5)
    else:
        raise RuntimeError("inventory never learned of the flash-sale product")
    # The orders service prices from its own copy of the catalog (ProductCreated): wait for it.
    for _ in range(120):
        if priced(product["id"]):
            break
        time.sleep(0.5)
    else:
        raise RuntimeError("the orders service never learned of the flash-sale product")
    wait_idle()
    dead_before = dead_letters()
    print(f"  {orders} orders for {stock} units within {within:g} s ...", end="", flush=True)
    result = outcome(arrivals(shop, orders / within, within, product["id"]), timeout)
    _, level = api.call("GET", f"/inventory/{product['id']}")
    dead_after = dead_letters()
    new_dead = {
        name: depth - dead_before.get(name, 0)
        for name, depth in dead_after.items()
        if depth > dead_before.get(name, 0)
    }
    confirmed = result["by_status"].get("confirmed", 0)
    checks = {
        f"exactly {stock} confirmed": confirmed == stock,
        "every order placed": result["placed"] == orders,
        "every order terminal": result["not_terminal"] == 0,
        "the rest rejected": result["by_status"].get("rejected", 0) == orders - stock,
        "no dead letters": not new_dead,
        # Confirmed orders keep their reservation: the stock is all reserved, none available.
        "stock sold out": bool(level) and level.get("available") == 0 and level.get("reserved") == stock,
    }
    result.update(
        {
            "stock": stock,
            "within_s": within,
            "inventory_after": level,
            "new_dead_letters": new_dead,
            "checks": checks,
            "passed": all(checks.values()),
        }
    )
    latency = result["placed_to_terminal_ms"]
    print(
        f" {confirmed} confirmed, placed->terminal p50/p95/p99 {latency.get('p50', '-')}/"
        f"{latency.get('p95', '-')}/{latency.get('p99', '-')} ms, {result['achieved_per_s']}/s"
        + ("" if result["passed"] else f"; FAILED: {[name for name, ok in checks.items() if not ok]}")
    )
    return result


def priced(product_id: str) -> bool:
    """Whether the orders service has a price for the product (its copy of the catalog)."""
    answer = boto3.client("dynamodb").get_item(
        TableName=f"{STAGE}-orders", Key={"pk": {"S": f"PRICE#{product_id}"}, "sk": {"S": "PRICE"}}
    )
    return "Item" in answer
