"""The dataset links page without a browser: services and callbacks called directly, on both engines.

Two constructed pairs of datasets are loaded through the mapped-csv source (tests/linkage_fixtures.py):

* ``police-x`` → ``partner-y``: the rows of tests/test_linkage.py, linked deterministically on GSS borough,
  year and month; the expected link set is computed here from the raw rows with pandas;
* ``series-a`` → ``series-b``: planted copies plus near copies (one field off), linked by a seeded Splink run
  at threshold 0.05, so match probabilities spread between 0.05 and 1.

Expected figures come from the raw rows (pandas) or from the graph read with plain Cypher and numpy, never
from linkage/ or the page: the links table against saved query ``links_between`` and a direct Cypher read,
the histogram against ``numpy.histogram``, the counts at thresholds against pandas, the two records against
the CSV rows, the agreement column against the values compared field by field.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask import g

from access import roles
from access.audit import AuditLog
from access.users import UserStore
from dashboard import auth, ids, panels, services
from dashboard.app import create_app
from dashboard.pages import links
from graph_model.backend import GraphBackend
from graph_model.embedded import EmbeddedBackend
from linkage.runs import RunSpec, run_links
from queries.runner import run_saved_query
from tests.conftest import BACKENDS, open_fresh
from tests.linkage_fixtures import STATE_CONCEPTS, load_source, planted, row, write_source
from tests.test_linkage import LEFT, RIGHT, expected_pairs

DET = RunSpec("police-x", "partner-y", "deterministic", keys=("area_borough", "year", "month"))
BLOCK = ("year", "area_state")
COMPARE = ("month", "victim_age", "victim_sex", "suspect_age", "suspect_sex")
SPLINK = RunSpec("series-a", "series-b", "splink", block=BLOCK, compare=COMPARE, threshold=0.05, seed=7)
TOLERANCE = {"month": (1,), "victim_age": (1, 3), "suspect_age": (1, 3)}
RAW = {"year": "yr", "month": "mon", "victim_age": "age", "victim_sex": "sex", "suspect_age": "s_age",
       "suspect_sex": "s_sex"}


# ---- the constructed graph (also used by tests/test_dashboard_links_browser.py) ----------------------
def spread_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Planted pairs (exact copies) plus 12 near copies of left-only rows, each with one or two fields off
    (month +1, victim age +2, suspect sex swapped, suspect age missing and month +1)."""
    left, right, _truth = planted()
    near = []
    for i, source in enumerate(left[40:52]):
        copy = {**source, "ref": f"M{i:03d}"}
        kind = i % 4
        if kind in (0, 3):
            copy["mon"] = int(source["mon"]) % 12 + 1
        if kind == 1:
            copy["age"] = int(source["age"]) + 2
        if kind == 2:
            copy["s_sex"] = "Female" if source["s_sex"] == "Male" else "Male"
        if kind == 3:
            copy["s_age"] = ""
        near.append(copy)
    return left, right + near


def build_links(backend: GraphBackend, folder: Path) -> None:
    """Load the two pairs and a dataset that no run links, then make both runs."""
    load_source(backend, write_source(folder, "police-x", "Homicide", LEFT))
    load_source(backend, write_source(folder, "partner-y", "Incident", RIGHT, kind="homicide"))
    left, right = spread_rows()
    load_source(backend, write_source(folder, "series-a", "Homicide", left, concepts=STATE_CONCEPTS))
    load_source(backend, write_source(folder, "series-b", "Incident", right, kind="homicide",
                                      concepts=STATE_CONCEPTS))
    load_source(backend, write_source(folder, "lonely-z", "Homicide", [row("Z1"), row("Z2", yr=2020)]))
    run_links(backend, DET)
    run_links(backend, SPLINK)


@dataclass
class Linked:
    kind: str
    uri: str
    app: Any


