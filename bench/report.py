#!/usr/bin/env python3
"""Markdown tables from a `make bench` results file (the tables in docs/performance.md).

bench/report.py [bench/results.json] [--before bench/results-before.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from budgets import Budgets
from saga import HOPS

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ("floor", "sdk-defaults", "python")


def mb(value):
    if value is None:
        return "-"
    return f"{value / 1e6:.2f}" if value >= 100_000 else f"{value / 1e3:.1f} kB"


def ms(summary: dict, key: str) -> str:
    value = summary.get(key)
    return "-" if value is None else f"{value:.0f}"


def functions_table(results: dict) -> str:
    budgets = Budgets(**results["budgets"])
    baselines = [name for name in BASELINES if name in results["baselines"]]
    against = " / ".join(baselines)
    rows = [
        f"| function | arm64 size MB (zip) | cold start ms, median | warm ms p50 / p99 | CPU ms p50 / p99 "
        f"(p99 budget) | peak RSS MiB | cold start vs {against} | CPU p50 vs {against} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    entries = [(f"**baseline: {name}**", results["baselines"][name]) for name in baselines]
    entries += list(results["functions"].items())
    for name, r in entries:
        cold, warm, cpu = r["cold_start_ms"]["median"], r["warm_latency_ms"], r["cpu_ms"]
        vs = []
        for metric in ("cold_start", "cpu_p50"):
            parts = [
                f"{r[f'ratio_to_{b}'][metric]:.2f}" if r.get(f"ratio_to_{b}", {}).get(metric) else "-"
                for b in baselines
            ]
            vs.append(" / ".join(parts))
        budget = f" ({budgets.cpu_p99_ms_for(name):.2f})" if name in budgets.aws_calls else ""
        rows.append(
            f"| {name} | {mb(r.get('size_bytes'))} ({mb(r.get('zip_bytes'))}) | {cold:.1f} "
            f"| {warm['p50']:.2f} / {warm['p99']:.2f} | {cpu['p50']:.2f} / {cpu['p99']:.2f}{budget} "
            f"| {r['peak_rss_kib'] / 1024:.1f} | {vs[0]} | {vs[1]} |"
        )
    for name, r in results.get("extra", {}).items():
        rows.append(
            f"| {name} (not budgeted) | - | {r['cold_start_ms']['median']:.1f} "
            f"| {r['warm_latency_ms']['p50']:.2f} / {r['warm_latency_ms']['p99']:.2f} "
            f"| {r['cpu_ms']['p50']:.2f} / {r['cpu_ms']['p99']:.2f} | {r['peak_rss_kib'] / 1024:.1f} | - | - |"
        )
    return "\n".join(rows)


def closed_loop_table(results: dict) -> str:
    rows = [
        "| concurrent clients | orders confirmed / s | placed -> confirmed p50 / p95 / p99 ms | orders (failed) |",
        "|---|---|---|---|",
    ]
    for level, r in results.get("closed_loop", {}).items():
        rows.append(
            f"| {level.removesuffix(' clients')} | {r['orders_per_second']:.2f} "
            f"| {r.get('placed_to_confirmed_ms_p50', '-')} / {r.get('placed_to_confirmed_ms_p95', '-')} / "
            f"{r.get('placed_to_confirmed_ms_p99', '-')} | {r['orders']} ({r['failures']}) |"
        )
    return "\n".join(rows)


def open_loop_table(results: dict) -> str:
    open_loop = results["open_loop"]
    rows = [
        "| offered orders / s | achieved / s | placed -> terminal p50 / p95 / p99 ms | POST /orders p50 / p95 ms "
        "| orders (not terminal, refused) | arrivals late p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in open_loop["levels"]:
        latency, api = r["placed_to_terminal_ms"], r["api_latency_ms"]
        knee = " **(knee)**" if r["offered_per_s"] == open_loop["knee_per_s"] else ""
        rows.append(
            f"| {r['offered_per_s']:g}{knee} | {r['achieved_per_s']:.2f} "
            f"| {ms(latency, 'p50')} / {ms(latency, 'p95')} / {ms(latency, 'p99')} "
            f"| {ms(api, 'p50')} / {ms(api, 'p95')} | {r['orders']} ({r['not_terminal']}, {r['refused_count']}) "
            f"| {ms(r['send_lateness_ms'], 'p95')} |"
        )
    return "\n".join(rows)


def own_latency(results: dict, function: str) -> float | None:
    """A function's own warm latency p50 from the functions section (the relays are one binary)."""
    binary = "outbox-relay" if function.endswith("outbox-relay") else function
    found = results.get("functions", {}).get(binary)
    return found["warm_latency_ms"]["p50"] if found else None


