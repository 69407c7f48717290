"""The dashboard in a real headless Chromium, served by `micropath serve` as a subprocess.

The graph is the Met's real London file plus a seeded 300-case SYNTHETIC coded bundle (see
tests/test_dashboard.py). Every test ends with "the browser reported no errors" (console errors, page
errors, failed requests). Screenshots of each page go to tests/artifacts/screenshots/.

Needs Debian's Chromium at /usr/bin/chromium: `bash .ci/install-browser.sh` (as root). Playwright
drives that browser and never downloads one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pandas as pd
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

from bench.server import running_dashboard
from dashboard import ids
from dashboard.pages import dom_id
from graph_model.embedded import EmbeddedBackend
from graph_model.vocab import get_vocabulary
from queries.registry import default_registry
from queries.runner import run_saved_query
from tests.conftest import REPO
from tests.test_dashboard import (
    LONDON,
    SYNTH,
    build_dashboard_db,
    expected_pair_tests,
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


@contextlib.contextmanager
def serving(folder: Path, **env: str) -> Iterator[Served]:
    """`micropath serve` (a real subprocess) on the dashboard test graph built in ``folder``."""
    db, bundle = build_dashboard_db(folder)
    log = folder / "serve.log"
    with running_dashboard(f"embedded:{db}", log, env=env, timeout_s=START_TIMEOUT_S, cwd=REPO) as base:
        yield Served(base, db, bundle, log)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("browser")) as running:
        yield running


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


def wait_rows(page: Page, table_id: str) -> list[dict[str, str]]:
    """The table's rows, once it has drawn at least one (tables load their code after the first render)."""
    page.wait_for_function("(id) => document.querySelectorAll('#' + id + ' tbody td[data-dash-column]').length > 0",
                           arg=table_id)
    return table_rows(page, table_id)


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


def choose(page: Page, dropdown_id: str, option_name: str | re.Pattern[str]) -> None:
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=option_name).click()


# ---- the shell -----------------------------------------------------------------------------------
def test_navigation_lists_every_page_and_the_keyboard_reaches_content(page: Page, served: Served) -> None:
    page.goto(served.base + "/")
    wait_status(page, ids.OV_YEAR.status, "ok")
    links = page.locator(f"#{ids.NAV} a").all_inner_texts()
    assert links[:2] == ["Overview", "Factor network"]
    assert {"Micropathways", "Homicide card", "Query workbench"} <= set(links)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.url.endswith(f"#{ids.MAIN}")
    page.keyboard.press("Tab")  # the next stop is inside the main content, not the navigation
    inside = page.evaluate(f"() => document.getElementById('{ids.MAIN}').contains(document.activeElement)")
    assert inside


# ---- overview ------------------------------------------------------------------------------------
def test_overview_shows_the_numbers_and_follows_the_filters(page: Page, served: Served) -> None:
    page.goto(served.base + "/")
    status = wait_status(page, ids.OV_YEAR.status, "ok")
    assert "SYNTHETIC data" in status
    badges = page.locator(f"#{ids.OV_BADGES} li").all_inner_texts()
    london = london_frame()
    assert badges == [f"{LONDON} · real data · {len(london):,} records", f"{SYNTH} · SYNTHETIC · 300 records"]
    page.wait_for_selector(f"#{ids.OV_YEAR.section} .js-plotly-plot .scatterlayer .trace", state="attached")
    assert page.locator(f"#{ids.OV_YEAR.section} .js-plotly-plot .scatterlayer .trace").count() == 2  # 2 datasets
    buttons = page.locator(f"#{ids.OV_YEAR.section} .modebar-btn").evaluate_all(
        "(all) => all.map(b => b.getAttribute('data-title'))")
    assert "Download plot as a PNG" in buttons, "charts export as PNG from the modebar"
    assert not [b for b in buttons if "Share" in (b or "")], "nothing is sent to a chart cloud"
    screenshot(page, "overview")

    choose(page, ids.OV_FILTERS.dataset, re.compile(f"^{LONDON} "))
    wait_for_url(page, f"dataset={LONDON}")
    page.wait_for_function("(id) => document.querySelectorAll('#' + id + ' li').length === 1", arg=ids.OV_BADGES)
    status = wait_status(page, ids.OV_YEAR.status, "ok")
    assert "SYNTHETIC" not in status
    page.locator(f"#{ids.OV_YEAR.section} summary").click()  # the numbers behind the chart
    page.wait_for_function("(id) => document.querySelectorAll('#' + id + ' tbody tr td').length > 0",
                           arg=ids.OV_YEAR.table)
    shown = table_rows(page, ids.OV_YEAR.table)
    expected = london["Recorded Year"].astype(int).value_counts().sort_index()
    assert [(int(r["year"]), int(r["records"].replace(",", ""))) for r in shown] == list(expected.items())[:len(shown)]
    network_link = page.locator(f"[id='{dom_id(ids.nav_link_id('network'))}']")
    page.wait_for_function("(el) => el.getAttribute('href').includes('dataset=')", arg=network_link.element_handle())
    assert network_link.get_attribute("href") == f"/network?dataset={LONDON}"
    assert page.locator(f"[id='{dom_id(ids.nav_link_id('card'))}']").get_attribute("href") == "/card"
    with page.expect_download() as download:
        page.locator(f"[id='{dom_id(ids.OV_YEAR.csv)}']").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0] == "dataset,year,records"
    assert len(text.splitlines()) == 1 + len(expected)
    screenshot(page, "overview-london")
    network_link.click()  # the filters come along
    wait_status(page, ids.NET_STATUS, "ok", showing=f"for {LONDON}, all years")


