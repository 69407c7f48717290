"""The embedded backend: LadybugDB (pip package ``ladybug``), no server needed.

Writes use the engine's bulk path (``COPY FROM`` an Arrow table) inside one transaction, so a
load either commits whole or leaves the graph as it was. ``COPY`` refuses keys that already
exist, so the writer first asks the graph which records it already holds and with what content
hash, deletes the records whose content changed, and copies only new and changed rows.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import ladybug
import pandas as pd
import pyarrow as pa

from graph_model import locking
from graph_model.backend import GraphBackend, LoadReport, Progress, rows_frame
from graph_model.bundle import GraphBundle
from graph_model.ddl import LADYBUG_TYPES, ladybug_ddl
from graph_model.errors import (
    BackendUnavailableError,
    DatabaseBusyError,
    QueryError,
    QueryTimeoutError,
)
from graph_model.schema import GraphSchema, get_schema
from graph_model.values import plain
from graph_model.writer import BundleWriter

log = logging.getLogger(__name__)


# ---- recovery of a load killed while the engine checkpointed its commit ----------------------------------
# what the engine says when a read-only open finds an interrupted checkpoint
RECOVERY_PENDING = "checkpoint recovery is pending"
# files LadybugDB keeps beside the database while it checkpoints a commit into the database file
CHECKPOINT_SUFFIXES = (".wal.checkpoint", ".shadow")
RECOVERY_ATTEMPTS = 25
RECOVER_SCRIPT = "import sys, ladybug; ladybug.Database(sys.argv[1], read_only=False).close()"


ROLLBACK_SUFFIX = ".before-load"  # the database file as it was before the running load (graph_model/embedded.py)


def rollback_copy(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ROLLBACK_SUFFIX)


def roll_back_killed_load(db_path: Path) -> bool:
    """Put back the database as it was before a load that was killed (its rollback copy is still there and
    no load holds the lock; a running load gives DatabaseBusyError). True if it rolled back."""
    copy = rollback_copy(db_path)
    if not copy.exists():
        return False
    with locking.shared(db_path):
        for suffix in (".wal", *CHECKPOINT_SUFFIXES):  # the engine must not replay them onto the old file
            db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
        try:
            os.replace(copy, db_path)
        except FileNotFoundError:  # another reader rolled back first
            return False
    log.warning("a load into %s was stopped before it finished; the database is back as it was before it",
                db_path)
    return True


def _durable_copy(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source`` all at once (copied, flushed, renamed into place)."""
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    with partial.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def checkpoint_files(db_path: Path) -> list[Path]:
    return [f for f in (db_path.with_name(db_path.name + s) for s in CHECKPOINT_SUFFIXES) if f.exists()]


def finish_interrupted_checkpoint(db_path: Path) -> None:
    """Finish the engine's recovery of a checkpoint its writer did not complete (a killed load).

    Only while no load holds the platform's lock (a running load's checkpoint is not interrupted: then
    DatabaseBusyError). A read-write open replays the checkpoint; it runs in a child process because
    LadybugDB (0.x) crashes with a segmentation fault when the writer was killed before the shadow file
    was written (docs/security-faults.md). At that point (shadow file empty) the database file holds the
    state before the load (new pages are only appended; existing ones change only from the shadow file), so
    the interrupted checkpoint is set aside into ``<db>.interrupted-<time>/`` and the load counts as not
    committed; the open is then tried again. Another reader recovering at the same time is waited for."""
    with locking.shared(db_path):
        for attempt in range(RECOVERY_ATTEMPTS):
            if not checkpoint_files(db_path):
                return
            done = subprocess.run([sys.executable, "-c", RECOVER_SCRIPT, str(db_path)],
                                  capture_output=True, text=True, timeout=600)
            if done.returncode == 0:
                return
            if done.returncode < 0 and attempt == 0 and _shadow_empty(db_path):  # crashed replaying the WAL
                _set_aside(db_path)
            elif "lock" not in done.stderr.lower() or attempt == RECOVERY_ATTEMPTS - 1:
                raise BackendUnavailableError(
                    f"the embedded database {db_path} was left mid-commit by a load that was stopped, and "
                    f"finishing the engine's recovery failed (exit {done.returncode}): {done.stderr[-500:]} "
                    "Restore the database from a copy, or delete it and load the data again.")
            time.sleep(0.2)


