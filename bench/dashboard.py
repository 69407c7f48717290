"""Benchmark the dashboard in a real browser: first render of the factor-network page and the round trip
of a filter change, median and p95 over --runs runs, on a SYNTHETIC graph of --cases homicides.

    python bench/dashboard.py [--cases 100000] [--runs 20] [--db embedded:PATH]

Without --db, a seeded synthetic bundle of --cases homicides is generated and loaded into a temporary
embedded database. `micropath serve` runs as a subprocess; Playwright drives Debian's Chromium
(/usr/bin/chromium, `bash .ci/install-browser.sh`), never a downloaded browser.

- cold start: from the server answering to the first network page drawn (the server builds its record
  index in the background when it starts; the first page waits for it). Printed once.
- first render: a fresh browser tab opens /network and waits until the panel reports its state and the
  Cytoscape graph has its nodes (navigation start to drawn).
- filter round trip: on a loaded page, type a new first year in the year filter; time until the panel
  says it shows that range and the graph has been redrawn. Every run uses a year range not used before,
  so no run is answered from the service's per-filter cache.
Targets (issue 5): first render < 2 s, filter round trip < 500 ms. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.server import running_dashboard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
STATUS = "net-status"
YEARS = "net-years"
READY_JS = """([panel, showing]) => {
    const box = document.getElementById(panel);
    const s = box && box.querySelector('[data-status]');
    return s && ['ok', 'truncated', 'empty'].includes(s.dataset.status) && box.innerText.includes(showing)
        && window.cy && window.cy.nodes().length > 0; }"""


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def summary(name: str, values: list[float], target_s: float) -> str:
    median = statistics.median(values)
    verdict = "meets" if p95(values) < target_s else ("median meets" if median < target_s else "MISSES")
    return (f"{name:<22} median {median * 1000:8.1f} ms   p95 {p95(values) * 1000:8.1f} ms   "
            f"min {min(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms   (n={len(values)}; "
            f"target < {target_s * 1000:.0f} ms: {verdict})")


def build_db(cases: int, folder: Path) -> str:
    from graph_model.embedded import EmbeddedBackend
    from loaders import synthetic
    from loaders.base import load

    start = time.perf_counter()
    bundle = synthetic.write_bundle(folder / "synthetic", cases=cases, seed=7)
    db = folder / "graph.lbdb"
    with EmbeddedBackend(db, read_only=False) as backend:
        load("coded", bundle, backend)
    print(f"loaded {cases:,} synthetic homicides in {time.perf_counter() - start:.1f} s", flush=True)
    return f"embedded:{db}"


def year_ranges(low: int, high: int, count: int) -> list[tuple[int, int]]:
    """``count`` distinct (first, last) year ranges with low + 2 <= first < last (low + 1 is where each
    group of runs starts, and the whole span would mean "any year")."""
    out = [(first, last) for last in range(high, low + 2, -1) for first in range(low + 2, last)]
    if len(out) < count:
        raise SystemExit(f"the data spans {low}–{high}: too few distinct year ranges for {count} runs")
    return out[:count]


def set_year(page: Any, box: Any, year: int, showing: str) -> None:
    box.fill(str(year))
    box.press("Tab")  # the slider's number box commits on blur
    page.wait_for_function(READY_JS, arg=[STATUS, showing])


def measure(base: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(300_000)
            start = time.perf_counter()
            page.goto(base + "/network")
            page.wait_for_function(READY_JS, arg=[STATUS, "links for"])
            print(f"cold start (record index built, then the first page drawn): "
                  f"{time.perf_counter() - start:.2f} s", flush=True)
            context.close()

            first: list[float] = []
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.set_default_timeout(60_000)
                start = time.perf_counter()
                page.goto(base + "/network")
                page.wait_for_function(READY_JS, arg=[STATUS, "links for"])
                first.append(time.perf_counter() - start)
                context.close()
            print(summary("first render", first, 2.0), flush=True)

            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(base + "/network")
            page.wait_for_function(READY_JS, arg=[STATUS, "links for"])
            low = int(page.locator(f"#{YEARS} input.dash-range-slider-min-input").input_value())
            high = int(page.locator(f"#{YEARS} input.dash-range-slider-max-input").input_value())
            start_box = page.locator(f"#{YEARS} input.dash-range-slider-min-input")
            end_box = page.locator(f"#{YEARS} input.dash-range-slider-max-input")
            trips: list[float] = []
            current_end = high
            for first_year, last_year in year_ranges(low, high, runs):
                if last_year != current_end:  # set up, not timed: start at low + 1, then the last year
                    set_year(page, start_box, low + 1, f"{low + 1}–{current_end} (")
                    set_year(page, end_box, last_year, f"{low + 1}–{last_year} (")
                    current_end = last_year
                start = time.perf_counter()
                set_year(page, start_box, first_year, f"{first_year}–{last_year} (")
                trips.append(time.perf_counter() - start)
            print(summary("filter round trip", trips, 0.5), flush=True)
            context.close()
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", help="an existing database URI (default: load --cases synthetic homicides)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: run `bash .ci/install-browser.sh` (as root)")
    with tempfile.TemporaryDirectory(prefix="mp-bench-dashboard-") as tmp:
        db = args.db or build_db(args.cases, Path(tmp))
        log = Path(tmp) / "serve.log"
        with running_dashboard(db, log, env={"MICROPATH_AUTH": "off"}) as base:  # no login
            print(f"dashboard on {base} ({db}); {args.runs} runs each; headless Chromium", flush=True)
            measure(base, args.runs)


if __name__ == "__main__":
    main()