@pytest.fixture(scope="module", params=BACKENDS)
def linked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    folder = tmp_path_factory.mktemp(f"links-{request.param}")
    writer = open_fresh(request.param, folder, request)
    try:
        build_links(writer, folder / "sources")
    finally:
        writer.close()
    uri = f"embedded:{folder / 'embedded.lbdb'}" if request.param == "embedded" else str(
        request.getfixturevalue("neo4j_uri"))
    app = create_app(uri)
    try:
        yield Linked(request.param, uri, app)
    finally:
        services.installed(app.server).close()


@pytest.fixture
def in_app(linked: Linked) -> Iterator[Linked]:
    with linked.app.server.test_request_context("/"):
        yield linked


def read(cypher: str, **params: Any) -> pd.DataFrame:
    """Plain Cypher on the app's own read handle (not through linkage/ or the page)."""
    result = services.current().call(lambda b: b.run_read(cypher, params, tag="test"))
    return pd.DataFrame(result.rows, columns=result.columns)


def run_probabilities(run: str) -> pd.Series:
    links_of_run = read("MATCH (a)-[r:LINKED_TO]->(b) WHERE r.run = $run RETURN a.uid AS a, b.uid AS b, "
                        "r.match_probability AS p, r.status AS status", run=run)
    return links_of_run["p"].astype(float)


def props(component: Any) -> dict[str, Any]:
    out: dict[str, Any] = component.to_plotly_json()["props"]
    return out


def status_of(component: Any) -> str:
    return str(props(component)["data-status"])


def text_of(component: Any) -> str:
    return json.dumps(component.to_plotly_json(), default=str, ensure_ascii=False)


def find(component: Any, component_id: str) -> Any:
    """The component with ``component_id`` inside a layout (depth first), or None."""
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found = find(child, component_id)
            if found is not None:
                return found
    return None


def csv_rows(data: dict[str, Any]) -> list[dict[str, str]]:
    sent = panels.download_csv(1, data)
    return list(csv.DictReader(io.StringIO(sent["content"])))


# ---- choices ------------------------------------------------------------------------------------
def test_only_dataset_pairs_with_link_runs_are_offered(in_app: Linked) -> None:
    runs = services.link_runs()
    loaded = set(read("MATCH (d:Dataset) RETURN d.name AS name")["name"])
    assert {"police-x", "partner-y", "series-a", "series-b", "lonely-z"} <= loaded
    first = links.choices(runs, None, None, None)
    assert [o["value"] for o in first["left_options"]] == ["police-x", "series-a"]  # never lonely-z
    assert first["left"] == "police-x" and first["right"] == "partner-y" and first["run"] == DET.uid
    other = links.choices(runs, "series-a", "partner-y", DET.uid)  # a right/run that does not go with series-a
    assert (other["right"], other["run"]) == ("series-b", SPLINK.uid)
    assert [o["value"] for o in other["run_options"]] == [SPLINK.uid]
    assert "probabilistic, threshold 0.05" in other["run_options"][0]["label"]
    kept = links.choices(runs, "series-a", "series-b", SPLINK.uid)
    assert (kept["left"], kept["right"], kept["run"]) == ("series-a", "series-b", SPLINK.uid)
    assert links.update_choices("series-a", "partner-y", DET.uid)[1:4:2] == ("series-b", SPLINK.uid)


def test_the_url_carries_the_choice(in_app: Linked) -> None:
    search, summary = links.update_url("series-a", "series-b", SPLINK.uid, 0.8)
    assert search == f"?left=series-a&right=series-b&run=linkrun%3A{SPLINK.uid[8:]}&min=0.8"
    assert "probability ≥ 0.8" in summary
    assert [links.parse_min(v) for v in ("0.95", "x", None, "1.5", "-0.1", "nan", 0)] == [0.95, 0.5, 0.5, 0.5,
                                                                                       0.5, 0.5, 0.0]
    page = links.layout(left="series-a", right="series-b", run=SPLINK.uid, min="0.8")  # restored from the URL
    assert find(page, ids.LK_RUN).value == SPLINK.uid and find(page, ids.LK_LEFT).value == "series-a"
    assert find(page, ids.LK_MIN).value == 0.8 and find(page, ids.LK_SHARE).href == search
    counts = {r["measure"]: r["count"] for r in find(page, ids.LK_THRESHOLDS.table).data}
    assert counts["probability ≥ 0.8 (chosen minimum)"] == int((run_probabilities(SPLINK.uid) >= 0.8).sum())


