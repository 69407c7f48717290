"""The only dashboard code that talks to the graph.

Callbacks call the module functions below (``list_datasets``, ``run_saved_query``, ``factor_network``,
``saved_queries``); they never see a driver or a backend. Each function uses the :class:`GraphService`
installed on the running app (``install``), which keeps **one read-only backend per process**, opened
lazily on first use (so ``serve`` starts even before anything is loaded) and shared by all callbacks
under a lock (the embedded engine's read-only handle reopens itself after a load, and is not meant to
be used by two threads at once).

A service call either returns plain, JSON-ready data or raises :class:`ServiceError`, whose ``kind``
says what went wrong (``bad-parameter``, ``timeout``, ``refused``, ``busy``, ``unavailable``,
``failed``) and whose message says what to do; pages show it in the panel's status. If the backend
fails in an unexpected way, the handle is dropped and the call retried once on a fresh one, so a
broken connection never needs a restart.
"""

from __future__ import annotations

import decimal
import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from graph_model.backend import GraphBackend, QueryResult
from graph_model.connect import default_db_uri, open_backend
from graph_model.errors import (
    BackendUnavailableError,
    DatabaseBusyError,
    MicropathError,
    QueryError,
    QueryTimeoutError,
    WriteRefusedError,
)
from queries import runner
from queries.registry import Registry, SavedQuery, SavedQueryError, default_registry
from queries.user_store import QueryVersion, UserQueryStore

log = logging.getLogger(__name__)
T = TypeVar("T")
ErrorKind = Literal["bad-parameter", "timeout", "refused", "busy", "unavailable", "failed"]
EXTENSION_KEY = "micropathways.graph"

# Application statement (not user input): every dataset that has records, with its year span.
DATASETS_QUERY = (
    "MATCH (h)-[:FROM_DATASET]->(d:Dataset) "
    "RETURN d.name AS name, d.synthetic AS synthetic, count(h) AS records, "
    "min(h.year) AS year_min, max(h.year) AS year_max ORDER BY name"
)
PREVALENCE_QUERY = "factor_prevalence"
COOCCURRENCE_QUERY = "factor_cooccurrence"


class ServiceError(Exception):
    """A service call failed; ``kind`` classifies it and the message says what to do."""

    def __init__(self, message: str, kind: ErrorKind = "failed") -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    synthetic: bool
    records: int
    year_min: int | None
    year_max: int | None

    @property
    def label(self) -> str:
        """Dropdown label; synthetic datasets always say so."""
        years = f", {self.year_min}–{self.year_max}" if self.year_min is not None else ""
        flag = " (synthetic)" if self.synthetic else ""
        return f"{self.name}{flag} — {self.records:,} records{years}"


@dataclass(frozen=True)
class TableResult:
    """A query result with JSON-ready cells (Decimal and NaN normalised)."""

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = False
    elapsed_s: float = 0.0
    max_rows: int = 0
    query: str = ""

    @classmethod
    def from_result(cls, result: QueryResult, *, max_rows: int, query: str) -> TableResult:
        rows = [{k: jsonable(v) for k, v in row.items()} for row in result.rows]
        return cls(list(result.columns), rows, result.truncated, result.elapsed_s, max_rows, query)


@dataclass(frozen=True)
class NetworkData:
    """The two saved-query results behind the factor network, for one filter setting."""

    prevalence: TableResult
    pairs: TableResult
    params: dict[str, Any] = field(default_factory=dict)


