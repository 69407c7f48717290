"""The query workbench without a browser: ad-hoc Cypher (refused writes, limits), saving user queries as
versions, viewing and restoring them, and results drawn as table, chart or graph — on a real embedded graph
(London's real file + the synthetic coded bundle of tests/test_dashboard.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from dashboard import services
from dashboard.pages import workbench
from graph_model.embedded import EmbeddedBackend
from queries.registry import default_registry
from queries.user_store import UserQueryStore
from tests.test_dashboard import LONDON, SYNTH, build_dashboard_db, london_frame
from tests.test_dashboard_pathways import pages_app

NODE_COUNT = "MATCH (n) RETURN count(n) AS nodes"
BY_YEAR = ("MATCH (h:Homicide)-[:FROM_DATASET]->(d:Dataset) WHERE d.name = $dataset AND h.year >= $year_from "
           "RETURN h.year AS year, count(h) AS homicides ORDER BY year")


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_dashboard_db(tmp_path_factory.mktemp("workbench"))


@pytest.fixture
def query_dir(tmp_path: Path) -> Path:
    return tmp_path / "queries"


@pytest.fixture
def in_app(graph: tuple[Path, Path], query_dir: Path) -> Iterator[Flask]:
    app = pages_app(f"embedded:{graph[0]}", query_dir)
    try:
        with app.server.test_request_context("/"):
            yield app.server
    finally:
        services.installed(app.server).close()


def status_of(component: object) -> tuple[str, str]:
    props = component.to_plotly_json()["props"]  # type: ignore[attr-defined]
    return props["data-status"], str(props["children"])


def london_by_year(year_from: int) -> dict[int, int]:
    years = london_frame()["Recorded Year"].astype(int)
    return {int(y): int(n) for y, n in years[years >= year_from].value_counts().sort_index().items()}


# ---- ad-hoc parameters ----------------------------------------------------------------------------
def test_parameter_lines_become_typed_specs() -> None:
    specs = workbench.parse_param_lines(
        "# comment\n\ndataset string '' Dataset name\nyear_from integer 2010 First year\n"
        "share float 0.5\nflag boolean true\nkinds string_list 'homicide, murder_suicide' Kinds\n"
        "label string 'two words'")
    assert specs == {
        "dataset": {"type": "string", "default": "", "description": "Dataset name"},
        "year_from": {"type": "integer", "default": 2010, "description": "First year"},
        "share": {"type": "float", "default": 0.5, "description": ""},
        "flag": {"type": "boolean", "default": True, "description": ""},
        "kinds": {"type": "string_list", "default": ["homicide", "murder_suicide"], "description": "Kinds"},
        "label": {"type": "string", "default": "two words", "description": ""},
    }


@pytest.mark.parametrize(("text", "message"), [
    ("year integer", "line 1: 'year integer' needs at least a name, a type and a default"),
    ("x date 2020", "type 'date' is not one of"),
    ("x integer ten", "line 1: .*expects integer"),
    ("x string ''\nx string ''", "line 2: 'x' is declared twice"),
    ("x string 'open", "close the quote"),
])
def test_bad_parameter_lines_name_the_line(text: str, message: str) -> None:
    with pytest.raises(workbench.FormError, match=message):
        workbench.parse_param_lines(text)


def test_parameter_lines_round_trip_through_a_saved_query() -> None:
    for query in default_registry():
        specs = workbench.parse_param_lines(workbench.param_lines(query))
        assert {n: (s["type"], s["default"]) for n, s in specs.items()} == \
            {p.name: (p.type, list(p.default) if p.type == "string_list" else p.default) for p in query.parameters}


def test_chart_needs_its_columns() -> None:
    assert workbench.chart_spec("table", None, None, None) == {}
    assert workbench.chart_spec("chart", "year", "n", "") == {"type": "bar", "x": "year", "y": "n"}
    with pytest.raises(workbench.FormError, match="x column and the y column"):
        workbench.chart_spec("chart", "year", "", None)
    with pytest.raises(workbench.FormError, match="the result has"):
        workbench.chart_figure(["a"], [{"a": 1}], {"x": "a", "y": "b"}, "t")


def test_graph_elements_are_capped_and_counted() -> None:
    rows = [{"source": f"n{i}", "source_label": "Event", "source_caption": f"step {i}", "rel": "NEXT",
             "target": f"n{i + 1}", "target_label": "Event", "target_caption": f"step {i + 1}"} for i in range(10)]
    elements, shown, total = workbench.graph_elements(rows, max_nodes=5)
    assert (shown, total) == (5, 11)
    assert len([e for e in elements if "source" in e["data"]]) == 4  # only edges between drawn nodes
    elements, shown, total = workbench.graph_elements(rows)
    assert (shown, total, len(elements)) == (11, 11, 21)


def test_csv_has_every_row() -> None:
    text = workbench.csv_text(["a", "b"], [{"a": 1, "b": [1, 2]}, {"a": None, "b": True}])
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["1", "[1, 2]"], ["", "true"]]


# ---- ad-hoc queries in the app --------------------------------------------------------------------
def test_a_write_is_refused_and_the_graph_is_unchanged(in_app: Flask, graph: tuple[Path, Path]) -> None:
    with EmbeddedBackend(graph[0]) as backend:
        before = backend.run_read(NODE_COUNT).rows
    for text in ("CREATE (n)", "MATCH (d:Dataset) SET d.name = 'x' RETURN d", "MATCH (n) DETACH DELETE n"):
        shown = workbench.run_adhoc(text, "", "table", {})
        kind, message = status_of(shown["status"])
        assert kind == "error" and "Refused" in message and "Nothing was run" in message
        assert shown["data"] == []
    with EmbeddedBackend(graph[0]) as backend:
        assert backend.run_read(NODE_COUNT).rows == before


def test_an_adhoc_query_runs_with_its_parameters_and_draws_a_chart(in_app: Flask) -> None:
    shown = workbench.run_adhoc(BY_YEAR, f"dataset string {LONDON}\nyear_from integer 2015", "chart",
                                {"type": "bar", "x": "year", "y": "homicides"})
    expected = london_by_year(2015)
    assert {r["year"]: r["homicides"] for r in shown["data"]} == expected
    assert list(shown["figure"].data[0].y) == list(expected.values())
    assert shown["chart_style"] == {} and status_of(shown["status"])[0] == "done"
    assert shown["store"]["rows"] == [{"year": y, "homicides": n} for y, n in expected.items()]


def test_the_row_cap_and_the_time_limit_are_explicit_states(in_app: Flask) -> None:
    result = services.run_adhoc("MATCH (h:Homicide) RETURN h.uid AS uid ORDER BY uid", max_rows=5)
    assert result.truncated and len(result.rows) == 5
    assert workbench.result_status(result)[0] == "truncated"
    with pytest.raises(services.ServiceError) as caught:
        services.run_adhoc("MATCH (a:Homicide), (b:Homicide), (c:Homicide) WHERE a.year + b.year + c.year = 1 "
                           "RETURN count(*) AS n", timeout_s=0.2)
    assert caught.value.kind == "timeout"
    kind, message = status_of(workbench.service_failed(caught.value)["status"])
    assert kind == "timeout" and "timed out" in message


def test_an_empty_box_says_what_to_do(in_app: Flask) -> None:
    kind, message = status_of(workbench.run_adhoc("  ", "", "table", {})["status"])
    assert kind == "error" and "the ad-hoc box is empty" in message


# ---- saving, versions, restoring ------------------------------------------------------------------
def save(name: str, title: str, text: str = BY_YEAR, params: str = "dataset string ''\nyear_from integer 0",
         shape: str = "table", x: str = "", y: str = "") -> tuple[object, ...]:
    return workbench.save_query(1, name, title, "My description", text, params, shape, x, y, "")


def test_save_view_and_restore_versions(in_app: Flask, query_dir: Path) -> None:
    status, options, chosen, versions, version = save("my_years", "Homicides per year (mine)")
    assert status_of(status)[0] == "done" and "version 1" in status_of(status)[1]
    assert chosen == "my_years" and version == 1
    assert {"label": "Homicides per year (mine) [yours] (my_years)", "value": "my_years"} in options  # type: ignore
    first = (query_dir / "my_years" / "v1.cypher").read_text()

    # a second version, shown as a chart
    _status, _options, _chosen, versions, version = save("my_years", "Per year, as a chart", shape="chart",
                                                         x="year", y="homicides")
    assert version == 2 and [o["value"] for o in versions] == [2, 1]  # type: ignore[union-attr]
    assert (query_dir / "my_years" / "v1.cypher").read_text() == first

    # the saved query is listed and runs from its form, drawn as its (newest) metadata says
    assert "my_years" in [q.name for q in services.saved_queries()]
    shown = workbench.run_saved("my_years", ["dataset", "year_from"], [LONDON, 2018])
    assert {r["year"]: r["homicides"] for r in shown["data"]} == london_by_year(2018)
    assert shown["chart_style"] == {}

    # an earlier version can be viewed, opened in the editor, and restored
    assert workbench.show_version(1, "my_years") == first
    edited = workbench.edit_version(1, "my_years", 1)
    assert edited[1:] == (BY_YEAR, "dataset string '' \nyear_from integer 0".replace(" \n", "\n"), "table", "", "",
                          "", "my_years", "Homicides per year (mine)", "My description")
    message, versions, version = workbench.restore_version(1, "my_years", 1)
    assert "restored as version 3" in status_of(message)[1] and version == 3
    newest = UserQueryStore(query_dir).version("my_years")
    assert newest.version == 3 and newest.restored_from == 1
    assert newest.query.title == "Homicides per year (mine)" and newest.query.result == "table"
    restored = workbench.run_saved("my_years", ["dataset", "year_from"], [LONDON, 2018])
    assert restored["chart_style"] == {"display": "none"}


def test_saving_is_refused_with_the_reason(in_app: Flask, query_dir: Path) -> None:
    cases = [
        (save("factor_prevalence", "Clash"), "is a library query"),
        (save("writes", "Writes", text="CREATE (n:Dataset) RETURN n", params=""), "refused"),
        (save("Bad Name", "x"), "lower_snake_case"),
        (save("unused", "x", params="dataset string ''\nyear_from integer 0\nextra integer 1"), "declared but unused"),
        (save("nochart", "x", shape="chart"), "x column and the y column"),
        (save("notitle", ""), "title"),
    ]
    for (status, *rest), reason in cases:
        kind, message = status_of(status)
        assert kind == "error" and "Not saved" in message and reason in message, message
        assert all(r is workbench.no_update for r in rest)
    assert not query_dir.exists() or list(query_dir.rglob("*.cypher")) == []


def test_library_queries_have_no_versions(in_app: Flask) -> None:
    assert workbench.version_options("factor_prevalence") == ([], None, workbench.HIDDEN)
    assert workbench.version_options(None) == ([], None, workbench.HIDDEN)


def test_a_graph_query_is_drawn_as_a_graph(in_app: Flask, graph: tuple[Path, Path]) -> None:
    import pandas as pd

    events = pd.read_csv(graph[1] / "events.csv", dtype={"case_id": str})
    case = events["case_id"].iloc[0]
    steps = len(events[events["case_id"] == case])
    shown = workbench.run_saved("pathway_of_homicide", ["uid"], [f"{SYNTH}:{case}"])
    nodes = [e for e in shown["elements"] if "source" not in e["data"]]
    edges = [e for e in shown["elements"] if "source" in e["data"]]
    assert (len(nodes), len(edges)) == (steps, steps - 1) and shown["graph_style"] == {}
    assert workbench.download_graph(1)["type"] == "png"
    download = workbench.download_csv(1, shown["store"])
    assert download["filename"] == "pathway_of_homicide.csv" and download["content"].count("\n") == steps + 1
