"""Run saved and ad-hoc queries read-only, with limits. Callers (CLI, dashboard) use these."""

from __future__ import annotations

from typing import Any

from graph_model.backend import DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT_S, GraphBackend, QueryResult
from queries.registry import Registry, SavedQuery, default_registry


def run_saved_query(backend: GraphBackend, name: str, params: dict[str, Any] | None = None, *,
                    registry: Registry | None = None, max_rows: int | None = None) -> QueryResult:
    query: SavedQuery = (registry or default_registry()).get(name)
    bound = query.bind(params or {})
    return backend.run_read(query.text, bound, timeout_s=query.timeout_s,
                            max_rows=max_rows or query.max_rows, tag=query.name)


def run_adhoc(backend: GraphBackend, text: str, params: dict[str, Any] | None = None, *,
              timeout_s: float = DEFAULT_TIMEOUT_S, max_rows: int = DEFAULT_MAX_ROWS) -> QueryResult:
    """Run analyst-written Cypher: refused if it writes, time-limited and row-capped."""
    return backend.run_read(text, params or {}, timeout_s=timeout_s, max_rows=max_rows, tag="ad-hoc")
