"""The saga figures of `make bench` (bench/saga.py): percentiles, throughput, the knee, an
order's timeline from the tables, invocations from the logs, the hop attribution."""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import saga


class Percentiles(unittest.TestCase):
    def test_percentiles_interpolate_between_closest_ranks(self):
        values = [float(v) for v in range(1, 101)]  # 1..100
        self.assertEqual(saga.percentile(values, 50), 50.5)
        self.assertAlmostEqual(saga.percentile(values, 95), 95.05)
        self.assertAlmostEqual(saga.percentile(values, 99), 99.01)
        self.assertEqual(saga.percentile([3.0, 1.0, 2.0], 0), 1.0)
        self.assertEqual(saga.percentile([3.0, 1.0, 2.0], 100), 3.0)

    def test_one_value_is_every_percentile_and_none_is_an_error(self):
        self.assertEqual(saga.percentile([7.0], 99), 7.0)
        with self.assertRaises(ValueError):
            saga.percentile([], 50)

    def test_a_summary_of_nothing_is_only_its_count(self):
        self.assertEqual(saga.summary([]), {"count": 0})
        self.assertEqual(saga.summary([1.0, 2.0, 3.0]), {"p50": 2.0, "p95": 2.9, "p99": 3.0, "count": 3})


class Throughput(unittest.TestCase):
    def test_completions_at_a_steady_rate_give_that_rate(self):
        ends = [100 + i / 5 for i in range(50)]  # 5 per second
        self.assertEqual(saga.throughput(ends), 5.0)

    def test_fewer_than_two_completions_give_no_rate(self):
        self.assertEqual(saga.throughput([]), 0.0)
        self.assertEqual(saga.throughput([1.0]), 0.0)


class Knee(unittest.TestCase):
    def level(self, rate, p95, achieved=None, not_terminal=0):
        return {
            "offered_per_s": rate,
            "achieved_per_s": rate if achieved is None else achieved,
            "placed_to_terminal_ms": {"p95": p95} if p95 is not None else {"count": 0},
            "not_terminal": not_terminal,
        }

    def test_the_knee_is_the_last_rate_within_the_latency_budget_that_keeps_up(self):
        levels = [
            self.level(2, 300),
            self.level(5, 400),
            self.level(10, 900),
            self.level(20, 2500),
            self.level(40, 9000, achieved=22),
        ]
        self.assertEqual(saga.knee(levels, 2000, 0.9), 10)

    def test_a_rate_whose_throughput_falls_behind_is_past_the_knee_even_with_low_latency(self):
        levels = [self.level(2, 300), self.level(5, 400, achieved=4.4)]
        self.assertEqual(saga.knee(levels, 2000, 0.9), 2)

    def test_a_rate_that_passes_after_one_that_failed_does_not_move_the_knee(self):
        levels = [self.level(40, 500), self.level(2, 300), self.level(20, 2100), self.level(5, 400)]
        self.assertEqual(saga.knee(levels, 2000, 0.9), 5)

    def test_orders_left_unfinished_or_no_latency_at_all_fail_a_rate(self):
        self.assertEqual(saga.knee([self.level(2, 300), self.level(5, 300, not_terminal=1)], 2000, 0.9), 2)
        self.assertIsNone(saga.knee([self.level(2, None)], 2000, 0.9))


def envelope(event_id, event_type, time, order_id, correlation="c-1"):
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "time": time,
            "correlation_id": correlation,
            "data": {"order_id": order_id},
        }
    )


def saga_records(status="confirmed"):
    orders = [
        {
            "kind": "order",
            "order_id": "o-1",
            "status": status,
            "placed_at": "2026-11-27T10:00:00.100000000Z",
            "updated_at": "2026-11-27T10:00:00.500000000Z",
        },
        {
            "kind": "outbox",
            "envelope": envelope("e-placed", "OrderPlaced", "2026-11-27T10:00:00.100Z", "o-1"),
            "published_at": "2026-11-27T10:00:00.150Z",
        },
        {"kind": "payment_charge", "order_id": "o-1", "charged_at": "2026-11-27T10:00:00.450+00:00"},
        {
            "kind": "outbox",
            "envelope": envelope("e-confirmed", "OrderConfirmed", "2026-11-27T10:00:00.500Z", "o-1"),
            "published_at": "2026-11-27T10:00:00.560Z",
        },
        {"kind": "price", "pk": "PRICE#p"},
    ]
    inventory = [
        {
            "kind": "outbox",
            "envelope": envelope("e-reserved", "StockReserved", "2026-11-27T10:00:00.250Z", "o-1"),
            "published_at": "2026-11-27T10:00:00.300Z",
        }
    ]
    notifications = [
        {"kind": "notification", "event_id": "e-confirmed", "sent_at": "2026-11-27T10:00:00.700Z"},
        {"kind": "notification", "event_id": "e-other", "sent_at": "2026-11-27T10:00:01.000Z"},
    ]
    return saga.items_by_order(orders, inventory, notifications)


