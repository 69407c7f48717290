"""Deterministic linkage and how links live in the graph, on both engines.

Two constructed datasets (a police-like Homicide series and a partner's Incidents, loaded through the
mapped-csv source) are linked on a pseudonymous reference, on GSS borough + year + month and on ICCS.
Expected link sets are computed here from the CSV rows with pandas, independently of linkage/. Then:
re-running writes nothing and duplicates nothing; reviews are kept across re-runs; a run whose result
changed replaces its proposed links only; a failing write leaves the graph as it was; the saved queries
and linkage.api read the same links on both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from graph_model.backend import GraphBackend
from graph_model.errors import QueryError
from linkage import api
from linkage.records import LinkageError
from linkage.runs import RunSpec, review_links, run_bundle, run_link_rows, run_links
from loaders.base import prepare
from tests.conftest import BACKENDS, open_fresh
from tests.graph_checks import rows as read_rows
from tests.linkage_fixtures import load_source, row, write_source

LEFT = [row("P1", key="k-aa", yr=2019, mon=3, borough="E09000011", iccs="0101"),
        row("P2", key="k-bb", yr=2019, mon=3, borough="E09000011", iccs="0101"),
        row("P3", key="k-cc", yr=2019, mon=4, borough="E09000001", iccs="0103"),
        row("P4", key="", yr=2020, mon=1, borough="E09000002", iccs="0101"),
        row("P5", key="k-ee", yr=2020, mon=2, borough="E09000003", iccs="")]
RIGHT = [row("A1", key="k-aa", yr=2019, mon=3, borough="E09000011", iccs="0101"),
         row("A2", key="k-cc", yr=2019, mon=5, borough="E09000001", iccs="0103"),
         row("A3", key="k-zz", yr=2019, mon=3, borough="E09000011", iccs="0101"),
         row("A4", key="", yr=2020, mon=1, borough="E09000002", iccs=""),
         row("A5", key="k-ee", yr=2021, mon=2, borough="E09000003", iccs="0101")]


@pytest.fixture
def pair(backend: GraphBackend, tmp_path: Path) -> GraphBackend:
    load_source(backend, write_source(tmp_path, "police-x", "Homicide", LEFT))
    load_source(backend, write_source(tmp_path, "partner-y", "Incident", RIGHT, kind="homicide"))
    return backend


def expected_pairs(keys: list[str], right: list[dict[str, Any]] = RIGHT) -> set[tuple[str, str]]:
    """Pairs agreeing on every key column of the raw rows (empty cells never agree)."""
    a, b = pd.DataFrame(LEFT).astype(str), pd.DataFrame(right).astype(str)
    a, b = a[(a[keys] != "").all(axis=1)], b[(b[keys] != "").all(axis=1)]
    merged = a.merge(b, on=keys, suffixes=("_l", "_r"))
    return {(f"police-x:{x}", f"partner-y:{y}") for x, y in zip(merged["ref_l"], merged["ref_r"], strict=True)}


def graph_links(backend: GraphBackend, run: str) -> set[tuple[str, str]]:
    found = read_rows(backend, "MATCH (a)-[r:LINKED_TO]->(b) WHERE r.run = $run RETURN a.uid AS a, b.uid AS b",
                      run=run)
    return {(r["a"], r["b"]) for r in found}


def spec(*keys: str) -> RunSpec:
    return RunSpec("police-x", "partner-y", "deterministic", keys=keys)


@pytest.mark.parametrize(("keys", "columns"), [
    (("pseudonymous_ref",), ["key"]),
    (("area_borough", "year", "month"), ["borough", "yr", "mon"]),
    (("iccs",), ["iccs"]),
])
def test_deterministic_links_are_exactly_the_pairs_agreeing_on_every_key(
        pair: GraphBackend, keys: tuple[str, ...], columns: list[str]) -> None:
    expected = expected_pairs(columns)
    assert expected  # the constructed case has links for every key
    outcome = run_links(pair, spec(*keys))
    assert set(zip(outcome.links["left_uid"], outcome.links["right_uid"], strict=True)) == expected
    assert graph_links(pair, spec(*keys).uid) == expected
    stored = run_link_rows(pair, spec(*keys).uid)
    assert set(stored["link_method"]) == {"deterministic"} and set(stored["status"]) == {"proposed"}
    assert (stored["match_probability"] == 1.0).all() and stored["match_weight"].isna().all()
    assert set(stored["agreed_fields"]) == {"|".join(keys)}
    assert (stored["threshold"] == 1.0).all()


def test_rerun_writes_nothing_and_keeps_review_decisions(pair: GraphBackend) -> None:
    run = spec("area_borough", "year", "month")
    first = run_links(pair, run)
    assert first.report.rels_written == len(expected_pairs(["borough", "yr", "mon"])) == 5
    again = run_links(pair, run)
    assert again.report.rels_written == 0 and again.report.nodes_written == 0
    assert len(run_link_rows(pair, run.uid)) == 5  # nothing duplicated
    accept = ("police-x:P1", "partner-y:A1")
    reject = ("police-x:P2", "partner-y:A3")
    review_links(pair, run.uid, [accept], "accepted", "rev-01")
    review_links(pair, run.uid, [reject], "rejected", "rev-02")
    run_links(pair, run)
    stored = run_link_rows(pair, run.uid).set_index(["from", "to"])
    assert len(stored) == 5
    assert stored.loc[accept, "status"] == "accepted" and stored.loc[accept, "reviewer"] == "rev-01"
    assert stored.loc[reject, "status"] == "rejected" and stored.loc[reject, "reviewer"] == "rev-02"
    assert stored.loc[("police-x:P4", "partner-y:A4"), "status"] == "proposed"


def test_a_changed_run_replaces_its_proposed_links_but_keeps_reviewed_ones(pair: GraphBackend) -> None:
    run = spec("area_borough", "year", "month")
    outcome = run_links(pair, run)
    review_links(pair, run.uid, [("police-x:P2", "partner-y:A3")], "rejected", "rev-01")
    left, right = (api.linked_records(pair, api.list_links(pair, run=run.uid)))
    # The run now finds only P1's links (as if the data had changed): the proposed P2-A1 and P4-A4 must
    # go, the rejected P2-A3 must stay, P1-A1 and P1-A3 are untouched.
    links = outcome.links[outcome.links["left_uid"] == "police-x:P1"].reset_index(drop=True)
    report = pair.write_bundle(run_bundle(run, links, left, right, None))
    assert report.rels_written == 0
    assert graph_links(pair, run.uid) == {("police-x:P1", "partner-y:A1"), ("police-x:P1", "partner-y:A3"),
                                          ("police-x:P2", "partner-y:A3")}
    assert set(run_link_rows(pair, run.uid)["status"]) == {"proposed", "rejected"}


@pytest.fixture(params=(*BACKENDS, "neo4j-staged"))
def any_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphBackend]:
    """The pair on both engines, and on Neo4j with every load staged (the reload below included)."""
    backend = open_fresh(request.param, tmp_path, request)
    try:
        load_source(backend, write_source(tmp_path, "police-x", "Homicide", LEFT))
        load_source(backend, write_source(tmp_path, "partner-y", "Incident", RIGHT, kind="homicide"))
        yield backend
    finally:
        backend.close()


def test_a_reload_that_changes_records_keeps_their_reviewed_links(any_pair: GraphBackend, tmp_path: Path) -> None:
    """Changed records are replaced whole; a reviewer's decisions on their links survive that (proposed links
    go, and the next run proposes them again from the new content)."""
    pair = any_pair
    run = spec("area_borough", "year", "month")
    run_links(pair, run)
    accept, reject = ("police-x:P1", "partner-y:A1"), ("police-x:P2", "partner-y:A3")
    review_links(pair, run.uid, [accept], "accepted", "rev-01")
    review_links(pair, run.uid, [reject], "rejected", "rev-02")
    before = run_link_rows(pair, run.uid).set_index(["from", "to"])
    changed = [dict(r, age=33) if r["ref"] in ("P1", "P2") else r for r in LEFT]
    report = pair.write_bundle(prepare("mapped-csv", write_source(tmp_path / "v2", "police-x", "Homicide",
                                                                  changed)).bundle)
    assert (report.records_changed, report.records_unchanged) == (2, 3)
    after = run_link_rows(pair, run.uid).set_index(["from", "to"])
    assert set(after.index) == {accept, reject, ("police-x:P4", "partner-y:A4")}, "proposed links of P1, P2 go"
    for link in (accept, reject):
        assert after.loc[link].to_dict() == before.loc[link].to_dict(), "the decision and the scores are kept"
    ages = read_rows(pair, "MATCH (v:Victim) WHERE v.record_uid IN ['police-x:P1', 'police-x:P2'] "
                           "RETURN v.age AS age")
    assert [r["age"] for r in ages] == [33, 33], "the records themselves were replaced"
    run_links(pair, run)  # the run proposes the dropped links again and leaves the decisions alone
    again = run_link_rows(pair, run.uid).set_index(["from", "to"])
    assert len(again) == 5 and again.loc[accept, "status"] == "accepted" and again.loc[reject, "reviewer"] == "rev-02"
    assert graph_links(pair, run.uid) == expected_pairs(["borough", "yr", "mon"])


def test_a_failing_link_write_leaves_the_graph_as_it_was(pair: GraphBackend) -> None:
    run = spec("area_borough", "year", "month")
    outcome = run_links(pair, run)
    left, right = api.linked_records(pair, api.list_links(pair, run=run.uid))
    before = run_link_rows(pair, run.uid).sort_values(["from", "to"], ignore_index=True)
    # Drops P4-A4 (a delete happens first) and adds a link to a record the graph does not hold.
    links = outcome.links[outcome.links["left_uid"] != "police-x:P4"].copy()
    bad = pd.DataFrame([{"left_uid": "police-x:P1", "right_uid": "partner-y:NOPE", "match_weight": None,
                         "match_probability": 1.0, "agreed_fields": "x"}])
    right = pd.concat([right, right.iloc[[0]].assign(uid="partner-y:NOPE")], ignore_index=True)
    with pytest.raises(QueryError):
        pair.write_bundle(run_bundle(run, pd.concat([links, bad], ignore_index=True), left, right, None))
    after = run_link_rows(pair, run.uid).sort_values(["from", "to"], ignore_index=True)
    pd.testing.assert_frame_equal(before, after)


def test_reviews_are_checked(pair: GraphBackend) -> None:
    run = spec("pseudonymous_ref")
    run_links(pair, run)
    with pytest.raises(LinkageError, match="has no link"):
        review_links(pair, run.uid, [("police-x:P1", "partner-y:A2")], "accepted", "rev-01")
    with pytest.raises(LinkageError, match="pseudonymous id"):
        review_links(pair, run.uid, [("police-x:P1", "partner-y:A1")], "accepted", "someone@example.org")
    with pytest.raises(LinkageError, match="review decision"):
        review_links(pair, run.uid, [("police-x:P1", "partner-y:A1")], "maybe", "rev-01")
    assert set(run_link_rows(pair, run.uid)["status"]) == {"proposed"}


def test_saved_queries_and_api_read_the_links(pair: GraphBackend) -> None:
    runs = [spec("pseudonymous_ref"), spec("iccs")]
    for run in runs:
        run_links(pair, run)
    review_links(pair, runs[1].uid, [("police-x:P1", "partner-y:A1")], "accepted", "rev-01")
    links = api.list_links(pair, "police-x", "partner-y")
    expected = {(r.uid, a, b) for r, cols in zip(runs, (["key"], ["iccs"]), strict=True)
                for a, b in expected_pairs(cols)}
    assert set(zip(links["run"], links["left_uid"], links["right_uid"], strict=True)) == expected
    assert api.list_links(pair, "partner-y", "police-x").empty  # links point left -> right
    summary = api.link_summary(pair, "police-x", "partner-y").set_index("run")
    for run, cols in zip(runs, (["key"], ["iccs"]), strict=True):
        n = len(expected_pairs(cols))
        assert summary.loc[run.uid, "links"] == summary.loc[run.uid, "at_0_99"] == n
        assert summary.loc[run.uid, "left_records"] == len({a for a, _ in expected_pairs(cols)})
    assert summary.loc[runs[1].uid, "accepted"] == 1
    assert summary.loc[runs[1].uid, "proposed"] == len(expected_pairs(["iccs"])) - 1
    listed = api.list_runs(pair).set_index("run")
    assert set(listed.index) == {r.uid for r in runs}
    assert listed.loc[runs[0].uid, "parameters"] == runs[0].parameters_json
    histogram = api.confidence_histogram(links)
    assert histogram["links"].sum() == len(links) and histogram["links"].iloc[-1] == len(links)
    left, right = api.linked_records(pair, links)
    assert set(left["uid"]) == {a for _, a, _ in expected} and set(right["uid"]) == {b for _, _, b in expected}


def test_run_parameters_name_the_run() -> None:
    assert spec("iccs").uid == spec("iccs").uid != spec("pseudonymous_ref").uid
    with pytest.raises(LinkageError, match="unknown linkage field"):
        spec("favourite_colour")
    with pytest.raises(LinkageError, match="two different datasets"):
        RunSpec("a", "a", "deterministic", keys=("iccs",))
    with pytest.raises(LinkageError, match="threshold"):
        RunSpec("a", "b", "splink", block=("year",), compare=("month",))


def test_cli_runs_lists_reviews_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from cli.main import main
    from graph_model.embedded import EmbeddedBackend

    db = tmp_path / "cli.lbdb"
    with EmbeddedBackend(db, read_only=False) as backend:
        load_source(backend, write_source(tmp_path, "police-x", "Homicide", LEFT))
        load_source(backend, write_source(tmp_path, "partner-y", "Incident", RIGHT, kind="homicide"))
    uri = f"embedded:{db}"
    run = ["link", "run", "--left", "police-x", "--right", "partner-y", "--method", "deterministic",
           "--keys", "area_borough,year,month", "--db", uri, "--format", "json"]
    assert main(run) == 0
    (made,) = json.loads(capsys.readouterr().out)
    assert made["run"] == spec("area_borough", "year", "month").uid
    assert made["links"] == made["relationships_written"] == len(expected_pairs(["borough", "yr", "mon"]))
    assert main(run) == 0 and json.loads(capsys.readouterr().out)[0]["relationships_written"] == 0
    assert main(["link", "reject", "--run", made["run"], "--pair", "police-x:P2", "partner-y:A3",
                 "--reviewer", "rev-01", "--db", uri]) == 0
    capsys.readouterr()
    assert main(["link", "list", "--left", "police-x", "--status", "rejected", "--db", uri, "--format", "json"]) == 0
    rejected = json.loads(capsys.readouterr().out)
    assert [(r["left_uid"], r["right_uid"], r["reviewer"]) for r in rejected] == [
        ("police-x:P2", "partner-y:A3", "rev-01")]
    assert main(["link", "review", "--run", made["run"], "--db", uri, "--format", "json"]) == 0
    review = json.loads(capsys.readouterr().out)
    assert len(review) == made["links"] - 1 and all(r["left_year"] == r["right_year"] for r in review)
    assert main(["link", "summary", "--db", uri, "--format", "csv"]) == 0
    summary = [line for line in capsys.readouterr().out.splitlines() if line]
    assert summary[0].startswith("run,left_dataset,right_dataset") and len(summary) == 2
    assert main(["link", "accept", "--run", made["run"], "--pair", "police-x:P9", "partner-y:A1",
                 "--reviewer", "rev-01", "--db", uri]) == 1
    assert "has no link" in capsys.readouterr().err
