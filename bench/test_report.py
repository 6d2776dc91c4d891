"""The tables of docs/performance.md (bench/report.py) from a results file with every section."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import budgets
import report


def measured(cold, cpu, **ratios):
    return {
        "size_bytes": 6_000_000,
        "zip_bytes": 2_700_000,
        "cold_start_ms": {"median": cold},
        "warm_latency_ms": {"p50": 2.0, "p99": 4.0},
        "cpu_ms": {"p50": cpu, "p99": cpu * 1.5},
        "peak_rss_kib": 8 * 1024,
        **ratios,
    }


def results():
    hops = {
        hop: {"total": {"p50": 50.0}, "delivery": {"p50": 10.0}, "in_function": {"p50": 40.0}}
        for hop, *_ in report.HOPS
    }
    level = {
        "offered_per_s": 5,
        "achieved_per_s": 4.9,
        "placed": 100,
        "orders": 100,
        "not_terminal": 0,
        "refused_count": 0,
        "placed_to_terminal_ms": {"p50": 300.0, "p95": 400.0, "p99": 450.0},
        "api_latency_ms": {"p50": 60.0, "p95": 90.0},
        "send_lateness_ms": {"p95": 3.0},
        "hops_ms": hops,
    }
    return {
        "machine": {
            "date": "2026-11-27T18:00:00Z",
            "commit": "abc1234",
            "cpus": 2,
            "machine": "x86_64",
            "kernel": "6",
            "load_average": [1.0, 1.0, 1.0],
        },
        "settings": {
            "sections": ["functions", "open-loop", "flash-sale"],
            "cold_runs": 20,
            "warm_invocations": 200,
            "system_seconds": 20,
            "rate_seconds": 20,
        },
        "budgets": budgets.Budgets.load().as_dict(),
        "baselines": {
            "floor": measured(6.0, 0.3),
            "sdk-defaults": measured(11.0, 0.45),
            "python": measured(270, 1.7),
        },
        "functions": {
            "orders-api": measured(
                10.0,
                1.0,
                ratio_to_floor={"cold_start": 1.67, "cpu_p50": 3.33},
                **{"ratio_to_sdk-defaults": {"cold_start": 0.91, "cpu_p50": 2.22}},
                ratio_to_python={"cold_start": 0.04, "cpu_p50": 0.59},
            )
        },
        "open_loop": {"levels": [level], "knee_per_s": 5},
        "flash_sale": {
            "orders": 300,
            "stock": 100,
            "arrival_spread_s": 0.98,
            "by_status": {"confirmed": 100, "rejected": 200},
            "placed_to_terminal_ms": {"p50": 900.0, "p95": 1500.0, "p99": 1700.0},
            "achieved_per_s": 120.0,
            "retried_placements": 0,
            "checks": {"exactly 100 confirmed": True},
        },
        "everyday": {
            "build": "debug",
            "clients": 16,
            "seconds": 60,
            "orders": 400,
            "by_status": {"CONFIRMED": 400},
            "placed_to_terminal_ms": {"p50": 800.0, "p95": 1600.0, "p99": 1900.0, "count": 400},
            "requests_ms": {"POST /users": {"p50": 300.0, "p95": 500.0, "p99": 700.0, "count": 400}},
            "failures": 0,
        },
        "cost_per_1000_orders": {
            "region": "us-east-1",
            "prices_date": "2026-11-27",
            "offered_per_s": 5,
            "orders_measured": 100,
            "total_usd": 0.2,
            "lines": [
                {"service": "SES e-mails", "quantity": 1000, "unit": "e-mails", "usd": 0.1, "how": "census"}
            ],
            "lambda": [
                {
                    "function": "orders-api",
                    "invocations": 1000,
                    "estimated_billed_ms": 38,
                    "emulator_billed_ms_p50": 50,
                }
            ],
        },
    }


class Report(unittest.TestCase):
    def test_every_section_renders_with_its_figures(self):
        text = report.render(results())
        for expected in (
            "| **baseline: floor** |",
            "| orders-api | 6.00 (2.70) | 10.0 | 2.00 / 4.00 | 1.00 / 1.50 (1.75)",
            "1.67 / 0.91 / 0.04",
            "| 5 **(knee)** | 4.90 | 300 / 400 / 450 |",
            "| inventory: reserve | inventory-worker | 50 | 10 | 40 | - |",
            "| 300 / 100 | 0.98 | 100 / 200 |",
            "exactly 100 confirmed: yes",
            "| SES e-mails | 1,000 e-mails | 0.1000 | census |",
            "| payment: charge to confirmed | orders-worker | 50 | 10 | 40 | (the same invocation) |",
            "| **total** | | **0.2000** | |",
            "| orders-api | 1,000 | 38 | 50 |",
            "| debug build, 16 clients, 60 s | p50 ms |",
            "| placed -> terminal (400 confirmed) | 800 | 1600 | 1900 | 400 |",
            "| `POST /users` | 300 | 500 | 700 | 400 |",
        ):
            self.assertIn(expected, text)

    def test_a_run_of_some_sections_renders_only_those(self):
        partial = {
            key: value for key, value in results().items() if key not in ("open_loop", "cost_per_1000_orders")
        }
        text = report.render(partial)
        self.assertNotIn("Open loop", text)
        self.assertIn("Flash sale:", text)


if __name__ == "__main__":
    unittest.main()
