"""The operator's commands (scripts/ops.py) against the stack `make up` (or scripts/test.sh)
deployed onto the emulator, found through `.local/stack.<stage>.json`: what issue 16's "done
when" asks for. A saga's metrics in its log lines with the right names and values, a
dead-lettered message redriven and applied exactly once, `make status` showing the orders
`make demo` placed. Requests go through scripts/shop_api.py, so API_TRANSPORT=invoke works too.

    .venv/bin/python -m unittest scripts/ops_stack_tests.py     (make test runs it)
"""

import json
import os
import re
import subprocess
import sys
import time
import unittest
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ops  # noqa: E402
from shop_api import ShopApi  # noqa: E402


def stack():
    stage = os.environ.get("STAGE") or "local"
    path = ROOT / ".local" / f"stack.{stage}.json"
    if not path.exists():
        raise AssertionError(
            f"{path} is missing: these tests need the deployed stack (make up, or make test)"
        )
    info = json.loads(path.read_text())
    # Through this run's endpoint, never a stored URL: a dead AWS_ENDPOINT_URL fails these tests.
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566").rstrip("/")
    info["url"] = f"{endpoint}/_aws/execute-api/{info['api_id']}"
    return info


def ops_json(*args):
    """scripts/ops.py as `make` runs it, with --json: what an operator's tool would read."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ops.py"), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"ops.py {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    text = done.stdout.strip()
    if args[0] == "logs":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def eventually(what, probe, timeout=60.0, every=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s")
        time.sleep(every)


class OnTheRunningStack(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = stack()
        cls.stage = cls.stack["stage"]
        cls.url = cls.stack["url"]
        cls.api = ShopApi(cls.stage, cls.url)

    def customer(self):
        email = f"ops-{uuid.uuid4().hex[:10]}@example.org"
        status, _ = self.api.call(
            "POST", "/users", {"email": email, "password": "correct horse battery", "name": "Ops"}
        )
        self.assertEqual(status, 201)
        status, token = self.api.call(
            "POST", "/auth/token", {"email": email, "password": "correct horse battery"}
        )
        self.assertEqual(status, 200)
        return token["access_token"]

    def product(self, sku):
        status, page = self.api.call("GET", "/products?limit=50")
        self.assertEqual(status, 200)
        return next(p for p in page["items"] if p["sku"] == sku)

    def saga(self, token, product, card):
        """Places one order under a correlation id of our own; returns (id, final order, seconds)."""
        correlation_id = f"ops-test-{uuid.uuid4()}"
        started = time.monotonic()
        status, order = self.api.call(
            "POST",
            "/orders",
            {"lines": [{"product_id": product["id"], "quantity": 1}], "payment_token": card},
            token,
            {"idempotency-key": uuid.uuid4().hex, "x-correlation-id": correlation_id},
        )
        self.assertEqual(status, 201, order)
        final = eventually(
            "the saga to finish",
            lambda: (lambda o: o if o["status"] != "PENDING" else None)(
                self.api.call("GET", f"/orders/{order['id']}", token=token)[1]
            ),
        )
        return correlation_id, final, time.monotonic() - started

    def metrics(self, correlation_id, expected):
        """The saga's EMF values by (function, metric), once every `expected` name appeared."""

        def probe():
            found = {}
            for entry in ops_json("logs", "--correlation-id", correlation_id, "--since", "10m"):
                for name, value in ops.metrics_of(entry["line"]).items():
                    found.setdefault((entry["function"], name), []).append((value, entry["line"]))
            return found if expected <= {name for _, name in found} else None

        return eventually(f"metrics {sorted(expected)} for {correlation_id}", probe, timeout=30)

    def test_a_saga_puts_its_metrics_in_the_logs_with_the_right_names_and_values(self):
        token = self.customer()
        stickers = self.product("STK-001")

        confirmed_id, confirmed, took = self.saga(token, stickers, "tok_visa")
        self.assertEqual(confirmed["status"], "CONFIRMED")
        found = self.metrics(
            confirmed_id,
            {"OrdersPlaced", "OrdersConfirmed", "SagaDuration", "EventsProcessed", "NotificationsSent"},
        )
        self.assertEqual([v for v, _ in found[("orders-api", "OrdersPlaced")]], [1.0])
        self.assertEqual([v for v, _ in found[("orders-worker", "OrdersConfirmed")]], [1.0])
        [(duration, line)] = found[("orders-worker", "SagaDuration")]
        self.assertGreater(duration, 0)
        self.assertLess(
            duration, took * 1000 + 1000, "the saga cannot have taken longer than the test watched it"
        )
        self.assertEqual([v for v, _ in found[("inventory-worker", "EventsProcessed")]], [1.0])
        self.assertEqual([v for v, _ in found[("notifications-worker", "NotificationsSent")]], [1.0])
        self.assertNotIn(("orders-worker", "OrdersRejected"), found)
        directive = line["_aws"]["CloudWatchMetrics"][0]
        self.assertEqual(directive["Namespace"], "ServerlessShop")
        self.assertEqual(directive["Dimensions"], [["Service", "Stage"], ["Service", "Function", "Stage"]])
        self.assertEqual(
            {m["Name"]: m["Unit"] for m in directive["Metrics"]},
            {"OrdersConfirmed": "Count", "SagaDuration": "Milliseconds"},
        )
        self.assertEqual(
            (line["Service"], line["Function"], line["Stage"]), ("orders", "orders-worker", self.stage)
        )
        if os.environ.get("EMULATOR", "ministack") == "ministack":
            self.assertTrue(line.get("xray_trace_id"), f"no X-Ray trace id on {line}")

        declined_id, declined, _ = self.saga(token, stickers, "tok_chargeDeclined")
        self.assertEqual((declined["status"], declined.get("reason")), ("CANCELLED", "payment_declined"))
        found = self.metrics(
            declined_id, {"OrdersPlaced", "OrdersCancelled", "PaymentsDeclined", "SagaDuration"}
        )
        self.assertEqual([v for v, _ in found[("orders-worker", "PaymentsDeclined")]], [1.0])
        self.assertEqual([v for v, _ in found[("orders-worker", "OrdersCancelled")]], [1.0])
        self.assertNotIn(("orders-worker", "OrdersConfirmed"), found)

        # Every line of the saga, from every function, carries the correlation id and a trace id.
        lines = ops_json("logs", "--correlation-id", confirmed_id, "--since", "10m")
        self.assertTrue(
            {"orders-api", "inventory-worker", "orders-worker", "notifications-worker"}
            <= {e["function"] for e in lines}
        )
        if os.environ.get("EMULATOR", "ministack") == "ministack":  # it traces every invocation
            self.assertTrue(
                all(ops.span_field(e["line"], "xray_trace_id") for e in lines),
                "a line without its X-Ray trace id",
            )

    def test_a_message_that_failed_for_a_reason_later_fixed_is_redriven_and_applied_exactly_once(self):
        import boto3  # the project venv's; only the emulator tests need it

        sqs = boto3.client("sqs")
        ddb = boto3.client("dynamodb")
        queue = sqs.get_queue_url(QueueName=f"{self.stage}-notifications")["QueueUrl"]
        table = self.stack["outputs"]["NotificationsTableName"]
        customer, order, event_id, correlation_id = (
            uuid.uuid4(),
            uuid.uuid4(),
            str(uuid.uuid4()),
            f"ops-redrive-{uuid.uuid4()}",
        )
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        total = {"amount_minor": 499, "currency": "EUR"}
        confirmed = {
            "id": event_id,
            "type": "OrderConfirmed",
            "version": 1,
            "source": "orders",
            "time": now,
            "correlation_id": correlation_id,
            "causation_id": correlation_id,
            "data": {
                "order_id": str(order),
                "customer_id": str(customer),
                "total": total,
                "lines": [{"product_id": str(uuid.uuid4()), "quantity": 1, "unit_price": total}],
            },
        }
        # The confirmation arrives before notifications has heard of its customer: every receive
        # fails (unknown recipient) until the queue's maxReceiveCount moves it to the DLQ.
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(confirmed))

        def dead_lettered():
            for q in ops_json("dlq", "--queue", "notifications-dlq"):
                for m in q["messages"]:
                    if m["event_id"] == event_id and m["reason"]:
                        return m
            return None

        listed = eventually(
            "the confirmation in the notifications DLQ with its reason", dead_lettered, timeout=150, every=3
        )
        self.assertEqual((listed["event_type"], listed["correlation_id"]), ("OrderConfirmed", correlation_id))
        self.assertEqual(
            (listed["source"], listed["consumer"]),
            (f"{self.stage}-notifications", f"{self.stage}-notifications-worker"),
        )
        self.assertIn(f"recipient {customer} is not known yet", listed["reason"])

        def notifications():
            items = ddb.query(
                TableName=table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"USER#{customer}"}},
                ConsistentRead=True,
            )["Items"]
            return [
                i
                for i in items
                if i.get("kind", {}).get("S") == "notification" and i["event_id"]["S"] == event_id
            ]

        self.assertEqual(notifications(), [], "nothing may be sent while the recipient is unknown")

        # The fix: the customer's registration reaches notifications.
        registered = {
            "id": str(uuid.uuid4()),
            "type": "UserRegistered",
            "version": 1,
            "source": "users",
            "time": now,
            "correlation_id": f"ops-register-{customer}",
            "causation_id": f"ops-register-{customer}",
            "data": {
                "user_id": str(customer),
                "email": f"ops-{customer.hex[:10]}@example.org",
                "name": "Ops",
            },
        }
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(registered))
        eventually(
            "the recipient to be known",
            lambda: ddb.get_item(
                TableName=table,
                Key={"pk": {"S": f"RECIPIENT#{customer}"}, "sk": {"S": "RECIPIENT"}},
                ConsistentRead=True,
            ).get("Item"),
        )

        [moved] = ops_json("redrive", "--queue", "notifications-dlq", "--match", event_id)
        self.assertEqual(
            (moved["status"], moved["moved"], moved["method"]), ("COMPLETED", 1, "receive-send-delete")
        )
        sent = eventually(
            "the redriven confirmation to be sent",
            lambda: [n for n in notifications() if n["status"]["S"] == "sent"],
            timeout=60,
        )
        self.assertEqual(len(sent), 1)
        # Redriving again finds nothing, and nothing is sent twice.
        [again] = ops_json("redrive", "--queue", "notifications-dlq", "--match", event_id)
        self.assertEqual(again["moved"], 0)
        self.assertFalse(
            any(
                m["event_id"] == event_id
                for q in ops_json("dlq", "--queue", "notifications-dlq")
                for m in q["messages"]
            )
        )
        time.sleep(3)
        self.assertEqual(len(notifications()), 1)
        counted = [
            e
            for e in ops_json("logs", "--correlation-id", correlation_id, "--since", "10m")
            if "NotificationsSent" in ops.metrics_of(e["line"])
        ]
        self.assertEqual(len(counted), 1, counted)

    def test_status_after_the_demo_shows_the_demos_orders_in_their_final_states(self):
        demo = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "demo.py")],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "SHOP_STAGE": self.stage, "SHOP_API_URL": self.url},
        )
        self.assertEqual(demo.returncode, 0, demo.stdout + demo.stderr)
        placed = re.findall(r"order ([0-9a-f]{8}) placed", demo.stdout)
        self.assertEqual(len(placed), 3, demo.stdout)
        report = ops_json("status", "--since", "15m")
        recent = {o["order_id"][:8]: o["status"] for o in report["recent_orders"]}
        # Confirmed then cancelled by the customer; rejected out of stock; cancelled on a decline.
        self.assertEqual(
            [recent.get(prefix) for prefix in placed],
            ["CANCELLED", "REJECTED", "CANCELLED"],
            report["recent_orders"],
        )
        self.assertGreaterEqual(report["orders"].get("CANCELLED", 0), 2)
        self.assertGreaterEqual(report["orders"].get("REJECTED", 0), 1)
        self.assertGreaterEqual(report["metrics"].get("OrdersPlaced", 0), 3)
        self.assertGreaterEqual(report["saga_ms"]["count"], 3)
        self.assertIsNotNone(report["saga_ms"]["p95"])
        names = {q["queue"] for q in report["queues"]}
        self.assertEqual(names, {f"{self.stage}-{s}" for s in ("inventory", "orders", "notifications")})
        self.assertEqual(
            set(report["outbox_pending"]), {"users", "products", "inventory", "orders", "notifications"}
        )
        # The screen an operator sees names them too.
        screen = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "ops.py"), "status", "--since", "15m"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        for prefix in placed:
            self.assertRegex(screen, rf"{prefix}[0-9a-f-]+\s+(CANCELLED|REJECTED)")


if __name__ == "__main__":
    unittest.main()
