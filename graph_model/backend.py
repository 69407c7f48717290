"""One interface for every graph store (embedded LadybugDB, Neo4j).

Shared orchestration (loading a bundle, running saved queries, formatting results) is written
once against :class:`GraphBackend`; each engine implements a few small methods.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from graph_model.bundle import GraphBundle

DEFAULT_MAX_ROWS = 10_000
DEFAULT_TIMEOUT_S = 30.0
Progress = Callable[[str, int], None]  # (step description, rows written in that step)


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = False
    elapsed_s: float = 0.0
    backend: str = ""

    def column(self, name: str) -> list[Any]:
        return [row[name] for row in self.rows]


@dataclass
class LoadReport:
    dataset: str
    records_new: int = 0
    records_changed: int = 0
    records_unchanged: int = 0
    nodes_written: int = 0
    rels_written: int = 0
    elapsed_s: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def changed_anything(self) -> bool:
        return bool(self.records_new or self.records_changed or self.nodes_written or self.rels_written)

    def summary(self) -> str:
        return (
            f"{self.dataset}: {self.records_new} new, {self.records_changed} changed, "
            f"{self.records_unchanged} unchanged records; {self.nodes_written} nodes and "
            f"{self.rels_written} relationships written in {self.elapsed_s:.1f}s"
        )


class GraphBackend(ABC):
    """A graph store. Use as a context manager so the connection is always closed."""

    name: str = "backend"
    uri: str = ""

    def __enter__(self) -> GraphBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create tables/constraints derived from the ontology if they are missing."""

    @abstractmethod
    def write_bundle(self, bundle: GraphBundle, progress: Progress | None = None) -> LoadReport:
        """Write a conformed bundle idempotently and atomically."""

    @abstractmethod
    def delete_all(self) -> None:
        """Remove every node and relationship (administrators and tests only)."""

    @abstractmethod
    def _run_read(self, query: str, params: Mapping[str, Any], *, timeout_s: float,
                  max_rows: int, tag: str) -> tuple[list[str], list[dict[str, Any]], bool]:
        """Run a statement already checked read-only; return columns, rows, truncated."""

    def run_read(self, query: str, params: Mapping[str, Any] | None = None, *,
                 timeout_s: float = DEFAULT_TIMEOUT_S, max_rows: int = DEFAULT_MAX_ROWS,
                 tag: str = "ad-hoc") -> QueryResult:
        """Run a read-only query with a time limit and a row cap (``truncated`` when capped)."""
        from graph_model.readonly import check_read_only

        check_read_only(query, query_name=tag)
        start = time.perf_counter()
        columns, rows, truncated = self._run_read(query, params or {}, timeout_s=timeout_s,
                                                   max_rows=max_rows, tag=tag)
        return QueryResult(columns, rows, truncated, time.perf_counter() - start, self.name)

    def run_read_frame(self, query: str, params: Mapping[str, Any] | None = None, *,
                       timeout_s: float = DEFAULT_TIMEOUT_S, max_rows: int = DEFAULT_MAX_ROWS,
                       tag: str = "ad-hoc") -> tuple[pd.DataFrame, bool]:
        """:meth:`run_read` with the rows as a DataFrame: ``(frame, truncated)``.

        The same layers as ``run_read`` (the statement check, the engine's read-only mode or read
        transaction, the time limit, the row cap: at most ``max_rows`` rows, ``truncated`` when there were
        more), and the same values: the frame equals ``pd.DataFrame(run_read(...).rows, columns=...)``
        (ints stay ints, nulls are None/NaN as pandas infers them from the rows, lists are lists). Engines
        with a columnar result (LadybugDB's Arrow output) override :meth:`_read_frame` to skip the
        per-row conversion; the default builds the frame from the row path.
        """
        from graph_model.readonly import check_read_only

        check_read_only(query, query_name=tag)
        return self._read_frame(query, params or {}, timeout_s=timeout_s, max_rows=max_rows, tag=tag)

    def _read_frame(self, query: str, params: Mapping[str, Any], *, timeout_s: float,
                    max_rows: int, tag: str) -> tuple[pd.DataFrame, bool]:
        """Run a statement already checked read-only; return its rows as a DataFrame and truncated."""
        columns, rows, truncated = self._run_read(query, params, timeout_s=timeout_s, max_rows=max_rows, tag=tag)
        return rows_frame(columns, rows), truncated


def rows_frame(columns: list[str], rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The DataFrame of result rows (dicts), columns in result order, kept when there are no rows."""
    return pd.DataFrame(rows, columns=columns)