def hops_table(results: dict, level: dict) -> str:
    """The saga hop by hop at one rate: p50s of the hop, its delivery (before the invocation),
    the invocation as the emulator times it, and the function's own warm latency measured alone
    in the functions section of the same run."""
    rows = [
        "| hop | function | hop p50 ms | delivery p50 ms | invocation p50 ms | the function alone, warm p50 ms |",
        "|---|---|---|---|---|---|",
    ]
    previous = None
    for hop, function, _, _ in HOPS:
        parts = level["hops_ms"].get(hop)
        if not parts:
            continue
        own = own_latency(results, function)
        # Two hops in a row by one function are one invocation: its figure goes with the first.
        alone = "(the same invocation)" if function == previous else "-" if own is None else f"{own:.1f}"
        previous = function
        rows.append(
            f"| {hop} | {function} | {ms(parts['total'], 'p50')} | {ms(parts['delivery'], 'p50')} "
            f"| {ms(parts['in_function'], 'p50')} | {alone} |"
        )
    return "\n".join(rows)


def flash_sale_table(results: dict) -> str:
    r = results["flash_sale"]
    latency = r["placed_to_terminal_ms"]
    checks = ", ".join(f"{name}: {'yes' if ok else '**no**'}" for name, ok in r["checks"].items())
    return "\n".join(
        [
            "| orders / stock | arrived within s | confirmed / rejected | placed -> terminal p50 / p95 / p99 ms "
            "| completed / s | placements retried | checks |",
            "|---|---|---|---|---|---|---|",
            f"| {r['orders']} / {r['stock']} | {r['arrival_spread_s']:.2f} | {r['by_status'].get('confirmed', 0)} / "
            f"{r['by_status'].get('rejected', 0)} | {ms(latency, 'p50')} / {ms(latency, 'p95')} / {ms(latency, 'p99')} "
            f"| {r['achieved_per_s']:.2f} | {r['retried_placements']} | {checks} |",
        ]
    )


def everyday_table(results: dict) -> str:
    r = results["everyday"]
    latency = r["placed_to_terminal_ms"]
    rows = [
        f"| {r['build']} build, {r['clients']} clients, {r['seconds']} s | p50 ms | p95 ms | p99 ms | count |",
        "|---|---|---|---|---|",
        f"| placed -> terminal ({', '.join(f'{n} {s.lower()}' for s, n in r['by_status'].items())}) "
        f"| {ms(latency, 'p50')} | {ms(latency, 'p95')} | {ms(latency, 'p99')} | {latency['count']} |",
    ]
    for name, figures in r["requests_ms"].items():
        rows.append(
            f"| `{name}` | {ms(figures, 'p50')} | {ms(figures, 'p95')} | {ms(figures, 'p99')} | {figures['count']} |"
        )
    if r["failures"]:
        rows.append(f"| **failed requests** | | | | {r['failures']} |")
    return "\n".join(rows)


