"""Same data, same answers: every saved query returns the same rows on LadybugDB and on Neo4j.

London, SHR and a synthetic coded bundle are loaded into both engines; each saved query runs with its
default parameters (plus a real uid where it takes one). Rows must be equal as multisets, and equal in
order when the query orders (saved queries must order totally, with tie-breakers, for this to hold).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph_model.backend import GraphBackend
from graph_model.embedded import EmbeddedBackend
from graph_model.neo4j_backend import Neo4jBackend
from loaders.base import load
from loaders.synthetic import write_bundle
from queries.registry import default_registry
from queries.runner import run_saved_query
from tests.conftest import LONDON_CSV, SHR_CSV


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, neo4j_uri: str) -> Iterator[dict[str, GraphBackend]]:
    root = tmp_path_factory.mktemp("conformance")
    bundle = write_bundle(root / "synthetic", cases=400, seed=5)
    embedded = EmbeddedBackend(root / "graph.lbdb", read_only=False)
    neo4j = Neo4jBackend(neo4j_uri)
    neo4j.delete_all()
    for backend in (embedded, neo4j):
        for source, path in (("london-mps", LONDON_CSV), ("shr", SHR_CSV), ("coded", bundle)):
            load(source, Path(path), backend)
    embedded.close()
    reader = EmbeddedBackend(root / "graph.lbdb")
    try:
        yield {"embedded": reader, "neo4j": neo4j}
    finally:
        reader.close()
        neo4j.close()


def _params_for(name: str, backend: GraphBackend) -> dict[str, Any]:
    query = default_registry().get(name)
    params: dict[str, Any] = {}
    for p in query.parameters:
        if p.name == "uid":
            params["uid"] = backend.run_read(
                "MATCH (h:Homicide)-[:FIRST_EVENT]->() WHERE h.synthetic RETURN h.uid AS uid ORDER BY uid LIMIT 1"
            ).rows[0]["uid"]
    return params


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


VOLATILE = {"loaded_at"}  # when each engine's load ran: differs by design


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _normal(v) for k, v in row.items() if k not in VOLATILE}


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


QUERY_NAMES = [q.name for q in default_registry()]


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_saved_query_gives_the_same_rows_on_both_backends(both: dict[str, GraphBackend], name: str) -> None:
    params = _params_for(name, both["embedded"])
    results = {kind: run_saved_query(backend, name, params, max_rows=100_000)
               for kind, backend in both.items()}
    embedded, neo4j = results["embedded"], results["neo4j"]
    assert embedded.columns == neo4j.columns
    rows_e = [_row(r) for r in embedded.rows]
    rows_n = [_row(r) for r in neo4j.rows]
    assert sorted(rows_e, key=_key) == sorted(rows_n, key=_key), f"{name}: different rows"
    if "ORDER BY" in default_registry().get(name).text.upper():
        assert rows_e == rows_n, f"{name}: same rows, different order (add a tie-breaker to ORDER BY)"
    assert embedded.truncated == neo4j.truncated


def test_conformance_data_is_not_trivial(both: dict[str, GraphBackend]) -> None:
    for backend in both.values():
        counts = backend.run_read("MATCH (h:Homicide) RETURN h.dataset AS d, count(h) AS n ORDER BY d").rows
        assert {r["d"]: r["n"] for r in counts} == {"london-mps": 2936, "shr": 52727, "synthetic-s5": 400}
