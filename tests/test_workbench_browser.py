"""The query workbench and the micropathways page in a real headless Chromium (Debian's, driven by Playwright),
served by `micropath serve` with its own user-query folder (MICROPATH_QUERY_DIR, a temporary directory).

Reuses the browser, page and helper functions of tests/test_dashboard_browser.py; every test ends with "the
browser reported no errors". Screenshots go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from dashboard import ids
from dashboard.pages import dom_id
from graph_model.embedded import EmbeddedBackend
from queries.user_store import QUERY_DIR_ENV, UserQueryStore
from tests import test_dashboard_browser as shared
from tests.test_dashboard import LONDON, SYNTH, london_frame
from tests.test_dashboard_browser import (
    Served,
    choose,
    screenshot,
    table_rows,
    wait_for_url,
    wait_status,
)
from tests.test_dashboard_pathways import expected_transitions, pathways_from_files

pytestmark = pytest.mark.browser
browser = shared.browser  # the shared fixtures: headless Chromium, and a page that fails on browser errors
page = shared.page
BY_YEAR = ("MATCH (h:Homicide)-[:FROM_DATASET]->(d:Dataset) WHERE d.name = $dataset "
           "RETURN h.year AS year, count(h) AS homicides ORDER BY year")


@pytest.fixture(scope="module")
def query_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("user-queries")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, query_dir: Path) -> Iterator[Served]:
    with shared.serving(tmp_path_factory.mktemp("browser-b"), **{QUERY_DIR_ENV: str(query_dir)}) as running:
        yield running


def node_count(db: Path) -> int:
    with EmbeddedBackend(db) as backend:
        return int(backend.run_read("MATCH (n) RETURN count(n) AS n").rows[0]["n"])


def london_years() -> dict[str, str]:
    years = london_frame()["Recorded Year"].astype(int).value_counts().sort_index()
    return {str(y): str(n) for y, n in years.items()}


def set_value(page: Page, component_id: str, value: str) -> None:
    page.locator(f"[id='{dom_id(component_id)}']").fill(value)


# ---- the workbench -------------------------------------------------------------------------------
def test_a_write_is_refused_and_the_graph_is_unchanged(page: Page, served: Served) -> None:
    before = node_count(served.db)
    page.goto(served.base + "/queries")
    wait_status(page, ids.WB_STATUS, "idle")
    set_value(page, ids.WB_ADHOC_TEXT, "CREATE (n)")
    page.get_by_role("button", name="Run ad-hoc query").click()
    status = wait_status(page, ids.WB_STATUS, "error", showing="Refused")
    assert "contains CREATE" in status and "Nothing was run" in status
    assert table_rows(page, ids.WB_TABLE) == []
    assert node_count(served.db) == before
    screenshot(page, "workbench-refused")


def test_save_reopen_view_and_restore_a_query(page: Page, served: Served, query_dir: Path) -> None:
    page.goto(served.base + "/queries")
    wait_status(page, ids.WB_STATUS, "idle")
    set_value(page, ids.WB_ADHOC_TEXT, BY_YEAR)
    set_value(page, ids.WB_ADHOC_PARAMS, f"dataset string {LONDON} Dataset name")
    page.get_by_role("button", name="Run ad-hoc query").click()
    wait_status(page, ids.WB_STATUS, "done")
    assert {r["year"]: r["homicides"] for r in table_rows(page, ids.WB_TABLE)} == london_years()

    set_value(page, ids.WB_SAVE_NAME, "london_years")
    set_value(page, ids.WB_SAVE_TITLE, "London homicides per year")
    set_value(page, ids.WB_SAVE_DESCRIPTION, "First version")
    page.get_by_role("button", name="Save query").click()
    wait_status(page, ids.WB_SAVE_STATUS, "done", showing="version 1")
    # a second version, drawn as a chart
    choose(page, ids.WB_ADHOC_SHAPE, "chart")
    set_value(page, ids.WB_ADHOC_X, "year")
    set_value(page, ids.WB_ADHOC_Y, "homicides")
    set_value(page, ids.WB_SAVE_TITLE, "London per year, chart")
    page.get_by_role("button", name="Save query").click()
    wait_status(page, ids.WB_SAVE_STATUS, "done", showing="version 2")
    assert [v.version for v in UserQueryStore(query_dir).versions("london_years")] == [1, 2]

    # reopened from a fresh page by its link, it runs as a chart with the same numbers
    page.goto(served.base + "/queries?query=london_years")
    wait_status(page, ids.WB_STATUS, "idle")
    page.get_by_role("button", name="Run query").click()
    wait_status(page, ids.WB_STATUS, "done", showing="Drawn as a chart")
    assert {r["year"]: r["homicides"] for r in table_rows(page, ids.WB_TABLE)} == london_years()
    assert page.locator(f"#{ids.WB_CHART} .plot-container").count() == 1
    screenshot(page, "workbench-user-query-chart")

    # view version 1, then restore it (it becomes version 3)
    choose(page, ids.WB_VERSIONS, "v1 — saved")
    page.wait_for_function("(id) => document.getElementById(id).innerText.includes('version = 1')",
                           arg=ids.WB_VERSION_TEXT)
    assert 'title = "London homicides per year"' in page.locator(f"#{ids.WB_VERSION_TEXT}").inner_text()
    page.get_by_role("button", name="Restore this version").click()
    page.wait_for_function("(id) => document.getElementById(id).innerText.includes('restored as version 3')",
                           arg=ids.WB_VERSION_STATUS)
    newest = UserQueryStore(query_dir).version("london_years")
    assert newest.version == 3 and newest.restored_from == 1 and newest.query.result == "table"
    screenshot(page, "workbench-versions")


# ---- the micropathways page ----------------------------------------------------------------------
def test_pathways_page_draws_and_filters(page: Page, served: Served) -> None:
    page.goto(served.base + "/pathways")
    status = wait_status(page, ids.PW_TRANSITIONS.status, "ok", "truncated")
    assert "Includes SYNTHETIC data" in status
    _cases, steps, _ = pathways_from_files(served.bundle)
    assert f"{len(expected_transitions(steps))} transitions in {len(steps)} pathways" in status
    assert page.locator(f"#{ids.PW_DIAGRAM} .sankey").count() == 1
    wait_status(page, ids.PW_SEQUENCES.status, "ok")
    wait_status(page, ids.PW_ESCALATION.status, "ok")
    screenshot(page, "pathways")

    # a filter changes what is shown, and the URL
    start = page.locator(f"#{ids.PW_FILTERS.years} input.dash-range-slider-min-input")
    start.fill("2020")
    start.press("Tab")
    wait_for_url(page, "year_from=2020")
    end = int(page.locator(f"#{ids.PW_FILTERS.years} input.dash-range-slider-max-input").input_value())
    _cases, steps, _ = pathways_from_files(served.bundle, 2020, end)
    status = wait_status(page, ids.PW_TRANSITIONS.status, "ok", "truncated",
                         showing=f"in {len(steps)} pathways")
    assert f"{len(expected_transitions(steps))} transitions" in status
    choose(page, ids.PW_FILTERS.dataset, f"{SYNTH} (synthetic)")
    wait_for_url(page, f"dataset={SYNTH}")
    screenshot(page, "pathways-2020")

    # London records no prior events: every panel says no data
    page.goto(served.base + f"/pathways?dataset={LONDON}")
    status = wait_status(page, ids.PW_TRANSITIONS.status, "empty")
    assert "No data" in status