def _shadow_empty(db_path: Path) -> bool:
    """True while the checkpoint had not yet written the shadow pages that change the database file."""
    shadow = db_path.with_name(db_path.name + ".shadow")
    return not shadow.exists() or shadow.stat().st_size == 0


def _set_aside(db_path: Path) -> None:
    folder = db_path.with_name(f"{db_path.name}.interrupted-{time.strftime('%Y%m%dT%H%M%S')}")
    folder.mkdir(exist_ok=True)
    for file in checkpoint_files(db_path):
        file.rename(folder / file.name)
    log.warning("the embedded database %s was left mid-checkpoint by a killed load and the engine cannot "
                "replay it; the load is rolled back (its checkpoint files are kept in %s)", db_path, folder)


class EmbeddedBackend(GraphBackend):
    name = "embedded"

    def __init__(self, path: str | Path, *, read_only: bool = True,
                 schema: GraphSchema | None = None) -> None:
        self.path = Path(path).expanduser().resolve()
        self.uri = f"embedded:{self.path}"
        self.read_only = read_only
        self.schema = schema or get_schema()
        self._db: Any = None
        self._conn: Any = None
        self._version: tuple[float, int] = (0.0, 0)
        self._open()

    # ---- connection management -----------------------------------------------------------
    def _open(self) -> None:
        if self.read_only and not self.path.exists():
            raise BackendUnavailableError(
                f"there is no embedded database at {self.path}. Load data first, e.g. "
                f"`micropath load london-mps ../shared/data/london_mps_homicide_victims_2003_2024.csv "
                f"--db embedded:{self.path}`."
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._database()
        except RuntimeError as exc:
            if "lock" in str(exc).lower():
                raise DatabaseBusyError(
                    f"the embedded database {self.path} is open for writing by another process "
                    "(a running `micropath load`?). Wait for it to finish, then try again."
                ) from exc
            raise BackendUnavailableError(f"cannot open embedded database {self.path}: {exc}") from exc
        self._conn = ladybug.Connection(self._db)
        self._version = locking.db_version(self.path)

    def _database(self) -> Any:
        """The engine's database handle, after finishing the recovery of a load killed while committing
        (:func:`finish_interrupted_checkpoint`): the engine refuses read-only opens until then, and a
        read-write open of some such states crashes the process."""
        roll_back_killed_load(self.path)
        if checkpoint_files(self.path):
            finish_interrupted_checkpoint(self.path)
        try:
            return ladybug.Database(str(self.path), read_only=self.read_only)
        except RuntimeError as exc:
            if not (self.read_only and RECOVERY_PENDING in str(exc).lower()):
                raise
        finish_interrupted_checkpoint(self.path)  # a checkpoint appeared between the check and the open
        return ladybug.Database(str(self.path), read_only=True)

    def _reopen_if_changed(self) -> None:
        if self.read_only and locking.db_version(self.path) != self._version:
            self.close()
            self._open()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def _execute(self, query: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._conn.execute(query, dict(params or {}))

    def _frame(self, query: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._execute(query, params).get_as_df()

    # ---- schema --------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        self._require_writable()
        tables = self._tables()
        for statement in ladybug_ddl(self.schema):
            self._execute(statement)
        altered = self._add_missing_columns()
        # LadybugDB needs a new connection before querying added properties; and its connection keeps a
        # parameterised statement that failed to bind (e.g. on a table that did not exist yet) and fails it
        # again even after the table is created, so a new table needs a new connection too
        if altered or self._tables() != tables:
            self.close()
            self._open()

    def _tables(self) -> set[str]:
        return set(self._frame("CALL show_tables() RETURN *")["name"])

    def _add_missing_columns(self) -> bool:
        altered = False
        tables = {**{s.label: s.properties for s in self.schema.nodes.values()},
                  **{s.type: s.properties for s in self.schema.rels.values()}}
        for table, props in tables.items():
            existing = set(self._frame(f"CALL table_info('{table}') RETURN *")["name"])
            for prop in props:
                if prop.name not in existing:
                    self._execute(f"ALTER TABLE {table} ADD {prop.name} {LADYBUG_TYPES[prop.type]}")
                    altered = True
        return altered

    def table_columns(self) -> dict[str, dict[str, str]]:
        """Tables and their column types as the engine reports them (for schema tests)."""
        tables = self._frame("CALL show_tables() RETURN *")
        out = {}
        for name in tables["name"]:
            info = self._frame(f"CALL table_info('{name}') RETURN *")
            out[str(name)] = dict(zip(info["name"], info["type"], strict=True))
        return out

    def _require_writable(self) -> None:
        if self.read_only:
            raise QueryError(f"{self.uri} was opened read-only; writing needs read_only=False")

    # ---- writing -------------------------------------------------------------------------
    def write_bundle(self, bundle: GraphBundle, progress: Progress | None = None) -> LoadReport:
        self._require_writable()
        report = LoadReport(dataset=bundle.dataset)
        start = time.perf_counter()
        with locking.exclusive(self.path):
            self.ensure_schema()
            with self._rollback_copy():
                self._execute("BEGIN TRANSACTION")
                try:
                    BundleWriter(self, bundle, report, progress).write()
                    self._execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
        report.elapsed_s = time.perf_counter() - start
        return report

    @contextlib.contextmanager
    def _rollback_copy(self) -> Iterator[None]:
        """Keep a copy of the database file from before the load until the load is committed and checkpointed.

        The engine's own recovery is not enough for a killed load: LadybugDB writes COPY data only when it
        checkpoints the commit, so a load killed during that checkpoint comes back half-applied (a reload's
        deletions without its new records) or crashes the next read-write open (docs/security-faults.md).
        The next open of a database with a copy left behind puts it back (:func:`roll_back_killed_load`)."""
        self._execute("CHECKPOINT")  # the whole database in its file, nothing in the WAL
        _durable_copy(self.path, rollback_copy(self.path))
        try:
            yield
            self._execute("CHECKPOINT")  # the load's commit in the database file before the copy goes
        finally:
            rollback_copy(self.path).unlink(missing_ok=True)

    def _rollback(self) -> None:
        with contextlib.suppress(RuntimeError):  # the engine may already have rolled back
            self._execute("ROLLBACK")

    # ---- WriteTarget primitives (used by graph_model.writer inside the load transaction) -----
    def fetch(self, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self._frame(query, params)

    def execute(self, query: str, params: dict[str, Any] | None = None) -> None:
        self._execute(query, params)

    def insert_nodes(self, label: str, frame: pd.DataFrame) -> int:
        return self.copy(label, frame)

    def insert_rels(self, rel_type: str, pair: tuple[str, str], frame: pd.DataFrame) -> int:
        return self.copy(rel_type, frame, pair)

    def copy(self, table: str, frame: pd.DataFrame, pair: tuple[str, str] | None = None) -> int:
        """Bulk-copy ``frame`` into ``table`` from Arrow; returns rows copied."""
        if frame.empty:
            return 0
        options = f" (from='{pair[0]}', to='{pair[1]}')" if pair else ""
        try:
            self._conn.execute(f"COPY {table} FROM $rows{options}",
                               {"rows": GraphBundle.arrow_table(frame)})
        except RuntimeError as exc:
            raise QueryError(f"bulk copy into {table} failed: {exc}") from exc
        return len(frame)

    # ---- reading -------------------------------------------------------------------------
    def _run_read(self, query: str, params: Mapping[str, Any], *, timeout_s: float,
                  max_rows: int, tag: str) -> tuple[list[str], list[dict[str, Any]], bool]:
        with self._executed(query, params, timeout_s, tag) as result:
            columns = list(result.get_column_names())
            rows = _rows(result, columns, max_rows)
        return columns, rows[:max_rows], len(rows) > max_rows

    def _read_frame(self, query: str, params: Mapping[str, Any], *, timeout_s: float,
                    max_rows: int, tag: str) -> tuple[pd.DataFrame, bool]:
        """The engine's Arrow result straight into pandas when every column has a plain type
        (:data:`COLUMNAR_TYPES`); otherwise (nodes, paths, dates, INT128 sums, float lists) the row path."""
        with self._executed(query, params, timeout_s, tag) as result:
            columns = list(result.get_column_names())
            if set(result.get_column_data_types()) <= COLUMNAR_TYPES:
                return _arrow_frame(result, columns, max_rows)
            rows = _rows(result, columns, max_rows)
            return rows_frame(columns, rows[:max_rows]), len(rows) > max_rows

    @contextlib.contextmanager
    def _executed(self, query: str, params: Mapping[str, Any], timeout_s: float, tag: str) -> Iterator[Any]:
        """The engine's result of a read, run under the shared lock and the time limit; closed after use."""
        with locking.shared(self.path):
            self._reopen_if_changed()
            # at least 1 ms: 0 would mean "no limit" to the engine
            self._conn.set_query_timeout(max(1, math.ceil(timeout_s * 1000)))
            try:
                result = self._execute(query, params)
            except RuntimeError as exc:
                raise _translate(exc, query, tag, timeout_s) from exc
            finally:
                self._conn.set_query_timeout(0)
            try:
                yield result
            finally:
                result.close()

    def delete_all(self) -> None:
        self._require_writable()
        with locking.exclusive(self.path):
            self._execute("MATCH (n) DETACH DELETE n")

    def run_write(self, query: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a trusted application write statement (used by loaders and tests, never users)."""
        self._require_writable()
        return self._frame(query, params)


def _rows(result: Any, columns: list[str], max_rows: int) -> list[dict[str, Any]]:
    """At most ``max_rows + 1`` rows of an engine result, as plain Python values (the row cap's probe)."""
    rows: list[dict[str, Any]] = []
    while result.has_next() and len(rows) <= max_rows:
        rows.append(dict(zip(columns, (plain(v) for v in result.get_next()), strict=True)))
    return rows


def _translate(exc: RuntimeError, query: str, tag: str, timeout_s: float) -> QueryError:
    message = str(exc)
    if "interrupted" in message.lower():
        return QueryTimeoutError(
            f"query {tag!r} took longer than its time limit of {timeout_s:g}s and was stopped. "
            "Narrow it with parameters, or raise the limit (saved queries: `timeout_s` in the "
            "metadata; ad-hoc: --timeout).", query_name=tag, query=query)
    if "read-only" in message.lower():
        return QueryError(f"query {tag!r} tried to write to a read-only database: {message}",
                          query_name=tag, query=query)
    return QueryError(f"query {tag!r} failed on the embedded engine: {message}",
                      query_name=tag, query=query)


# ---- the columnar read path -------------------------------------------------------------------------
_PLAIN = ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "SERIAL", "BOOL", "STRING")
# engine column types whose Arrow form converts to exactly what the row path gives (float lists are left
# out: the row path turns a NaN inside a list into None)
COLUMNAR_TYPES = frozenset({*_PLAIN, "FLOAT", "DOUBLE", *(f"{t}[]" for t in _PLAIN)})


def _arrow_frame(result: Any, columns: list[str], max_rows: int) -> tuple[pd.DataFrame, bool]:
    """At most ``max_rows`` rows of ``result`` (Arrow) as the DataFrame the row path would build."""
    total = int(result.get_num_tuples())
    if min(total, max_rows) == 0:
        return rows_frame(columns, []), total > max_rows
    table = result.get_as_arrow(chunk_size=-1).slice(0, max_rows)
    frame = pd.DataFrame({name: _arrow_column(table.column(i)) for i, name in enumerate(columns)},
                         columns=columns)
    return frame, total > max_rows


def _arrow_column(values: pa.ChunkedArray) -> pd.Series:
    """One Arrow column as pandas infers it from the same Python values (see GraphBackend.run_read_frame)."""
    kind = values.type
    if values.null_count == len(values):
        return pd.Series([None] * len(values), dtype=object)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return pd.Series(values.to_pylist(), dtype=object)
    series = values.to_pandas()
    if pa.types.is_integer(kind):
        return series.astype("int64" if values.null_count == 0 else "float64")
    if pa.types.is_floating(kind):
        return series.astype("float64")
    return series
