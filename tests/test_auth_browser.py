"""Login in a real headless Chromium against `micropath serve` with login required (the default).

A researcher signs in, sees the overview with their name, has no audit link, signs out; a partner lands on
the partner tables, gets a suppressed table, and is refused the homicide card; a wrong password shows the
generic message. The Dash renderer sends the CSRF header itself (the callbacks would be refused otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from access.users import UserStore
from bench.server import running_dashboard
from dashboard import ids
from graph_model.embedded import EmbeddedBackend
from tests.conftest import REPO
from tests.graph_fixtures import load_london
from tests.test_dashboard_browser import browser, choose, screenshot, wait_status

__all__ = ["browser"]  # the Chromium fixture of tests/test_dashboard_browser.py
pytestmark = pytest.mark.browser
PASSWORDS = {"rita": "researcher-pass-1", "pat": "partner-pass-333"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("auth-browser")
    db = folder / "graph.lbdb"
    with EmbeddedBackend(db, read_only=False) as backend:
        load_london(backend)
    store = UserStore(folder / "users.json")
    store.add("rita", "researcher", PASSWORDS["rita"])
    store.add("pat", "partner", PASSWORDS["pat"])
    env = {"MICROPATH_USERS": str(folder / "users.json"), "MICROPATH_AUDIT_LOG": str(folder / "audit.jsonl"),
           "MICROPATH_SECRET_KEY": "t" * 48, "MICROPATH_AUTH": ""}  # the default: login required
    with running_dashboard(f"embedded:{db}", folder / "serve.log", env=env, cwd=REPO) as base:
        yield base


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(base + "/")
    page.wait_for_url("**/login**")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    errors: list[str] = []
    opened.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield opened
        assert errors == []
    finally:
        context.close()


def test_researcher_signs_in_works_and_signs_out(page: Page, served: str) -> None:
    sign_in(page, served, "rita", "wrong-password-x")
    assert page.locator("#login-error").inner_text() == "Wrong user name or password."
    page.get_by_label("Password").fill(PASSWORDS["rita"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(served + "/")
    wait_status(page, ids.OV_YEAR.status, "ok")  # callbacks ran: the renderer sent the CSRF header
    assert page.locator("#mp-user-name").inner_text() == "rita"
    assert not page.get_by_role("link", name="Audit log").is_visible()
    screenshot(page, "auth-researcher-overview")
    page.locator("#mp-logout").click()
    page.wait_for_url("**/login")
    page.goto(served + "/network")
    page.wait_for_url("**/login?next=/network")


def test_partner_gets_partner_tables_only(page: Page, served: str) -> None:
    sign_in(page, served, "pat", PASSWORDS["pat"])
    page.wait_for_url(served + "/partner")
    choose(page, ids.PT_QUERY, "Partner view: homicides by area and five-year band")
    page.locator(f"#{ids.PT_RUN}").click()
    wait_status(page, ids.PT_TABLE.status, "ok")
    assert "[c]" in page.locator(f"#{ids.PT_TABLE.table}").inner_text()
    screenshot(page, "auth-partner-table")
    answer = page.goto(served + "/card")
    assert answer is not None and answer.status == 403
    assert "not part of the partner role" in page.locator("#refused").inner_text()
