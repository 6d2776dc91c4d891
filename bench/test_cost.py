"""The census proxy's parsing (bench/census.py) and the cost per 1,000 orders (bench/cost.py)."""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import budgets
import census
import cost


class CensusParsing(unittest.TestCase):
    def test_operations_are_named_from_the_target_header_the_form_or_the_path(self):
        self.assertEqual(
            census.operation({"X-Amz-Target": "DynamoDB_20120810.TransactWriteItems"}, "/", b"{}"),
            ("dynamodb", "TransactWriteItems"),
        )
        self.assertEqual(
            census.operation({"x-amz-target": "AmazonSQS.ChangeMessageVisibility"}, "/", b"{}"),
            ("sqs", "ChangeMessageVisibility"),
        )
        self.assertEqual(
            census.operation({}, "/", b"Action=PublishBatch&Version=2010-03-31"), ("sns", "PublishBatch")
        )
        self.assertEqual(
            census.operation({"X-Amz-Target": "AmazonSimpleNotificationService.Publish"}, "/", b"{}"),
            ("sns", "Publish"),
        )
        self.assertEqual(census.operation({}, "/v2/email/outbound-emails", b"{}"), ("ses", "SendEmail"))

    def test_a_batch_publish_counts_its_entries_in_either_protocol(self):
        form = (
            "Action=PublishBatch&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1."
            "Message=x&PublishBatchRequestEntries.member.2.Id=b&PublishBatchRequestEntries.member.2.Message=y"
        )
        self.assertEqual(census.published_messages("PublishBatch", form.encode()), 2)
        entries = json.dumps({"PublishBatchRequestEntries": [{"Id": "a"}, {"Id": "b"}, {"Id": "c"}]}).encode()
        self.assertEqual(census.published_messages("PublishBatch", entries), 3)
        self.assertEqual(census.published_messages("Publish", b""), 1)
        self.assertEqual(census.published_messages("GetTopicAttributes", b""), 0)

    def test_dynamodb_requests_ask_for_their_capacity_and_answers_report_it(self):
        self.assertEqual(
            json.loads(census.with_capacity(b'{"TableName": "t"}')),
            {"TableName": "t", "ReturnConsumedCapacity": "TOTAL"},
        )
        self.assertEqual(
            json.loads(census.with_capacity(b'{"ReturnConsumedCapacity": "NONE"}')),
            {"ReturnConsumedCapacity": "TOTAL"},
        )
        self.assertEqual(
            json.loads(census.with_capacity(b'{"ReturnConsumedCapacity": "INDEXES"}')),
            {"ReturnConsumedCapacity": "INDEXES"},
        )
        self.assertEqual(census.consumed_units(b'{"ConsumedCapacity": {"CapacityUnits": 0.5}}'), 0.5)
        self.assertEqual(
            census.consumed_units(b'{"ConsumedCapacity": [{"CapacityUnits": 4.0}, {"CapacityUnits": 2.0}]}'),
            6.0,
        )
        self.assertEqual(census.consumed_units(b"{}"), 0.0)
        self.assertEqual(census.consumed_units(b"not json"), 0.0)


class CensusCheck(unittest.TestCase):
    BUDGETS = budgets.Budgets(
        size_mb=8,
        cold_start_ms=15,
        peak_rss_mib=32,
        cpu_p99_ms=1,
        cpu_p99_ms_per_aws_call=0.25,
        saga_p50_ms=2000,
        everyday_p95_ms=2000,
        tolerance=0.2,
        aws_calls={"f": 3},
    )

    def functions(self, calls, errors=0):
        return {
            "f": {
                "census": {"aws_calls": calls, "by_operation": {"dynamodb:GetItem": calls}, "errors": errors}
            }
        }

    def test_a_function_making_the_declared_calls_passes(self):
        self.assertEqual(budgets.census_failures(self.functions(3.0), self.BUDGETS), [])

    def test_a_function_making_another_number_of_calls_than_declared_fails(self):
        failures = budgets.census_failures(self.functions(4.0), self.BUDGETS)
        self.assertEqual(len(failures), 1)
        self.assertIn("f: makes 4 AWS calls per event", failures[0])
        self.assertIn("declares 3", failures[0])

    def test_failed_calls_during_the_census_fail(self):
        self.assertEqual(
            budgets.census_failures(self.functions(3.0, errors=2), self.BUDGETS),
            ["f: 2 AWS calls failed during the census"],
        )


PRICES = {
    "date": "2026-11-27",
    "region": "us-east-1",
    "prices": {
        "lambda_request_usd_per_million": 0.20,
        "lambda_arm64_usd_per_gb_second": 0.0000133334,
        "dynamodb_write_request_unit_usd_per_million": 0.625,
        "dynamodb_read_request_unit_usd_per_million": 0.125,
        "sns_publish_usd_per_million": 0.50,
        "sqs_request_usd_per_million": 0.40,
        "http_api_request_usd_per_million": 1.00,
        "ses_email_usd_per_thousand": 0.10,
        "cloudwatch_logs_ingestion_usd_per_gb": 0.50,
    },
    "lambda_estimate": {"memory_mb": 128, "cpu_stretch": 10.0, "ms_per_aws_call": 5.0},
}


