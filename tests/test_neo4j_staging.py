"""Staged Neo4j loads: batches no query sees, then one publishing transaction.

Each test forces staging on a small synthetic bundle (``stage_above_rows = 0``) on the session's real
Neo4j server, except the transient-error test, which restarts a server of its own mid-load.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.server import free_port
from cli.progress import LoadProgress
from graph_model import neo4j_service
from graph_model.bundle import GraphBundle
from graph_model.errors import QueryError
from graph_model.neo4j_backend import Neo4jBackend, bundle_rows
from graph_model.neo4j_staging import StagedLoad
from graph_model.schema import get_schema
from graph_model.writer import ROWS_SO_FAR, STEPS
from loaders.base import prepare
from loaders.synthetic import write_bundle
from queries.registry import default_registry
from queries.runner import run_saved_query
from tests.graph_checks import scalar
from tests.test_writer import snapshot

STAGED_COUNT = "MATCH (n:MpStaging) RETURN count(n) AS n"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> GraphBundle:
    folder = write_bundle(tmp_path_factory.mktemp("synthetic") / "bundle", cases=150, seed=11)
    return prepare("coded", folder).bundle


@pytest.fixture
def neo4j(neo4j_uri: str) -> Iterator[Neo4jBackend]:
    backend = Neo4jBackend(neo4j_uri)
    backend.delete_all()
    try:
        yield backend
    finally:
        backend.delete_all()
        backend.close()


def graph_contents(backend: Neo4jBackend) -> dict[str, int]:
    """The graph as the contract defines it: nodes with an ontology label, and relationships between two such
    nodes, per type and label pair (staged nodes carry no ontology label)."""
    schema = get_schema()
    counts = {f":{label}": scalar(backend, f"MATCH (n:{label}) RETURN count(n) AS n") for label in schema.nodes}
    for rel_type, spec in schema.rels.items():
        for src, dst in spec.pairs:
            counts[f"(:{src})-[:{rel_type}]->(:{dst})"] = scalar(
                backend, f"MATCH (:{src})-[r:{rel_type}]->(:{dst}) RETURN count(r) AS n")
    return counts


def saved_query_answers(backend: Neo4jBackend) -> dict[str, Any]:
    """Every saved query with its default parameters: what users see."""
    return {q.name: run_saved_query(backend, q.name, {}).rows for q in default_registry()}


def test_staged_load_writes_the_same_graph_as_one_transaction(neo4j: Neo4jBackend, bundle: GraphBundle) -> None:
    neo4j.write_bundle(bundle)
    one_transaction = snapshot(neo4j), graph_contents(neo4j)
    neo4j.delete_all()
    neo4j.stage_above_rows = 0
    report = neo4j.write_bundle(bundle)
    assert report.records_new == 150
    assert (snapshot(neo4j), graph_contents(neo4j)) == one_transaction
    assert scalar(neo4j, STAGED_COUNT) == 0
    again = neo4j.write_bundle(bundle)
    assert (again.records_new, again.nodes_written, again.rels_written) == (0, 0, 0)
    assert (snapshot(neo4j), graph_contents(neo4j)) == one_transaction


def test_big_loads_are_staged_by_default(neo4j: Neo4jBackend, bundle: GraphBundle) -> None:
    seen: list[int] = []
    neo4j.before_publish = lambda load: seen.append(len(load.staged))
    neo4j.write_bundle(bundle)
    assert seen == [], "a small load is one transaction"
    neo4j.delete_all()
    neo4j.stage_above_rows = bundle_rows(bundle) - 1
    neo4j.write_bundle(bundle)
    assert len(seen) == 1 and seen[0] > 0


def test_a_staged_load_reports_the_rows_it_has_committed(neo4j: Neo4jBackend, bundle: GraphBundle) -> None:
    """Each 10,000-row batch reports the rows committed so far (the CLI's bar shows them between steps):
    increasing, batch-sized steps, ending at every row staged."""
    calls: list[tuple[str, int]] = []
    neo4j.stage_above_rows = 0
    staging: list[StagedLoad] = []
    neo4j.before_publish = staging.append
    neo4j.write_bundle(bundle, progress=lambda step, rows: calls.append((step, rows)))
    so_far = [rows for step, rows in calls if step == ROWS_SO_FAR]
    assert so_far and so_far == sorted(so_far) and len(set(so_far)) == len(so_far)
    held = sum(len(frame) for _type, _pair, frame in staging[0].held_rels)
    assert so_far[-1] == bundle_rows(bundle) - held, "every row but the relationships held for publishing"
    steps = [step for step, _rows in calls if step != ROWS_SO_FAR]
    assert len(steps) == STEPS and len(set(steps)) == STEPS


def test_the_load_bar_ticks_per_step_and_shows_rows_in_between() -> None:
    shown = io.StringIO()
    with LoadProgress(file=shown) as bar:
        bar("compared records with the graph", 10)
        bar(ROWS_SO_FAR, 10_000)
        bar(ROWS_SO_FAR, 20_000)
        assert bar.bar.n == 1 and "20,000 rows committed" in shown.getvalue()
        bar("inserted records", 20_000)
        assert bar.bar.n == 2 and "inserted records (20,000)" in shown.getvalue()


def test_nothing_staged_is_visible_before_publishing(neo4j: Neo4jBackend, bundle: GraphBundle,
                                                      tmp_path: Path) -> None:
    # a first dataset is live; a second, staged load of another dataset is paused before publishing
    other = prepare("coded", write_bundle(tmp_path / "b", cases=40, seed=3, name="earlier")).bundle
    neo4j.write_bundle(other)
    before = saved_query_answers(neo4j), graph_contents(neo4j)
    during: list[Any] = []

    def look(load: StagedLoad) -> None:
        during.append((saved_query_answers(neo4j), graph_contents(neo4j), scalar(neo4j, STAGED_COUNT)))

    neo4j.stage_above_rows = 0
    neo4j.before_publish = look
    neo4j.write_bundle(bundle)
    answers, counts, staged = during[0]
    assert staged > 1000, "the paused load had staged its records"
    assert counts == before[1]
    assert answers == before[0]
    assert saved_query_answers(neo4j) != before[0]


def test_a_failure_before_publishing_leaves_the_graph_as_it_was(neo4j: Neo4jBackend, bundle: GraphBundle) -> None:
    def crash(load: StagedLoad) -> None:
        raise RuntimeError("the loader crashed after staging")

    neo4j.stage_above_rows = 0
    neo4j.before_publish = crash
    with pytest.raises(RuntimeError):
        neo4j.write_bundle(bundle)
    assert sum(graph_contents(neo4j).values()) == 0
    assert scalar(neo4j, STAGED_COUNT) == 0
    neo4j.before_publish = None
    assert neo4j.write_bundle(bundle).records_new == 150


def test_a_failure_while_publishing_rolls_back(neo4j: Neo4jBackend, bundle: GraphBundle) -> None:
    """A record with a staged uid appears before publishing: the uniqueness constraint stops the publish."""
    victim_uid = sorted(bundle.nodes["Homicide"]["uid"])[0]

    def collide(load: StagedLoad) -> None:
        with neo4j.driver.session() as session:
            session.run("CREATE (:Homicide {uid: $u, dataset: 'someone-else'})", u=victim_uid).consume()

    neo4j.stage_above_rows = 0
    neo4j.before_publish = collide
    with pytest.raises(QueryError, match="rolled back"):
        neo4j.write_bundle(bundle)
    counts = graph_contents(neo4j)
    assert counts[":Homicide"] == 1 and sum(counts.values()) == 1, "only the intruder is there"
    assert scalar(neo4j, STAGED_COUNT) == 0


def test_staging_left_by_a_killed_load_is_removed_by_the_next(neo4j: Neo4jBackend, bundle: GraphBundle) -> None:
    # leave staging behind as a killed process would: stage, then skip both publishing and clean-up
    neo4j.stage_above_rows = 0
    load = StagedLoad(neo4j, 500)
    from graph_model.backend import LoadReport
    from graph_model.writer import BundleWriter

    BundleWriter(load, bundle, LoadReport(bundle.dataset)).write_content()
    load.close()
    assert scalar(neo4j, STAGED_COUNT) > 1000
    assert sum(graph_contents(neo4j).values()) == 0
    neo4j.write_bundle(bundle)
    assert scalar(neo4j, STAGED_COUNT) == 0
    assert graph_contents(neo4j)[":Homicide"] == 150


def test_a_server_restart_mid_load_is_retried(tmp_path: Path, bundle: GraphBundle,
                                              neo4j_uri: str) -> None:
    """A transient fault for real: the server stops and comes back while the load is between phases;
    the publishing transaction is retried by the driver and the load completes."""
    data, port = tmp_path / "neo4j", free_port()
    uri = neo4j_service.start(data, port, heap="1g", page_cache="128m")
    try:
        with Neo4jBackend(uri) as backend:
            backend.stage_above_rows = 0

            def restart(load: StagedLoad) -> None:
                neo4j_service.stop(data)
                neo4j_service.start(data, port, heap="1g", page_cache="128m")

            backend.before_publish = restart
            report = backend.write_bundle(bundle)
            assert report.records_new == 150
            assert graph_contents(backend)[":Homicide"] == 150
            assert scalar(backend, STAGED_COUNT) == 0
    finally:
        neo4j_service.stop(data)
