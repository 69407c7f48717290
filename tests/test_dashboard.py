"""The dashboard without a browser: legend colours, the services on a real embedded graph, the pages'
pure functions, their callbacks called directly inside the app, and the app's own Dash endpoints.

The graph is the Met's real London file plus a seeded 300-case SYNTHETIC coded bundle (many factors,
so the network has links). Expected figures come from the CSV files, read here with pandas.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dash import dcc
from flask import Flask

from dashboard import ids, legend, services
from dashboard.app import create_app
from dashboard.pages import network, query_params, workbench
from graph_model import locking
from graph_model.embedded import EmbeddedBackend
from graph_model.schema import get_schema
from graph_model.vocab import get_vocabulary
from loaders import synthetic
from loaders.base import load
from queries.registry import Registry, parse_saved_query
from queries.runner import run_saved_query
from tests.conftest import LONDON_CSV

SYNTH_CASES, SYNTH_SEED = 300, 11
SYNTH = f"synthetic-s{SYNTH_SEED}"
LONDON = "london-mps"


# ---- the test graph (also used by tests/test_dashboard_browser.py) ------------------------------
def build_dashboard_db(folder: Path) -> tuple[Path, Path]:
    """London (real file) and a 300-case synthetic coded bundle in a new embedded database.

    Returns the database path and the synthetic bundle folder (its CSVs give expected figures)."""
    folder.mkdir(parents=True, exist_ok=True)
    bundle = synthetic.write_bundle(folder / "synthetic", cases=SYNTH_CASES, seed=SYNTH_SEED)
    db = folder / "graph.lbdb"
    with EmbeddedBackend(db, read_only=False) as backend:
        load("london-mps", LONDON_CSV, backend)
        load("coded", bundle, backend)
    return db, bundle


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_dashboard_db(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def uri(graph: tuple[Path, Path]) -> str:
    return f"embedded:{graph[0]}"


@pytest.fixture
def service(uri: str) -> Iterator[services.GraphService]:
    svc = services.GraphService(uri)
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture(scope="module")
def app(uri: str) -> Iterator[Any]:
    dash_app = create_app(uri)
    try:
        yield dash_app
    finally:
        services.installed(dash_app.server).close()


@pytest.fixture
def in_app(app: Any) -> Iterator[Flask]:
    """Run callbacks as Dash does: inside a request of the app (so services find the graph)."""
    with app.server.test_request_context("/"):
        yield app.server


# ---- expected figures from the files ------------------------------------------------------------
def london_frame() -> pd.DataFrame:
    return pd.read_csv(LONDON_CSV, dtype=str, keep_default_na=False)


def synthetic_factors(bundle: Path, year_from: int, year_to: int) -> pd.DataFrame:
    cases = pd.read_csv(bundle / "cases.csv", dtype=str)
    factors = pd.read_csv(bundle / "factors.csv", dtype=str).merge(cases[["case_id", "year"]], on="case_id")
    years = factors["year"].astype(int)
    return factors[(years >= year_from) & (years <= year_to)]


def expected_prevalence(bundle: Path, year_from: int, year_to: int) -> dict[str, tuple[int, int]]:
    """factor code -> (records with it present, records where it was coded present or absent)."""
    rows = synthetic_factors(bundle, year_from, year_to)
    coded = rows[rows["value"].isin(["present", "absent"])]
    return {code: (int((group["value"] == "present").sum()), len(group))
            for code, group in coded.groupby("factor")}


def expected_pairs(bundle: Path, year_from: int, year_to: int, min_count: int = 1) -> dict[tuple[str, str], int]:
    rows = synthetic_factors(bundle, year_from, year_to)
    present = rows[rows["value"] == "present"].groupby("case_id")["factor"].apply(set)
    counts: Counter[tuple[str, str]] = Counter()
    for factors in present:
        counts.update(itertools.combinations(sorted(factors), 2))
    return {pair: n for pair, n in counts.items() if n >= min_count}


def code(uid: str) -> str:
    return uid.split(":", 1)[1]


# ---- legend -------------------------------------------------------------------------------------
def test_every_factor_kind_has_its_own_readable_colour() -> None:
    kinds = {str(c.get("kind")) for c in get_vocabulary().concepts.values()
             if c.label_class == "Factor" and c.get("kind")}
    colours = legend.kind_colours()
    assert set(legend.factor_kinds()) == kinds
    assert kinds <= set(colours)
    assert len({colours[k] for k in kinds}) == len(kinds), "two factor kinds share a colour"
    for kind, colour in colours.items():
        assert legend.contrast_ratio(colour) >= 3.0, f"{kind} colour {colour} has < 3:1 contrast on white"
    assert legend.kind_colour("no-such-kind") == get_schema().node("Factor").colour
    assert legend.kind_name("self_harm") == "Self harm"


def test_class_colours_are_the_ontologys() -> None:
    for label, spec in get_schema().nodes.items():
        assert legend.class_colour(label) == spec.colour


# ---- services -----------------------------------------------------------------------------------
def test_datasets_lists_each_dataset_with_its_records_and_years(service: services.GraphService,
                                                                 graph: tuple[Path, Path]) -> None:
    london = london_frame()
    cases = pd.read_csv(graph[1] / "cases.csv", dtype=str)
    found = {d.name: d for d in service.datasets()}
    assert set(found) == {LONDON, SYNTH}
    years = london["Recorded Year"].astype(int)
    assert found[LONDON] == services.DatasetInfo(LONDON, False, len(london), int(years.min()), int(years.max()))
    synth_years = cases["year"].astype(int)
    assert found[SYNTH] == services.DatasetInfo(SYNTH, True, len(cases), int(synth_years.min()),
                                                int(synth_years.max()))
    assert "(synthetic)" in found[SYNTH].label and "(synthetic)" not in found[LONDON].label


def test_run_saved_is_the_runners_result_made_json_ready(service: services.GraphService, graph: tuple[Path, Path]
                                                         ) -> None:
    params = {"dataset": LONDON, "year_from": 2010, "year_to": 2015}
    got = service.run_saved("factor_prevalence", params)
    with EmbeddedBackend(graph[0]) as backend:
        direct = run_saved_query(backend, "factor_prevalence", params)
    assert got.columns == direct.columns
    assert got.rows == [{k: services.jsonable(v) for k, v in row.items()} for row in direct.rows]
    json.dumps(got.rows)  # every cell is plain JSON
    london = london_frame()
    window = london[london["Recorded Year"].astype(int).between(2010, 2015)]
    (row,) = got.rows
    assert (row["n_present"], row["n_coded"]) == ((window["Domestic Abuse"] == "Domestic Abuse").sum(), len(window))
    assert not got.truncated and got.max_rows == 2000 and got.query == "factor_prevalence"


def test_errors_are_classified_and_say_what_to_do(service: services.GraphService, tmp_path: Path) -> None:
    with pytest.raises(services.ServiceError) as bad:
        service.run_saved("factor_prevalence", {"year_from": "twenty"})
    assert bad.value.kind == "bad-parameter" and "year_from" in str(bad.value)
    with pytest.raises(services.ServiceError) as unknown:
        service.run_saved("no_such_query")
    assert unknown.value.kind == "bad-parameter" and "no saved query" in str(unknown.value)
    with pytest.raises(services.ServiceError) as refused:
        service.call(lambda b: b.run_read("MATCH (h:Homicide) SET h.year = 1"))
    assert refused.value.kind == "refused"
    slow = tmp_path / "slow.cypher"
    slow.write_text('// name = "slow"\n// title = "Slow"\n// description = "A cross product"\n'
                    "// timeout_s = 0.001\n"
                    "MATCH (a:Homicide), (b:Homicide), (c:Homicide) WHERE a.year + b.year + c.year > 0\n"
                    "RETURN count(*) AS n\n", encoding="utf-8")
    timing = services.GraphService(service.db_uri, registry=Registry([tmp_path]))
    try:
        with pytest.raises(services.ServiceError) as timeout:
            timing.run_saved("slow")
        assert timeout.value.kind == "timeout" and "time limit" in str(timeout.value)
        assert timing.datasets(), "a timed-out query leaves the backend usable"
    finally:
        timing.close()


def test_the_backend_opens_lazily_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "later.lbdb"
    svc = services.GraphService(f"embedded:{path}")  # nothing loaded yet: constructing it is fine
    try:
        with pytest.raises(services.ServiceError) as missing:
            svc.datasets()
        assert missing.value.kind == "unavailable" and "Load data first" in str(missing.value)
        bundle = synthetic.write_bundle(tmp_path / "small", cases=20, seed=3)
        with EmbeddedBackend(path, read_only=False) as backend:
            load("coded", bundle, backend)
        assert [d.records for d in svc.datasets()] == [20], "the next call opens the database"
        with locking.exclusive(path):  # a load in progress
            with pytest.raises(services.ServiceError) as busy:
                svc.datasets()
            assert busy.value.kind == "busy" and "in progress" in str(busy.value)
        assert svc.datasets()
        broken = svc._backend
        assert broken is not None
        broken.close()  # the handle dies under the service
        assert [d.records for d in svc.datasets()] == [20], "a broken handle is replaced, not fatal"
        assert svc._backend is not broken
    finally:
        svc.close()


# ---- network page -------------------------------------------------------------------------------
def test_year_helpers() -> None:
    infos = [services.DatasetInfo("a", False, 3, 2003, 2024), services.DatasetInfo("b", True, 2, 2015, 2024)]
    assert network.year_bounds(infos, "b") == (2015, 2024)
    assert network.year_bounds(infos, None) == (2003, 2024)
    assert network.year_bounds(infos, "unknown") == (2003, 2024)
    assert network.year_bounds([], None) is None
    assert network.clamp_years(None, (2015, 2024)) == [2015, 2024]
    assert network.clamp_years([2010, 2018], (2015, 2024)) == [2015, 2018]
    assert network.clamp_years([2003, 2005], (2015, 2024)) == [2015, 2024]
    for bounds in [(2003, 2024), (2015, 2024), (2014, 2015), (2020, 2020), (1976, 2018)]:
        marks = sorted(network.year_marks(bounds))
        assert marks[0] == bounds[0] and marks[-1] == bounds[1]
        gaps = [b - a for a, b in itertools.pairwise(marks)]
        assert not gaps or min(gaps) > max(gaps) / 2, f"crowded marks {marks}"


def test_filters_round_trip_through_the_url() -> None:
    search = network.filters_search("london-mps", [2010, 2015], "3")
    assert search == "?dataset=london-mps&year_from=2010&year_to=2015&min_count=3"
    assert query_params(search) == {"dataset": "london-mps", "year_from": "2010",
                                                    "year_to": "2015", "min_count": "3"}
    assert network.filters_search(None, None, 1) == ""
    assert network.update_url("london-mps", [2010, 2015], 3, search) is network.no_update


def test_network_view_shows_the_files_numbers(service: services.GraphService, graph: tuple[Path, Path]) -> None:
    data = service.factor_network(SYNTH, 2018, 2022, 5)
    view = network.build_view(data)
    prevalence = expected_prevalence(graph[1], 2018, 2022)
    pairs = expected_pairs(graph[1], 2018, 2022, min_count=5)
    nodes = {e["data"]["id"]: e["data"] for e in view.elements if "source" not in e["data"]}
    edges = {(code(e["data"]["source"]), code(e["data"]["target"])): e["data"]
             for e in view.elements if "source" in e["data"]}
    assert {code(uid) for uid in nodes} == {c for c, (n, _) in prevalence.items() if n > 0}
    for uid, node in nodes.items():
        assert (node["n_present"], node["n_coded"]) == prevalence[code(uid)]
        assert node["colour"] == legend.kind_colour(node["kind"])
    assert {pair: e["n_ab"] for pair, e in edges.items()} == pairs
    biggest = max(nodes.values(), key=lambda n: n["prevalence"])
    assert biggest["size"] == network.NODE_MAX_PX
    assert view.status == "ok" and view.shown_nodes == len(nodes) and view.shown_edges == len(edges)
    assert [r["in_graph"] for r in view.factor_rows] == ["yes"] * len(view.factor_rows)
    assert view.kinds == sorted({n["kind"] for n in nodes.values()})


def test_a_big_network_keeps_the_strongest_and_says_so(service: services.GraphService) -> None:
    data = service.factor_network(SYNTH, 0, 9999, 1)
    full = network.build_view(data)
    cut = network.build_view(data, max_elements=30, max_nodes=8)
    assert len(cut.elements) <= 30 and cut.shown_nodes == 8
    assert cut.status == "truncated"
    assert any(m.startswith("Truncated: the graph is limited to 30 elements (8 factors)") and
               "the 8 most prevalent of" in m and f"the 22 strongest of {len(full.pair_rows)} links" in m
               for m in cut.messages)
    shown = [r for r in cut.factor_rows if r["in_graph"] == "yes"]
    hidden = [r for r in cut.factor_rows if r["in_graph"] == "no"]
    assert min(r["prevalence"] for r in shown) >= max(r["prevalence"] for r in hidden)
    links = [r["n_ab"] for r in cut.pair_rows if r["in_graph"] == "yes"]
    assert len(links) == 30 - 8
    assert len(cut.pair_rows) == len(full.pair_rows), "the tables keep every pair"


def test_london_alone_has_one_factor_and_no_links(in_app: Flask) -> None:
    elements, _legend, status, summary, factor_rows, pair_rows = network.update_network(LONDON, [2003, 2024], 1)
    london = london_frame()
    assert [e["data"]["id"] for e in elements] == ["mps:domestic_abuse"]
    assert factor_rows[0]["n_present"] == (london["Domestic Abuse"] == "Domestic Abuse").sum()
    assert pair_rows == []
    text = json.dumps(status.to_plotly_json(), default=str)
    assert "no links" in text and "SYNTHETIC" not in text
    assert summary.startswith("Graph: 1 factor node and 0 co-occurrence links")
    assert elements[0]["data"]["label"] == "Domestic Abuse"


def test_factors_with_the_same_name_are_told_apart_by_scheme(in_app: Flask) -> None:
    elements, *_ = network.update_network(None, [2003, 2024], 1)
    labels = {e["data"]["id"]: e["data"]["label"] for e in elements if "source" not in e["data"]}
    assert labels["mps:domestic_abuse"] == "Domestic Abuse (mps)"
    assert labels["micropathways:domestic_abuse"] == "Domestic abuse (micropathways)"
    assert labels["micropathways:alcohol"] == "Alcohol"


def test_network_callbacks_in_the_app(in_app: Flask, graph: tuple[Path, Path]) -> None:
    options, low, high, marks, value = network.update_filters(SYNTH, [2003, 2018])
    assert {o["value"] for o in options} == {LONDON, SYNTH}
    assert next(o["label"] for o in options if o["value"] == SYNTH).startswith(f"{SYNTH} (synthetic)")
    cases = pd.read_csv(graph[1] / "cases.csv", dtype=str)
    assert (low, high) == (cases["year"].astype(int).min(), cases["year"].astype(int).max())
    assert value == [low, 2018] and marks[low] == str(low)
    elements, _legend, status, _summary, factor_rows, _pairs = network.update_network(SYNTH, value, 1)
    assert elements and factor_rows
    status_json = status.to_plotly_json()
    assert status_json["props"]["data-status"] == "ok"
    assert "SYNTHETIC" in json.dumps(status_json, default=str)
    options, *_rest = network.update_filters("nope", None)
    assert {"label": "nope (not in this database)", "value": "nope"} in options
    elements, _legend, status, _summary, factor_rows, _pairs = network.update_network("nope", None, 1)
    assert elements == [] and factor_rows == []
    assert status.to_plotly_json()["props"]["data-status"] == "error"
    assert "no dataset 'nope'" in json.dumps(status.to_plotly_json(), default=str)


def test_an_empty_year_range_says_no_data(in_app: Flask) -> None:
    elements, _legend, status, *_ = network.update_network(SYNTH, [1900, 1901], 1)
    assert elements == []
    props = status.to_plotly_json()["props"]
    assert props["data-status"] == "empty" and "No data" in json.dumps(props, default=str)


def test_network_layout_takes_its_filters_from_the_url() -> None:
    page = network.layout(dataset=LONDON, year_from="2010", year_to="2012", min_count="2", other="x")
    found = {c.id: c for c in _walk(page) if getattr(c, "id", None) in (ids.NET_DATASET, ids.NET_YEARS,
                                                                         ids.NET_MIN_COUNT)}
    assert found[ids.NET_DATASET].value == LONDON
    assert found[ids.NET_DATASET].options == [{"label": LONDON, "value": LONDON}]
    assert found[ids.NET_YEARS].value == [2010, 2012]
    assert found[ids.NET_MIN_COUNT].value == 2
    assert network.layout(year_from="junk").children  # bad values fall back, never crash


# ---- workbench page -----------------------------------------------------------------------------
EVERY_TYPE = parse_saved_query("""// name = "every_type"
// title = "Every parameter type"
// description = "Exercises the generated form"
// [parameters.name]
// type = "string"
// default = ""
// [parameters.n]
// type = "integer"
// default = 5
// [parameters.share]
// type = "float"
// default = 0.5
// [parameters.flag]
// type = "boolean"
// default = true
// [parameters.codes]
// type = "string_list"
// default = ["a", "b"]
// [parameters.level]
// type = "string"
// default = "borough"
// choices = ["borough", "region"]
MATCH (h:Homicide) WHERE ($name = '' OR h.dataset = $name) AND h.year > $n AND $share < 1 AND $flag
  AND h.case_id IN $codes AND $level <> ''