# ---- the network page ----------------------------------------------------------------------------
def test_network_draws_significant_links_and_follows_the_filters(page: Page, served: Served) -> None:
    page.goto(served.base + f"/network?dataset={SYNTH}")
    status = wait_status(page, ids.NET_STATUS, "ok", showing=f"for {SYNTH}")
    assert f"SYNTHETIC data: {SYNTH}" in status
    cases = pd.read_csv(served.bundle / "cases.csv", dtype=str)
    first, last = int(cases["year"].astype(int).min()), int(cases["year"].astype(int).max())
    prevalence = expected_prevalence(served.bundle, first, last)
    pairs = expected_pair_tests(served.bundle, first, last)
    significant = {k for k, w in pairs.items() if w.get("q", 1) <= 0.05 and w["n_ab"] >= 1}
    assert graph_counts(page) == (sum(1 for n, _ in prevalence.values() if n > 0), len(significant))
    assert {"Substance", "Domestic", "Health"} <= set(page.locator(f"#{ids.NET_LEGEND} li").all_inner_texts())
    with page.expect_download() as image:
        page.locator(f"#{ids.NET_PANEL.image}").click()  # Cytoscape's own PNG of the drawn network
    assert image.value.suggested_filename == "factor-network.png"
    assert Path(image.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    screenshot(page, "network")

    start = page.locator(f"#{ids.NET_FILTERS.years} input.dash-range-slider-min-input")
    start.fill("2020")
    start.press("Tab")  # the slider's number box commits on blur
    wait_for_url(page, f"dataset={SYNTH}", "year_from=2020")
    wait_status(page, ids.NET_STATUS, "ok", showing=f"for {SYNTH}, 2020–")
    pairs = expected_pair_tests(served.bundle, 2020, last)
    significant = {k for k, w in pairs.items() if w.get("q", 1) <= 0.05 and w["n_ab"] >= 1}
    prevalence = expected_prevalence(served.bundle, 2020, last)
    page.wait_for_function("(n) => window.cy && window.cy.edges().length === n", arg=len(significant))
    assert graph_counts(page) == (sum(1 for n, _ in prevalence.values() if n > 0), len(significant))
    rows = {r["factor"]: r for r in wait_rows(page, ids.NET_FACTORS.table)}
    assert sorted(int(r["n_present"]) for r in rows.values()) == sorted(n for n, _ in prevalence.values())[-len(rows):]

    choose(page, ids.NET_ALPHA, "1 (every tested pair)")
    wait_for_url(page, "alpha=1")
    loose = sum(1 for w in pairs.values() if "q" in w and w["n_ab"] >= 1)
    page.wait_for_function("(n) => window.cy && window.cy.edges().length === n", arg=loose)
    screenshot(page, "network-synthetic-2020")

    page.goto(served.base + f"/network?dataset={LONDON}&year_from=2010&year_to=2012")
    status = wait_status(page, ids.NET_STATUS, "ok", showing=f"for {LONDON}, 2010–2012")
    assert "no links" in status and "SYNTHETIC" not in status
    london = london_frame()
    window = london[london["Recorded Year"].astype(int).between(2010, 2012)]
    (row,) = wait_rows(page, ids.NET_FACTORS.table)
    assert int(row["n_present"]) == (window["Domestic Abuse"] == "Domestic Abuse").sum()
    assert graph_counts(page) == (1, 0)


def click_element(page: Page, element_id: str) -> None:
    """A real mouse click on a Cytoscape node, or on the middle of an edge, once the layout has settled."""
    page.locator(f"#{ids.NET_GRAPH}").scroll_into_view_if_needed()
    where = """([graph, id]) => {
        const el = window.cy.getElementById(id);
        const box = document.getElementById(graph).getBoundingClientRect();
        const p = el.isNode() ? el.renderedPosition() : el.renderedMidpoint();
        return [box.left + p.x, box.top + p.y]; }"""
    previous = None
    for _ in range(40):
        point = page.evaluate(where, [ids.NET_GRAPH, element_id])
        if point == previous:
            break
        previous = point
        page.wait_for_timeout(250)
    page.mouse.click(*point)


def test_clicking_the_network_lists_its_homicides_and_opens_a_card(page: Page, served: Served) -> None:
    page.goto(served.base + f"/network?dataset={SYNTH}&year_from=2016&year_to=2020")
    wait_status(page, ids.NET_STATUS, "ok", showing=f"for {SYNTH}, 2016–2020")
    page.wait_for_function("() => window.cy && window.cy.nodes().length > 0")
    factor = "micropathways:alcohol"
    click_element(page, factor)
    wait_status(page, ids.NET_CASES.status, "ok", "truncated")
    expected = behind(served, [factor], 2016, 2020)
    assert f"Records with Alcohol present, for {SYNTH}, 2016–2020: {len(expected):,}." in page.locator(
        f"#{ids.NET_SELECTION}").inner_text()
    assert all_listed(page) == expected

    edge = page.evaluate("""() => window.cy.edges().filter(e => e.data('n_ab') > 0).filter(e => {
        const m = e.renderedMidpoint();  // a link whose middle no node (or node label) covers
        return window.cy.nodes().every(n => { const b = n.renderedBoundingBox({includeLabels: true});
            return m.x < b.x1 - 4 || m.x > b.x2 + 4 || m.y < b.y1 - 4 || m.y > b.y2 + 4; }); })
        .map(e => e.id())[0]""")
    assert edge, "no link can be clicked without hitting a node"
    click_element(page, edge)
    a, b = edge.split("|")
    expected = behind(served, [a, b], 2016, 2020)
    page.wait_for_function("([id, n]) => document.getElementById(id).innerText.includes(': ' + n + '.')",
                           arg=[ids.NET_SELECTION, f"{len(expected):,}"])
    assert all_listed(page) == expected
    screenshot(page, "network-selection")

    page.get_by_role("link", name=expected[-1], exact=True).click()  # the table is on its last page
    page.wait_for_url(re.compile(r"/card\?uid="))
    assert unquote(page.url).endswith(f"/card?uid={expected[-1]}")
    wait_status(page, ids.CARD_PANEL.status, "ok")
    assert expected[-1] in page.locator(f"#{ids.CARD_FACTS}").inner_text()


def behind(served: Served, factors: list[str], year_from: int, year_to: int) -> list[str]:
    """Independent query: records of the synthetic dataset in the years with every factor present."""
    query = ("MATCH (h)-[:FROM_DATASET]->(d:Dataset) WHERE d.name = $dataset AND h.year >= $y0 AND h.year <= $y1 "
             "MATCH (h)-[r:HAS_FACTOR]->(f:Factor) WHERE r.present AND f.uid IN $factors "
             "WITH h, count(DISTINCT f) AS hits WHERE hits = size($factors) RETURN h.uid AS uid ORDER BY uid")
    with EmbeddedBackend(served.db) as backend:
        return [r["uid"] for r in backend.run_read(query, {"dataset": SYNTH, "y0": year_from, "y1": year_to,
                                                           "factors": factors}).rows]


def all_listed(page: Page) -> list[str]:
    """Every uid of the paged cases table (page through it)."""
    seen: list[str] = []
    while True:
        seen += [r["link"] for r in table_rows(page, ids.NET_CASES.table)]
        following = page.locator(f"#{ids.NET_CASES.table} button.next-page")
        if following.count() == 0 or following.is_disabled():
            return seen
        before = seen[-1]
        following.click()
        page.wait_for_function("([id, uid]) => !document.getElementById(id).innerText.includes(uid)",
                               arg=[ids.NET_CASES.table, before])


# ---- the card page -------------------------------------------------------------------------------
def test_card_shows_the_coded_factors_and_similar_homicides(page: Page, served: Served) -> None:
    case = "SYN-000007"
    uid = f"{SYNTH}:{case}"
    page.goto(served.base + f"/card?uid={quote(uid)}")
    status = wait_status(page, ids.CARD_PANEL.status, "ok")
    assert "SYNTHETIC record" in status
    factors = pd.read_csv(served.bundle / "factors.csv", dtype=str)
    labels = {c.uid.split(":", 1)[1]: c.label for c in get_vocabulary().concepts.values()
              if c.label_class == "Factor" and c.uid.startswith("micropathways:")}
    mine = factors[factors["case_id"] == case]
    present = sorted(labels[c] for c in mine.loc[mine["value"] == "present", "factor"])
    facts = page.locator(f"#{ids.CARD_FACTS} dd")
    terms = page.locator(f"#{ids.CARD_FACTS} dt").all_inner_texts()
    chips = facts.nth(terms.index("Factors present")).locator("li").all_inner_texts()
    assert sorted(chips) == present
    wait_status(page, ids.CARD_SIMILAR.status, "ok")
    similar = table_rows(page, ids.CARD_SIMILAR.table)
    assert similar and uid not in {r["link"] for r in similar}
    steps = wait_status(page, ids.CARD_TIMELINE.status, "ok", "empty")
    events = pd.read_csv(served.bundle / "events.csv", dtype=str)
    assert page.locator(".mp-timeline li").count() == (events["case_id"] == case).sum() + 1 or "No data" in steps
    screenshot(page, "card")

    box = page.locator(f"#{ids.CARD_UID}")
    box.fill("london-mps:1")
    box.press("Enter")
    wait_for_url(page, "uid=london-mps%3A1")
    wait_status(page, ids.CARD_PANEL.status, "ok", showing="london-mps:1")
    assert "real data" in page.locator(f"#{ids.CARD_FACTS}").inner_text()


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


# ---- the same pages on Neo4j (one smoke test) ----------------------------------------------------
def test_the_dashboard_runs_on_neo4j(browser: Browser, neo4j_uri: str, tmp_path: Path) -> None:
    from graph_model.neo4j_backend import Neo4jBackend
    from loaders.base import load
    from tests.conftest import LONDON_CSV

    with Neo4jBackend(neo4j_uri) as backend:
        backend.delete_all()
        load("london-mps", LONDON_CSV, backend)
    log = tmp_path / "serve-neo4j.log"
    with running_dashboard(neo4j_uri, log, timeout_s=START_TIMEOUT_S, cwd=REPO) as base:
        _neo4j_smoke(browser, base, log)


def _neo4j_smoke(browser: Browser, base: str, log: Path) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(60_000)
    problems = Problems()
    opened.on("console", problems.console)
    opened.on("pageerror", problems.page_error)
    opened.on("response", problems.response)
    try:
        opened.goto(base + f"/network?dataset={LONDON}&year_from=2010&year_to=2012")
        wait_status(opened, ids.NET_STATUS, "ok", showing=f"for {LONDON}, 2010–2012")
        london = london_frame()
        window = london[london["Recorded Year"].astype(int).between(2010, 2012)]
        (row,) = wait_rows(opened, ids.NET_FACTORS.table)
        assert int(row["n_present"]) == (window["Domestic Abuse"] == "Domestic Abuse").sum()
        assert int(row["n_coded"]) == len(window)
        assert opened.locator(f"#{ids.NAV} a[aria-current=page]").all_inner_texts() == ["Factor network"]
        opened.goto(base + "/")
        wait_status(opened, ids.OV_YEAR.status, "ok")
        assert opened.locator(f"#{ids.OV_BADGES} li").all_inner_texts() == [
            f"{LONDON} · real data · {len(london):,} records"]
        screenshot(opened, "overview-neo4j")
        assert problems.seen == [], f"the browser reported problems:\n{problems.seen}\n{log.read_text()[-3000:]}"
    finally:
        context.close()
