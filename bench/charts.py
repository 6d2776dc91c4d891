#!/usr/bin/env python3
"""The charts of docs/performance.md, as plain SVG written from bench/results.json (no plotting
library: a few lines and bars need none, and the files diff as text). `make bench` renders them
after each run; `bench/charts.py [results.json]` renders them again. Tested by
bench/test_charts.py.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images" / "bench"
WIDTH, HEIGHT = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 40, 50
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f"]
FONT = 'font-family="sans-serif" font-size="12"'
TITLE_FONT = 'font-family="sans-serif" font-size="15"'


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high`: steps of 1, 2 or 5 times a power of ten."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks, value = [], 0.0
    while value < high - 1e-9:
        ticks.append(round(value, 10))
        value += step
    ticks.append(round(value, 10))
    return ticks


def label(value: float) -> str:
    return f"{value:g}"


class Plot:
    """One chart: axes from 0 to the data's nice maximum, drawn as SVG elements."""

    def __init__(self, title: str, x_label: str, y_label: str, x_max: float, y_max: float):
        self.x_ticks, self.y_ticks = nice_ticks(x_max), nice_ticks(y_max)
        self.parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
            f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" {TITLE_FONT}>{escape(title)}</text>',
        ]
        for tick in self.y_ticks:
            y = self.y(tick)
            self.parts.append(
                f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e5e5e5"/>'
            )
            self.parts.append(
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{label(tick)}</text>'
            )
        for tick in self.x_ticks:
            x = self.x(tick)
            self.parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" {FONT}>'
                f"{label(tick)}</text>"
            )
        self.parts += [
            f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="black"/>',
            f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="black"/>',
            f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 12}" text-anchor="middle" {FONT}>'
            f"{escape(x_label)}</text>",
            f'<text x="16" y="{(TOP + HEIGHT - BOTTOM) / 2}" text-anchor="middle" {FONT} '
            f'transform="rotate(-90 16 {(TOP + HEIGHT - BOTTOM) / 2})">{escape(y_label)}</text>',
        ]
        self.legend = 0

    def x(self, value: float) -> float:
        return LEFT + value / self.x_ticks[-1] * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return HEIGHT - BOTTOM - value / self.y_ticks[-1] * (HEIGHT - TOP - BOTTOM)

    def key(self, text: str, colour: str, dashed: bool = False):
        y = TOP + 8 + self.legend * 18
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        self.parts.append(
            f'<line x1="{WIDTH - RIGHT + 12}" y1="{y}" x2="{WIDTH - RIGHT + 32}" y2="{y}" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
        )
        self.parts.append(f'<text x="{WIDTH - RIGHT + 38}" y="{y + 4}" {FONT}>{escape(text)}</text>')
        self.legend += 1

    def line(self, name: str, points: list[tuple[float, float]], colour: str, dashed: bool = False):
        if not points:
            return
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        path = " ".join(f"{self.x(x):.1f},{self.y(y):.1f}" for x, y in points)
        self.parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        if len(points) <= 30:  # measured levels are marked; a long step curve is only a line
            for x, y in points:
                self.parts.append(
                    f'<circle cx="{self.x(x):.1f}" cy="{self.y(y):.1f}" r="3" fill="{colour}"/>'
                )
        self.key(name, colour, dashed)

    def level(self, name: str, value: float, colour: str):
        """A horizontal reference line (a budget, a baseline)."""
        y = self.y(value)
        self.parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="1.5" stroke-dasharray="5,4"/>'
        )
        self.key(name, colour, dashed=True)

    def mark(self, text: str, x_value: float):
        """A vertical marker (the knee)."""
        x = self.x(x_value)
        self.parts.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#555" '
            f'stroke-dasharray="2,3"/>'
        )
        # Labelled on the side with room: right of the line in the left half, left of it after.
        right_half = x > (LEFT + WIDTH - RIGHT) / 2
        anchor, offset = ("end", -4) if right_half else ("start", 4)
        self.parts.append(
            f'<text x="{x + offset:.1f}" y="{TOP + 12}" text-anchor="{anchor}" {FONT}>{escape(text)}</text>'
        )

    def svg(self) -> str:
        return "\n".join([*self.parts, "</svg>"]) + "\n"


def latency_chart(open_loop: dict, budget_ms: float) -> str:
    """Placed -> terminal p50 / p95 / p99 against the offered rate, the budget and the knee."""
    levels = sorted(open_loop["levels"], key=lambda level: level["offered_per_s"])
    series = {
        p: [
            (level["offered_per_s"], level["placed_to_terminal_ms"][p])
            for level in levels
            if p in level["placed_to_terminal_ms"]
        ]
        for p in ("p50", "p95", "p99")
    }
    y_max = max([budget_ms] + [y for points in series.values() for _, y in points])
    plot = Plot(
        "The saga under open-loop load: placed -> terminal",
        "orders offered per second",
        "milliseconds",
        max(level["offered_per_s"] for level in levels),
        y_max,
    )
    for colour, (p, points) in zip(COLOURS, series.items(), strict=False):
        plot.line(p, points, colour)
    plot.level(f"budget {budget_ms:g} ms", budget_ms, "#d62728")
    if open_loop.get("knee_per_s") is not None:
        plot.mark(f"knee {open_loop['knee_per_s']:g}/s", open_loop["knee_per_s"])
    return plot.svg()