# ---- the view: links, histogram, counts -----------------------------------------------------------
def test_deterministic_links_are_the_pairs_agreeing_on_borough_year_and_month(in_app: Linked) -> None:
    out = links.update_view("police-x", "partner-y", DET.uid, 0.0, 0)
    l_state, rows, data = out[7:10]
    expected = expected_pairs(["borough", "yr", "mon"])
    assert {(r["left_uid"], r["right_uid"]) for r in rows} == expected and len(rows) == len(expected)
    assert {r["link_method"] for r in rows} == {"deterministic"} and {r["status"] for r in rows} == {"proposed"}
    assert all(r["match_probability"] == 1.0 and r["match_weight"] is None for r in rows)
    assert {r["agreed_fields"] for r in rows} == {"area_borough|year|month"}
    assert status_of(l_state) == "ok" and f"{len(expected)} links" in text_of(l_state)
    bins = out[5]
    assert sum(b["links"] for b in bins) == len(expected) and bins[-1]["links"] == len(expected)
    exported = csv_rows(data)
    assert {(r["left_uid"], r["right_uid"]) for r in exported} == expected
    assert list(exported[0]) == links.LINK_EXPORT


@pytest.mark.parametrize("minimum", [0.0, 0.5, 0.8, 0.99])
def test_splink_links_histogram_and_counts_match_the_graph(in_app: Linked, minimum: float) -> None:
    out = links.update_view("series-a", "series-b", SPLINK.uid, minimum, 0)
    c_state, counts, c_data, h_state, figure, bins, h_data, l_state, rows, l_data = out
    probabilities = run_probabilities(SPLINK.uid)
    assert probabilities.nunique() >= 5  # the constructed case spreads the probabilities
    # the table is the saved query, and the links of the graph at or above the minimum
    direct = services.current().call(lambda b: run_saved_query(b, "links_between", {
        "left": "series-a", "right": "series-b", "run": SPLINK.uid, "min_probability": minimum}))
    assert [(r["left_uid"], r["right_uid"]) for r in rows] == [(r["left_uid"], r["right_uid"]) for r in direct.rows]
    assert len(rows) == int((probabilities >= minimum).sum())
    assert [r["match_probability"] for r in rows] == sorted((r["match_probability"] for r in rows), reverse=True)
    assert all(math.isclose(r["match_probability"], round(d["match_probability"], 4))
               for r, d in zip(rows, direct.rows, strict=True))
    assert status_of(l_state) == ("ok" if len(rows) else "empty")
    # the histogram: every link of the run, numpy's bins of 0.05
    expected_counts, edges = np.histogram(probabilities.to_numpy(), bins=np.linspace(0, 1, 21))
    assert [b["links"] for b in bins] == expected_counts.tolist()
    assert [b["low"] for b in bins] == [round(e, 2) for e in edges[:-1]]
    assert figure["data"][0]["y"] == expected_counts.tolist() and figure["layout"]["shapes"][0]["x0"] == minimum
    assert status_of(h_state) == "ok" and [int(r["links"]) for r in csv_rows(h_data)] == expected_counts.tolist()
    # the counts: at each threshold and at the chosen minimum, from pandas
    by_measure = {r["measure"]: r["count"] for r in counts}
    assert by_measure["links in the run"] == len(probabilities)
    for threshold in links.THRESHOLDS:
        assert by_measure[f"probability ≥ {threshold:g}"] == int((probabilities >= threshold).sum())
    assert by_measure[f"probability ≥ {minimum:g} (chosen minimum)"] == int((probabilities >= minimum).sum())
    statuses = read("MATCH (a)-[r:LINKED_TO]->(b) WHERE r.run = $run RETURN r.status AS s, a.uid AS a, b.uid AS b",
                    run=SPLINK.uid)
    for status in ("proposed", "accepted", "rejected"):
        assert by_measure[status] == int((statuses["s"] == status).sum())
    assert by_measure["series-a records linked"] == statuses["a"].nunique()
    assert by_measure["series-b records linked"] == statuses["b"].nunique()
    assert status_of(c_state) == "ok" and len(csv_rows(c_data)) == len(counts)
    assert len(csv_rows(l_data)) == len(rows)