RETURN h.uid AS uid""")


def test_the_form_is_generated_from_the_parameter_types() -> None:
    controls = {p.name: workbench.control_for(p) for p in EVERY_TYPE.parameters}
    props = {name: control.to_plotly_json()["props"] for name, control in controls.items()}
    kinds = {name: type(control) for name, control in controls.items()}
    assert kinds == {"name": dcc.Input, "n": dcc.Input, "share": dcc.Input, "flag": dcc.Checklist,
                     "codes": dcc.Input, "level": dcc.Dropdown}
    assert props["name"]["type"] == "text" and props["name"]["value"] == ""
    assert (props["n"]["type"], props["n"]["step"], props["n"]["value"]) == ("number", 1, 5)
    assert (props["share"]["type"], props["share"]["step"]) == ("number", "any")
    assert props["flag"]["value"] == [workbench.BOOLEAN_ON]
    assert props["codes"]["type"] == "text" and props["codes"]["value"] == "a, b"
    assert props["level"]["value"] == "borough"
    assert [o["value"] for o in props["level"]["options"]] == ["borough", "region"]
    for name, prop in props.items():
        assert prop["id"] == ids.param_id(name)
    labels = [c for c in _walk(html_div(workbench.form_for(EVERY_TYPE))) if type(c).__name__ == "Label"]
    assert [lb.children for lb in labels] == [f"{p.name} ({p.type})" for p in EVERY_TYPE.parameters]


def test_form_values_become_parameters() -> None:
    names = [p.name for p in EVERY_TYPE.parameters]
    values = workbench.form_values(EVERY_TYPE, names, [None, 7, 0.25, [], "x, y", "region"])
    assert values == {"name": "", "n": 7, "share": 0.25, "flag": False, "codes": "x, y", "level": "region"}
    assert EVERY_TYPE.bind(values)["codes"] == ["x", "y"]
    with pytest.raises(workbench.FormError, match="'n' expects an integer"):
        workbench.form_values(EVERY_TYPE, names, ["", None, 0.5, [], "", "borough"])
    with pytest.raises(workbench.FormError, match="expects an integer"):
        workbench.form_values(EVERY_TYPE, names, ["", 2.5, 0.5, [], "", "borough"])


def test_running_a_query_from_the_form(in_app: Flask, graph: tuple[Path, Path]) -> None:
    description, form = workbench.show_query("factor_prevalence")
    assert "Share of records" in description
    assert [c.id for c in _walk(html_div(form)) if isinstance(getattr(c, "id", None), dict)] == [
        ids.param_id("dataset"), ids.param_id("year_from"), ids.param_id("year_to")]
    data, columns, status = workbench.execute("factor_prevalence", ["dataset", "year_from", "year_to"],
                                              [SYNTH, 2015, 2020])
    with EmbeddedBackend(graph[0]) as backend:
        direct = run_saved_query(backend, "factor_prevalence", {"dataset": SYNTH, "year_from": 2015,
                                                                "year_to": 2020})
    assert [c["id"] for c in columns] == direct.columns
    assert data == [{k: services.jsonable(v) for k, v in row.items()} for row in direct.rows]
    assert next(c for c in columns if c["id"] == "prevalence")["type"] == "numeric"
    assert status.to_plotly_json()["props"]["data-status"] == "done"
    data, _columns, status = workbench.execute("factor_prevalence", ["year_from"], [None])
    assert data == [] and "Error (bad parameter)" in json.dumps(status.to_plotly_json(), default=str)
    data, _columns, status = workbench.execute("factor_prevalence", ["dataset"], ["no-such-dataset"])
    assert data == [] and status.to_plotly_json()["props"]["data-status"] == "empty"


def test_result_cells_and_status() -> None:
    assert workbench.table_cell(True) == "true"
    assert workbench.table_cell({"uid": "x", "_labels": ["Factor"]}) == '{"_labels": ["Factor"], "uid": "x"}'
    assert workbench.table_cell(3) == 3
    result = services.TableResult(["n"], [{"n": 1}, {"n": 2}], truncated=True, elapsed_s=0.5, max_rows=2, query="q")
    kind, messages = workbench.result_status(result)
    assert kind == "truncated" and "Truncated: only the first 2 rows" in messages[1]


# ---- the app, through its own HTTP endpoints ----------------------------------------------------
def test_the_app_starts_without_touching_the_database(tmp_path: Path) -> None:
    dash_app = create_app(f"embedded:{tmp_path / 'absent.lbdb'}")
    client = dash_app.server.test_client()
    assert client.get("/").status_code == 200
    assert not (tmp_path / "absent.lbdb").exists()
    layout = client.get("/_dash-layout").get_json()
    assert ids.NAV_WORKBENCH in json.dumps(layout)
    services.installed(dash_app.server).close()


def test_callbacks_answer_over_http(app: Any) -> None:
    client = app.server.test_client()
    client.get("/")
    outputs = [d["output"] for d in client.get("/_dash-dependencies").get_json()]
    assert any(ids.NET_GRAPH in o for o in outputs) and any(ids.WB_TABLE in o for o in outputs)
    body = {
        "output": f"..{ids.WB_TABLE}.data...{ids.WB_TABLE}.columns...{ids.WB_STATUS}.children..",
        "outputs": [{"id": ids.WB_TABLE, "property": "data"}, {"id": ids.WB_TABLE, "property": "columns"},
                    {"id": ids.WB_STATUS, "property": "children"}],
        "inputs": [{"id": ids.WB_RUN, "property": "n_clicks", "value": 1},
                   {"id": ids.WB_QUERY, "property": "value", "value": "factor_prevalence"}],
        "state": [[{"id": ids.param_id("dataset"), "property": "value", "value": LONDON}],
                  [{"id": ids.param_id("dataset"), "property": "id", "value": ids.param_id("dataset")}]],
        "changedPropIds": [f"{ids.WB_RUN}.n_clicks"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:500]
    table = response.get_json()["response"][ids.WB_TABLE]
    assert [row["uid"] for row in table["data"]] == ["mps:domestic_abuse"]


# ---- helpers ------------------------------------------------------------------------------------
def html_div(children: list[Any]) -> Any:
    from dash import html

    return html.Div(children)


def _walk(component: Any) -> Iterator[Any]:
    yield component
    children = getattr(component, "children", None)
    if children is None:
        return
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)