def throughput_chart(open_loop: dict) -> str:
    """Achieved against offered orders per second, with the line where they are equal."""
    levels = sorted(open_loop["levels"], key=lambda level: level["offered_per_s"])
    top = max(max(level["offered_per_s"], level["achieved_per_s"]) for level in levels)
    plot = Plot(
        "Throughput under open-loop load",
        "orders offered per second",
        "orders completed per second",
        top,
        top,
    )
    plot.line("achieved", [(level["offered_per_s"], level["achieved_per_s"]) for level in levels], COLOURS[0])
    plot.line("offered (keeping up)", [(0, 0), (top, top)], "#7f7f7f", dashed=True)
    if open_loop.get("knee_per_s") is not None:
        plot.mark(f"knee {open_loop['knee_per_s']:g}/s", open_loop["knee_per_s"])
    return plot.svg()


def bars_chart(
    title: str, unit: str, rows: list[tuple[str, float]], references: list[tuple[str, float]]
) -> str:
    """Horizontal bars, one per row, with vertical reference lines (baselines, the budget)."""
    height = TOP + BOTTOM + 22 * len(rows)
    high = max([value for _, value in rows] + [value for _, value in references])
    ticks = nice_ticks(high)
    left, right = 170, 190
    span = WIDTH - left - right

    def x(value):
        return left + value / ticks[-1] * span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" {TITLE_FONT}>{escape(title)}</text>',
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{TOP}" x2="{x(tick):.1f}" y2="{height - BOTTOM}" stroke="#e5e5e5"/>'
        )
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - BOTTOM + 16}" text-anchor="middle" {FONT}>'
            f"{label(tick)}</text>"
        )
    parts.append(
        f'<text x="{left + span / 2}" y="{height - 14}" text-anchor="middle" {FONT}>{escape(unit)}</text>'
    )
    for index, (name, value) in enumerate(rows):
        y = TOP + 4 + index * 22
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" {FONT}>{escape(name)}</text>')
        parts.append(
            f'<rect x="{left}" y="{y}" width="{max(0.5, x(value) - left):.1f}" height="16" '
            f'fill="{COLOURS[0]}"/>'
        )
        parts.append(f'<text x="{x(value) + 4:.1f}" y="{y + 13}" {FONT}>{value:.2f}</text>')
    for index, (name, value) in enumerate(references):
        colour = COLOURS[1 + index % (len(COLOURS) - 1)]
        parts.append(
            f'<line x1="{x(value):.1f}" y1="{TOP}" x2="{x(value):.1f}" y2="{height - BOTTOM}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="5,4"/>'
        )
        y = TOP + 8 + index * 18
        parts.append(
            f'<line x1="{WIDTH - right + 12}" y1="{y}" x2="{WIDTH - right + 32}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2" stroke-dasharray="5,4"/>'
        )
        parts.append(f'<text x="{WIDTH - right + 38}" y="{y + 4}" {FONT}>{escape(name)}</text>')
    return "\n".join([*parts, "</svg>"]) + "\n"


def baseline_charts(results: dict) -> dict[str, str]:
    """Cold start and CPU p50 of every function against the floor and the SDK-defaults
    reference (Python's figures are in the table: on this scale they would hide the rest)."""
    baselines = results["baselines"]
    charts = {}
    for file, title, unit, get in (
        ("cold-start.svg", "Cold start, median", "milliseconds", lambda r: r["cold_start_ms"]["median"]),
        ("cpu.svg", "CPU per warm invocation, p50", "milliseconds", lambda r: r["cpu_ms"]["p50"]),
    ):
        rows = [(name, get(result)) for name, result in results["functions"].items()]
        references = [
            (f"{name}: {get(baselines[name]):.2f}", get(baselines[name]))
            for name in ("floor", "sdk-defaults")
            if name in baselines
        ]
        if file == "cold-start.svg" and "budgets" in results:
            references.append(
                (f"budget: {results['budgets']['cold_start_ms']:g}", results["budgets"]["cold_start_ms"])
            )
        charts[file] = bars_chart(title, unit, rows, references)
    return charts


def flash_sale_chart(flash: dict) -> str:
    """Orders terminal (and confirmed) against time since the first arrival."""
    completions = sorted(flash["completions"])
    top_time = max([t for t, _ in completions] + [1.0])
    plot = Plot(
        f"Flash sale: {flash['orders']} orders for {flash['stock']} units",
        "seconds since the first order",
        "orders",
        top_time,
        flash["orders"],
    )
    confirmed, terminal_points, confirmed_points = 0, [(0.0, 0)], [(0.0, 0)]
    for done, (t, status) in enumerate(completions, start=1):
        terminal_points.append((t, done))
        if status == "confirmed":
            confirmed += 1
            confirmed_points.append((t, confirmed))
    plot.line("terminal", terminal_points, COLOURS[0])
    plot.line("confirmed", confirmed_points, COLOURS[2])
    plot.level(f"stock {flash['stock']}", flash["stock"], "#d62728")
    return plot.svg()


def render(results: dict, out: Path = OUT) -> list[Path]:
    """Every chart the results have data for, written to `out`; the files written."""
    charts = {}
    if results.get("functions") and results.get("baselines"):
        charts.update(baseline_charts(results))
    if results.get("open_loop"):
        charts["open-loop-latency.svg"] = latency_chart(
            results["open_loop"], results["budgets"]["saga_p50_ms"]
        )
        charts["open-loop-throughput.svg"] = throughput_chart(results["open_loop"])
    if results.get("flash_sale", {}).get("completions"):
        charts["flash-sale.svg"] = flash_sale_chart(results["flash_sale"])
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, svg in charts.items():
        (out / name).write_text(svg)
        written.append(out / name)
    return written


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("results", nargs="?", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    for path in render(json.loads(args.results.read_text()), args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