def test_a_long_list_says_it_is_truncated(in_app: Linked, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "TABLE_ROWS", 10)
    out = links.update_view("series-a", "series-b", SPLINK.uid, 0.0, 0)
    l_state, rows, data = out[7:10]
    total = len(run_probabilities(SPLINK.uid))
    assert len(rows) == 10 and len(data["rows"]) == total
    assert status_of(l_state) == "truncated" and f"Download CSV has all {total}" in text_of(l_state)
    view = services.link_view("series-a", "series-b", SPLINK.uid, 0.0)
    cut = links.links_state(replace(view, truncated=True), len(view.links))
    assert status_of(cut) == "truncated" and "raise the minimum probability" in text_of(cut)


def test_wrong_choices_and_no_runs_say_so(in_app: Linked) -> None:
    out = links.update_view("series-a", "series-b", "linkrun:0000000000000000", 0.5, 0)
    assert status_of(out[7]) == "error" and "no link run" in text_of(out[7])
    empty = links.view_outputs(None, None, None, 0.5)
    assert status_of(empty[0]) == status_of(empty[7]) == "empty" and "micropath link" in text_of(empty[7])


def test_a_graph_without_link_runs_says_how_to_make_one(tmp_path: Path) -> None:
    with EmbeddedBackend(tmp_path / "graph.lbdb", read_only=False) as backend:
        load_source(backend, write_source(tmp_path / "sources", "lonely-z", "Homicide", [row("Z1")]))
    app = create_app(f"embedded:{tmp_path / 'graph.lbdb'}")
    try:
        with app.server.test_request_context("/"):
            assert services.link_runs() == []
            page = links.layout(left="lonely-z")
        assert find(page, ids.LK_LEFT).options == [] and find(page, ids.LK_LEFT).value is None
        for pids in (ids.LK_THRESHOLDS, ids.LK_HISTOGRAM, ids.LK_LINKS):
            shown = find(page, pids.status).children
            assert status_of(shown) == "empty" and "micropath link run" in text_of(shown)
    finally:
        services.installed(app.server).close()


def test_an_unreadable_graph_is_an_error_in_every_panel(tmp_path: Path) -> None:
    absent = create_app(f"embedded:{tmp_path / 'absent.lbdb'}")
    with absent.server.test_request_context("/"):
        page = links.layout()
    for pids in (ids.LK_THRESHOLDS, ids.LK_HISTOGRAM, ids.LK_LINKS):
        shown = find(page, pids.status).children
        assert status_of(shown) == "error" and "no embedded database" in text_of(shown)
    services.installed(absent.server).close()


# ---- a link's two records -------------------------------------------------------------------------
def agreement_from_rows(left: dict[str, Any], right: dict[str, Any]) -> dict[str, str]:
    """What agreed, from the raw values: equal, or within a tolerance (the smallest that holds)."""
    out = {"area_state": "agreed"} if left["borough"] == right["borough"] else {}
    for field, column in RAW.items():
        a, b = str(left[column]), str(right[column])
        if a == "" or b == "":
            continue
        if a == b:
            out[field] = "agreed"
            continue
        within = [d for d in TOLERANCE.get(field, ()) if abs(float(a) - float(b)) <= d]
        if within:
            out[field] = f"agreed within {within[0]}"
    return out


