"""The budget check of `make bench` (bench/budgets.py) and the size reading (bench/run.py), without
running any function:
`.venv/bin/python -m unittest discover -s bench -p 'test_*.py'` (part of `make test`)."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import budgets
import run

BUDGETS = budgets.Budgets(
    size_mb=8.0,
    cold_start_ms=15.0,
    peak_rss_mib=32.0,
    cpu_p99_ms=1.0,
    cpu_p99_ms_per_aws_call=0.25,
    saga_p50_ms=2000.0,
    everyday_p95_ms=2000.0,
    tolerance=0.20,
    aws_calls={"one-call": 1, "three-calls": 3},
)


def result(size_mb=7.0, cold_ms=10.0, rss_mib=9, cpu_p99=0.5):
    return {
        "size_bytes": int(size_mb * run.MB),
        "cold_start_ms": {"median": cold_ms},
        "peak_rss_kib": rss_mib * 1024,
        "cpu_ms": {"p50": cpu_p99 / 2, "p99": cpu_p99},
    }


def check(function="one-call", saga=None, **figures):
    return budgets.check({function: result(**figures)}, saga or {}, BUDGETS)


class BudgetCheck(unittest.TestCase):
    def test_a_function_within_every_budget_passes(self):
        verdicts, failures = check()
        self.assertEqual(failures, [])
        self.assertEqual(
            verdicts["one-call"],
            {"size": "within", "cold_start": "within", "cpu_p99": "within", "peak_rss": "within"},
        )

    def test_each_budget_over_by_less_than_the_tolerance_is_reported_but_passes(self):
        for budget, figures in (
            ("size", {"size_mb": 9.5}),
            ("cold_start", {"cold_ms": 17.9}),
            ("cpu_p99", {"cpu_p99": 1.45}),
            ("peak_rss", {"rss_mib": 38}),
        ):
            with self.subTest(budget):
                verdicts, failures = check(**figures)
                self.assertEqual(verdicts["one-call"][budget], "over")
                self.assertEqual(failures, [])

    def test_each_budget_over_by_more_than_the_tolerance_fails_the_bench(self):
        for budget, figures, message in (
            ("size", {"size_mb": 9.7}, "one-call: size 9.7 MB is over its budget of 8 MB by more than 20%"),
            ("cold_start", {"cold_ms": 18.5}, "one-call: cold_start 18.5 ms is over its budget of 15 ms"),
            ("cpu_p99", {"cpu_p99": 1.6}, "one-call: cpu_p99 1.6 ms is over its budget of 1.25 ms"),
            ("peak_rss", {"rss_mib": 39}, "one-call: peak_rss 39 MiB is over its budget of 32 MiB"),
        ):
            with self.subTest(budget):
                verdicts, failures = check(**figures)
                self.assertEqual(verdicts["one-call"][budget], "failed")
                self.assertEqual(len(failures), 1)
                self.assertTrue(failures[0].startswith(message), failures[0])

    def test_the_cpu_budget_grows_by_a_quarter_millisecond_per_declared_aws_call(self):
        self.assertEqual(BUDGETS.cpu_p99_ms_for("one-call"), 1.25)
        self.assertEqual(BUDGETS.cpu_p99_ms_for("three-calls"), 1.75)
        verdicts, failures = check("three-calls", cpu_p99=1.7)
        self.assertEqual((verdicts["three-calls"]["cpu_p99"], failures), ("within", []))
        verdicts, failures = check("one-call", cpu_p99=1.7)
        self.assertEqual(verdicts["one-call"]["cpu_p99"], "failed")

    def test_a_function_without_a_declared_call_count_stops_the_check(self):
        with self.assertRaisesRegex(KeyError, "undeclared: no AWS call count"):
            check("undeclared")

    def test_the_saga_p50_gets_a_verdict_per_load_level_and_fails_beyond_the_tolerance(self):
        verdicts, failures = budgets.check(
            {},
            {
                "1 clients": {"placed_to_confirmed_ms_p50": 500.0},
                "8 clients": {"placed_to_confirmed_ms_p50": 2300.0},
                "32 clients": {"placed_to_confirmed_ms_p50": 2500.0},
            },
            BUDGETS,
        )
        self.assertEqual(verdicts["saga at 1 clients"], {"saga_p50": "within"})
        self.assertEqual(verdicts["saga at 8 clients"], {"saga_p50": "over"})
        self.assertEqual(verdicts["saga at 32 clients"], {"saga_p50": "failed"})
        self.assertEqual(len(failures), 1)
        self.assertIn("saga at 32 clients: saga_p50 2500 ms", failures[0])

    def test_a_load_level_where_no_order_was_confirmed_fails(self):
        verdicts, failures = budgets.check({}, {"8 clients": {"orders": 0}}, BUDGETS)
        self.assertEqual(verdicts["saga at 8 clients"], {"saga_p50": "failed"})
        self.assertEqual(failures, ["saga at 8 clients: no order confirmed"])

    def test_the_everyday_stacks_p95_gets_a_verdict_and_fails_beyond_the_tolerance(self):
        def everyday(p95):
            return {"clients": 16, "placed_to_terminal_ms": {"p50": 400.0, "p95": p95}, "failures": 0}

        for p95, expected in ((1500.0, "within"), (2300.0, "over"), (2500.0, "failed")):
            verdicts, failures = budgets.check({}, {}, BUDGETS, everyday(p95))
            self.assertEqual(
                verdicts["everyday stack at 16 clients"], {"placed_to_terminal_p95": expected}, p95
            )
            self.assertEqual(len(failures), expected == "failed", p95)

    def test_an_everyday_run_with_failed_requests_or_no_terminal_order_fails(self):
        _, failures = budgets.check(
            {},
            {},
            BUDGETS,
            {
                "clients": 16,
                "placed_to_terminal_ms": {"p50": 400.0, "p95": 900.0},
                "failures": 2,
                "first_failures": ["POST /users 500: boom"],
            },
        )
        self.assertEqual(len(failures), 1)
        self.assertIn("2 requests failed or orders never ended (first: POST /users 500: boom)", failures[0])
        verdicts, failures = budgets.check(
            {}, {}, BUDGETS, {"clients": 16, "placed_to_terminal_ms": {"count": 0}, "failures": 0}
        )
        self.assertEqual(verdicts["everyday stack at 16 clients"], {"placed_to_terminal_p95": "failed"})
        self.assertEqual(failures, ["everyday stack at 16 clients: no order became terminal"])

    def test_the_checked_in_budgets_declare_every_measured_function(self):
        declared = budgets.Budgets.load()
        self.assertEqual(
            set(declared.aws_calls),
            {
                "users-api",
                "products-api",
                "inventory-api",
                "orders-api",
                "inventory-worker",
                "orders-worker",
                "notifications-worker",
                "notifications-api",
                "outbox-relay",
                "outbox-sweeper",
            },
        )
        self.assertEqual(declared.cpu_p99_ms_for("notifications-worker"), 2.0)


class LoadChecks(unittest.TestCase):
    def level(self, rate, not_terminal=0):
        return {"offered_per_s": rate, "placed": 100, "not_terminal": not_terminal}

    def test_a_clean_open_loop_and_an_exact_flash_sale_pass(self):
        results = {
            "open_loop": {"levels": [self.level(2), self.level(40)], "knee_per_s": 20},
            "flash_sale": {"passed": True, "checks": {"exactly 100 confirmed": True}, "by_status": {}},
        }
        self.assertEqual(budgets.load_failures(results), [])

    def test_an_order_that_never_ends_fails_the_bench_at_any_rate(self):
        results = {"open_loop": {"levels": [self.level(2), self.level(40, not_terminal=3)], "knee_per_s": 2}}
        self.assertEqual(
            budgets.load_failures(results), ["open loop at 40/s: 3 of 100 orders never became terminal"]
        )

    def test_no_sustainable_rate_fails_the_bench(self):
        results = {"open_loop": {"levels": [self.level(2)], "knee_per_s": None}}
        self.assertEqual(
            budgets.load_failures(results), ["open loop: not even the lowest rate was sustained (no knee)"]
        )

    def test_a_flash_sale_that_oversells_fails_the_bench_naming_the_check(self):
        results = {
            "flash_sale": {
                "passed": False,
                "by_status": {"confirmed": 101, "rejected": 199},
                "checks": {"exactly 100 confirmed": False, "no dead letters": True},
            }
        }
        failures = budgets.load_failures(results)
        self.assertEqual(len(failures), 1)
        self.assertTrue(failures[0].startswith("flash sale: exactly 100 confirmed failed"), failures)

    def test_sections_that_did_not_run_check_nothing(self):
        self.assertEqual(budgets.load_failures({}), [])


class Size(unittest.TestCase):
    def test_the_size_is_the_arm64_bootstrap_inside_make_builds_zip_not_the_host_build(self):
        import tempfile
        import zipfile

        with tempfile.TemporaryDirectory() as tmp:
            arm64, release = Path(tmp) / "lambda-arm64", Path(tmp) / "release"
            (arm64 / "f").mkdir(parents=True)
            release.mkdir()
            with zipfile.ZipFile(arm64 / "f" / "bootstrap.zip", "w", zipfile.ZIP_DEFLATED) as bundle:
                bundle.writestr("bootstrap", b"\0" * 5000)
            (release / "f").write_bytes(b"\1" * 7000)
            saved = run.ARM64, run.RELEASE
            run.ARM64, run.RELEASE = arm64, release
            try:
                size = run.binary_size("f")
            finally:
                run.ARM64, run.RELEASE = saved
            self.assertEqual(size["size_bytes"], 5000)
            self.assertEqual(size["zip_bytes"], (arm64 / "f" / "bootstrap.zip").stat().st_size)
            self.assertEqual(size["host_size_bytes"], 7000)
            self.assertEqual(size["architecture"], "arm64")

    def test_a_missing_arm64_build_stops_the_bench_with_what_to_run(self):
        saved = run.ARM64
        run.ARM64 = Path("/nonexistent")
        try:
            with self.assertRaises(SystemExit) as stopped:
                run.binary_size("f")
        finally:
            run.ARM64 = saved
        self.assertIn("make build", str(stopped.exception))


if __name__ == "__main__":
    unittest.main()
