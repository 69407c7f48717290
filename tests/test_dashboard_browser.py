"""The dashboard in a real headless Chromium, served by `micropath serve` as a subprocess.

The graph is the Met's real London file plus a seeded 300-case SYNTHETIC coded bundle (see
tests/test_dashboard.py). Every test ends with "the browser reported no errors" (console errors, page
errors, failed requests). Screenshots of each page go to tests/artifacts/screenshots/.

Needs Debian's Chromium at /usr/bin/chromium: `bash .ci/install-browser.sh` (as root). Playwright
drives that browser and never downloads one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

from dashboard import ids
from dashboard.pages import dom_id
from graph_model.embedded import EmbeddedBackend
from queries.registry import default_registry
from queries.runner import run_saved_query
from tests.conftest import REPO
from tests.test_dashboard import (
    LONDON,
    SYNTH,
    build_dashboard_db,
    expected_prevalence,
    london_frame,
)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO / "tests" / "artifacts" / "screenshots"
START_TIMEOUT_S = 60
WAIT_MS = 20_000
TABLE_ROWS_JS = """(tableId) => Array.from(document.querySelectorAll('#' + tableId + ' tbody tr'))
  .map(tr => Object.fromEntries(Array.from(tr.querySelectorAll('td[data-dash-column]'))
    .map(td => [td.dataset.dashColumn, td.innerText.trim()])))
  .filter(row => Object.keys(row).length > 0)"""


# ---- the server and the browser ------------------------------------------------------------------
@dataclass
class Served:
    base: str
    db: Path
    bundle: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _micropath() -> list[str]:
    script = Path(sys.executable).parent / "micropath"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("browser")
    db, bundle = build_dashboard_db(folder)
    port = _free_port()
    log = folder / "serve.log"
    command = [*_micropath(), "serve", "--db", f"embedded:{db}", "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield Served(base, db, bundle, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`micropath serve` exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"`micropath serve` did not answer within {START_TIMEOUT_S}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash .ci/install-browser.sh` as root (installs Debian's "
                    "chromium; Playwright uses it and downloads nothing)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Problems:
    """Whatever the browser reports as wrong while a test runs."""

    seen: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"console error: {message.text}")

    def page_error(self, error: Any) -> None:
        self.seen.append(f"page error: {error}")

    def response(self, response: Response) -> None:
        if response.status >= 400:
            self.seen.append(f"HTTP {response.status} for {response.url}")


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    problems = Problems()
    opened.on("console", problems.console)
    opened.on("pageerror", problems.page_error)
    opened.on("response", problems.response)
    try:
        yield opened
        assert problems.seen == [], f"the browser reported problems:\n{problems.seen}\nserver log:\n" \
                                    f"{served.log.read_text()[-3000:]}"
    finally:
        context.close()


# ---- helpers -------------------------------------------------------------------------------------
def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def wait_status(page: Page, panel: str, *kinds: str, showing: str = "") -> str:
    """Wait until ``panel``'s status is one of ``kinds`` (and its text includes ``showing``)."""
    page.wait_for_function(
        """([panel, kinds, showing]) => {
             const box = document.getElementById(panel);
             const status = box && box.querySelector('[data-status]');
             return status && kinds.includes(status.dataset.status) && box.innerText.includes(showing);
           }""", arg=[panel, list(kinds), showing])
    return page.locator(f"#{panel}").inner_text()


