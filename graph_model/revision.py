"""The graph's revision: a token that every write changing the graph replaces, inside that write.

One derived ``(:GraphState {uid: 'graph'})`` node (ontology: ``mp:GraphState``) holds ``revision``, a random
token, and ``loaded_at``, the UTC time of the change. :class:`graph_model.writer.BundleWriter` stamps it in the
same transaction as a load, a link run or a link review that changed anything (for a staged Neo4j load: in the
publishing transaction), so a reader that sees the new token also sees the new graph, and a write that rolls
back leaves the old token. Readers that keep results — the dashboard's caches — read it (one small query)
and keep using what they computed while it is unchanged.

A graph without the node (emptied by ``delete_all``, or written before the node existed) has no revision:
:func:`read` returns None and the reader must fall back to comparing the graph itself.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from graph_model.backend import GraphBackend
from graph_model.errors import QueryError

LABEL = "GraphState"
UID = "graph"
STAMP = "MERGE (s:GraphState {uid: $uid}) SET s.revision = $revision, s.loaded_at = $at"
READ = "MATCH (s:GraphState) WHERE s.uid = $uid RETURN s.revision AS revision"


def stamp_params() -> dict[str, Any]:
    """Parameters of :data:`STAMP` for a new revision (128 random bits)."""
    return {"uid": UID, "revision": secrets.token_hex(16), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def read(backend: GraphBackend, *, timeout_s: float = 10.0) -> str | None:
    """The graph's revision token, or None when the graph has none (see the module docstring)."""
    try:
        rows = backend.run_read(READ, {"uid": UID}, timeout_s=timeout_s, max_rows=1, tag="graph-revision").rows
    except QueryError:
        if LABEL in backend_labels(backend):
            raise
        return None  # an embedded graph created before GraphState existed has no table for it yet
    return str(rows[0]["revision"]) if rows and rows[0]["revision"] is not None else None


def backend_labels(backend: GraphBackend) -> set[str]:
    """Node tables the embedded engine has (empty for engines that need none declared)."""
    columns = getattr(backend, "table_columns", None)
    return set(columns()) if callable(columns) else set()
