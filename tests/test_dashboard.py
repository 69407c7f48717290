"""The dashboard without a browser: legend colours, the services on a real embedded graph, the pages'
pure functions, their callbacks called directly inside the app, and the app's own Dash endpoints.

The graph is the Met's real London file plus a seeded 300-case SYNTHETIC coded bundle (many factors,
so the network has links). Expected figures come from the CSV files, read here with pandas.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dash import dcc
from dash.exceptions import PreventUpdate
from flask import Flask
from scipy.stats import fisher_exact

from dashboard import ids, legend, panels, services
from dashboard.app import create_app
from dashboard.pages import card, filters, network, overview, query_params, workbench
from graph_model import locking
from graph_model.embedded import EmbeddedBackend
from graph_model.schema import get_schema
from graph_model.vocab import get_vocabulary
from loaders import synthetic
from loaders.base import load
from patterns import slices
from patterns.slices import Filters
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


def test_factor_kind_colours_and_names_are_the_ontologys() -> None:
    from graph_model.ontology import load_ontology

    rows = load_ontology().query("""
        PREFIX mp: <https://w3id.org/micropathways/ontology#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?code ?name ?colour WHERE { ?k a mp:FactorKind ; skos:notation ?code ; rdfs:label ?name ;
                                            mp:legendColour ?colour }""")
    described = {str(code): (str(name), str(colour)) for code, name, colour in rows}  # type: ignore[misc]
    assert set(legend.factor_kinds()) <= set(described), "a factor kind has no mp:FactorKind in the ontology"
    for kind in legend.factor_kinds():
        assert legend.kind_colour(kind) == described[kind][1]
        assert legend.kind_name(kind) == described[kind][0]


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
            kept = svc.datasets()
            assert [d.records for d in kept] == [20], "what was read before the load is still served"
            svc.changed()  # the revision is due to be read again: the graph must be read now
            with pytest.raises(services.ServiceError) as busy:
                svc.datasets()
            assert busy.value.kind == "busy" and "in progress" in str(busy.value)
        assert svc.datasets()
        [broken] = svc.open_handles()
        broken.close()  # the handle dies under the service
        svc.changed()
        assert [d.records for d in svc.datasets()] == [20], "a broken handle is replaced, not fatal"
        assert broken not in svc.open_handles() and svc.open_handles()
    finally:
        svc.close()


# ---- shared filters, panels and the record index ------------------------------------------------
def test_filters_round_trip_through_the_url() -> None:
    chosen = Filters(dataset=LONDON, year_from=2010, year_to=2015, motive="quarrel_revenge_temper")
    search = filters.to_search(chosen, {"alpha": 0.01})
    assert search == "?dataset=london-mps&year_from=2010&year_to=2015&motive=quarrel_revenge_temper&alpha=0.01"
    assert filters.from_query(query_params(search)) == chosen
    assert filters.to_search(Filters()) == ""
    assert filters.from_query({"year_from": "junk", "area": " gss:E09000011 "}) == Filters(area="gss:E09000011")
    # the slider at its whole span means "any year"
    assert filters.from_inputs(SYNTH, [2003, 2024], None, "", None, None, 2003, 2024) == Filters(dataset=SYNTH)
    assert filters.from_inputs(None, [2005, 2024], None, None, None, None, 2003, 2024) == Filters(year_from=2005,
                                                                                                 year_to=2024)


def test_navigation_carries_the_filters_to_pages_that_share_them(app: Any) -> None:
    links = [ids.nav_link_id(p) for p in ("overview", "network", "card", "workbench")]
    hrefs = filters.carry("?dataset=london-mps&year_from=2010&alpha=0.01", links, [None] * 4)
    assert hrefs == ["/?dataset=london-mps&year_from=2010", "/network?dataset=london-mps&year_from=2010",
                     "/card", "/queries"]
    assert filters.carry("", links, [None] * 4) == ["/", "/network", "/card", "/queries"]


def test_year_helpers() -> None:
    infos = [services.DatasetInfo("a", False, 3, 2003, 2024), services.DatasetInfo("b", True, 2, 2015, 2024)]
    assert filters.year_bounds(infos, "b") == (2015, 2024)
    assert filters.year_bounds(infos, None) == (2003, 2024)
    assert filters.year_bounds([], None) is None
    assert filters.clamp_years(None, (2015, 2024)) == [2015, 2024]
    assert filters.clamp_years([2010, 2018], (2015, 2024)) == [2015, 2018]
    for bounds in [(2003, 2024), (2015, 2024), (2020, 2020), (1976, 2018)]:
        marks = sorted(filters.year_marks(bounds))
        assert marks[0] == bounds[0] and marks[-1] == bounds[1]


def test_csv_export_is_formula_safe_and_complete() -> None:
    rows = [{"uid": "=HYPERLINK(\"x\")", "n": -3, "shared": ["a", "b"]}, {"uid": "@sum", "n": None}]
    text = panels.to_csv(["uid", "n", "shared"], rows)
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed == [["uid", "n", "shared"], ["'=HYPERLINK(\"x\")", "-3", '["a", "b"]'], ["'@sum", "", ""]]
    sent = panels.download_csv(1, panels.export_data(rows, ["uid", "n", "shared"], "x"))
    assert sent["filename"] == "x.csv" and sent["content"] == text
    with pytest.raises(PreventUpdate):
        panels.download_csv(0, None)
    with pytest.raises(ValueError, match="unknown panel state"):
        panels.state("fine", [])


FILTER_CASES = [
    Filters(),
    Filters(dataset=SYNTH, year_from=2018, year_to=2021),
    Filters(dataset=LONDON, area="E09000011"),
    Filters(area="gss:E12000007", method="sharp_instrument"),
    Filters(motive="quarrel_revenge_temper", relationship="partner_ex_partner"),
    Filters(year_from=2010, year_to=2012, method="shooting"),
]


@pytest.mark.parametrize("chosen", FILTER_CASES, ids=lambda f: f.describe())
def test_the_index_selects_what_the_slice_queries_select(service: services.GraphService, graph: tuple[Path, Path],
                                                         chosen: Filters) -> None:
    idx = service.index()
    with EmbeddedBackend(graph[0]) as backend:
        expected = slices.records(backend, chosen)["uid"].tolist()
    got = idx.records.loc[idx.mask(chosen), "uid"].tolist()
    assert got == expected
    assert chosen == Filters() or len(got) < len(idx), "the filter selects something smaller"


def test_the_index_is_rebuilt_when_the_graph_changes(tmp_path: Path) -> None:
    path = tmp_path / "growing.lbdb"
    with EmbeddedBackend(path, read_only=False) as backend:
        load("coded", synthetic.write_bundle(tmp_path / "a", cases=20, seed=3), backend)
    svc = services.GraphService(f"embedded:{path}")
    try:
        assert len(svc.index()) == 20
        svc.close()  # the embedded engine allows one writer: let go of the read handle
        with EmbeddedBackend(path, read_only=False) as backend:
            load("coded", synthetic.write_bundle(tmp_path / "b", cases=30, seed=4), backend)
        svc.changed()  # as if RECHECK_S had passed
        assert len(svc.index()) == 50
    finally:
        svc.close()


# ---- overview page --------------------------------------------------------------------------------
def test_overview_counts_are_the_files(in_app: Flask, graph: tuple[Path, Path]) -> None:
    london = london_frame()
    window = london[london["Recorded Year"].astype(int).between(2010, 2012)]
    out = overview.update(LONDON, [2010, 2012], None, None, None, None, 2003, 2024)
    badges, figure, years = out[0], out[1], out[2]
    assert [b.children for b in badges] == [f"{LONDON} · real data · {len(window):,} records"]
    assert {r["year"]: r["records"] for r in years} == window["Recorded Year"].astype(int).value_counts().to_dict()
    assert figure["data"][0]["y"] == [r["records"] for r in years]
    area_rows = out[4 * 4 + 2]
    expected_areas = window["Borough"].value_counts()
    boroughs = {_name(r["area"]): r["records"] for r in area_rows if r["level"] == "borough"}
    assert boroughs == {_name(k): int(v) for k, v in expected_areas.items() if k != "Unmapped"}
    assert sum(r["records"] for r in area_rows) == len(window), "every record is placed in one area"
    cases = pd.read_csv(graph[1] / "cases.csv", dtype=str)
    out = overview.update(SYNTH, None, None, "theft_gain", None, None, None, None)
    chosen = cases[cases["motive"] == "theft_gain"]
    assert "SYNTHETIC" in out[0][0].children and "SYNTHETIC" in json.dumps(out[3].to_plotly_json(), default=str)
    method_rows = out[6]
    assert {r["code"]: r["records"] for r in method_rows} == chosen["method"].value_counts().to_dict()
    assert out[7].to_plotly_json()["props"]["data-status"] == "ok"
    empty = overview.update(SYNTH, [1900, 1901], None, None, None, None, 2003, 2024)
    assert empty[3].to_plotly_json()["props"]["data-status"] == "empty"


def _name(area: str) -> str:
    return area.replace(" and ", " & ").casefold()


# ---- network page -------------------------------------------------------------------------------
def expected_pair_tests(bundle: Path, year_from: int, year_to: int) -> dict[tuple[str, str], dict[str, float]]:
    """Every pair coded together in the synthetic file: counts, Fisher p (scipy) and BH q (by hand)."""
    rows = synthetic_factors(bundle, year_from, year_to)
    coded = rows[rows["value"].isin(["present", "absent"])]
    table = coded.pivot_table(index="case_id", columns="factor", values="value", aggfunc="first")
    out: dict[tuple[str, str], dict[str, float]] = {}
    for a, b in itertools.combinations(sorted(table.columns), 2):
        both = table[[a, b]].dropna()
        n = len(both)
        if not n:
            continue
        pa, pb = both[a] == "present", both[b] == "present"
        n_a, n_b, n_ab = int(pa.sum()), int(pb.sum()), int((pa & pb).sum())
        entry: dict[str, float] = {"n": n, "n_a": n_a, "n_b": n_b, "n_ab": n_ab}
        if 0 < n_a < n and 0 < n_b < n:
            entry["p"] = float(fisher_exact([[n_ab, n_a - n_ab], [n_b - n_ab, n - n_a - n_b + n_ab]])[1])
        out[(a, b)] = entry
    tested = sorted((e["p"], k) for k, e in out.items() if "p" in e)
    m = len(tested)
    q_running = 1.0
    for rank in range(m, 0, -1):
        p, key = tested[rank - 1]
        q_running = min(q_running, p * m / rank)
        out[key]["q"] = q_running
    return out


def test_network_numbers_are_the_files(service: services.GraphService, graph: tuple[Path, Path]) -> None:
    data = service.factor_network(Filters(dataset=SYNTH, year_from=2018, year_to=2022))
    prevalence = expected_prevalence(graph[1], 2018, 2022)
    assert {code(f["factor_uid"]): (f["n_present"], f["n_coded"]) for f in data.factors} == prevalence
    expected = expected_pair_tests(graph[1], 2018, 2022)
    got = {(code(p["a_uid"]), code(p["b_uid"])): p for p in data.pairs}
    assert set(got) == set(expected)
    for key, want in expected.items():
        pair = got[key]
        assert (pair["n"], pair["n_a"], pair["n_b"], pair["n_ab"]) == (want["n"], want["n_a"], want["n_b"],
                                                                        want["n_ab"]), key
        if "p" in want:
            assert pair["p_value"] == pytest.approx(want["p"], rel=1e-9) and pair["q_value"] == pytest.approx(
                want["q"], rel=1e-9), key
        else:
            assert pair["q_value"] is None and not pair["tested"]
    view = network.build_view(data, alpha=0.05)
    edges = {(code(e["data"]["source"]), code(e["data"]["target"])) for e in view.elements if "source" in e["data"]}
    assert edges == {k for k, w in expected.items() if w.get("q", 1) <= 0.05 and w["n_ab"] >= 1}
    assert edges, "the synthetic generator makes some pairs significant"
    loose = network.build_view(data, alpha=1.0)
    assert loose.shown_edges == sum(1 for w in expected.values() if "q" in w and w["n_ab"] >= 1)
    assert any(p["n_ab"] == 0 and p["q_value"] <= 0.05 for p in data.pairs), "never-together pairs are tested too"
    nodes = {e["data"]["id"]: e["data"] for e in view.elements if "source" not in e["data"]}
    assert {code(u) for u in nodes} == {c for c, (n, _) in prevalence.items() if n > 0}
    for node in nodes.values():
        assert node["colour"] == legend.kind_colour(node["kind"])
    assert max(n["size"] for n in nodes.values()) == network.NODE_MAX_PX
    assert view.status == "ok"


def test_a_big_network_is_cut_and_says_so(service: services.GraphService) -> None:
    data = service.factor_network(Filters(dataset=SYNTH))
    full = network.build_view(data, alpha=1.0)
    cut = network.build_view(data, alpha=1.0, max_elements=30, max_nodes=8)
    assert len(cut.elements) <= 30 and cut.shown_nodes == 8 and cut.status == "truncated"
    assert any(m.startswith("Truncated: the graph is limited to 30 elements (8 factors)") for m in cut.messages)
    shown = [r for r in cut.factor_rows if r["in_graph"] == "yes"]
    hidden = [r for r in cut.factor_rows if r["in_graph"] == "no"]
    assert min(r["prevalence"] for r in shown) >= max(r["prevalence"] for r in hidden)
    assert len(cut.pair_rows) == len(full.pair_rows), "the tables keep every pair"


def test_clicking_a_factor_or_a_link_lists_its_homicides(in_app: Flask, graph: tuple[Path, Path]) -> None:
    chosen = Filters(dataset=SYNTH, year_from=2016, year_to=2020)
    query = ("MATCH (h)-[:FROM_DATASET]->(d:Dataset) WHERE d.name = $dataset AND h.year >= $y0 AND h.year <= $y1 "
             "MATCH (h)-[r:HAS_FACTOR]->(f:Factor) WHERE r.present AND f.uid IN $factors "
             "WITH h, count(DISTINCT f) AS hits WHERE hits = size($factors) RETURN h.uid AS uid ORDER BY uid")
    for picked, factors in [({"id": "micropathways:alcohol", "label": "Alcohol"}, ["micropathways:alcohol"]),
                            ({"source": "micropathways:alcohol", "target": "micropathways:drugs"},
                             ["micropathways:alcohol", "micropathways:drugs"])]:
        text, rows, status, data = network.list_cases(picked, chosen)
        with EmbeddedBackend(graph[0]) as backend:
            want = [r["uid"] for r in backend.run_read(query, {"dataset": SYNTH, "y0": 2016, "y1": 2020,
                                                               "factors": factors}).rows]
        assert [r["uid"] for r in rows] == want and want
        assert f": {len(want):,}." in text
        assert rows[0]["link"] == f"[{want[0]}](/card?uid={want[0].replace(':', '%3A')})"
        assert status.to_plotly_json()["props"]["data-status"] == "ok"
        assert [r["uid"] for r in data["rows"]] == want
    _text, rows, status, _data = network.list_cases(None, chosen)
    assert rows == [] and status.to_plotly_json()["props"]["data-status"] == "idle"


def test_network_callback_in_the_app(in_app: Flask) -> None:
    out = network.update_network(LONDON, [2010, 2012], None, None, None, None, 2003, 2024, 0.05, 1)
    elements, _legend, status, summary, factor_rows, pair_rows = out[:6]
    london = london_frame()
    window = london[london["Recorded Year"].astype(int).between(2010, 2012)]
    assert [e["data"]["id"] for e in elements] == ["mps:domestic_abuse"]
    assert factor_rows[0]["n_present"] == (window["Domestic Abuse"] == "Domestic Abuse").sum()
    assert factor_rows[0]["n_coded"] == len(window) and pair_rows == []
    text = json.dumps(status.to_plotly_json(), default=str)
    assert "SYNTHETIC" not in text and summary.startswith("Graph: 1 factor node and 0 significant links")
    out = network.update_network(None, None, None, None, None, None, None, None, 0.05, 1)
    labels = {e["data"]["id"]: e["data"]["label"] for e in out[0] if "source" not in e["data"]}
    assert labels["mps:domestic_abuse"] == "Domestic Abuse (mps)"
    assert labels["micropathways:domestic_abuse"] == "Domestic abuse (micropathways)"
    assert "SYNTHETIC data" in json.dumps(out[2].to_plotly_json(), default=str)
    empty = network.update_network(SYNTH, [1900, 1901], None, None, None, None, 2003, 2024, 0.05, 1)
    assert empty[0] == [] and empty[2].to_plotly_json()["props"]["data-status"] == "empty"


def test_network_layout_takes_its_filters_from_the_url(in_app: Flask) -> None:
    page = network.layout(dataset=LONDON, year_from="2010", year_to="2012", alpha="0.01", min_count="2",
                          motive="theft_gain", other="x")
    found = {c.id: c for c in _walk(page) if isinstance(getattr(c, "id", None), str)}
    assert found[ids.NET_FILTERS.dataset].value == LONDON
    assert found[ids.NET_FILTERS.years].value == [2010, 2012]
    assert found[ids.NET_FILTERS.motive].value == "theft_gain"
    assert found[ids.NET_ALPHA].value == 0.01 and found[ids.NET_MIN_COUNT].value == 2
    assert network.layout(year_from="junk", alpha="x").children  # bad values fall back, never crash


# ---- card page ------------------------------------------------------------------------------------
def test_the_card_shows_the_files_factors_and_similar_cases(in_app: Flask, graph: tuple[Path, Path]) -> None:
    factors = pd.read_csv(graph[1] / "factors.csv", dtype=str)
    events = pd.read_csv(graph[1] / "events.csv", dtype=str)
    case = "SYN-000007"
    uid = f"{SYNTH}:{case}"
    out = card.show_card(1, uid, "")
    labels = {c.uid.split(":", 1)[1]: c.label for c in get_vocabulary().concepts.values()
              if c.label_class == "Factor" and c.uid.startswith("micropathways:")}
    mine = factors[factors["case_id"] == case]
    text = json.dumps([c.to_plotly_json() for c in out[0]], default=str)
    for value, group in mine.groupby("value"):
        for code_ in group["factor"]:
            if value in ("present", "absent"):
                assert labels[code_] in text, (value, code_)
    present = sorted(labels[c] for c in mine.loc[mine["value"] == "present", "factor"])
    card_row = out[2]["rows"][0]
    assert sorted(card_row["factors_present"]) == present
    steps = out[5]
    assert len(steps) == (events["case_id"] == case).sum()
    assert out[11] == f"?uid={SYNTH}%3A{case}"
    similar_rows = out[8]
    assert similar_rows and uid not in {r["uid"] for r in similar_rows}
    assert all(r["jaccard"] <= similar_rows[0]["jaccard"] for r in similar_rows)
    assert "SYNTHETIC" in json.dumps(out[1].to_plotly_json(), default=str)
    missing = card.show_card(1, "nope:1", "")
    assert missing[1].to_plotly_json()["props"]["data-status"] == "empty"
    assert card.show_card(0, "", "")[1].to_plotly_json()["props"]["data-status"] == "idle"


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
    text = json.dumps(layout)
    for page in ("overview", "network", "card", "workbench"):
        assert json.dumps(ids.nav_link_id(page))[1:-1].replace('"', '\\"') in text or page in text
    services.installed(dash_app.server).close()


def test_callbacks_answer_over_http(app: Any) -> None:
    client = app.server.test_client()
    client.get("/")
    outputs = [d["output"] for d in client.get("/_dash-dependencies").get_json()]
    assert any(ids.NET_GRAPH in o for o in outputs) and any(ids.OV_YEAR.table in o for o in outputs)
    f = ids.OV_FILTERS
    body = {
        "output": f"..{f.url}.search...{f.share}.href...{f.summary}.children..",
        "outputs": [{"id": f.url, "property": "search"}, {"id": f.share, "property": "href"},
                    {"id": f.summary, "property": "children"}],
        "inputs": [{"id": f.dataset, "property": "value", "value": LONDON},
                   {"id": f.years, "property": "value", "value": [2010, 2024]},
                   {"id": f.area, "property": "value", "value": None},
                   {"id": f.motive, "property": "value", "value": None},
                   {"id": f.method, "property": "value", "value": "shooting"},
                   {"id": f.relationship, "property": "value", "value": None}],
        "state": [{"id": f.years, "property": "min", "value": 2003}, {"id": f.years, "property": "max", "value": 2024},
                  {"id": f.url, "property": "search", "value": ""}],
        "changedPropIds": [f"{f.method}.value"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:500]
    answer = response.get_json()["response"]
    assert answer[f.url]["search"] == "?dataset=london-mps&year_from=2010&year_to=2024&method=shooting"
    assert answer[f.summary]["children"] == "Showing london-mps, 2010–2024, method: shooting"


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
