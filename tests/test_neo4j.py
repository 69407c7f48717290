"""Neo4j-specific behaviour: the launcher, read-only layers, limits and translated errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph_model.errors import BackendUnavailableError, QueryError, QueryTimeoutError, WriteRefusedError
from graph_model.neo4j_backend import Neo4jBackend
from tests.test_writer import make_bundle


@pytest.fixture
def neo4j(neo4j_uri: str) -> Iterator[Neo4jBackend]:
    backend = Neo4jBackend(neo4j_uri)
    backend.delete_all()
    backend.write_bundle(make_bundle({"1": ["Male"], "2": ["Female"], "3": ["Male"]}))
    try:
        yield backend
    finally:
        backend.close()


def test_explain_refuses_writes_that_pass_the_statement_check(neo4j: Neo4jBackend) -> None:
    # bypass the lexical layer on purpose: the EXPLAIN plan check is the next layer
    with pytest.raises(WriteRefusedError, match="read-write"):
        neo4j._run_read("MATCH (h:Homicide) SET h.year = 1 RETURN h", {}, timeout_s=5, max_rows=10, tag="probe")
    assert neo4j.run_read("MATCH (h:Homicide) WHERE h.year = 1 RETURN count(h) AS n").rows == [{"n": 0}]


def test_row_cap_and_truncated_flag(neo4j: Neo4jBackend) -> None:
    capped = neo4j.run_read("MATCH (n) RETURN n.uid AS uid ORDER BY uid", max_rows=5)
    assert len(capped.rows) == 5 and capped.truncated
    exact = neo4j.run_read("MATCH (h:Homicide) RETURN h.uid AS uid", max_rows=3)
    assert len(exact.rows) == 3 and not exact.truncated


def test_time_limit_names_the_settings(neo4j: Neo4jBackend) -> None:
    with pytest.raises(QueryTimeoutError, match=r"time limit of 0\.2s.*db\.transaction\.timeout"):
        neo4j.run_read("UNWIND range(1, 100000000) AS x WITH x WHERE x % 7 = 3 RETURN count(x) AS n",
                       timeout_s=0.2)


def test_syntax_errors_point_at_the_query_not_at_explain(neo4j: Neo4jBackend) -> None:
    with pytest.raises(QueryError, match=r"syntax error.*column 19 \(offset: 18\)") as caught:
        neo4j.run_read("MATCH (h:Homicide RETURN h", tag="broken")
    assert "EXPLAIN" not in str(caught.value)
    assert "broken" in str(caught.value)


def test_unavailable_server_says_how_to_start_one() -> None:
    with pytest.raises(BackendUnavailableError, match="micropath neo4j start"):
        Neo4jBackend("bolt://127.0.0.1:1")


def test_wrong_password_names_the_environment_variables(neo4j_uri: str) -> None:
    with pytest.raises(BackendUnavailableError, match="NEO4J_USER and NEO4J_PASSWORD"):
        Neo4jBackend(neo4j_uri, password="definitely-wrong")


def test_nodes_print_like_the_embedded_engine(neo4j: Neo4jBackend) -> None:
    row = neo4j.run_read("MATCH (h:Homicide {uid: 't:1'}) RETURN h").rows[0]
    assert row["h"]["_labels"] == ["Homicide"]
    assert list(row["h"])[:-1] == sorted(k for k in row["h"] if k != "_labels")
    assert row["h"]["year"] == 2020


def test_cli_start_status_stop(tmp_path: Path) -> None:
    """`micropath neo4j start|status|stop` on a data directory and port of its own."""
    from bench.server import free_port

    port = str(free_port())
    env = {**os.environ, "NEO4J_PASSWORD": "cli-test-password"}
    cli = [sys.executable, "-m", "cli.main", "neo4j"]
    args = ["--port", port, "--data", str(tmp_path / "neo4j")]
    repo = Path(__file__).resolve().parents[1]
    started = subprocess.run([*cli, "start", *args], env=env, cwd=repo, capture_output=True, text=True,
                             timeout=240)
    try:
        assert started.returncode == 0, started.stderr
        assert f"bolt://127.0.0.1:{port}" in started.stdout
        status = subprocess.run([*cli, "status", *args], env=env, cwd=repo, capture_output=True, text=True)
        assert "running" in status.stdout and "answering" in status.stdout
        backend = Neo4jBackend(f"bolt://127.0.0.1:{port}", password="cli-test-password")
        assert backend.run_read("RETURN 1 AS one").rows == [{"one": 1}]
        backend.close()
    finally:
        stopped = subprocess.run([*cli, "stop", *args], env=env, cwd=repo, capture_output=True, text=True,
                                 timeout=120)
    assert "stopped" in stopped.stdout
    status = subprocess.run([*cli, "status", *args], env=env, cwd=repo, capture_output=True, text=True)
    assert status.stdout.startswith("stopped")


def test_start_without_password_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEO4J_PASSWORD"}
    done = subprocess.run([sys.executable, "-m", "cli.main", "neo4j", "start", "--data", str(tmp_path)],
                          env=env, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    assert done.returncode == 1
    assert "set NEO4J_PASSWORD" in done.stderr
