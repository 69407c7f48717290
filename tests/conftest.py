"""Shared fixtures: paths to the real data, fresh embedded databases and a real Neo4j server.

The `backend` fixture runs a test once per backend: a fresh LadybugDB file, and a Neo4j 5.26 server
(emptied before each test). Neo4j is the one NEO4J_URI names (with NEO4J_USER / NEO4J_PASSWORD), or,
when NEO4J_URI is unset, one this test session starts itself with `graph_model.neo4j_service` and
stops at the end — so `pytest` alone exercises both engines. If it cannot start, the Neo4j tests
fail loudly; they are never skipped.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.server import free_port
from graph_model.backend import GraphBackend
from graph_model.embedded import EmbeddedBackend

# `micropath serve` requires login; tests that serve the dashboard as a subprocess test the pages, not the
# login, so they run it open on loopback (dashboard/auth.py). tests/test_auth*.py serve with login.
os.environ.setdefault("MICROPATH_AUTH", "off")
# CLI commands run in tests (loads, exports, link runs) are audited: into a per-session file, not the user's log.
os.environ.setdefault("MICROPATH_AUDIT_LOG", os.path.join(tempfile.mkdtemp(prefix="micropath-test-audit-"),
                                                          "audit.jsonl"))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
LONDON_CSV = SHARED_DATA / "london_mps_homicide_victims_2003_2024.csv"
SHR_CSV = SHARED_DATA / "shr_western_states_1976_2018.csv"
GVA_CSV = SHARED_DATA / "gva_fatal_incidents_2014_2015.csv"
BACKENDS = ("embedded", "neo4j")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "graph.lbdb"


@pytest.fixture
def writable_db(db_path: Path) -> Iterator[EmbeddedBackend]:
    backend = EmbeddedBackend(db_path, read_only=False)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture(scope="session")
def neo4j_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("NEO4J_URI"):
        yield os.environ["NEO4J_URI"]
        return
    from graph_model import neo4j_service

    os.environ.setdefault("NEO4J_USER", "neo4j")
    os.environ.setdefault("NEO4J_PASSWORD", "micropathways-test")
    data = tmp_path_factory.mktemp("neo4j")
    uri = neo4j_service.start(data, free_port(), heap="2g", page_cache="256m")
    try:
        yield uri
    finally:
        neo4j_service.stop(data)


def open_fresh(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> GraphBackend:
    """A writable, empty backend of ``kind``."""
    if kind == "embedded":
        return EmbeddedBackend(tmp_path / f"{kind}.lbdb", read_only=False)
    from graph_model.neo4j_backend import Neo4jBackend

    backend = Neo4jBackend(request.getfixturevalue("neo4j_uri"))
    backend.delete_all()
    if kind == "neo4j-staged":  # every load staged in batches, however small (graph_model/neo4j_staging.py)
        backend.stage_above_rows = 0
    return backend


def fresh_backends(*kinds: str) -> Any:
    """A ``backend`` fixture that runs each test once per kind of :func:`open_fresh`, from an empty graph.
    A module that wants other kinds (e.g. ``"neo4j-staged"`` too) says ``backend = fresh_backends(...)``."""
    @pytest.fixture(params=kinds)
    def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphBackend]:
        opened = open_fresh(request.param, tmp_path, request)
        try:
            yield opened
        finally:
            opened.close()
    return backend


backend = fresh_backends(*BACKENDS)  # each test using it runs on both engines