def table_rows(page: Page, table_id: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = page.evaluate(TABLE_ROWS_JS, table_id)
    return rows


def graph_counts(page: Page) -> tuple[int, int]:
    """Nodes and edges in the Cytoscape instance (dash-cytoscape exposes it as window.cy)."""
    nodes, edges = page.evaluate("() => [window.cy.nodes().length, window.cy.edges().length]")
    return int(nodes), int(edges)


def direct(served: Served, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with EmbeddedBackend(served.db) as backend:
        return run_saved_query(backend, name, params).rows


def wait_for_url(page: Page, *parts: str) -> None:
    page.wait_for_function("(parts) => parts.every(p => window.location.search.includes(p))", arg=list(parts))


def choose(page: Page, dropdown_id: str, option_name: str) -> None:
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=option_name).click()


def present_factor_count(rows: list[dict[str, Any]]) -> int:
    return sum(1 for row in rows if row["n_present"] > 0)


# ---- the network page ----------------------------------------------------------------------------
def test_network_page_draws_the_factor_network(page: Page, served: Served) -> None:
    page.goto(served.base + "/")
    status = wait_status(page, ids.NET_STATUS, "ok", "truncated", showing="for all datasets, 2003–2024")
    assert "Includes SYNTHETIC data" in status
    wait_for_url(page, "year_from=2003", "year_to=2024")
    prevalence = direct(served, "factor_prevalence", {"year_from": 2003, "year_to": 2024})
    pairs = direct(served, "factor_cooccurrence", {"year_from": 2003, "year_to": 2024})
    assert graph_counts(page) == (present_factor_count(prevalence), len(pairs))
    shown = table_rows(page, ids.NET_FACTOR_TABLE)
    assert [r["factor"] for r in shown] == [r["factor"] for r in prevalence][:len(shown)]
    assert page.locator(f"#{ids.NET_SUMMARY}").inner_text().startswith(
        f"Graph: {present_factor_count(prevalence)} factor nodes and {len(pairs)} co-occurrence links")
    legend_items = page.locator(f"#{ids.NET_LEGEND} li").all_inner_texts()
    assert {"Substance", "Domestic", "Health"} <= set(legend_items)
    screenshot(page, "network")


def test_filters_change_the_view_and_the_url(page: Page, served: Served) -> None:
    page.goto(served.base + "/")
    wait_status(page, ids.NET_STATUS, "ok", "truncated", showing="for all datasets")
    choose(page, ids.NET_DATASET, f"{SYNTH} (synthetic)")
    wait_for_url(page, f"dataset={SYNTH}")
    status = wait_status(page, ids.NET_STATUS, "ok", showing=f"links for {SYNTH}")
    assert f"SYNTHETIC data: {SYNTH}" in status
    start = page.locator("input.dash-range-slider-min-input")
    start.fill("2020")
    start.press("Tab")  # the slider's number box commits on blur
    wait_for_url(page, f"dataset={SYNTH}", "year_from=2020")
    wait_status(page, ids.NET_STATUS, "ok", showing=f"links for {SYNTH}, 2020–")
    end = int(page.locator("input.dash-range-slider-max-input").input_value())
    expected = expected_prevalence(served.bundle, 2020, end)
    rows = {r["factor"]: r for r in table_rows(page, ids.NET_FACTOR_TABLE)}
    labels = {r["factor"]: r["uid"].split(":", 1)[1]
              for r in direct(served, "factor_prevalence", {"dataset": SYNTH})}
    assert len(rows) == len(expected)
    for factor, row in rows.items():
        assert (int(row["n_present"]), int(row["n_coded"])) == expected[labels[factor]], factor
    pairs = direct(served, "factor_cooccurrence", {"dataset": SYNTH, "year_from": 2020, "year_to": end})
    assert graph_counts(page) == (sum(1 for n, _ in expected.values() if n > 0), len(pairs))
    screenshot(page, "network-synthetic-2020")

    # A shared link opens the same view.
    page.goto(served.base + f"/?dataset={LONDON}&year_from=2010&year_to=2012")
    status = wait_status(page, ids.NET_STATUS, "ok", showing=f"for {LONDON}, 2010–2012")
    assert "no links" in status and "SYNTHETIC" not in status
    london = london_frame()
    window = london[london["Recorded Year"].astype(int).between(2010, 2012)]
    (row,) = table_rows(page, ids.NET_FACTOR_TABLE)
    assert int(row["n_present"]) == (window["Domestic Abuse"] == "Domestic Abuse").sum()
    assert int(row["n_coded"]) == len(window)
    assert graph_counts(page) == (1, 0)
    assert f"dataset={LONDON}" in page.url and "year_from=2010" in page.url
    screenshot(page, "network-london-link")


# ---- the workbench page --------------------------------------------------------------------------
def test_workbench_runs_a_saved_query_from_its_form(page: Page, served: Served) -> None:
    page.goto(served.base + "/queries")
    wait_status(page, ids.WB_STATUS, "idle")
    page.click(f"#{ids.WB_QUERY}")
    listed = page.get_by_role("option").all_inner_texts()
    assert [text.rsplit("(", 1)[1].rstrip(")") for text in listed] == [q.name for q in default_registry()]
    page.get_by_role("option", name="(factor_prevalence)").click()
    wait_for_url(page, "query=factor_prevalence")
    dataset = page.locator(f"[id='{dom_id(ids.param_id('dataset'))}']")
    dataset.fill(LONDON)
    year_from = page.locator(f"[id='{dom_id(ids.param_id('year_from'))}']")
    year_from.fill("2010")
    run = page.get_by_role("button", name="Run query")
    run.focus()
    page.keyboard.press("Enter")  # keyboard alone runs it
    status = wait_status(page, ids.WB_STATUS, "done")
    expected = direct(served, "factor_prevalence", {"dataset": LONDON, "year_from": 2010})
    assert f"{len(expected)} row" in status
    shown = table_rows(page, ids.WB_TABLE)
    assert shown == [{k: _cell(v) for k, v in row.items()} for row in expected]
    screenshot(page, "workbench")

    year_from.fill("")
    run.click()
    status = wait_status(page, ids.WB_STATUS, "error")
    assert "bad parameter" in status and "year_from" in status
    assert table_rows(page, ids.WB_TABLE) == []
    screenshot(page, "workbench-error")


def _cell(value: Any) -> str:
    """How DataTable shows a value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
