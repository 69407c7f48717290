"""The micropathways page without a browser: its numbers on a real embedded graph (London's real file + the
300-case synthetic coded bundle of tests/test_dashboard.py) against figures computed here from the bundle's
CSV files with pandas, its filters, groups and states."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dash import Dash
from flask import Flask

from dashboard import ids, panels, services
from dashboard.pages import pathways, workbench
from graph_model.vocab import get_vocabulary
from patterns.slices import Filters
from queries.user_store import UserQueryStore
from tests.test_dashboard import LONDON, SYNTH, build_dashboard_db


# ---- the graph and an app holding these pages ---------------------------------------------------
@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_dashboard_db(tmp_path_factory.mktemp("pathways"))


def pages_app(uri: str, query_dir: Path) -> Dash:
    """An app with the part-B pages (pathways, workbench) and the shared panel callbacks."""
    app = Dash(__name__, use_pages=True, pages_folder="")
    service = services.GraphService(uri)
    service.user_store = UserQueryStore(query_dir)
    services.install(app.server, service)
    panels.register(app)
    pathways.register(app)
    workbench.register(app)
    return app


@pytest.fixture(scope="module")
def in_app(graph: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = pages_app(f"embedded:{graph[0]}", tmp_path_factory.mktemp("queries"))
    try:
        with app.server.test_request_context("/"):
            yield app.server
    finally:
        services.installed(app.server).close()


# ---- expected figures from the files ------------------------------------------------------------
def pathways_from_files(bundle: Path, year_from: int = 0, year_to: int = 9999,
                        method: str = "") -> tuple[pd.DataFrame, dict[str, list[str]], dict[str, list[float]]]:
    cases = pd.read_csv(bundle / "cases.csv", dtype=str)
    years = cases["year"].astype(int)
    cases = cases[(years >= year_from) & (years <= year_to)]
    if method:
        cases = cases[cases["method"] == method]
    events = pd.read_csv(bundle / "events.csv", dtype={"case_id": str, "event_type": str})
    events = events[events["case_id"].isin(cases["case_id"])].sort_values(["case_id", "step"])
    steps = events.groupby("case_id")["event_type"].apply(list).to_dict()
    minutes = events.groupby("case_id")["minutes_before"].apply(list).to_dict()
    return cases[cases["case_id"].isin(steps)], steps, minutes


def expected_transitions(steps: dict[str, list[str]]) -> Counter[tuple[str, str]]:
    """(from, to) -> pathways containing that transition at least once."""
    counts: Counter[tuple[str, str]] = Counter()
    for seq in steps.values():
        counts.update(set(itertools.pairwise(seq)))
    return counts


def contains(seq: list[str], pattern: list[str]) -> bool:
    return any(seq[i:i + len(pattern)] == pattern for i in range(len(seq) - len(pattern) + 1))


def conflicts() -> set[str]:
    return {c.code for c in get_vocabulary().scheme_concepts("EventType", "micropathways") if c.get("conflict_event")}


# ---- the page's numbers -------------------------------------------------------------------------
def test_transitions_are_the_files_pathways(in_app: Flask, graph: tuple[Path, Path]) -> None:
    _cases, steps, _ = pathways_from_files(graph[1])
    shown = pathways.compute(Filters(), "motive", None, None, 0.05)
    expected = expected_transitions(steps)
    assert {(r["from"], r["to"]): r["homicides"] for r in shown["t_rows"]} == dict(expected)
    for row in shown["t_rows"]:
        assert row["prevalence"] == pytest.approx(expected[(row["from"], row["to"])] / len(steps), abs=1e-4)
    drawn = [r for r in shown["t_rows"] if r["drawn"] == "yes"]
    assert all(r["from"] != r["to"] for r in drawn) and len(drawn) <= pathways.MAX_LINKS
    # the most prevalent transitions between different types are the ones drawn
    others = sorted((n for (a, b), n in expected.items() if a != b), reverse=True)
    assert sorted((r["homicides"] for r in drawn), reverse=True) == others[:len(drawn)]
    sankey = shown["t_figure"].data[0]
    assert len(sankey.link.value) == len(drawn) and sum(sankey.link.value) == sum(r["homicides"] for r in drawn)
    assert shown["t_state"].to_plotly_json()["props"]["data-status"] in ("ok", "truncated")
    assert "SYNTHETIC" in str(shown["t_state"].to_plotly_json()["props"]["children"])


def test_two_groups_side_by_side_match_the_files(in_app: Flask, graph: tuple[Path, Path]) -> None:
    cases, steps, minutes = pathways_from_files(graph[1])
    by_method = cases.groupby("method")["case_id"].apply(list).to_dict()
    largest = sorted(by_method, key=lambda m: (-len(by_method[m]), m))
    a, b = largest[0], largest[2]
    shown = pathways.compute(Filters(), "method", a, b, 0.05)
    assert (shown["a"], shown["b"]) == (a, b)
    assert [o["value"] for o in shown["options"]][:3] == largest[:3]
    for row in shown["s_rows"]:
        pattern = row["pattern"].split(" > ")
        for side, group in (("a", a), ("b", b)):
            members = by_method[group]
            n = sum(contains(steps[c], pattern) for c in members)
            support = n / len(members)
            if support >= 0.05:
                assert row[f"{side}_homicides"] == n and row[f"{side}_support"] == pytest.approx(support, abs=1e-4)
            else:
                assert row[f"{side}_homicides"] == 0
    measures = {r["measure"]: r for r in shown["e_rows"]}
    box = shown["e_figure"].data
    for side, group, trace in (("a", a, box[0]), ("b", b, box[1])):
        firsts = []
        for case in by_method[group]:
            at = [i for i, t in enumerate(steps[case]) if t in conflicts()]
            if at:
                firsts.append(minutes[case][at[0]])
        known = pd.Series(firsts).dropna()
        assert measures["pathways"][side] == len(by_method[group])
        assert measures["homicides"][side] == len(firsts)
        assert measures["known"][side] == len(known)
        assert measures["median"][side] == pytest.approx(known.median(), abs=1e-4)
        assert measures["under_5_min"][side] == int((known < 5).sum())
        assert sorted(trace.y) == sorted(known[known > 0])  # the box plot draws the known times (log axis)


def test_filters_change_what_is_shown(in_app: Flask, graph: tuple[Path, Path]) -> None:
    everything = pathways.compute(Filters(), "motive", None, None, 0.05)
    cases, steps, _ = pathways_from_files(graph[1], 2020, 2022, method="sharp_instrument")
    narrowed = pathways.compute(Filters(year_from=2020, year_to=2022, method="sharp_instrument"), "motive",
                                None, None, 0.05)
    assert {(r["from"], r["to"]): r["homicides"] for r in narrowed["t_rows"]} == dict(expected_transitions(steps))
    assert narrowed["t_rows"] != everything["t_rows"]
    measures = {r["measure"]: r for r in narrowed["e_rows"]}
    by_motive = cases.groupby("motive")["case_id"].count()
    assert measures["pathways"]["a"] == by_motive.max()


def test_data_without_pathways_says_no_data(in_app: Flask) -> None:
    shown = pathways.compute(Filters(dataset=LONDON), "motive", None, None, 0.05)
    assert shown["empty"]
    props = shown["state"].to_plotly_json()["props"]
    assert props["data-status"] == "empty" and "No data" in str(props["children"])
    values = pathways.outputs(shown)
    assert len(values) == len(pathways.OUTPUTS)


def test_an_unknown_dataset_is_empty_too(in_app: Flask) -> None:
    shown = pathways.compute(Filters(dataset="no-such-dataset"), "method", None, None, 0.05)
    assert shown["empty"] and shown["options"] == []


def test_the_callback_reads_the_filter_bar(in_app: Flask, graph: tuple[Path, Path]) -> None:
    _cases, steps, _ = pathways_from_files(graph[1], 2019, 2021)
    values = pathways.update(SYNTH, [2019, 2021], None, None, None, None, 2003, 2024, "motive", None, None, 0.05)
    assert len(values) == len(pathways.OUTPUTS)
    table = values[[o for o, _p in pathways.OUTPUTS].index(ids.PW_TRANSITIONS.table)]
    assert {(r["from"], r["to"]): r["homicides"] for r in table} == dict(expected_transitions(steps))
    store = values[[o for o, _p in pathways.OUTPUTS].index(ids.PW_TRANSITIONS.data)]
    assert store["filename"] == "pathway-transitions" and len(store["rows"]) == len(table)
    csv = panels.to_csv(store["columns"], store["rows"])
    assert csv.count("\n") == len(table) + 1


def test_the_layout_takes_its_choices_from_the_url(in_app: Flask) -> None:
    page = pathways.layout(dataset=SYNTH, year_from="2019", by="method", a="shooting", support="0.2")
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if hasattr(node, "id") and isinstance(getattr(node, "id", None), str):
            found[node.id] = node
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str):
                walk(child)

    walk(page)
    assert found[ids.PW_BY].value == "method" and found[ids.PW_GROUP_A].value == "shooting"
    assert found[ids.PW_SUPPORT].value == 0.2
    assert found[ids.PW_FILTERS.dataset].value == SYNTH
    assert pathways.parse_support("abc") == pathways.DEFAULT_SUPPORT and pathways.parse_support("2") == 0.05


def test_choose_groups_keeps_valid_choices() -> None:
    options = [{"value": "x"}, {"value": "y"}, {"value": "z"}]
    assert pathways.choose_groups(options, None, None) == ("x", "y")
    assert pathways.choose_groups(options, "z", "z") == ("z", "x")
    assert pathways.choose_groups(options, "y", "z") == ("y", "z")
    assert pathways.choose_groups([{"value": "x"}], None, None) == ("x", "x")
    assert pathways.choose_groups([], "a", "b") == (None, None)