def quantity(value: float) -> str:
    """Whole numbers with thousands separators from 100 up, four significant digits below."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.4g}"


def cost_table(results: dict) -> str:
    c = results["cost_per_1000_orders"]
    rows = ["| service | per 1,000 orders | USD | how it was counted |", "|---|---|---|---|"]
    for line in c["lines"]:
        rows.append(
            f"| {line['service']} | {quantity(line['quantity'])} {line['unit']} | {line['usd']:.4f} | {line['how']} |"
        )
    rows.append(f"| **total** | | **{c['total_usd']:.4f}** | |")
    return "\n".join(rows)


def lambda_table(results: dict) -> str:
    c = results["cost_per_1000_orders"]
    rows = [
        "| function | invocations per 1,000 orders | billed ms per invocation, AWS estimate | the emulator's, p50 |",
        "|---|---|---|---|",
    ]
    for row in c["lambda"]:
        rows.append(
            f"| {row['function']} | {row['invocations']:,.0f} | {row['estimated_billed_ms']} "
            f"| {row['emulator_billed_ms_p50']:.0f} |"
        )
    return "\n".join(rows)


def before_after(before: dict, after: dict) -> str:
    rows = [
        "| function | cold start ms before -> after | CPU ms p50 before -> after | CPU ms p99 before -> after "
        "| peak RSS MiB before -> after |",
        "|---|---|---|---|---|",
    ]
    pairs = list(after["functions"].items()) + list(after.get("extra", {}).items())
    for name, a in pairs:
        b = before["functions"].get(name) or before.get("extra", {}).get(name)
        if b is None:
            continue

        def arrow(get, digits=2, a=a, b=b):
            x, y = get(b), get(a)
            return f"{x:.{digits}f} -> {y:.{digits}f} ({(y / x - 1) * 100:+.0f} %)"

        rows.append(
            f"| {name} | {arrow(lambda r: r['cold_start_ms']['median'], 1)} "
            f"| {arrow(lambda r: r['cpu_ms']['p50'])} | {arrow(lambda r: r['cpu_ms']['p99'])} "
            f"| {arrow(lambda r: r['peak_rss_kib'] / 1024, 1)} |"
        )
    return "\n".join(rows)


def render(results: dict, before: dict | None = None) -> str:
    m, settings = results["machine"], results["settings"]
    parts = [
        f"Measured {m['date']} at {m['commit']} on {m['cpus']} CPUs ({m['machine']}, kernel {m['kernel']}), "
        f"load average {', '.join(f'{x:.2f}' for x in m['load_average'])}; sections "
        f"{', '.join(settings['sections'])}."
    ]
    if results.get("functions"):
        parts += [
            f"{settings['cold_runs']} cold starts and {settings['warm_invocations']} warm invocations per "
            "function; ratios are the function's figure over the baseline's (below 1 = less).",
            functions_table(results),
        ]
    if results.get("closed_loop"):
        parts += [f"Closed loop, {settings['system_seconds']} s per level:", closed_loop_table(results)]
    if results.get("open_loop"):
        knee = results["open_loop"]["knee_per_s"]
        parts += [
            f"Open loop, {settings['rate_seconds']:g} s per rate; knee: "
            f"{'none' if knee is None else f'{knee:g} orders/s'}:",
            open_loop_table(results),
        ]
        levels = results["open_loop"]["levels"]
        shown = next((level for level in levels if level["offered_per_s"] == knee), levels[0])
        parts += [
            f"Hop by hop at {shown['offered_per_s']:g} orders/s ({shown['placed']} orders):",
            hops_table(results, shown),
        ]
    if results.get("flash_sale"):
        parts += ["Flash sale:", flash_sale_table(results)]
    if results.get("everyday"):
        parts += ["The everyday stack (`make up`'s build) under clients registering, logging in, ordering:"]
        parts += [everyday_table(results)]
    if results.get("cost_per_1000_orders"):
        c = results["cost_per_1000_orders"]
        parts += [
            f"Cost per 1,000 orders on AWS ({c['region']} prices of {c['prices_date']}), from the open loop at "
            f"{c['offered_per_s']:g} orders/s ({c['orders_measured']} orders):",
            cost_table(results),
            lambda_table(results),
        ]
    if before:
        parts += ["Before -> after:", before_after(before, results)]
    return "\n\n".join(parts)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("results", nargs="?", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    before = json.loads(args.before.read_text()) if args.before else None
    print(render(json.loads(args.results.read_text()), before))


if __name__ == "__main__":
    main()