@pytest.mark.parametrize(("left_ref", "right_ref"), [("L043", "M003"), ("L041", "M001"), ("L000", "R000")])
def test_choosing_a_link_shows_both_records_with_what_agreed(in_app: Linked, left_ref: str,
                                                             right_ref: str) -> None:
    rows = links.update_view("series-a", "series-b", SPLINK.uid, 0.0, 0)[8]
    index = next(i for i, r in enumerate(rows) if r["left_uid"] == f"series-a:{left_ref}"
                 and r["right_uid"] == f"series-b:{right_ref}")
    chosen, selected = links.chosen_link({"row": index, "column": 0, "row_id": rows[index]["id"]}, [], rows)
    assert selected == [rows[index]["id"]]
    assert chosen == {"run": SPLINK.uid, "left_uid": f"series-a:{left_ref}", "right_uid": f"series-b:{right_ref}"}
    assert links.chosen_link(None, [rows[index]["id"]], rows)[0] == chosen  # the radio button
    r_state, heading, fields, data, accept_off, reject_off, accept_look, _ = links.show_pair(chosen, 0)
    assert status_of(r_state) == "ok" and not accept_off and not reject_off  # no login: reviews allowed
    assert accept_look == {}
    assert f"series-a:{left_ref} (series-a) ↔ series-b:{right_ref} (series-b)" in heading
    left_raw, right_raw = spread_rows()
    raw_left = next(r for r in left_raw if r["ref"] == left_ref)
    raw_right = next(r for r in right_raw if r["ref"] == right_ref)
    by_field = {f["field"]: f for f in fields}
    for field, column in RAW.items():
        for side, raw in (("left", raw_left), ("right", raw_right)):
            assert by_field[field][side] == (str(raw[column]) if str(raw[column]) != "" else "—"), (field, side)
    assert by_field["area_state"]["left"] == f"us-state:{raw_left['borough']}"
    assert by_field["uid"]["right"] == f"series-b:{right_ref}" and by_field["dataset"]["left"] == "series-a"
    agreed = {f["field"]: f["agreement"] for f in fields if f["agreement"]}
    assert agreed == agreement_from_rows(raw_left, raw_right)
    assert {r["field"]: r["agreement"] for r in csv_rows(data)} == {f["field"]: f["agreement"] for f in fields}


def test_no_link_chosen_and_a_vanished_link(in_app: Linked) -> None:
    idle = links.show_pair(None, 0)
    assert status_of(idle[0]) == "idle" and idle[4] is True and idle[5] is True
    assert idle[6] == idle[7] == links.DISABLED_LOOK
    with pytest.raises(links.PreventUpdate):
        links.chosen_link({"row_id": "not-a-row"}, [], [])
    gone = links.show_pair({"run": SPLINK.uid, "left_uid": "series-a:L000", "right_uid": "series-b:N000"}, 0)
    assert status_of(gone[0]) == "error" and "has no link" in text_of(gone[0]) and gone[4] is True


