"""The dataset links page in a real headless Chromium, served by `micropath serve` as a subprocess.

The graph is the constructed one of tests/test_dashboard_links.py (a deterministic run and a seeded Splink
run). Expected counts are read from the graph with plain Cypher and counted with pandas. The test ends with
"the browser reported no errors" (console errors, page errors, failed requests) and leaves a screenshot in
tests/artifacts/screenshots/links.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from playwright.sync_api import Page

from bench.server import running_dashboard
from dashboard import ids
from graph_model.embedded import EmbeddedBackend
from tests.conftest import REPO
from tests.test_dashboard_browser import (
    browser,
    screenshot,
    table_rows,
    wait_for_url,
    wait_rows,
    wait_status,
)
from tests.test_dashboard_browser import page as shared_page
from tests.test_dashboard_links import SPLINK, build_links

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the Chromium fixture, shared with tests/test_dashboard_browser.py
AGREED_RGB = "rgb(215, 236, 220)"  # links.AGREED_BACKGROUND


@dataclass
class Served:
    base: str
    db: Path
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("links-browser")
    db = folder / "graph.lbdb"
    with EmbeddedBackend(db, read_only=False) as backend:
        build_links(backend, folder / "sources")
    log = folder / "serve.log"
    with running_dashboard(f"embedded:{db}", log, cwd=REPO) as base:
        yield Served(base, db, log)


page = shared_page  # the shared fixture: a page that fails the test on any browser problem


def run_links(served: Served) -> pd.DataFrame:
    """The Splink run's links, read with plain Cypher (a read-only handle beside the server's)."""
    with EmbeddedBackend(served.db) as backend:
        result = backend.run_read("MATCH (a)-[r:LINKED_TO]->(b) WHERE r.run = $run RETURN a.uid AS a, b.uid AS b, "
                                  "r.match_probability AS p, r.agreed_fields AS agreed", {"run": SPLINK.uid})
    return pd.DataFrame(result.rows, columns=result.columns)


def chosen_count(page: Page, minimum: str) -> int:
    rows = wait_rows(page, ids.LK_THRESHOLDS.table)
    return int(next(r["count"] for r in rows if r["measure"] == f"probability ≥ {minimum} (chosen minimum)"))


def test_links_page_threshold_url_and_both_records(page: Page, served: Served) -> None:
    found = run_links(served)
    at = {m: int((found["p"].astype(float) >= float(m)).sum()) for m in ("0.5", "0.8")}
    assert at["0.5"] != at["0.8"]  # the constructed run has links between 0.5 and 0.8
    page.goto(served.base + f"/links?left=series-a&right=series-b&run={quote(SPLINK.uid)}&min=0.5")
    wait_status(page, ids.LK_LINKS.status, "ok", showing=f"{at['0.5']} links with match probability ≥ 0.5")
    assert chosen_count(page, "0.5") == at["0.5"]
    page.wait_for_function("(id) => document.querySelectorAll('#' + id + ' .bars path').length === 20",
                           arg=ids.LK_HISTOGRAM_CHART)  # the chart is drawn: 20 bins of 0.05
    assert page.locator(f"#{ids.LK_RUN}").inner_text().startswith("probabilistic")

    # the threshold: typed into the slider's number box; the URL and the counts follow
    box = page.locator(f"#{ids.LK_MIN} input[type=number]")
    box.fill("0.8")
    box.press("Tab")  # the slider's number box commits on blur
    wait_for_url(page, "min=0.8")
    wait_status(page, ids.LK_LINKS.status, "ok", showing=f"{at['0.8']} links with match probability ≥ 0.8")
    page.wait_for_function("(id) => document.getElementById(id).innerText.includes('≥ 0.8 (chosen minimum)')",
                           arg=ids.LK_THRESHOLDS.table)
    assert chosen_count(page, "0.8") == at["0.8"]
    assert page.locator(f"#{ids.LK_SHARE}").get_attribute("href") == page.evaluate("() => window.location.search")

    # click a link: both records, what agreed highlighted
    first = wait_rows(page, ids.LK_LINKS.table)[0]
    page.locator(f"#{ids.LK_LINKS.table} td[data-dash-column=left_uid]").first.click()
    wait_status(page, ids.LK_RECORDS.status, "ok")
    fields = {r["field"]: r for r in wait_rows(page, ids.LK_RECORDS.table)}
    assert (fields["uid"]["left"], fields["uid"]["right"]) == (first["left_uid"], first["right_uid"])
    agreed = found[(found["a"] == first["left_uid"]) & (found["b"] == first["right_uid"])]["agreed"].iloc[0]
    expected = {name.split("~")[0] for name in agreed.split("|")}
    assert {f for f, r in fields.items() if r["agreement"].startswith("agreed")} == expected
    cell = page.locator(f"#{ids.LK_RECORDS.table} td[data-dash-column=agreement]", has_text="agreed").first
    assert cell.evaluate("td => getComputedStyle(td).backgroundColor") == AGREED_RGB
    assert page.locator(f"#{ids.LK_ACCEPT}").is_enabled()  # open mode: reviews allowed

    # the keyboard: the second link's radio button, chosen with Space
    second = table_rows(page, ids.LK_LINKS.table)[1]
    radio = page.locator(f"#{ids.LK_LINKS.table} input[type=radio]").nth(1)
    radio.focus()
    page.keyboard.press("Space")
    page.wait_for_function("([id, uid]) => document.getElementById(id).innerText.includes(uid)",
                           arg=[ids.LK_RECORDS.table, second["right_uid"]])
    assert {r["field"]: r["left"] for r in table_rows(page, ids.LK_RECORDS.table)}["uid"] == second["left_uid"]
    screenshot(page, "links")
