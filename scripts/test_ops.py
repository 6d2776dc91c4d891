"""Tests of the operator's commands (scripts/ops.py).

`OpsHelpers` needs nothing running. `OnTheRunningStack` needs the stack `make up` (or
scripts/test.sh) deployed onto the emulator, found through `.local/stack.<stage>.json`; it is
what the issue's "done when" asks for: a saga's metrics in the logs with the right names and
values, a dead-lettered message redriven and applied exactly once, and `make status` showing
the orders `make demo` placed.

    .venv/bin/python -m unittest scripts/test_ops.py              # both (make test runs this)
    .venv/bin/python -m unittest scripts.test_ops.OpsHelpers      # only the helpers
"""
import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ops  # noqa: E402


class OpsHelpers(unittest.TestCase):
    def test_a_since_window_is_a_number_and_a_unit(self):
        self.assertEqual(ops.parse_since("15m"), 900)
        self.assertEqual(ops.parse_since("2h"), 7200)
        self.assertEqual(ops.parse_since("30s"), 30)
        with self.assertRaises(Exception):
            ops.parse_since("15 minutes")

    def test_an_envelope_is_found_raw_or_inside_an_sns_notification_and_anything_else_is_none(self):
        envelope = {"id": "e-1", "type": "OrderPlaced", "correlation_id": "c-1", "data": {}}
        self.assertEqual(ops.envelope_of(json.dumps(envelope)), envelope)
        wrapped = {"Type": "Notification", "Message": json.dumps(envelope)}
        self.assertEqual(ops.envelope_of(json.dumps(wrapped)), envelope)
        self.assertIsNone(ops.envelope_of('{"not": "an envelope"}'))
        self.assertIsNone(ops.envelope_of("plain text"))

    def test_metric_values_are_read_from_an_emf_line_only(self):
        line = {"_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "OrdersConfirmed"}, {"Name": "SagaDuration"}]}]},
                "OrdersConfirmed": 1.0, "SagaDuration": 840.0, "Service": "orders"}
        self.assertEqual(ops.metrics_of(line), {"OrdersConfirmed": 1.0, "SagaDuration": 840.0})
        self.assertEqual(ops.metrics_of({"level": "INFO", "message": "order placed"}), {})

    def test_percentiles_are_nearest_rank(self):
        values = list(range(1, 101))
        self.assertEqual(ops.percentile(values, 0.50), 50)
        self.assertEqual(ops.percentile(values, 0.95), 95)
        self.assertEqual(ops.percentile([7], 0.95), 7)
        self.assertIsNone(ops.percentile([], 0.5))

    def test_a_log_line_reads_as_time_function_level_message_fields_and_saga_ids(self):
        entry = {"function": "orders-worker", "timestamp": 1_700_000_000_123, "line": {
            "timestamp": "x", "level": "INFO", "message": "payment approved", "order_id": "o-1", "attempt": 2,
            "spans": [{"requestId": "r"}, {"correlation_id": "c-1", "event_type": "StockReserved", "xray_trace_id": "1-a-b"}]}}
        self.assertEqual(ops.readable(entry), "22:13:20.123 orders-worker                INFO  payment approved  order_id=o-1 attempt=2"
                                              "  [corr=c-1 event=StockReserved trace=1-a-b]")
        metric = {"function": "orders-api", "timestamp": 1_700_000_000_000, "line": {
            "_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "OrdersPlaced"}]}]}, "OrdersPlaced": 1.0, "correlation_id": "c-2"}}
        self.assertEqual(ops.readable(metric), "22:13:20.000 orders-api                   METRIC OrdersPlaced=1  [corr=c-2]")
        platform = {"function": "orders-api", "timestamp": 1_700_000_000_000, "line": "REPORT RequestId: r\tDuration: 3 ms"}
        self.assertTrue(ops.readable(platform).endswith("REPORT RequestId: r\tDuration: 3 ms"))


def template():
    """infra/template.yaml with its intrinsic functions as {"!Ref": ...}-style dicts."""
    import yaml  # cfn-lint's, in the project venv

    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {f"!{suffix}": value}
    Loader.add_multi_constructor("!", tagged)
    return yaml.load((ROOT / "infra" / "template.yaml").read_text(), Loader=Loader)


class TemplateAlarms(unittest.TestCase):
    """What docs/operations.md promises of the template, for every function and queue it has
    now and any added later."""

    @classmethod
    def setUpClass(cls):
        cls.template = template()
        cls.resources = cls.template["Resources"]
        cls.alarms = {name: r["Properties"] for name, r in cls.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}

    def watching(self, namespace, metric, dimension_value):
        return [name for name, a in self.alarms.items()
                if a.get("Namespace") == namespace and a.get("MetricName") == metric
                and any(d["Value"] == dimension_value for d in a.get("Dimensions", []))]

    def test_every_function_has_an_errors_and_a_throttles_alarm(self):
        functions = [name for name, r in self.resources.items() if r["Type"] == "AWS::Serverless::Function"]
        self.assertGreaterEqual(len(functions), 16)
        for function in functions:
            for metric in ("Errors", "Throttles"):
                self.assertEqual(len(self.watching("AWS/Lambda", metric, {"!Ref": function})), 1, f"{function} {metric}")

    def test_every_worker_queue_has_an_age_alarm_and_every_relay_an_iterator_age_alarm(self):
        queues = [name for name, r in self.resources.items()
                  if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r.get("Properties", {})]
        self.assertEqual(len(queues), 3)
        for queue in queues:
            self.assertEqual(len(self.watching("AWS/SQS", "ApproximateAgeOfOldestMessage", {"!GetAtt": f"{queue}.QueueName"})), 1, queue)
        relays = [name for name in self.resources if name.endswith("OutboxRelayFunction")]
        self.assertEqual(len(relays), 4)
        for relay in relays:
            self.assertEqual(len(self.watching("AWS/Lambda", "IteratorAge", {"!Ref": relay})), 1, relay)

    def test_every_alarm_notifies_the_alarm_topic_and_its_threshold_is_a_parameter_or_zero(self):
        parameters = self.template["Parameters"]
        for name, alarm in self.alarms.items():
            self.assertEqual(alarm.get("AlarmActions"), [{"!Ref": "AlarmTopic"}], name)
            threshold = alarm["Threshold"]
            if isinstance(threshold, dict):
                self.assertIn(threshold["!Ref"], parameters, name)
            else:
                self.assertEqual(threshold, 0, f"{name}: a fixed threshold other than 'any'")

    def test_the_api_has_a_5xx_and_a_p99_latency_alarm_and_the_dashboard_names_real_metrics(self):
        self.assertTrue(self.watching("AWS/ApiGateway", "Latency", {"!Ref": "HttpApi"}))
        rate = self.alarms["HttpApi5xxRateAlarm"]
        self.assertEqual(rate["Metrics"][0]["Expression"], "100 * errors / MAX([errors, requests])")
        self.assertTrue(self.watching("AWS/ApiGateway", "5xx", {"!Ref": "HttpApi"}))
        body = self.resources["Dashboard"]["Properties"]["DashboardBody"]["!Sub"]
        dashboard = json.loads(body)
        text = json.dumps(dashboard)
        for metric in ("OrdersPlaced", "OrdersConfirmed", "OrdersRejected", "OrdersCancelled", "SagaDuration", "5xx", "Latency",
                       "ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible", "IteratorAge", "Errors", "Throttles", "Duration"):
            self.assertIn(metric, text)
        # Every metric the functions emit (shared/src/metrics.rs) is on the dashboard.
        emitted = re.findall(r'pub const \w+: &str = "(\w+)";', (ROOT / "shared" / "src" / "metrics.rs").read_text())
        for name in emitted:
            if name != "ServerlessShop":
                self.assertIn(name, text, f"{name} is emitted but not on the dashboard")


def stack():
    stage = os.environ.get("STAGE") or "local"
    path = ROOT / ".local" / f"stack.{stage}.json"
    if not path.exists():
        raise AssertionError(f"{path} is missing: these tests need the deployed stack (make up, or make test)")
    info = json.loads(path.read_text())
    # Through this run's endpoint, never a stored URL: a dead AWS_ENDPOINT_URL fails these tests.
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566").rstrip("/")
    info["url"] = f"{endpoint}/_aws/execute-api/{info['api_id']}"
    return info


def call(url, method, path, body=None, token=None, headers=None):
    request = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(), method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def ops_json(*args):
    """scripts/ops.py as `make` runs it, with --json: what an operator's tool would read."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "ops.py"), *args, "--json"], capture_output=True, text=True,
                          timeout=120, check=False)
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

    def customer(self):
        email = f"ops-{uuid.uuid4().hex[:10]}@example.org"
        status, _ = call(self.url, "POST", "/users", {"email": email, "password": "correct horse battery", "name": "Ops"})
        self.assertEqual(status, 201)
        status, token = call(self.url, "POST", "/auth/token", {"email": email, "password": "correct horse battery"})
        self.assertEqual(status, 200)
        return token["access_token"]

    def product(self, sku):
        status, page = call(self.url, "GET", "/products?limit=50")
        self.assertEqual(status, 200)
        return next(p for p in page["items"] if p["sku"] == sku)

    def saga(self, token, product, card):
        """Places one order under a correlation id of our own; returns (id, final order, seconds)."""
        correlation_id = f"ops-test-{uuid.uuid4()}"
        started = time.monotonic()
        status, order = call(self.url, "POST", "/orders", {"lines": [{"product_id": product["id"], "quantity": 1}], "payment_token": card},
                             token, {"idempotency-key": uuid.uuid4().hex, "x-correlation-id": correlation_id})
        self.assertEqual(status, 201, order)
        final = eventually("the saga to finish", lambda: (lambda o: o if o["status"] != "PENDING" else None)(
            call(self.url, "GET", f"/orders/{order['id']}", token=token)[1]))
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
        found = self.metrics(confirmed_id, {"OrdersPlaced", "OrdersConfirmed", "SagaDuration", "EventsProcessed", "NotificationsSent"})
        self.assertEqual([v for v, _ in found[("orders-api", "OrdersPlaced")]], [1.0])
        self.assertEqual([v for v, _ in found[("orders-worker", "OrdersConfirmed")]], [1.0])
        [(duration, line)] = found[("orders-worker", "SagaDuration")]
        self.assertGreater(duration, 0)
        self.assertLess(duration, took * 1000 + 1000, "the saga cannot have taken longer than the test watched it")
        self.assertEqual([v for v, _ in found[("inventory-worker", "EventsProcessed")]], [1.0])
        self.assertEqual([v for v, _ in found[("notifications-worker", "NotificationsSent")]], [1.0])
        self.assertNotIn(("orders-worker", "OrdersRejected"), found)
        directive = line["_aws"]["CloudWatchMetrics"][0]
        self.assertEqual(directive["Namespace"], "ServerlessShop")
        self.assertEqual(directive["Dimensions"], [["Service", "Stage"], ["Service", "Function", "Stage"]])
        self.assertEqual({m["Name"]: m["Unit"] for m in directive["Metrics"]}, {"OrdersConfirmed": "Count", "SagaDuration": "Milliseconds"})
        self.assertEqual((line["Service"], line["Function"], line["Stage"]), ("orders", "orders-worker", self.stage))
        self.assertTrue(line.get("xray_trace_id"), f"no X-Ray trace id on {line}")

        declined_id, declined, _ = self.saga(token, stickers, "tok_chargeDeclined")
        self.assertEqual((declined["status"], declined.get("reason")), ("CANCELLED", "payment_declined"))
        found = self.metrics(declined_id, {"OrdersPlaced", "OrdersCancelled", "PaymentsDeclined", "SagaDuration"})
        self.assertEqual([v for v, _ in found[("orders-worker", "PaymentsDeclined")]], [1.0])
        self.assertEqual([v for v, _ in found[("orders-worker", "OrdersCancelled")]], [1.0])
        self.assertNotIn(("orders-worker", "OrdersConfirmed"), found)

        # Every line of the saga, from every function, carries the correlation id and a trace id.
        lines = ops_json("logs", "--correlation-id", confirmed_id, "--since", "10m")
        self.assertTrue({"orders-api", "inventory-worker", "orders-worker", "notifications-worker"} <= {e["function"] for e in lines})
        self.assertTrue(all(ops.span_field(e["line"], "xray_trace_id") for e in lines), "a line without its X-Ray trace id")

    def test_a_message_that_failed_for_a_reason_later_fixed_is_redriven_and_applied_exactly_once(self):
        import boto3  # the project venv's; only the emulator tests need it
        sqs = boto3.client("sqs")
        ddb = boto3.client("dynamodb")
        queue = sqs.get_queue_url(QueueName=f"{self.stage}-notifications")["QueueUrl"]
        table = self.stack["outputs"]["NotificationsTableName"]
        customer, order, event_id, correlation_id = uuid.uuid4(), uuid.uuid4(), str(uuid.uuid4()), f"ops-redrive-{uuid.uuid4()}"
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        total = {"amount_minor": 499, "currency": "EUR"}
        confirmed = {"id": event_id, "type": "OrderConfirmed", "version": 1, "source": "orders", "time": now,
                     "correlation_id": correlation_id, "causation_id": correlation_id,
                     "data": {"order_id": str(order), "customer_id": str(customer), "total": total,
                              "lines": [{"product_id": str(uuid.uuid4()), "quantity": 1, "unit_price": total}]}}
        # The confirmation arrives before notifications has heard of its customer: every receive
        # fails (unknown recipient) until the queue's maxReceiveCount moves it to the DLQ.
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(confirmed))

        def dead_lettered():
            for q in ops_json("dlq", "--queue", "notifications-dlq"):
                for m in q["messages"]:
                    if m["event_id"] == event_id and m["reason"]:
                        return m
            return None
        listed = eventually("the confirmation in the notifications DLQ with its reason", dead_lettered, timeout=150, every=3)
        self.assertEqual((listed["event_type"], listed["correlation_id"]), ("OrderConfirmed", correlation_id))
        self.assertEqual((listed["source"], listed["consumer"]), (f"{self.stage}-notifications", f"{self.stage}-notifications-worker"))
        self.assertIn(f"recipient {customer} is not known yet", listed["reason"])

        def notifications():
            items = ddb.query(TableName=table, KeyConditionExpression="pk = :pk",
                              ExpressionAttributeValues={":pk": {"S": f"USER#{customer}"}}, ConsistentRead=True)["Items"]
            return [i for i in items if i.get("kind", {}).get("S") == "notification" and i["event_id"]["S"] == event_id]
        self.assertEqual(notifications(), [], "nothing may be sent while the recipient is unknown")

        # The fix: the customer's registration reaches notifications.
        registered = {"id": str(uuid.uuid4()), "type": "UserRegistered", "version": 1, "source": "users", "time": now,
                      "correlation_id": f"ops-register-{customer}", "causation_id": f"ops-register-{customer}",
                      "data": {"user_id": str(customer), "email": f"ops-{customer.hex[:10]}@example.org", "name": "Ops"}}
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(registered))
        eventually("the recipient to be known", lambda: ddb.get_item(
            TableName=table, Key={"pk": {"S": f"RECIPIENT#{customer}"}, "sk": {"S": "RECIPIENT"}}, ConsistentRead=True).get("Item"))

        [moved] = ops_json("redrive", "--queue", "notifications-dlq", "--match", event_id)
        self.assertEqual((moved["status"], moved["moved"], moved["method"]), ("COMPLETED", 1, "receive-send-delete"))
        sent = eventually("the redriven confirmation to be sent",
                          lambda: [n for n in notifications() if n["status"]["S"] == "sent"], timeout=60)
        self.assertEqual(len(sent), 1)
        # Redriving again finds nothing, and nothing is sent twice.
        [again] = ops_json("redrive", "--queue", "notifications-dlq", "--match", event_id)
        self.assertEqual(again["moved"], 0)
        self.assertFalse(any(m["event_id"] == event_id for q in ops_json("dlq", "--queue", "notifications-dlq") for m in q["messages"]))
        time.sleep(3)
        self.assertEqual(len(notifications()), 1)
        counted = [e for e in ops_json("logs", "--correlation-id", correlation_id, "--since", "10m")
                   if "NotificationsSent" in ops.metrics_of(e["line"])]
        self.assertEqual(len(counted), 1, counted)

    def test_status_after_the_demo_shows_the_demos_orders_in_their_final_states(self):
        demo = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")], capture_output=True, text=True, timeout=300, check=False,
                              env={**os.environ, "SHOP_API_URL": self.url})
        self.assertEqual(demo.returncode, 0, demo.stdout + demo.stderr)
        placed = re.findall(r"order ([0-9a-f]{8}) placed", demo.stdout)
        self.assertEqual(len(placed), 3, demo.stdout)
        report = ops_json("status", "--since", "15m")
        recent = {o["order_id"][:8]: o["status"] for o in report["recent_orders"]}
        # Confirmed then cancelled by the customer; rejected out of stock; cancelled on a decline.
        self.assertEqual([recent.get(prefix) for prefix in placed], ["CANCELLED", "REJECTED", "CANCELLED"], report["recent_orders"])
        self.assertGreaterEqual(report["orders"].get("CANCELLED", 0), 2)
        self.assertGreaterEqual(report["orders"].get("REJECTED", 0), 1)
        self.assertGreaterEqual(report["metrics"].get("OrdersPlaced", 0), 3)
        self.assertGreaterEqual(report["saga_ms"]["count"], 3)
        self.assertIsNotNone(report["saga_ms"]["p95"])
        names = {q["queue"] for q in report["queues"]}
        self.assertEqual(names, {f"{self.stage}-{s}" for s in ("inventory", "orders", "notifications")})
        self.assertEqual(set(report["outbox_pending"]), {"users", "products", "inventory", "orders", "notifications"})
        # The screen an operator sees names them too.
        screen = subprocess.run([sys.executable, str(ROOT / "scripts" / "ops.py"), "status", "--since", "15m"], capture_output=True,
                                text=True, timeout=120, check=True).stdout
        for prefix in placed:
            self.assertRegex(screen, rf"{prefix}[0-9a-f-]+\s+(CANCELLED|REJECTED)")


if __name__ == "__main__":
    unittest.main()
