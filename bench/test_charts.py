"""The charts of docs/performance.md (bench/charts.py): valid SVG, the data where it belongs."""

import sys
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import charts

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # raises on anything that is not well-formed XML


def texts(root: ElementTree.Element) -> list[str]:
    return [element.text for element in root.iter(f"{SVG}text")]


def level(rate, p50, p95, p99, achieved):
    return {
        "offered_per_s": rate,
        "achieved_per_s": achieved,
        "placed_to_terminal_ms": {"p50": p50, "p95": p95, "p99": p99},
    }


OPEN_LOOP = {
    "levels": [
        level(2, 200, 250, 260, 2.0),
        level(10, 300, 500, 700, 9.8),
        level(40, 4000, 9000, 9500, 21.0),
    ],
    "knee_per_s": 10,
}


class Ticks(unittest.TestCase):
    def test_ticks_are_round_steps_from_zero_past_the_maximum(self):
        self.assertEqual(charts.nice_ticks(2000), [0, 500, 1000, 1500, 2000])
        self.assertEqual(charts.nice_ticks(9500), [0, 2000, 4000, 6000, 8000, 10000])
        self.assertEqual(charts.nice_ticks(0.37), [0, 0.1, 0.2, 0.3, 0.4])
        self.assertEqual(charts.nice_ticks(0), [0.0, 1.0])


class Charts(unittest.TestCase):
    def test_the_latency_chart_has_a_line_per_percentile_the_budget_and_the_knee(self):
        root = parsed(charts.latency_chart(OPEN_LOOP, 2000))
        self.assertEqual(len(list(root.iter(f"{SVG}polyline"))), 3)
        self.assertEqual(len(list(root.iter(f"{SVG}circle"))), 9)
        labels = texts(root)
        for expected in ("p50", "p95", "p99", "budget 2000 ms", "knee 10/s", "10000"):
            self.assertIn(expected, labels)

    def test_a_point_is_placed_by_its_value_on_the_axes(self):
        plot = charts.Plot("t", "x", "y", x_max=40, y_max=10000)
        self.assertEqual(plot.x(0), charts.LEFT)
        self.assertEqual(plot.x(40), charts.WIDTH - charts.RIGHT)
        self.assertEqual(plot.y(0), charts.HEIGHT - charts.BOTTOM)
        self.assertEqual(plot.y(10000), charts.TOP)
        self.assertEqual(plot.y(5000), (charts.TOP + charts.HEIGHT - charts.BOTTOM) / 2)

    def test_the_throughput_chart_draws_achieved_against_offered(self):
        root = parsed(charts.throughput_chart(OPEN_LOOP))
        lines = list(root.iter(f"{SVG}polyline"))
        self.assertEqual(len(lines), 2)
        self.assertIn("offered (keeping up)", texts(root))

    def test_the_baseline_charts_have_a_bar_per_function_and_a_line_per_baseline(self):
        def result(cold, cpu):
            return {"cold_start_ms": {"median": cold}, "cpu_ms": {"p50": cpu}}

        results = {
            "functions": {"users-api": result(7.0, 0.4), "orders-api": result(10.0, 1.0)},
            "baselines": {
                "floor": result(6.0, 0.35),
                "sdk-defaults": result(11.0, 0.46),
                "python": result(270.0, 1.7),
            },
            "budgets": {"cold_start_ms": 15.0},
        }
        made = charts.baseline_charts(results)
        self.assertEqual(set(made), {"cold-start.svg", "cpu.svg"})
        root = parsed(made["cold-start.svg"])
        self.assertEqual(len([r for r in root.iter(f"{SVG}rect") if r.get("height") == "16"]), 2)
        labels = texts(root)
        self.assertIn("floor: 6.00", labels)
        self.assertIn("sdk-defaults: 11.00", labels)
        self.assertIn("budget: 15", labels)
        self.assertFalse(any("python" in (label or "") for label in labels))

    def test_text_from_the_results_is_escaped(self):
        svg = charts.bars_chart("a <b> & c", "ms", [("<f>", 1.0)], [])
        self.assertIn("a &lt;b&gt; &amp; c", svg)
        self.assertEqual(texts(parsed(svg))[0], "a <b> & c")

    def test_the_flash_sale_chart_counts_orders_as_they_end(self):
        flash = {
            "orders": 4,
            "stock": 2,
            "completions": [[0.4, "confirmed"], [0.5, "rejected"], [0.3, "confirmed"], [0.6, "rejected"]],
        }
        root = parsed(charts.flash_sale_chart(flash))
        terminal, confirmed = list(root.iter(f"{SVG}polyline"))
        self.assertEqual(len(terminal.get("points").split()), 5)  # the origin and four orders
        self.assertEqual(len(confirmed.get("points").split()), 3)  # the origin and two confirmed
        self.assertIn("stock 2", texts(root))

    def test_render_writes_only_the_charts_it_has_data_for(self):
        with tempfile.TemporaryDirectory() as out:
            written = charts.render({"budgets": {"saga_p50_ms": 2000}, "open_loop": OPEN_LOOP}, Path(out))
            self.assertEqual(
                sorted(path.name for path in written), ["open-loop-latency.svg", "open-loop-throughput.svg"]
            )
            for path in written:
                parsed(path.read_text())


if __name__ == "__main__":
    unittest.main()