def jsonable(value: Any) -> Any:
    """Plain JSON value: Decimal -> int/float, NaN -> None; lists and maps recursively."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _translate(exc: Exception) -> ServiceError:
    message = str(exc)
    if isinstance(exc, SavedQueryError):
        return ServiceError(message, "bad-parameter")
    if isinstance(exc, QueryTimeoutError):
        return ServiceError(message, "timeout")
    if isinstance(exc, WriteRefusedError):
        return ServiceError(message, "refused")
    if isinstance(exc, DatabaseBusyError):
        return ServiceError(message, "busy")
    if isinstance(exc, (BackendUnavailableError, ValueError)):
        return ServiceError(message, "unavailable")
    if isinstance(exc, QueryError):
        return ServiceError(message, "failed")
    return ServiceError(f"the database failed unexpectedly ({type(exc).__name__}: {message}); "
                        "try again, and see the server log if it persists", "failed")


class GraphService:
    """One lazily opened, read-only backend for ``db_uri``, shared by every callback of a process."""

    def __init__(self, db_uri: str | None = None, *, registry: Registry | None = None) -> None:
        self.db_uri = db_uri or default_db_uri()
        self._registry = registry
        self.user_store: UserQueryStore | None = None  # set by create_app: user queries beside the library
        self._backend: GraphBackend | None = None
        self._lock = threading.Lock()

    @property
    def registry(self) -> Registry:
        """The saved-query library; a malformed query file is a ServiceError naming the file."""
        if self._registry is not None:
            return self._registry
        try:
            library = default_registry()
            return library if self.user_store is None else self.user_store.registry(library)
        except SavedQueryError as exc:
            raise ServiceError(f"the saved-query library cannot be read: {exc}", "failed") from exc

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception:  # a broken handle may fail to close; it is discarded either way
                log.debug("closing a broken backend failed", exc_info=True)

    def _open(self) -> GraphBackend:
        if self._backend is None:
            self._backend = open_backend(self.db_uri)  # read-only
        return self._backend

    def call(self, fn: Callable[[GraphBackend], T]) -> T:
        """Run ``fn(backend)`` under the lock; errors become ServiceError (see module docstring)."""
        with self._lock:
            for attempt in (1, 2):
                had_handle = self._backend is not None
                try:
                    return fn(self._open())
                except (SavedQueryError, QueryError, WriteRefusedError, DatabaseBusyError) as exc:
                    raise _translate(exc) from exc  # the handle is fine; the request was not
                except (MicropathError, ValueError) as exc:
                    self._drop()
                    if attempt == 1 and had_handle:
                        continue
                    raise _translate(exc) from exc
                except Exception as exc:
                    log.warning("backend for %s failed; reopening", self.db_uri, exc_info=True)
                    self._drop()
                    if attempt == 1:
                        continue
                    raise _translate(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- what the pages ask for --------------------------------------------------------------
    def datasets(self) -> list[DatasetInfo]:
        result = self.call(lambda b: b.run_read(DATASETS_QUERY, timeout_s=10, max_rows=1000,
                                                tag="dashboard:datasets"))
        return [DatasetInfo(name=str(r["name"]), synthetic=bool(r["synthetic"]),
                            records=int(jsonable(r["records"]) or 0),
                            year_min=_int_or_none(r["year_min"]), year_max=_int_or_none(r["year_max"]))
                for r in result.rows]

    def saved_query(self, name: str) -> SavedQuery:
        registry = self.registry
        try:
            return registry.get(name)
        except SavedQueryError as exc:
            raise ServiceError(str(exc), "bad-parameter") from exc

    def run_saved(self, name: str, params: Mapping[str, Any] | None = None) -> TableResult:
        query = self.saved_query(name)
        result = self.call(lambda b: runner.run_saved_query(b, name, dict(params or {}),
                                                            registry=self.registry))
        return TableResult.from_result(result, max_rows=query.max_rows, query=name)

    def factor_network(self, dataset: str, year_from: int, year_to: int, min_count: int) -> NetworkData:
        params = {"dataset": dataset or "", "year_from": int(year_from), "year_to": int(year_to)}
        prevalence = self.run_saved(PREVALENCE_QUERY, params)
        pairs = self.run_saved(COOCCURRENCE_QUERY, {**params, "min_count": int(min_count)})
        return NetworkData(prevalence, pairs, {**params, "min_count": int(min_count)})


def _int_or_none(value: Any) -> int | None:
    value = jsonable(value)
    return None if value is None else int(value)


# ---- the app's service, and the functions callbacks call ---------------------------------------
def install(server: Any, service: GraphService) -> None:
    """Attach ``service`` to the Flask ``server`` of a dashboard app."""
    server.extensions[EXTENSION_KEY] = service


def installed(server: Any) -> GraphService:
    """The service attached to the Flask ``server`` by :func:`install`."""
    service: GraphService = server.extensions[EXTENSION_KEY]
    return service


def current() -> GraphService:
    """The service of the app handling the current request (callbacks and layouts run in one)."""
    from flask import current_app, has_app_context

    if not has_app_context() or EXTENSION_KEY not in current_app.extensions:
        raise RuntimeError("no dashboard app is active: create it with dashboard.app.create_app(db_uri)")
    return installed(current_app)


def database_label() -> str:
    return current().db_uri


def list_datasets() -> list[DatasetInfo]:
    return current().datasets()


def saved_queries() -> list[SavedQuery]:
    return list(current().registry)


def saved_query(name: str) -> SavedQuery:
    return current().saved_query(name)


def run_saved_query(name: str, params: Mapping[str, Any] | None = None) -> TableResult:
    return current().run_saved(name, params)


def factor_network(dataset: str, year_from: int, year_to: int, min_count: int = 1) -> NetworkData:
    return current().factor_network(dataset, year_from, year_to, min_count)


# ---- query workbench: ad-hoc Cypher and user queries (issue 5, part B) --------------------------
ADHOC_TIMEOUT_S = 20.0
ADHOC_MAX_ROWS = 2000


def run_adhoc(text: str, params: Mapping[str, Any] | None = None, *, timeout_s: float = ADHOC_TIMEOUT_S,
              max_rows: int = ADHOC_MAX_ROWS) -> TableResult:
    """Analyst-written Cypher: refused if it writes (kind ``refused``), time-limited and row-capped."""
    if not (text or "").strip():
        raise ServiceError("the ad-hoc box is empty: write a read-only Cypher statement first", "bad-parameter")
    result = current().call(lambda b: runner.run_adhoc(b, text, dict(params or {}), timeout_s=timeout_s,
                                                       max_rows=max_rows))
    return TableResult.from_result(result, max_rows=max_rows, query="ad-hoc")


def user_store() -> UserQueryStore:
    store = current().user_store
    if store is None:
        raise ServiceError("this dashboard has no user query folder; start it with `micropath serve` or "
                           "create_app(db_uri, query_dir=...)", "unavailable")
    return store


def _store_call(fn: Callable[[UserQueryStore], T]) -> T:
    try:
        return fn(user_store())
    except WriteRefusedError as exc:
        raise ServiceError(str(exc), "refused") from exc
    except SavedQueryError as exc:
        raise ServiceError(str(exc), "bad-parameter") from exc
    except OSError as exc:
        raise ServiceError(f"the user query folder cannot be written: {exc}; check its permissions or set "
                           "MICROPATH_QUERY_DIR", "failed") from exc


def save_user_query(name: str, **fields: Any) -> QueryVersion:
    """Save a new version of user query ``name`` (see queries.user_store.UserQueryStore.save)."""
    return _store_call(lambda store: store.save(name, **fields))


def user_query_versions(name: str) -> list[QueryVersion]:
    """Every version of a user query, oldest first; [] for a library query."""
    def versions(store: UserQueryStore) -> list[QueryVersion]:
        return store.versions(name) if name in store.names() else []
    return _store_call(versions)


def user_query_version(name: str, number: int | None = None) -> QueryVersion:
    return _store_call(lambda store: store.version(name, number))


def restore_user_query(name: str, number: int) -> QueryVersion:
    return _store_call(lambda store: store.restore(name, number))


# ---- micropathways page (issue 5, part B) --------------------------------------------------------
@dataclass(frozen=True)
class PathwayView:
    """Everything the micropathways page draws for one filter setting, as JSON-ready rows.

    ``transitions`` is ungrouped (the diagram); the ``by_*`` tables are grouped by ``by`` (motive or
    method): transitions, frequent contiguous sequences, escalation times per pathway and their summary."""

    by: str
    transitions: list[dict[str, Any]]
    by_transitions: list[dict[str, Any]]
    by_sequences: list[dict[str, Any]]
    by_times: list[dict[str, Any]]
    by_escalation: list[dict[str, Any]]
    pathways: int
    synthetic: bool
    elapsed_s: float = 0.0


def _rows(frame: Any) -> list[dict[str, Any]]:
    from patterns.pathways import to_result

    return [{k: jsonable(v) for k, v in row.items()} for row in to_result(frame).rows]


def pathway_view(filters: Any, by: str = "motive", *, min_support: float = 0.05,
                 max_length: int = 4) -> PathwayView:
    """Pull the filtered pathways once (patterns.pathways.load_slice) and compute the page's tables."""
    import time

    from patterns import pathways as pw

    if by not in ("motive", "method"):
        raise ServiceError(f"group by must be 'motive' or 'method', not {by!r}", "bad-parameter")
    started = time.perf_counter()
    sl = current().call(lambda b: pw.load_slice(b, filters))
    group: Literal["motive", "method"] = "motive" if by == "motive" else "method"
    try:
        view = PathwayView(
            by=by, transitions=_rows(pw.transitions(sl)), by_transitions=_rows(pw.transitions(sl, by=group)),
            by_sequences=_rows(pw.sequences(sl, by=group, min_support=min_support, max_length=max_length,
                                            kind="contiguous")),
            by_times=_rows(pw.escalation_times(sl, by=group)), by_escalation=_rows(pw.escalation(sl, by=group)),
            pathways=int(sl.records["record_uid"].nunique()),
            synthetic=bool(sl.records["synthetic"].fillna(False).astype(bool).any()) if len(sl.records) else False,
            elapsed_s=time.perf_counter() - started)
    except MicropathError as exc:
        raise ServiceError(f"the pathway measures failed for {filters.describe()}: {exc}", "failed") from exc
    return view
