"""The budget check of `make bench`: every figure against its budget from bench/budgets.toml
(docs/design.md, "Performance budgets"). Pure functions of the results; tested by
bench/test_check.py."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

BUDGETS_FILE = Path(__file__).resolve().parent / "budgets.toml"
MB = 1_000_000


@dataclass(frozen=True)
class Budgets:
    size_mb: float
    cold_start_ms: float
    peak_rss_mib: float
    cpu_p99_ms: float
    cpu_p99_ms_per_aws_call: float
    saga_p50_ms: float
    everyday_p95_ms: float
    tolerance: float
    aws_calls: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = BUDGETS_FILE) -> Budgets:
        data = tomllib.loads(path.read_text())
        return cls(**data["budgets"], tolerance=data["tolerance"], aws_calls=dict(data["aws_calls"]))

    def cpu_p99_ms_for(self, function: str) -> float:
        """The CPU p99 budget of one function: the base plus its declared AWS calls' share."""
        if function not in self.aws_calls:
            raise KeyError(
                f"{function}: no AWS call count in {BUDGETS_FILE.name} ([aws_calls]); "
                "declare how many calls its measured path makes"
            )
        return self.cpu_p99_ms + self.cpu_p99_ms_per_aws_call * self.aws_calls[function]

    def as_dict(self) -> dict:
        return {
            "size_mb": self.size_mb,
            "cold_start_ms": self.cold_start_ms,
            "peak_rss_mib": self.peak_rss_mib,
            "cpu_p99_ms": self.cpu_p99_ms,
            "cpu_p99_ms_per_aws_call": self.cpu_p99_ms_per_aws_call,
            "saga_p50_ms": self.saga_p50_ms,
            "everyday_p95_ms": self.everyday_p95_ms,
            "tolerance": self.tolerance,
            "aws_calls": self.aws_calls,
        }


def verdict(value: float, budget: float, tolerance: float) -> str:
    """within (<= budget), over (<= budget + tolerance), or failed."""
    if value <= budget:
        return "within"
    return "over" if value <= budget * (1 + tolerance) else "failed"


def check(
    functions: dict, saga: dict, budgets: Budgets, everyday: dict | None = None
) -> tuple[dict, list[str]]:
    """Every budget of every function, the saga's p50 at every closed-loop load, and the
    everyday stack's placed -> terminal p95: a verdict each, and the failures (a figure beyond
    its budget + tolerance) that fail the bench.

    `functions`: name -> bench result (size_bytes, cold_start_ms.median, cpu_ms.p99,
    peak_rss_kib); `saga`: load level -> {"placed_to_confirmed_ms_p50": ...} (a level without
    confirmed orders fails: the saga did not complete there); `everyday`: the everyday
    section's result ({"placed_to_terminal_ms": {"p95": ...}, "failures": n}), when it ran."""
    verdicts, failures = {}, []

    def judge(subject: str, budget_name: str, value: float, budget: float, unit: str):
        result = verdict(value, budget, budgets.tolerance)
        verdicts.setdefault(subject, {})[budget_name] = result
        if result == "failed":
            failures.append(
                f"{subject}: {budget_name} {value:g} {unit} is over its budget of {budget:g} {unit} "
                f"by more than {budgets.tolerance:.0%}"
            )

    for name, result in functions.items():
        judge(name, "size", round(result["size_bytes"] / MB, 2), budgets.size_mb, "MB")
        judge(name, "cold_start", result["cold_start_ms"]["median"], budgets.cold_start_ms, "ms")
        judge(name, "cpu_p99", result["cpu_ms"]["p99"], round(budgets.cpu_p99_ms_for(name), 3), "ms")
        judge(name, "peak_rss", round(result["peak_rss_kib"] / 1024, 1), budgets.peak_rss_mib, "MiB")
    for level, result in saga.items():
        subject = f"saga at {level}"
        if "placed_to_confirmed_ms_p50" not in result:
            verdicts[subject] = {"saga_p50": "failed"}
            failures.append(f"{subject}: no order confirmed")
            continue
        judge(subject, "saga_p50", result["placed_to_confirmed_ms_p50"], budgets.saga_p50_ms, "ms")
    if everyday is not None:
        subject = f"everyday stack at {everyday['clients']} clients"
        if "p95" not in everyday["placed_to_terminal_ms"]:
            verdicts[subject] = {"placed_to_terminal_p95": "failed"}
            failures.append(f"{subject}: no order became terminal")
        else:
            p95 = everyday["placed_to_terminal_ms"]["p95"]
            judge(subject, "placed_to_terminal_p95", p95, budgets.everyday_p95_ms, "ms")
        if everyday["failures"]:
            failures.append(
                f"{subject}: {everyday['failures']} requests failed or orders never ended "
                f"(first: {everyday.get('first_failures', ['?'])[0]})"
            )
    return verdicts, failures


def load_failures(results: dict) -> list[str]:
    """What fails the bench in the load sections besides the saga budget: an order the open
    loop placed that never ended (lost or stuck, whatever the rate), no sustainable rate at
    all, and any of the flash sale's checks."""
    failures = []
    open_loop = results.get("open_loop")
    if open_loop:
        for level in open_loop["levels"]:
            if level["not_terminal"]:
                failures.append(
                    f"open loop at {level['offered_per_s']:g}/s: {level['not_terminal']} of "
                    f"{level['placed']} orders never became terminal"
                )
        if open_loop["knee_per_s"] is None:
            failures.append("open loop: not even the lowest rate was sustained (no knee)")
    flash = results.get("flash_sale")
    if flash and not flash["passed"]:
        failed = [name for name, ok in flash["checks"].items() if not ok]
        failures.append(f"flash sale: {', '.join(failed)} failed ({flash['by_status']})")
    return failures


def census_failures(functions: dict, budgets: Budgets) -> list[str]:
    """A function whose census counted another number of AWS calls per event than its budget
    declares: the CPU budget would be computed from a wrong count."""
    failures = []
    for name, result in functions.items():
        census = result.get("census")
        if census is None or name not in budgets.aws_calls:
            continue
        if census["errors"]:
            failures.append(f"{name}: {census['errors']} AWS calls failed during the census")
        if abs(census["aws_calls"] - budgets.aws_calls[name]) > 0.01:
            failures.append(
                f"{name}: makes {census['aws_calls']:g} AWS calls per event ({census['by_operation']}), "
                f"bench/budgets.toml declares {budgets.aws_calls[name]}"
            )
    return failures
