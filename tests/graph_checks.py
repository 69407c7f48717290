"""Read-back helpers the loader tests share; all Cypher here is portable (LadybugDB and Neo4j)."""

from __future__ import annotations

from typing import Any

from graph_model.backend import GraphBackend
from graph_model.schema import get_schema


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
