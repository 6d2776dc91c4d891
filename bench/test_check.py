"""The budget check of `make bench` (bench/run.py), without running any function:
`.venv/bin/python -m unittest discover -s bench -p 'test_*.py'` (part of `make test`)."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402


def result(size_mb=7.0, cold_ms=10.0, rss_mib=9, cpu_p99=0.5):
    return {"size_bytes": int(size_mb * run.MB), "cold_start_ms": {"median": cold_ms},
            "peak_rss_kib": rss_mib * 1024, "cpu_ms": {"p50": cpu_p99 / 2, "p99": cpu_p99}}


class BudgetCheck(unittest.TestCase):
    def test_a_function_within_every_budget_passes(self):
        verdicts, failures = run.check({"f": result()}, {})
        self.assertEqual(failures, [])
        self.assertEqual(set(verdicts["f"].values()), {"within"})

    def test_a_function_over_its_size_budget_by_less_than_20_percent_is_reported_but_passes(self):
        verdicts, failures = run.check({"f": result(size_mb=9.5)}, {})
        self.assertEqual(verdicts["f"]["size"], "over")
        self.assertEqual(failures, [])

    def test_a_function_over_its_size_budget_by_more_than_20_percent_fails(self):
        _, failures = run.check({"f": result(size_mb=9.7)}, {})
        self.assertEqual(failures, ["f: size over budget by more than 20 %"])

    def test_a_cold_start_over_budget_by_more_than_20_percent_fails(self):
        _, failures = run.check({"f": result(cold_ms=18.5)}, {})
        self.assertEqual(failures, ["f: cold_start over budget by more than 20 %"])

    def test_rss_and_cpu_over_budget_are_reported_but_do_not_fail_the_check(self):
        verdicts, failures = run.check({"f": result(rss_mib=64, cpu_p99=3.0)}, {})
        self.assertEqual((verdicts["f"]["peak_rss"], verdicts["f"]["cpu_p99"]), ("failed", "failed"))
        self.assertEqual(failures, [])

    def test_the_saga_p50_gets_a_verdict_per_client_count(self):
        verdicts, _ = run.check({}, {"1": {"placed_to_confirmed_ms_p50": 500.0},
                                     "32": {"placed_to_confirmed_ms_p50": 2300.0}})
        self.assertEqual(verdicts["saga at 1 clients"], {"saga_p50": "within"})
        self.assertEqual(verdicts["saga at 32 clients"], {"saga_p50": "over"})



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
