"""Read-back helpers the loader tests share; all Cypher here is portable (LadybugDB and Neo4j)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from graph_model.backend import GraphBackend, LoadReport
from graph_model.schema import get_schema
from loaders.base import SourceResult, load


def rows(backend: GraphBackend, query: str, **params: Any) -> list[dict[str, Any]]:
    result = backend.run_read(query, params, max_rows=500_000, timeout_s=300)
    assert not result.truncated
    return result.rows


def scalar(backend: GraphBackend, query: str, **params: Any) -> Any:
    (row,) = rows(backend, query, **params)
    return next(iter(row.values()))


def as_dict(result: list[dict[str, Any]], key: str = "k", value: str = "n") -> dict[Any, Any]:
    return {row[key]: row[value] for row in result}


def graph_counts(backend: GraphBackend) -> dict[str, int]:
    """Nodes per label and relationships per type of the ontology's schema."""
    schema = get_schema()
    counts = {f":{label}": scalar(backend, f"MATCH (n:{schema.check_label(label)}) RETURN count(n) AS n")
              for label in schema.nodes}
    counts |= {f"[:{rel}]": scalar(backend, f"MATCH ()-[r:{schema.check_rel_type(rel)}]->() "
                                            "RETURN count(r) AS n")
               for rel in schema.rels}
    return counts


@dataclass
class Loaded:
    backend: GraphBackend
    result: SourceResult
    report: LoadReport
    counts: dict[str, int]  # nodes per label, relationships per type, right after the load

    def restore(self) -> LoadReport:
        """Write the real file's bundle again: records a test replaced are put back."""
        return self.backend.write_bundle(self.result.bundle)


def load_once(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, source: str,
              path: Path) -> Iterator[Loaded]:
    """Body of a module-scoped, backend-parametrised fixture: the real file loaded once into a fresh graph
    of ``request.param`` (Neo4j: emptied first)."""
    from tests.conftest import open_fresh

    assert path.exists(), f"the real data file is expected at {path}"
    backend = open_fresh(request.param, tmp_path_factory.mktemp(source), request)
    try:
        result, report = load(source, path, backend)
        yield Loaded(backend, result, report, graph_counts(backend))
    finally:
        backend.close()
