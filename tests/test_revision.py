"""The graph's revision (graph_model/revision.py): every write that changes the graph replaces it, in the
same transaction; a write that changes nothing, or fails, leaves it. On both engines, and for staged Neo4j
loads (where the stamp is part of the publishing transaction)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graph_model import revision
from graph_model.backend import GraphBackend
from graph_model.embedded import EmbeddedBackend
from graph_model.errors import QueryError
from linkage.runs import RunSpec, review_links, run_links
from tests.conftest import BACKENDS, fresh_backends
from tests.linkage_fixtures import load_source, write_source
from tests.test_linkage import LEFT, RIGHT
from tests.test_writer import make_bundle

TOKEN = re.compile(r"[0-9a-f]{32}")


backend = fresh_backends(*BACKENDS, "neo4j-staged")  # staged: the stamp is in the publishing transaction


def state_nodes(db: GraphBackend) -> list[dict[str, object]]:
    return db.run_read("MATCH (s:GraphState) RETURN s.uid AS uid, s.revision AS revision, "
                       "s.loaded_at AS loaded_at").rows


def test_a_load_sets_a_revision_and_an_unchanged_reload_keeps_it(backend: GraphBackend) -> None:
    assert revision.read(backend) is None  # an empty graph has none
    backend.write_bundle(make_bundle({"1": ["Male"], "2": ["Female"]}))
    first = revision.read(backend)
    assert first is not None and TOKEN.fullmatch(first)
    [node] = state_nodes(backend)
    assert node["uid"] == "graph" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(node["loaded_at"]))
    backend.write_bundle(make_bundle({"1": ["Male"], "2": ["Female"]}))
    assert revision.read(backend) == first


def test_a_changed_reload_and_a_new_dataset_each_replace_it(backend: GraphBackend) -> None:
    backend.write_bundle(make_bundle({"1": ["Male"]}))
    seen = {revision.read(backend)}
    backend.write_bundle(make_bundle({"1": ["Female"]}))  # the record changed
    seen.add(revision.read(backend))
    backend.write_bundle(make_bundle({"9": ["Male"]}, dataset="other"))
    seen.add(revision.read(backend))
    assert len(seen) == 3 and None not in seen
    assert len(state_nodes(backend)) == 1  # one node, restamped


def test_a_failed_load_leaves_the_revision(backend: GraphBackend) -> None:
    backend.write_bundle(make_bundle({"1": ["Male"]}))
    before = revision.read(backend)
    broken = make_bundle({"1": ["Male"], "2": ["Female"]}, factor_to="micropathways:no_such")
    with pytest.raises(QueryError):
        backend.write_bundle(broken)
    assert revision.read(backend) == before


def test_deleting_everything_leaves_no_revision(backend: GraphBackend) -> None:
    backend.write_bundle(make_bundle({"1": ["Male"]}))
    backend.delete_all()
    assert revision.read(backend) is None


def test_a_link_run_and_a_review_replace_it_and_a_rerun_keeps_it(backend: GraphBackend, tmp_path: Path) -> None:
    load_source(backend, write_source(tmp_path, "police-x", "Homicide", LEFT))
    load_source(backend, write_source(tmp_path, "partner-y", "Incident", RIGHT, kind="homicide"))
    loaded = revision.read(backend)
    spec = RunSpec("police-x", "partner-y", "deterministic", keys=("area_borough", "year", "month"))
    outcome = run_links(backend, spec)
    assert len(outcome.links) > 0
    linked = revision.read(backend)
    assert linked not in (None, loaded)
    run_links(backend, spec)  # the same run again: nothing changes
    assert revision.read(backend) == linked
    first = outcome.links.iloc[0]
    review_links(backend, spec.uid, [(str(first["left_uid"]), str(first["right_uid"]))], "accepted", "rev1")
    assert revision.read(backend) not in (None, linked)


def test_an_embedded_graph_from_before_the_revision_has_none(tmp_path: Path) -> None:
    path = tmp_path / "old.lbdb"
    with EmbeddedBackend(path, read_only=False) as db:
        db.write_bundle(make_bundle({"1": ["Male"]}))
        db.execute("DROP TABLE GraphState")  # what a graph written by an earlier version looks like
    with EmbeddedBackend(path) as db:
        assert revision.read(db) is None
    with EmbeddedBackend(path, read_only=False) as db:  # the next load adds the table and stamps it
        db.write_bundle(make_bundle({"2": ["Male"]}))
        assert revision.read(db) is not None