# ---- reviews ------------------------------------------------------------------------------------
def test_accept_and_reject_write_the_decision_and_the_page_says_so(in_app: Linked) -> None:
    accept = {"run": SPLINK.uid, "left_uid": "series-a:L043", "right_uid": "series-b:M003"}
    reject = {"run": SPLINK.uid, "left_uid": "series-a:L019", "right_uid": "series-b:N006"}
    said, bumped = links.review_outputs("accepted", accept, 3)
    assert status_of(said) == "done" and bumped == 4
    assert "series-a:L043 → series-b:M003" in text_of(said) and "accepted by local" in text_of(said)
    said, bumped = links.review_outputs("rejected", reject, bumped)
    assert status_of(said) == "done" and bumped == 5
    stored = read("MATCH (a)-[r:LINKED_TO]->(b) WHERE r.run = $run RETURN a.uid AS a, b.uid AS b, "
                  "r.status AS status, r.reviewer AS reviewer", run=SPLINK.uid).set_index(["a", "b"])
    assert tuple(stored.loc[("series-a:L043", "series-b:M003")]) == ("accepted", "local")
    assert tuple(stored.loc[("series-a:L019", "series-b:N006")]) == ("rejected", "local")
    assert set(stored.drop(index=[("series-a:L043", "series-b:M003"), ("series-a:L019", "series-b:N006")])
               ["status"]) == {"proposed"}
    counts = {r["measure"]: r["count"] for r in links.update_view("series-a", "series-b", SPLINK.uid, 0.0, 5)[1]}
    assert (counts["accepted"], counts["rejected"]) == (1, 1)
    assert counts["proposed"] == len(stored) - 2
    shown = links.show_pair(accept, 5)
    assert "status accepted (by local)" in shown[1]
    refused, unchanged = links.review_outputs("accepted", {**accept, "right_uid": "series-b:N000"}, 5)
    assert status_of(refused) == "error" and "has no link" in text_of(refused) and unchanged is links.no_update
    nothing, _ = links.review_outputs("accepted", None, 5)
    assert "Choose a link" in text_of(nothing)
    # the read handle sees the write (the service reopened it) and a second review of the same link is allowed
    assert status_of(links.review_outputs("rejected", accept, 5)[0]) == "done"
    assert read("MATCH (a)-[r:LINKED_TO]->(b) WHERE r.run = $run AND a.uid = $a RETURN r.status AS s",
                run=SPLINK.uid, a="series-a:L043")["s"].tolist() == ["rejected"]


# ---- roles --------------------------------------------------------------------------------------
def test_the_page_is_for_research_roles_and_reviews_for_analysts_and_admins() -> None:
    assert {r for r in roles.ROLES if roles.may_see(r, "links")} == {"researcher", "analyst", "admin"}
    assert {r for r in roles.ROLES if roles.may(r, roles.REVIEW_LINKS)} == {"analyst", "admin"}
    assert auth.PATH_PAGES["/links"] == "links"
    review_key = f"..{ids.LK_REVIEW_STATUS}.children...{ids.LK_REVIEWED}.data.."
    pages, needs = auth.callback_requirements({"output": review_key, "changedPropIds": ["lk-accept.n_clicks"]})
    assert pages == {"links"} and needs == {roles.REVIEW_LINKS}
    view_key = f"..{ids.LK_LINKS.status}.children...{ids.LK_LINKS.table}.data.."
    assert auth.callback_requirements({"output": view_key}) == ({"links"}, set())


def test_services_check_the_role_and_audit_the_review(linked: Linked, tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json")
    for name, role in (("pat", "partner"), ("rita", "researcher"), ("ann", "analyst")):
        store.add(name, role, f"{name}-password-123")
    config = auth.AuthConfig(users=store, audit=AuditLog(tmp_path / "audit.jsonl"), secret_key=b"k" * 48)
    app = create_app(linked.uri, auth_config=config)
    chosen = {"run": DET.uid, "left_uid": "police-x:P1", "right_uid": "partner-y:A1"}
    try:
        with app.server.test_request_context("/"):
            g.mp_user = store.get("pat")
            refused = links.view_outputs("police-x", "partner-y", DET.uid, 0.5)
            assert status_of(refused[7]) == "error" and "records" in text_of(refused[7])
            g.mp_user = store.get("rita")
            assert links.can_review() is False
            assert links.show_pair(chosen, 0)[4] is True  # buttons stay disabled for a researcher
            said, _ = links.review_outputs("accepted", chosen, 0)
            assert status_of(said) == "error" and "review-links" in text_of(said)
            g.mp_user = store.get("ann")
            assert links.can_review() is True
            said, _ = links.review_outputs("accepted", chosen, 0)
            assert status_of(said) == "done" and "accepted by ann" in text_of(said)
        entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        reviews = [(e["event"], e["user"], e["outcome"]) for e in entries if "review" in e["event"]]
        assert reviews == [("review-links", "rita", "refused"), ("link-review", "ann", "ok")]
        done = next(e for e in entries if e["event"] == "link-review")
        assert done["details"] == {"run": DET.uid, "left": "police-x:P1", "right": "partner-y:A1",
                                   "status": "accepted"}
    finally:
        services.installed(app.server).close()