def measured(cpu, calls, reads=0.0, writes=0.0, sns=0.0, emails=0.0):
    return {
        "cpu_ms": {"p50": cpu},
        "census": {
            "aws_calls": calls,
            "dynamodb_read_units": reads,
            "dynamodb_write_units": writes,
            "sns_messages": sns,
            "by_operation": {"ses:SendEmail": emails} if emails else {},
        },
    }


class Cost(unittest.TestCase):
    def test_the_checked_in_price_table_has_every_price_and_its_date(self):
        prices = cost.load_prices()
        self.assertEqual(set(prices["prices"]), set(PRICES["prices"]))
        self.assertRegex(prices["date"], r"^\d{4}-\d\d-\d\d$")
        self.assertEqual(prices["region"], "us-east-1")

    def test_billed_duration_stretches_cpu_adds_the_calls_and_rounds_up_to_the_millisecond(self):
        self.assertEqual(cost.estimated_billed_ms(0.5, 3, PRICES["lambda_estimate"]), 20)
        self.assertEqual(cost.estimated_billed_ms(0.51, 3, PRICES["lambda_estimate"]), 21)
        self.assertEqual(cost.estimated_billed_ms(0.0, 0, PRICES["lambda_estimate"]), 1)

    def test_relays_and_sweepers_run_one_binary_per_table(self):
        self.assertEqual(cost.binary("orders-outbox-relay"), "outbox-relay")
        self.assertEqual(cost.binary("inventory-outbox-sweeper"), "outbox-sweeper")
        self.assertEqual(cost.binary("orders-worker"), "orders-worker")

    def test_a_thousand_orders_priced_from_what_the_bench_measured(self):
        level = {
            "placed": 100,
            "offered_per_s": 5,
            "log_bytes": {"orders-api": 100_000, "orders-worker": 400_000},
            "invocations": {
                "orders-api": {"invocations": 100, "billed_ms_total": 5000.0, "billed_ms_p50": 50.0},
                "orders-worker": {"invocations": 50, "billed_ms_total": 2500.0, "billed_ms_p50": 50.0},
                "orders-outbox-relay": {"invocations": 150, "billed_ms_total": 7500.0, "billed_ms_p50": 50.0},
                "notifications-worker": {
                    "invocations": 100,
                    "billed_ms_total": 5000.0,
                    "billed_ms_p50": 50.0,
                },
                "api-docs": {"invocations": 1, "billed_ms_total": 30.0, "billed_ms_p50": 30.0},
            },
        }
        functions = {
            "orders-api": measured(1.0, 3, reads=1.0, writes=6.0),
            "orders-worker": measured(1.0, 3, reads=0.5, writes=8.0),
            "outbox-relay": measured(0.5, 2, writes=1.0, sns=1.0),
            "notifications-worker": measured(1.5, 4, reads=0.5, writes=4.0, emails=1.0),
        }
        result = cost.per_thousand_orders(level, functions, PRICES)
        lines = {line["service"]: line for line in result["lines"]}
        # 1,000 orders = 10 x the 100 measured: 1000 + 500 + 1500 + 1000 + 10 invocations.
        self.assertEqual(lines["Lambda requests"]["quantity"], 4010)
        # Per invocation: api 1.0*10 + 3*5 = 25 ms, worker 25, relay 15, notifications 35, api-docs its
        # emulator p50 30 (no census); GB-s = sum(invocations x ms) / 1000 x 0.125.
        gb_seconds = (1000 * 25 + 500 * 25 + 1500 * 15 + 1000 * 35 + 10 * 30) / 1000 * 0.125
        self.assertAlmostEqual(lines["Lambda duration (arm64, 128 MB)"]["quantity"], round(gb_seconds, 4))
        # Per event x events per order: api 6 + worker 8 + relay 2 x 1 + notifications 4 = 20 WRU/order.
        self.assertEqual(lines["DynamoDB writes"]["quantity"], 20_000)
        self.assertEqual(lines["DynamoDB reads"]["quantity"], 2_000)
        self.assertEqual(lines["SNS publishes"]["quantity"], 2_000)  # the orders relay's two events
        self.assertEqual(lines["SES e-mails"]["quantity"], 1_000)
        # 3 messages per order delivered, and a receive + delete per worker invocation (500 + 1000).
        self.assertEqual(lines["SQS requests"]["quantity"], 3000 + 2 * 1500)
        self.assertAlmostEqual(lines["CloudWatch Logs ingestion"]["quantity"], 0.005)
        self.assertAlmostEqual(lines["DynamoDB writes"]["usd"], 20_000 * 0.625 / 1e6, places=5)
        self.assertAlmostEqual(result["total_usd"], round(sum(line["usd"] for line in result["lines"]), 4))
        self.assertEqual(result["prices_date"], "2026-11-27")


if __name__ == "__main__":
    unittest.main()