class Timeline(unittest.TestCase):
    def test_rfc3339_timestamps_keep_their_fraction_whatever_its_precision(self):
        self.assertAlmostEqual(saga.epoch("1970-01-01T00:00:01.123456789Z"), 1.123456789)
        self.assertEqual(saga.epoch("1970-01-01T01:00:00+01:00"), 0.0)
        self.assertIsNone(saga.epoch(None))
        with self.assertRaises(ValueError):
            saga.epoch("yesterday")

    def test_an_orders_timeline_is_read_from_its_order_events_payment_and_notification(self):
        records = saga_records()
        self.assertEqual(set(records), {"o-1"})
        points = saga.timeline(saga.epoch("2026-11-27T10:00:00.050Z"), records["o-1"])
        base = saga.epoch("2026-11-27T10:00:00Z")
        relative = {
            name: round((value - base) * 1000) for name, value in points.items() if isinstance(value, float)
        }
        self.assertEqual(
            relative,
            {
                "sent": 50,
                "placed": 100,
                "placed_published": 150,
                "reserved": 250,
                "reserved_published": 300,
                "charged": 450,
                "terminal": 500,
                "confirmed_published": 560,
                "notified": 700,
            },
        )
        self.assertEqual(points["status"], "confirmed")

    def test_an_order_still_pending_has_no_terminal_point(self):
        points = saga.timeline(None, saga_records(status="pending")["o-1"])
        self.assertIsNone(points["terminal"])
        self.assertIsNone(points["notified"])


def report(request_id, end_ms, duration_ms):
    return {
        "timestamp": end_ms,
        "message": f"REPORT RequestId: {request_id}\tDuration: {duration_ms} ms\t"
        f"Billed Duration: {duration_ms} ms\tMemory Size: 128 MB",
    }


def line(request_id, **fields):
    return {
        "timestamp": 0,
        "message": json.dumps(
            {
                "message": "event handled",
                "spans": [
                    {"requestId": request_id, "name": "Lambda runtime invoke"},
                    {"name": "record", **fields},
                ],
            }
        ),
    }


class Attribution(unittest.TestCase):
    def test_invocations_and_what_each_handled_come_from_the_report_and_log_lines(self):
        found, handled = saga.invocations(
            "f",
            [
                {"timestamp": 0, "message": "START RequestId: r-1 Version: $LATEST"},
                line("r-1", event_id="e-1", correlation_id="c-1"),
                report("r-1", 2000, 40),
                {
                    "timestamp": 0,
                    "message": json.dumps(
                        {"message": "event published", "event_id": "e-2", "spans": [{"requestId": "r-2"}]}
                    ),
                },
                {"timestamp": 0, "message": "not json {"},
                report("r-2", 3000, 12.5),
            ],
        )
        self.assertEqual(
            [(i.request_id, i.end, i.duration_ms, i.billed_ms) for i in found],
            [("r-1", 2.0, 40.0, 40.0), ("r-2", 3.0, 12.5, 12.5)],
        )
        self.assertAlmostEqual(found[0].start, 1.96)
        self.assertEqual(handled, {"e-1": "r-1", "c-1": "r-1", "e-2": "r-2"})

    def test_a_hop_splits_into_delivery_before_the_invocation_and_the_invocation_itself(self):
        records = saga_records()
        points = saga.timeline(saga.epoch("2026-11-27T10:00:00.050Z"), records["o-1"])
        at = lambda ms: int(saga.epoch("2026-11-27T10:00:00Z") * 1000) + ms  # noqa: E731
        logs = {
            # inventory-worker ran from 0.220 to 0.260 for OrderPlaced: the hop 0.150 -> 0.250
            # is 70 ms of delivery, 30 ms inside.
            "inventory-worker": saga.invocations(
                "inventory-worker", [line("r-inv", event_id="e-placed"), report("r-inv", at(260), 40)]
            ),
            # orders-worker from 0.400 to 0.510: "to the charge" 0.300 -> 0.450 is 100 + 50,
            # "charge to confirmed" 0.450 -> 0.500 all inside.
            "orders-worker": saga.invocations(
                "orders-worker", [line("r-ord", event_id="e-reserved"), report("r-ord", at(510), 110)]
            ),
            # The API by the saga's correlation id: invoked 0.060 -> 0.105.
            "orders-api": saga.invocations(
                "orders-api", [line("r-api", correlation_id="c-1"), report("r-api", at(105), 45)]
            ),
        }
        hops = saga.attribute([(points, records["o-1"])], logs)
        self.assertEqual(hops["inventory: reserve"]["total"]["p50"], 100.0)
        self.assertEqual(hops["inventory: reserve"]["in_function"]["p50"], 30.0)
        self.assertEqual(hops["inventory: reserve"]["delivery"]["p50"], 70.0)
        self.assertEqual(hops["orders: to the charge"]["in_function"]["p50"], 50.0)
        self.assertEqual(hops["orders: to the charge"]["delivery"]["p50"], 100.0)
        self.assertEqual(hops["payment: charge to confirmed"]["in_function"]["p50"], 50.0)
        self.assertEqual(hops["payment: charge to confirmed"]["delivery"]["p50"], 0.0)
        self.assertEqual(hops["API: POST /orders"]["in_function"]["p50"], 40.0)
        self.assertEqual(hops["API: POST /orders"]["delivery"]["p50"], 10.0)
        # A hop whose function's logs were not read has its total only.
        self.assertEqual(hops["relay: OrderPlaced"]["total"]["p50"], 50.0)
        self.assertEqual(hops["relay: OrderPlaced"]["in_function"], {"count": 0})

    def test_invocation_totals_count_the_window_only(self):
        found, handled = saga.invocations(
            "f", [report("a", 1000, 10), report("b", 2000, 30), report("c", 9000, 5)]
        )
        self.assertEqual(
            saga.invocation_totals({"f": (found, handled)}, 0.5, 2.5),
            {"f": {"invocations": 2, "billed_ms_total": 40.0, "billed_ms_p50": 20.0}},
        )


if __name__ == "__main__":
    unittest.main()
