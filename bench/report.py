#!/usr/bin/env python3
"""Markdown tables from a `make bench` results file (the tables in docs/performance.md).

    bench/report.py [bench/results.json] [--before bench/results-before.json]
"""
import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mb(value):
    if value is None:
        return "-"
    return f"{value / 1e6:.2f}" if value >= 100_000 else f"{value / 1e3:.1f} kB"


def functions_table(results: dict) -> str:
    floor = results["baselines"].get("floor")
    python = results["baselines"].get("python")
    rows = ["| function | arm64 size MB (zip) | cold start ms, median | warm ms p50 / p99 | CPU ms p50 / p99 | peak RSS MiB "
            "| cold start vs floor / python | CPU p50 vs floor / python |",
            "|---|---|---|---|---|---|---|---|"]
    entries = [(f"**baseline: {name}**", result) for name, result in results["baselines"].items()]
    entries += list(results["functions"].items())
    for name, r in entries:
        cold, warm, cpu = r["cold_start_ms"]["median"], r["warm_latency_ms"], r["cpu_ms"]
        vs = []
        for metric in ("cold_start", "cpu_p50"):
            parts = []
            for baseline in (floor, python):
                if baseline is None or name.startswith("**"):
                    parts.append("-")
                    continue
                ours = cold if metric == "cold_start" else cpu["p50"]
                theirs = baseline["cold_start_ms"]["median"] if metric == "cold_start" else baseline["cpu_ms"]["p50"]
                parts.append(f"{ours / theirs:.2f}")
            vs.append(" / ".join(parts))
        rows.append(f"| {name} | {mb(r.get('size_bytes'))} ({mb(r.get('zip_bytes'))}) | {cold:.1f} "
                    f"| {warm['p50']:.2f} / {warm['p99']:.2f} | {cpu['p50']:.2f} / {cpu['p99']:.2f} "
                    f"| {r['peak_rss_kib'] / 1024:.1f} | {vs[0]} | {vs[1]} |")
    for name, r in results.get("extra", {}).items():
        rows.append(f"| {name} (not budgeted) | - | {r['cold_start_ms']['median']:.1f} "
                    f"| {r['warm_latency_ms']['p50']:.2f} / {r['warm_latency_ms']['p99']:.2f} "
                    f"| {r['cpu_ms']['p50']:.2f} / {r['cpu_ms']['p99']:.2f} | {r['peak_rss_kib'] / 1024:.1f} | - | - |")
    return "\n".join(rows)


def system_table(results: dict) -> str:
    rows = ["| concurrent clients | orders confirmed / s | placed -> confirmed p50 / p95 / p99 ms | orders (failed) |",
            "|---|---|---|---|"]
    for clients, r in results.get("system", {}).items():
        rows.append(f"| {clients} | {r['orders_per_second']:.2f} | {r.get('placed_to_confirmed_ms_p50', '-')} / "
                    f"{r.get('placed_to_confirmed_ms_p95', '-')} / {r.get('placed_to_confirmed_ms_p99', '-')} "
                    f"| {r['orders']} ({r['failures']}) |")
    return "\n".join(rows)


def before_after(before: dict, after: dict) -> str:
    rows = ["| function | cold start ms before -> after | CPU ms p50 before -> after | CPU ms p99 before -> after "
            "| peak RSS MiB before -> after |", "|---|---|---|---|---|"]
    pairs = list(after["functions"].items()) + list(after.get("extra", {}).items())
    for name, a in pairs:
        b = before["functions"].get(name) or before.get("extra", {}).get(name)
        if b is None:
            continue

        def arrow(get, digits=2):
            x, y = get(b), get(a)
            return f"{x:.{digits}f} -> {y:.{digits}f} ({(y / x - 1) * 100:+.0f} %)"
        rows.append(f"| {name} | {arrow(lambda r: r['cold_start_ms']['median'], 1)} "
                    f"| {arrow(lambda r: r['cpu_ms']['p50'])} | {arrow(lambda r: r['cpu_ms']['p99'])} "
                    f"| {arrow(lambda r: r['peak_rss_kib'] / 1024, 1)} |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    m = results["machine"]
    print(f"Measured {m['date']} at {m['commit']} on {m['cpus']} CPUs ({m['machine']}, kernel {m['kernel']}), "
          f"load average {', '.join(f'{x:.2f}' for x in m['load_average'])}; "
          f"{results['settings']['cold_runs']} cold starts and {results['settings']['warm_invocations']} "
          f"warm invocations per function.\n")
    print(functions_table(results))
    if results.get("system"):
        print()
        print(system_table(results))
    if args.before:
        print()
        print(before_after(json.loads(args.before.read_text()), results))


if __name__ == "__main__":
    main()
