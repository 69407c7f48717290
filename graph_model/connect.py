"""Open a backend from a ``--db`` URI.

* ``embedded:PATH`` — LadybugDB database file at PATH (created on first load).
* ``bolt://HOST:PORT`` or ``neo4j://HOST:PORT`` (and the ``+s``/``+ssc`` TLS variants) — a Neo4j
  server; credentials come from NEO4J_USER and NEO4J_PASSWORD, never from the command line.

Without ``--db``, MICROPATH_DB is used if set, else ``embedded:`` a database in the user's data
directory (``~/.local/share/micropathways/graph.lbdb`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

from graph_model.backend import GraphBackend

NEO4J_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


def default_db_uri() -> str:
    env = os.environ.get("MICROPATH_DB")
    if env:
        return env
    return f"embedded:{user_data_path('micropathways') / 'graph.lbdb'}"


def open_backend(uri: str | None = None, *, write: bool = False) -> GraphBackend:
    """A backend for ``uri``; read-only unless ``write`` (embedded opens are read-only by default)."""
    uri = uri or default_db_uri()
    if uri.startswith("embedded:"):
        from graph_model.embedded import EmbeddedBackend

        path = uri.removeprefix("embedded:")
        if not path:
            raise ValueError("embedded: needs a path, e.g. embedded:./micropathways.lbdb")
        return EmbeddedBackend(Path(path), read_only=not write)
    if uri.startswith(NEO4J_SCHEMES):
        from graph_model.neo4j_backend import Neo4jBackend

        return Neo4jBackend(uri)
    raise ValueError(
        f"--db {uri!r} is not a database URI: use embedded:PATH, bolt://HOST:PORT or neo4j://HOST:PORT")
