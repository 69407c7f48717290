"""Loads are atomic and idempotent; load and readers coexist through the lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from graph_model.backend import GraphBackend
from graph_model.bundle import BundleError, GraphBundle
from graph_model.embedded import EmbeddedBackend
from graph_model.errors import DatabaseBusyError, QueryError
from graph_model.locking import exclusive
from graph_model.schema import get_schema
from graph_model.vocab import get_vocabulary
from loaders.base import add_vocabulary, dataset_frame
from tests.conftest import BACKENDS, fresh_backends


def make_bundle(victims: dict[str, list[str]], *, year: int = 2020, factor_to: str = "micropathways:alcohol",
                dataset: str = "t") -> GraphBundle:
    """A tiny dataset: one Homicide per key, with the given victim sexes and one factor each."""
    bundle = GraphBundle(dataset)
    add_vocabulary(bundle, get_vocabulary())
    bundle.add_nodes("Dataset", dataset_frame(dataset, source="test", licence="none", synthetic=True,
                                              factor_recording="explicit"))
    uids = [f"{dataset}:{case}" for case in victims]
    bundle.add_nodes("Homicide", pd.DataFrame({"uid": uids, "case_id": list(victims), "dataset": dataset,
                                               "year": year, "synthetic": True}))
    vrows = [{"uid": f"{u}/v{i}", "record_uid": u, "position": i, "sex": sex}
             for u, sexes in zip(uids, victims.values(), strict=True) for i, sex in enumerate(sexes, 1)]
    bundle.add_nodes("Victim", pd.DataFrame(vrows, columns=["uid", "record_uid", "position", "sex"]))
    bundle.add_rels("HAS_VICTIM", "Homicide", "Victim",
                    pd.DataFrame({"from": [r["record_uid"] for r in vrows], "to": [r["uid"] for r in vrows]}))
    bundle.add_rels("FROM_DATASET", "Homicide", "Dataset", pd.DataFrame({"from": uids, "to": dataset}))
    bundle.add_rels("HAS_FACTOR", "Homicide", "Factor",
                    pd.DataFrame({"from": uids, "to": factor_to, "present": True}))
    return bundle.conform(get_schema())


# the writer's guarantees hold on both engines, and on Neo4j for staged loads too
backend = fresh_backends(*BACKENDS, "neo4j-staged")


def snapshot(db: GraphBackend) -> dict[str, object]:
    """Every node uid per label, every relationship per type, and full Homicide nodes (portable Cypher)."""
    schema = get_schema()
    out: dict[str, object] = {}
    for label in schema.nodes:
        out[label] = db.run_read(f"MATCH (n:{label}) RETURN n.uid AS uid ORDER BY uid", max_rows=100_000).rows
    for rel_type in schema.rels:
        out[rel_type] = db.run_read(f"MATCH (a)-[r:{rel_type}]->(b) RETURN a.uid AS au, b.uid AS bu "
                                    "ORDER BY au, bu", max_rows=100_000).rows
    out["homicides"] = db.run_read("MATCH (h:Homicide) RETURN h ORDER BY h.uid").rows
    return out


def test_reload_of_same_data_changes_nothing(backend: GraphBackend) -> None:
    first = backend.write_bundle(make_bundle({"1": ["Male"], "2": ["Female", "Male"]}))
    assert (first.records_new, first.records_changed) == (2, 0)
    before = snapshot(backend)
    second = backend.write_bundle(make_bundle({"1": ["Male"], "2": ["Female", "Male"]}))
    assert (second.records_new, second.records_changed, second.records_unchanged) == (0, 0, 2)
    assert second.nodes_written == 0 and second.rels_written == 0
    assert snapshot(backend) == before


def test_changed_record_is_replaced_whole(backend: GraphBackend) -> None:
    backend.write_bundle(make_bundle({"1": ["Male"], "2": ["Female", "Male"]}))
    report = backend.write_bundle(make_bundle({"1": ["Male"], "2": ["Female"], "3": ["Unknown"]}))
    assert (report.records_new, report.records_changed, report.records_unchanged) == (1, 1, 1)
    victims = backend.run_read(
        "MATCH (h:Homicide)-[:HAS_VICTIM]->(v:Victim) RETURN h.uid AS hu, v.sex AS sex ORDER BY hu, sex")
    assert victims.rows == [{"hu": "t:1", "sex": "Male"}, {"hu": "t:2", "sex": "Female"},
                            {"hu": "t:3", "sex": "Unknown"}]
    orphans = backend.run_read("MATCH (v:Victim) OPTIONAL MATCH (h:Homicide)-[:HAS_VICTIM]->(v) "
                               "WITH v, h WHERE h IS NULL RETURN count(v) AS n")
    assert orphans.rows == [{"n": 0}]
    count = backend.run_read("MATCH (d:Dataset {uid: 't'}) RETURN d.record_count AS n")
    assert count.rows == [{"n": 3}]


def test_failed_load_leaves_the_graph_as_it_was(backend: GraphBackend) -> None:
    backend.write_bundle(make_bundle({"1": ["Male"]}))
    before = snapshot(backend)
    # A relationship to a factor the graph does not hold makes the bulk copy fail part-way,
    # after the new homicides and victims were already copied in the same transaction.
    broken = make_bundle({"1": ["Male"], "2": ["Female"], "3": ["Male"]}, factor_to="micropathways:no_such")
    with pytest.raises(QueryError, match=r"HAS_FACTOR|rolled back"):
        backend.write_bundle(broken)
    assert snapshot(backend) == before
    # and a correct load afterwards completes
    report = backend.write_bundle(make_bundle({"1": ["Male"], "2": ["Female"], "3": ["Male"]}))
    assert report.records_new == 2


def test_bundle_refuses_properties_outside_the_ontology() -> None:
    bundle = GraphBundle("t")
    bundle.add_nodes("Victim", pd.DataFrame({"uid": ["t:1/v1"], "record_uid": ["t:1"], "position": [1],
                                             "name": ["Jane Doe"]}))
    with pytest.raises(BundleError, match=r"columns \['name'\] are not properties in the ontology"):
        bundle.conform(get_schema())


def test_bundle_refuses_duplicate_keys_and_bad_pairs() -> None:
    bundle = GraphBundle("t")
    bundle.add_nodes("Dataset", pd.DataFrame({"uid": ["t", "t"], "name": ["t", "t"], "synthetic": [True, True]}))
    with pytest.raises(BundleError, match="duplicate uids"):
        bundle.conform(get_schema())
    bundle = GraphBundle("t")
    bundle.add_rels("NEXT", "Homicide", "Event", pd.DataFrame({"from": ["a"], "to": ["b"]}))
    with pytest.raises(BundleError, match="NEXT may not connect Homicide to Event"):
        bundle.conform(get_schema())


def test_content_hash_ignores_row_order() -> None:
    one = make_bundle({"1": ["Male", "Female"], "2": ["Male"]})
    two = GraphBundle("t", dict(one.nodes), dict(one.rels))
    two.nodes["Victim"] = two.nodes["Victim"].iloc[::-1].reset_index(drop=True)
    two.nodes["Homicide"] = two.nodes["Homicide"].drop(columns="content_hash")
    two = two.conform(get_schema())
    assert sorted(one.nodes["Homicide"]["content_hash"]) == sorted(two.nodes["Homicide"]["content_hash"])


def test_load_waits_for_lock_and_says_what_to_do(db_path: Path) -> None:
    with EmbeddedBackend(db_path, read_only=False) as db:
        db.write_bundle(make_bundle({"1": ["Male"]}))
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from graph_model.locking import exclusive\n"
         f"with exclusive(Path({str(db_path)!r})):\n    print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        reader = EmbeddedBackend(db_path)  # opening read-only works while a load holds the lock
        with pytest.raises(DatabaseBusyError, match=r"load .* is in progress"):
            reader.run_read("MATCH (h:Homicide) RETURN count(h) AS n")
        reader.close()
        with pytest.raises(DatabaseBusyError, match="busy"), exclusive(db_path, wait_s=0.3):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_reader_sees_a_later_load_without_restarting(db_path: Path) -> None:
    with EmbeddedBackend(db_path, read_only=False) as db:
        db.write_bundle(make_bundle({"1": ["Male"]}))
    reader = EmbeddedBackend(db_path)
    try:
        assert reader.run_read("MATCH (h:Homicide) RETURN count(h) AS n").rows == [{"n": 1}]
        with EmbeddedBackend(db_path, read_only=False) as db:
            db.write_bundle(make_bundle({"1": ["Male"], "2": ["Male"]}))
        assert reader.run_read("MATCH (h:Homicide) RETURN count(h) AS n").rows == [{"n": 2}]
    finally:
        reader.close()
