"""Derived factor tallies: the co-occurrence they give equals a count from the raw bundle files, on both
engines, and every load keeps them in step with the records."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pandas as pd
import pytest

from graph_model.backend import GraphBackend
from loaders.base import prepare
from loaders.synthetic import write_bundle
from queries.runner import run_saved_query
from tests.graph_checks import scalar


def expected_pairs(folder: Path, year_from: int = 0, year_to: int = 9999,
                   min_count: int = 1) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(a uid, b uid) -> (n_a, n_b, n_ab) from cases.csv and factors.csv with pandas."""
    cases = pd.read_csv(folder / "cases.csv", dtype=str)
    factors = pd.read_csv(folder / "factors.csv", dtype=str)
    years = cases.set_index("case_id")["year"].astype(int)
    present = factors[factors["value"] == "present"].copy()
    present["year"] = present["case_id"].map(years)
    present = present[(present["year"] >= year_from) & (present["year"] <= year_to)]
    present["uid"] = "micropathways:" + present["factor"]
    singles = present.groupby("uid")["case_id"].nunique()
    pair_counts: dict[tuple[str, str], int] = {}
    for _, uids in present.groupby("case_id")["uid"]:
        for a, b in combinations(sorted(set(uids)), 2):
            pair_counts[(a, b)] = pair_counts.get((a, b), 0) + 1
    return {pair: (int(singles[pair[0]]), int(singles[pair[1]]), n)
            for pair, n in pair_counts.items() if n >= min_count}


def cooccurrence(backend: GraphBackend, **params: object) -> dict[tuple[str, str], tuple[int, int, int]]:
    rows = run_saved_query(backend, "factor_cooccurrence", dict(params), max_rows=100_000).rows
    return {(r["a_uid"], r["b_uid"]): (r["n_a"], r["n_b"], r["n_ab"]) for r in rows}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tallies")
    return {"first": write_bundle(base / "first", cases=120, seed=21, name="tally-a"),
            "changed": write_bundle(base / "changed", cases=150, seed=22, name="tally-a"),
            "other": write_bundle(base / "other", cases=60, seed=23, name="tally-b")}


def test_cooccurrence_from_tallies_equals_a_count_of_the_raw_files(backend: GraphBackend,
                                                                   bundles: dict[str, Path]) -> None:
    backend.write_bundle(prepare("coded", bundles["first"]).bundle)
    backend.write_bundle(prepare("coded", bundles["other"]).bundle)
    assert cooccurrence(backend, dataset="tally-a") == expected_pairs(bundles["first"])
    assert cooccurrence(backend, dataset="tally-b", year_from=2019, year_to=2021) == \
        expected_pairs(bundles["other"], 2019, 2021)
    assert cooccurrence(backend, dataset="tally-a", min_count=5) == expected_pairs(bundles["first"], min_count=5)
    both = cooccurrence(backend)
    first, other = expected_pairs(bundles["first"]), expected_pairs(bundles["other"])
    for pair in set(first) | set(other):
        got = [first.get(pair, (0, 0, 0)), other.get(pair, (0, 0, 0))]
        assert both[pair][2] == got[0][2] + got[1][2]


def test_a_reload_that_changes_records_recomputes_the_tallies(backend: GraphBackend,
                                                              bundles: dict[str, Path]) -> None:
    backend.write_bundle(prepare("coded", bundles["first"]).bundle)
    # same dataset name, other seed: every record changes and 30 are new
    report = backend.write_bundle(prepare("coded", bundles["changed"]).bundle)
    assert report.records_changed > 0 and report.records_new == 30
    assert cooccurrence(backend, dataset="tally-a") == expected_pairs(bundles["changed"])
    unchanged = backend.write_bundle(prepare("coded", bundles["changed"]).bundle)
    assert (unchanged.nodes_written, unchanged.rels_written) == (0, 0)
    assert cooccurrence(backend, dataset="tally-a") == expected_pairs(bundles["changed"])


def test_missing_tallies_are_computed_by_the_next_load(backend: GraphBackend, bundles: dict[str, Path]) -> None:
    """A graph loaded before tallies existed: the next load of any dataset computes the missing ones."""
    backend.write_bundle(prepare("coded", bundles["first"]).bundle)
    expected = cooccurrence(backend, dataset="tally-a")
    if backend.name == "neo4j":
        from graph_model.neo4j_backend import Neo4jBackend

        assert isinstance(backend, Neo4jBackend)
        with backend.driver.session() as session:
            session.run("MATCH (t:FactorTally) DELETE t").consume()
            session.run("MATCH (d:Dataset) REMOVE d.tallies_version").consume()
    else:
        from graph_model.embedded import EmbeddedBackend

        assert isinstance(backend, EmbeddedBackend)
        backend.run_write("MATCH (t:FactorTally) DELETE t")
        backend.run_write("MATCH (d:Dataset) SET d.tallies_version = NULL")
    assert cooccurrence(backend, dataset="tally-a") == {}
    backend.write_bundle(prepare("coded", bundles["other"]).bundle)
    assert cooccurrence(backend, dataset="tally-a") == expected
    assert scalar(backend, "MATCH (d:Dataset) WHERE d.tallies_version IS NULL RETURN count(d) AS n") == 0
