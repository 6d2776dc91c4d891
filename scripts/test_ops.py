"""Unit tests of the operator's commands (scripts/ops.py) and of what docs/operations.md promises
of the template's alarms and dashboard. Nothing needs to run; make test runs them with the other
scripts/ unit tests. The commands against a deployed stack: scripts/ops_stack_tests.py.

    .venv/bin/python -m unittest scripts/test_ops.py
"""

import argparse
import json
import re
import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ops  # noqa: E402


class OpsHelpers(unittest.TestCase):
    def test_a_since_window_is_a_number_and_a_unit(self):
        self.assertEqual(ops.parse_since("15m"), 900)
        self.assertEqual(ops.parse_since("2h"), 7200)
        self.assertEqual(ops.parse_since("30s"), 30)
        with self.assertRaises(argparse.ArgumentTypeError):
            ops.parse_since("15 minutes")

    def test_an_envelope_is_found_raw_or_inside_an_sns_notification_and_anything_else_is_none(self):
        envelope = {"id": "e-1", "type": "OrderPlaced", "correlation_id": "c-1", "data": {}}
        self.assertEqual(ops.envelope_of(json.dumps(envelope)), envelope)
        wrapped = {"Type": "Notification", "Message": json.dumps(envelope)}
        self.assertEqual(ops.envelope_of(json.dumps(wrapped)), envelope)
        self.assertIsNone(ops.envelope_of('{"not": "an envelope"}'))
        self.assertIsNone(ops.envelope_of("plain text"))

    def test_metric_values_are_read_from_an_emf_line_only(self):
        line = {
            "_aws": {
                "CloudWatchMetrics": [{"Metrics": [{"Name": "OrdersConfirmed"}, {"Name": "SagaDuration"}]}]
            },
            "OrdersConfirmed": 1.0,
            "SagaDuration": 840.0,
            "Service": "orders",
        }
        self.assertEqual(ops.metrics_of(line), {"OrdersConfirmed": 1.0, "SagaDuration": 840.0})
        self.assertEqual(ops.metrics_of({"level": "INFO", "message": "order placed"}), {})

    def test_a_redriven_message_keeps_its_attributes_without_the_reserved_list_fields(self):
        received = {
            "source": {
                "StringValue": "orders",
                "StringListValues": [],
                "BinaryListValues": [],
                "DataType": "String",
            },
            "blob": {"BinaryValue": b"\x01", "DataType": "Binary"},
        }
        self.assertEqual(
            ops.sendable_attributes(received),
            {
                "source": {"StringValue": "orders", "DataType": "String"},
                "blob": {"BinaryValue": b"\x01", "DataType": "Binary"},
            },
        )

    def test_percentiles_are_nearest_rank(self):
        values = list(range(1, 101))
        self.assertEqual(ops.percentile(values, 0.50), 50)
        self.assertEqual(ops.percentile(values, 0.95), 95)
        self.assertEqual(ops.percentile([7], 0.95), 7)
        self.assertIsNone(ops.percentile([], 0.5))

    def test_a_log_line_reads_as_time_function_level_message_fields_and_saga_ids(self):
        entry = {
            "function": "orders-worker",
            "timestamp": 1_700_000_000_123,
            "line": {
                "timestamp": "x",
                "level": "INFO",
                "message": "payment approved",
                "order_id": "o-1",
                "attempt": 2,
                "spans": [
                    {"requestId": "r"},
                    {"correlation_id": "c-1", "event_type": "StockReserved", "xray_trace_id": "1-a-b"},
                ],
            },
        }
        self.assertEqual(
            ops.readable(entry),
            "22:13:20.123 orders-worker                INFO  payment approved  order_id=o-1 attempt=2"
            "  [corr=c-1 event=StockReserved trace=1-a-b]",
        )
        metric = {
            "function": "orders-api",
            "timestamp": 1_700_000_000_000,
            "line": {
                "_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "OrdersPlaced"}]}]},
                "OrdersPlaced": 1.0,
                "correlation_id": "c-2",
            },
        }
        self.assertEqual(
            ops.readable(metric),
            "22:13:20.000 orders-api                   METRIC OrdersPlaced=1  [corr=c-2]",
        )
        platform = {
            "function": "orders-api",
            "timestamp": 1_700_000_000_000,
            "line": "REPORT RequestId: r\tDuration: 3 ms",
        }
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
        cls.alarms = {
            name: r["Properties"]
            for name, r in cls.resources.items()
            if r["Type"] == "AWS::CloudWatch::Alarm"
        }

    def watching(self, namespace, metric, dimension_value):
        return [
            name
            for name, a in self.alarms.items()
            if a.get("Namespace") == namespace
            and a.get("MetricName") == metric
            and any(d["Value"] == dimension_value for d in a.get("Dimensions", []))
        ]

    def test_every_function_has_an_errors_and_a_throttles_alarm(self):
        functions = [name for name, r in self.resources.items() if r["Type"] == "AWS::Serverless::Function"]
        self.assertGreaterEqual(len(functions), 16)
        for function in functions:
            for metric in ("Errors", "Throttles"):
                self.assertEqual(
                    len(self.watching("AWS/Lambda", metric, {"!Ref": function})), 1, f"{function} {metric}"
                )

    def test_every_worker_queue_has_an_age_alarm_and_every_relay_an_iterator_age_alarm(self):
        queues = [
            name
            for name, r in self.resources.items()
            if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r.get("Properties", {})
        ]
        self.assertEqual(len(queues), 3)
        for queue in queues:
            self.assertEqual(
                len(
                    self.watching(
                        "AWS/SQS", "ApproximateAgeOfOldestMessage", {"!GetAtt": f"{queue}.QueueName"}
                    )
                ),
                1,
                queue,
            )
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
        for metric in (
            "OrdersPlaced",
            "OrdersConfirmed",
            "OrdersRejected",
            "OrdersCancelled",
            "SagaDuration",
            "5xx",
            "Latency",
            "ApproximateAgeOfOldestMessage",
            "ApproximateNumberOfMessagesVisible",
            "IteratorAge",
            "Errors",
            "Throttles",
            "Duration",
        ):
            self.assertIn(metric, text)
        # Every metric the functions emit (shared/src/metrics.rs) is on the dashboard.
        emitted = re.findall(
            r'pub const \w+: &str = "(\w+)";', (ROOT / "shared" / "src" / "metrics.rs").read_text()
        )
        for name in emitted:
            if name != "ServerlessShop":
                self.assertIn(name, text, f"{name} is emitted but not on the dashboard")


if __name__ == "__main__":
    unittest.main()
