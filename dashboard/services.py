"""The only dashboard code that talks to the graph.

Callbacks call the module functions below (``list_datasets``, ``filter_options``, ``overview``,
``factor_network``, ``cases_behind``, ``homicide_card``, ``pathway``, ``similar``, ``run_saved_query``,
``saved_queries``); they never see a driver or a backend. Each function uses the :class:`GraphService`
installed on the running app (``install``), which keeps **a few read-only backend handles per process**
(``MICROPATH_DASHBOARD_READERS``, default 2–4 by CPU count), opened lazily on first use (so ``serve``
starts even before anything is loaded) and each lent to one request at a time: LadybugDB runs one
statement at a time per connection, so two handles answer two requests at once; on Neo4j each handle is a
driver with its own connection pool. A request that finds every handle busy for ``BUSY_WAIT_S`` seconds
is answered "busy".

A service call either returns plain, JSON-ready data or raises :class:`ServiceError`, whose ``kind``
says what went wrong (``bad-parameter``, ``timeout``, ``refused``, ``busy``, ``unavailable``,
``failed``) and whose message says what to do; pages show it in the panel's status. If the backend
fails in an unexpected way, the handle is dropped and the call retried once on a fresh one, so a
broken connection never needs a restart.

**What is kept.** Everything the pages compute depends only on the state of the graph, and every write
that changes the graph gives it a new revision (graph_model/revision.py), read here at most every
``RECHECK_S`` seconds with one small query. Keyed by that revision, the service keeps (``ResultCache``,
least recently used, bounded): the dataset list, saved-query results (per query text and parameters),
and the filtered measures. Filtered measures (overview counts, the factor network, the homicides behind
a factor, similar cases) come from one in-memory :class:`dashboard.case_index.CaseIndex` of every
record, built from the pattern layer's slices on first use (``warm`` builds it when the server starts)
and rebuilt when the revision changes. So a filter change costs milliseconds whatever the graph's size,
twenty people running the same saved query cost one query, and nobody is shown a result of an older
graph for more than ``RECHECK_S`` seconds after a load. Ad-hoc Cypher is never kept.
"""

from __future__ import annotations

import contextlib
import decimal
import json
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pandas as pd

from dashboard import auth, case_index
from dashboard.result_cache import ResultCache
from graph_model import revision
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
from patterns.factors import pairs_of, prevalence_of
from patterns.slices import Filters
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
RECHECK_S = 3.0  # how often the service reads the graph's revision (a changed graph: new results)
CACHE_ENTRIES = 512  # results kept (datasets, saved queries, filter settings' measures) ...
CACHE_ROWS = 400_000  # ... and at most this many saved-query rows among them
READERS_ENV = "MICROPATH_DASHBOARD_READERS"
BUSY_WAIT_S = 60.0  # how long a request waits for a free database handle before it is answered "busy"
MAX_LISTED = 1000  # homicides listed behind a factor or a link (the total is always given)


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
class Option:
    """A filter choice: ``value`` goes in the URL and the filters, ``label`` is shown (with ``records``)."""

    value: str
    label: str
    records: int

    def as_dropdown(self) -> dict[str, Any]:
        return {"label": f"{self.label} ({self.records:,})", "value": self.value}


@dataclass(frozen=True)
class Counts:
    """What the overview shows for one filter setting (rows are plain JSON)."""

    filters: Filters
    records: int
    by_year: list[dict[str, Any]]  # dataset, year, records
    by_dimension: dict[str, list[dict[str, Any]]]  # motive/method/relationship -> code, label, records
    by_area: list[dict[str, Any]]  # area_code, area, level, records (the area each record is placed in)
    datasets: list[dict[str, Any]]  # name, synthetic, records (in the selection)


@dataclass(frozen=True)
class NetworkData:
    """Factor prevalence and every co-occurring pair (Fisher + BH q-values) for one filter setting,
    from ``patterns.factors.prevalence_of`` / ``pairs_of`` (the BH family is every tested pair)."""

    filters: Filters
    records: int
    factors: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    synthetic: list[str] = field(default_factory=list)  # synthetic datasets among the records


@dataclass(frozen=True)
class CaseList:
    """The homicides behind a factor or a link: ``total`` of them, the first ``MAX_LISTED`` in ``rows``."""

    rows: list[dict[str, Any]]
    total: int
    factor_uids: tuple[str, ...]
    filters: Filters

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


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


def default_readers() -> int:
    """``$MICROPATH_DASHBOARD_READERS``, else the CPU count bounded to 2..4."""
    raw = os.environ.get(READERS_ENV, "").strip()
    if not raw:
        return max(2, min(4, os.cpu_count() or 2))
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise MicropathError(f"{READERS_ENV}={raw!r}: give a whole number of database handles from 1 to 64, "
                             "or unset it for 2-4 by CPU count")
    return int(raw)


@dataclass
class _Slot:
    """One read-only handle (opened on first use), lent to one request at a time."""

    backend: GraphBackend | None = None

    def drop(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception:  # a broken handle may fail to close; it is discarded either way
                log.debug("closing a broken backend failed", exc_info=True)


class GraphService:
    """Read-only backend handles for ``db_uri`` and what was computed from them, for every callback of a
    process (see the module docstring)."""

    def __init__(self, db_uri: str | None = None, *, registry: Registry | None = None,
                 readers: int | None = None) -> None:
        self.db_uri = db_uri or default_db_uri()
        self._registry = registry
        self.user_store: UserQueryStore | None = None  # set by create_app: user queries beside the library
        self.readers = readers or default_readers()
        self._slots: queue.LifoQueue[_Slot] = queue.LifoQueue()  # the warmest handle first
        for _ in range(self.readers):
            self._slots.put(_Slot())
        self._gathering = threading.Lock()
        self._build_lock = threading.Lock()
        self._revision_lock = threading.Lock()
        self._index: case_index.CaseIndex | None = None
        self._revision: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self.cache = ResultCache(CACHE_ENTRIES, CACHE_ROWS)

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

    # ---- handles -------------------------------------------------------------------------------
    def _borrow(self) -> _Slot:
        try:
            return self._slots.get(timeout=BUSY_WAIT_S)
        except queue.Empty:
            raise ServiceError(f"the dashboard is busy: all {self.readers} database handles have been in use for "
                               f"{BUSY_WAIT_S:.0f} s; try again in a moment", "busy") from None

    @contextlib.contextmanager
    def _every_slot(self) -> Iterator[list[_Slot]]:
        """Every handle, once the requests using them are done (for closing, and for a write)."""
        taken: list[_Slot] = []
        try:
            with self._gathering:  # one gatherer at a time, or two could each hold half and wait forever
                for _ in range(self.readers):
                    taken.append(self._borrow())
            yield taken
        finally:
            for slot in taken:
                self._slots.put(slot)

    def open_handles(self) -> list[GraphBackend]:
        """The handles open now (idle ones; for tests and diagnostics)."""
        return [slot.backend for slot in list(self._slots.queue) if slot.backend is not None]

    def close(self) -> None:
        with self._every_slot() as slots:
            for slot in slots:
                slot.drop()

    def call(self, fn: Callable[[GraphBackend], T]) -> T:
        """Run ``fn(backend)`` on a free handle; errors become ServiceError (see module docstring)."""
        slot = self._borrow()
        try:
            return self._call_on(slot, fn)
        finally:
            self._slots.put(slot)

    def _call_on(self, slot: _Slot, fn: Callable[[GraphBackend], T]) -> T:
        for attempt in (1, 2):
            had_handle = slot.backend is not None
            try:
                if slot.backend is None:
                    slot.backend = open_backend(self.db_uri)  # read-only
                return fn(slot.backend)
            except (SavedQueryError, QueryError, WriteRefusedError, DatabaseBusyError) as exc:
                raise _translate(exc) from exc  # the handle is fine; the request was not
            except (MicropathError, ValueError) as exc:
                slot.drop()
                if attempt == 1 and had_handle:
                    continue
                raise _translate(exc) from exc
            except Exception as exc:
                log.warning("backend for %s failed; reopening", self.db_uri, exc_info=True)
                slot.drop()
                if attempt == 1:
                    continue
                raise _translate(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- the graph's revision: what everything kept is keyed by ---------------------------------
    def revision(self) -> tuple[Any, ...]:
        """The graph's revision token (graph_model/revision.py), read at most every ``RECHECK_S``; for a graph
        without one, its datasets with their counts and year spans."""
        known = self._revision
        if known is not None and time.monotonic() - self._checked_at < RECHECK_S:
            return known
        with self._revision_lock:
            if self._revision is not None and time.monotonic() - self._checked_at < RECHECK_S:
                return self._revision
            current = self.call(_read_revision)
            if current != self._revision:
                self.cache.clear()  # nothing kept for an older graph can be asked for again
            self._revision, self._checked_at = current, time.monotonic()
            return current

    def changed(self) -> None:
        """This process wrote to the graph: read the revision at the next request."""
        self._checked_at = 0.0

    # ---- what the pages ask for --------------------------------------------------------------
    def datasets(self) -> list[DatasetInfo]:
        return self.cache.get(("datasets", self.revision()), lambda: self.call(_read_datasets))

    def saved_query(self, name: str) -> SavedQuery:
        registry = self.registry
        try:
            return registry.get(name)
        except SavedQueryError as exc:
            raise ServiceError(str(exc), "bad-parameter") from exc

    def run_saved(self, name: str, params: Mapping[str, Any] | None = None) -> TableResult:
        """Saved query ``name``'s result, computed once per revision, query text and parameters."""
        query = self.saved_query(name)
        values = dict(params or {})
        key = ("saved", self.revision(), name, query.text, query.max_rows, query.timeout_s, _canonical(values))

        def compute() -> TableResult:
            result = self.call(lambda b: runner.run_saved_query(b, name, values, registry=self.registry))
            return TableResult.from_result(result, max_rows=query.max_rows, query=name)

        return self.cache.get(key, compute, weight=lambda r: len(r.rows) + 1)

    # ---- the in-memory index and the measures on it ------------------------------------------
    def index(self) -> case_index.CaseIndex:
        """The index of every record, for the graph's current revision (rebuilt when it changes)."""
        current = self.revision()
        built = self._index
        if built is not None and built.fingerprint == current:
            return built
        with self._build_lock:  # one build at a time; others wait for it
            if self._index is not None and self._index.fingerprint == current:
                return self._index
            synthetic = frozenset(d.name for d in self.datasets() if d.synthetic)
            log.info("building the dashboard's record index for %s", self.db_uri)
            self._index = self.call(lambda b: case_index.build(b, current, synthetic))
            return self._index

    def warm(self) -> None:
        """Build the index now (the server calls this in the background when it starts)."""
        try:
            self.index()
        except ServiceError as exc:
            log.warning("the dashboard could not read the graph yet: %s", exc)

    def _measure(self, kind: str, filters: Any, compute: Callable[[case_index.CaseIndex], T]) -> T:
        idx = self.index()
        return self.cache.get((kind, idx.fingerprint, filters), lambda: compute(idx))

    def filter_options(self, dataset: str = "") -> dict[str, list[Option]]:
        """Areas, motives, methods and relationships that the records of ``dataset`` (all: "") have."""
        return self._measure("options", dataset, lambda idx: _options(idx, Filters(dataset=dataset)))

    def counts(self, filters: Filters) -> Counts:
        return self._measure("counts", filters, lambda idx: _counts(idx, filters))

    def factor_network(self, filters: Filters) -> NetworkData:
        return self._measure("network", filters, lambda idx: _network(idx, filters))

    def cases_behind(self, filters: Filters, factor_uids: list[str]) -> CaseList:
        """The records of ``filters`` where every factor of ``factor_uids`` is present (uid order)."""
        idx = self.index()
        rows = idx.rows_with(idx.mask(filters), list(factor_uids))
        listed = idx.records.iloc[rows[:MAX_LISTED]]
        return CaseList([{k: jsonable(v) for k, v in r.items()} for r in listed[CASE_COLUMNS].to_dict("records")],
                        len(rows), tuple(factor_uids), filters)

    def similar(self, uid: str, filters: Filters, k: int = 10) -> list[dict[str, Any]]:
        """The ``k`` records of ``filters`` most like record ``uid`` (``patterns.similarity``)."""
        idx = self.index()
        frame = idx.similar(uid, idx.mask(filters), k)
        return [{key: jsonable(v) for key, v in r.items()} for r in frame.to_dict("records")]


def _read_revision(backend: GraphBackend) -> tuple[Any, ...]:
    token = revision.read(backend)
    if token is not None:
        return ("revision", token)
    rows = backend.run_read(DATASETS_QUERY, timeout_s=10, max_rows=1000, tag="dashboard:fingerprint").rows
    return ("datasets", *(tuple(jsonable(v) for v in r.values()) for r in rows))


def _read_datasets(backend: GraphBackend) -> list[DatasetInfo]:
    result = backend.run_read(DATASETS_QUERY, timeout_s=10, max_rows=1000, tag="dashboard:datasets")
    return [DatasetInfo(name=str(r["name"]), synthetic=bool(r["synthetic"]), records=int(jsonable(r["records"]) or 0),
                        year_min=_int_or_none(r["year_min"]), year_max=_int_or_none(r["year_max"]))
            for r in result.rows]


def _canonical(values: Mapping[str, Any]) -> str:
    """Parameters as one string, the same for the same values whatever their order."""
    return json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))


CASE_COLUMNS = ["uid", "dataset", "year", "area_code", "synthetic"]


def _synthetic(idx: case_index.CaseIndex, mask: Any) -> list[str]:
    return idx.synthetic_in(mask)


def _options(idx: case_index.CaseIndex, filters: Filters) -> dict[str, list[Option]]:
    mask = idx.mask(filters)
    out: dict[str, list[Option]] = {}
    for dim in idx.concepts:
        counts = idx.concept_counts(dim, mask)
        out[dim] = [Option(str(r.code), str(r.label), int(r.records)) for r in counts.itertuples()]
    areas = []
    for row in idx.areas.itertuples():
        n = int(mask[idx.area_rows[row.area_uid]].sum())
        if n:
            level = f", {row.level}" if isinstance(row.level, str) and row.level else ""
            areas.append(Option(str(row.area_uid), f"{row.area} ({row.area_code}{level})", n))
    out["area"] = sorted(areas, key=lambda o: (o.label.casefold(), o.value))
    return out


def _counts(idx: case_index.CaseIndex, filters: Filters) -> Counts:
    mask = idx.mask(filters)
    recs = idx.records[mask]
    years = recs.dropna(subset=["year"])
    by_year = (years.assign(year=years["year"].astype(int)).groupby(["dataset", "year"], as_index=False)
               .size().rename(columns={"size": "records"}))
    labels = idx.areas.drop_duplicates("area_code").set_index("area_code")
    placed = recs.dropna(subset=["area_code"]).groupby("area_code", as_index=False).size()
    by_area = pd.DataFrame({
        "area_code": placed["area_code"],
        "area": [labels["area"].get(c, c) for c in placed["area_code"]],
        "level": [labels["level"].get(c) for c in placed["area_code"]],
        "records": placed["size"]}).sort_values(["records", "area_code"], ascending=[False, True], kind="stable")
    per_dataset = recs.groupby("dataset", as_index=False).agg(records=("uid", "size"))
    synthetic = set(idx.synthetic_in(mask))
    return Counts(
        filters, int(mask.sum()), _records(by_year),
        {dim: _records(idx.concept_counts(dim, mask)) for dim in idx.concepts}, _records(by_area),
        [{"name": r.dataset, "synthetic": r.dataset in synthetic, "records": int(r.records)}
         for r in per_dataset.itertuples()])


def _network(idx: case_index.CaseIndex, filters: Filters) -> NetworkData:
    mask = idx.mask(filters)
    matrix = idx.factor_matrix(mask)
    factors = prevalence_of(matrix)
    pairs = pairs_of(matrix, min_count=0)  # every pair coded together, "never together" included
    return NetworkData(filters, int(mask.sum()), _records(factors), _records(pairs), _synthetic(idx, mask))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): jsonable(_plain(v)) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones (JSON-ready)."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, dict, str)) else value


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
    _allowed(auth.roles.SAVED_QUERIES, "saved-query", query=name, params=dict(params or {}))
    return current().run_saved(name, params)


def _allowed(capability: str, event: str | None = None, **details: Any) -> None:
    """The signed-in user's role must grant ``capability`` (dashboard/auth.py; audited as ``event``)."""
    try:
        auth.check(capability, event, **details)
    except auth.AccessDenied as exc:
        raise ServiceError(f"{exc}; ask an administrator if your work needs it", "refused") from exc


def filter_options(dataset: str = "") -> dict[str, list[dict[str, Any]]]:
    """Dropdown options (``{"label", "value"}``) for area, motive, method and relationship."""
    _allowed(auth.roles.EXPLORE)
    return {dim: [o.as_dropdown() for o in opts] for dim, opts in current().filter_options(dataset).items()}


def counts(filters: Filters) -> Counts:
    _allowed(auth.roles.EXPLORE)
    return current().counts(filters)


def factor_network(filters: Filters) -> NetworkData:
    _allowed(auth.roles.EXPLORE)
    return current().factor_network(filters)


def cases_behind(filters: Filters, factor_uids: list[str]) -> CaseList:
    _allowed(auth.roles.RECORDS, "cases-behind", factors=list(factor_uids), filters=filters.describe())
    return current().cases_behind(filters, factor_uids)


def similar(uid: str, filters: Filters | None = None, k: int = 10) -> list[dict[str, Any]]:
    _allowed(auth.roles.RECORDS)
    return current().similar(uid, filters or Filters(), k)


def homicide_card(uid: str) -> TableResult:
    """Saved query ``homicide_card`` for record ``uid`` (no rows: no such record)."""
    _allowed(auth.roles.RECORDS, "record", uid=uid)
    return current().run_saved("homicide_card", {"uid": uid})


def pathway(uid: str) -> TableResult:
    """Saved query ``pathway_of_homicide``: the ordered steps of record ``uid``'s micropathway."""
    _allowed(auth.roles.RECORDS)
    return current().run_saved("pathway_of_homicide", {"uid": uid})


# ---- query workbench: ad-hoc Cypher and user queries (issue 5, part B) --------------------------
ADHOC_TIMEOUT_S = 20.0
ADHOC_MAX_ROWS = 2000


def run_adhoc(text: str, params: Mapping[str, Any] | None = None, *, timeout_s: float = ADHOC_TIMEOUT_S,
              max_rows: int = ADHOC_MAX_ROWS) -> TableResult:
    """Analyst-written Cypher: refused if it writes (kind ``refused``), time-limited and row-capped."""
    if not (text or "").strip():
        raise ServiceError("the ad-hoc box is empty: write a read-only Cypher statement first", "bad-parameter")
    _allowed(auth.roles.ADHOC, "adhoc-cypher", text=text, params=dict(params or {}))
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
    _allowed(auth.roles.SAVE_QUERIES, "save-query", name=name, text=fields.get("text"))
    return _store_call(lambda store: store.save(name, **fields))


def user_query_versions(name: str) -> list[QueryVersion]:
    """Every version of a user query, oldest first; [] for a library query."""
    def versions(store: UserQueryStore) -> list[QueryVersion]:
        return store.versions(name) if name in store.names() else []
    return _store_call(versions)


def user_query_version(name: str, number: int | None = None) -> QueryVersion:
    return _store_call(lambda store: store.version(name, number))


def restore_user_query(name: str, number: int) -> QueryVersion:
    _allowed(auth.roles.SAVE_QUERIES, "restore-query", name=name, version=number)
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

    _allowed(auth.roles.EXPLORE)

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


# ---- partner tables (issue 7: the partner role's page) -------------------------------------------
def run_partner_table(name: str, dataset: str) -> Any:
    """Partner-safe query ``name`` for one whole ``dataset``, suppressed (disclosure.release); the
    unsuppressed values never leave disclosure/. Refusals (AccessRefused, DisclosureError) are ``refused``."""
    from disclosure.release import run_partner_query
    from disclosure.suppression import DisclosureError

    _allowed(auth.roles.PARTNER_TABLES, "partner-query", query=name, params={"dataset": dataset})
    def release(backend: GraphBackend) -> Any:
        try:
            return run_partner_query(backend, name, {"dataset": dataset})
        except DisclosureError as exc:  # a refusal, not a broken connection: keep the handle
            return exc

    result = current().call(release)
    if isinstance(result, DisclosureError):
        raise ServiceError(str(result), "refused") from result
    return result


# ---- dataset links page (issue 6) ------------------------------------------------------------------
# Links are read through the saved queries links_* (linkage.api's queries); a review is the one write the
# dashboard makes, through linkage.runs.review_links, for roles with REVIEW_LINKS, and audited.
LINK_BINS = 20  # histogram bins of width 0.05 over [0, 1]
OPEN_MODE_REVIEWER = "local"  # the reviewer id when the dashboard runs without login (MICROPATH_AUTH=off)


@dataclass(frozen=True)
class LinkView:
    """What the links page shows for one run and minimum probability (rows are plain JSON).

    ``links``: saved query ``links_between`` at ``min_probability`` (highest first; ``truncated`` when it
    hit the query's row cap). ``histogram``: ``linkage.api.confidence_histogram`` of every link of the run
    (``histogram_truncated`` when the run has more links than the cap). ``summary``: the run's row of
    ``links_summary`` (exact counts at 0.5 / 0.8 / 0.95 / 0.99, reviews, records per side)."""

    left: str
    right: str
    run: str
    min_probability: float
    links: list[dict[str, Any]]
    truncated: bool
    max_rows: int
    histogram: list[dict[str, Any]]
    histogram_truncated: bool
    summary: dict[str, Any]
    elapsed_s: float = 0.0


def link_runs() -> list[dict[str, Any]]:
    """Every link run in the graph (saved query ``links_runs``): the pairs of datasets the page offers."""
    _allowed(auth.roles.RECORDS)
    from linkage import api

    return _records(current().call(lambda b: api.list_runs(b)))


def link_view(left: str, right: str, run: str, min_probability: float) -> LinkView:
    """The links of ``run`` (from ``left`` to ``right``) at ``min_probability`` or more, the distribution of
    all its match probabilities and its counts at the usual thresholds."""
    from linkage import api

    _allowed(auth.roles.RECORDS, "links-view", left=left, right=right, run=run, min_probability=min_probability)
    if not (left and right and run):
        raise ServiceError("choose a left dataset, a right dataset and a link run", "bad-parameter")
    if not 0.0 <= min_probability <= 1.0:
        raise ServiceError(f"minimum probability {min_probability} is not between 0 and 1", "bad-parameter")
    started = time.perf_counter()
    service = current()
    summary = _records(service.call(lambda b: api.link_summary(b, left, right)))
    row = next((r for r in summary if r["run"] == run), None)
    if row is None:
        raise ServiceError(f"the graph holds no link run {run!r} from {left!r} to {right!r}; choose one of the "
                           "runs offered, or make it with `micropath link run`", "bad-parameter")
    params = {"left": left, "right": right, "run": run, "status": ""}
    shown = service.run_saved("links_between", {**params, "min_probability": float(min_probability)})
    whole = shown if min_probability <= 0 else service.run_saved("links_between",
                                                                 {**params, "min_probability": 0.0})
    frame = pd.DataFrame(whole.rows, columns=whole.columns)
    histogram = _records(api.confidence_histogram(frame, bins=LINK_BINS))
    return LinkView(left, right, run, float(min_probability), shown.rows, shown.truncated, shown.max_rows,
                    histogram, whole.truncated, row, time.perf_counter() - started)


def _link_record_frames(backend: GraphBackend, links: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    from linkage import api
    from linkage.records import LinkageError

    try:
        return api.linked_records(backend, links)
    except LinkageError as exc:  # a dataset gone since the run: a request problem, not a broken handle
        raise QueryError(str(exc)) from exc


def linked_pair(run: str, left_uid: str, right_uid: str) -> dict[str, Any]:
    """The two records of one link with their linkage fields (``linkage.api.linked_records``), and the link.

    The records of every link of the run are read once per state of the graph and kept (reading a dataset's
    linkage fields takes seconds on large datasets); a link the kept run does not hold is read on its own."""
    _allowed(auth.roles.RECORDS, "linked-records", run=run, left=left_uid, right=right_uid)
    service = current()
    found = service.run_saved("links_between", {"left": "", "right": "", "run": run, "status": "",
                                                "min_probability": 0.0})
    links = pd.DataFrame(found.rows, columns=found.columns)
    chosen = links[(links["left_uid"] == left_uid) & (links["right_uid"] == right_uid)] if len(links) else links
    if chosen.empty:
        raise ServiceError(f"run {run} has no link from {left_uid} to {right_uid} (reloaded or re-run since?); "
                           "choose a link from the table", "bad-parameter")

    key = ("link-records", service.revision(), run, len(links))
    left, right = service.cache.get(key, lambda: service.call(lambda b: _link_record_frames(b, links)),
                                    weight=lambda frames: len(frames[0]) + len(frames[1]) + 1)
    if left_uid not in set(left["uid"]) or right_uid not in set(right["uid"]):
        left, right = service.call(lambda b: _link_record_frames(b, chosen))
    pick = [_records(side[side["uid"] == uid]) for side, uid in ((left, left_uid), (right, right_uid))]
    if not pick[0] or not pick[1]:
        raise ServiceError(f"a record of the link {left_uid} → {right_uid} is no longer in the graph; re-run the "
                           "link run after reloading", "bad-parameter")
    return {"link": _records(chosen)[0], "left": pick[0][0], "right": pick[1][0]}


def review_link(run: str, left_uid: str, right_uid: str, status: str) -> str:
    """Accept or reject one link (``linkage.runs.review_links``, one transaction); audited as ``link-review``.

    The reviewer is the signed-in user's name (pseudonymous: login names are ids, never e-mail addresses),
    or ``local`` when the dashboard runs without login. Returns what happened, in a sentence."""
    from linkage.runs import DECISIONS

    if status not in DECISIONS:
        raise ServiceError(f"a review decision is one of {list(DECISIONS)}, not {status!r}", "bad-parameter")
    _allowed(auth.roles.REVIEW_LINKS)
    user = auth.current_user()
    reviewer = user.name if user is not None else OPEN_MODE_REVIEWER
    details = {"run": run, "left": left_uid, "right": right_uid, "status": status}
    try:
        _write(current(), lambda b: _review(b, run, left_uid, right_uid, status, reviewer))
    except ServiceError as exc:
        _audit_review(details, f"failed: {exc}")
        raise
    _audit_review(details, "ok")
    return f"Link {left_uid} → {right_uid} of run {run} {status} by {reviewer}."


def _review(backend: GraphBackend, run: str, left_uid: str, right_uid: str, status: str, reviewer: str) -> None:
    from linkage.records import LinkageError
    from linkage.runs import review_links

    try:
        review_links(backend, run, [(left_uid, right_uid)], status, reviewer)
    except LinkageError as exc:
        raise ServiceError(str(exc), "bad-parameter") from exc


def _audit_review(details: dict[str, Any], outcome: str) -> None:
    log_file, user = auth.audit_log(), auth.current_user()
    if log_file is None or user is None:
        return
    from flask import request

    log_file.append("link-review", user=user.name, role=user.role, ip=request.remote_addr or "",
                    outcome=outcome, **details)


def _write(service: GraphService, fn: Callable[[GraphBackend], T]) -> T:
    """Run ``fn`` on a read-write handle opened for this write only, once no request is reading: the
    read-only handles are closed first (LadybugDB takes one read-write handle at a time) and reopen at the
    next read, which also reads the graph's new revision."""
    with service._every_slot() as slots:
        for slot in slots:
            slot.drop()
        try:
            backend = open_backend(service.db_uri, write=True)
        except (MicropathError, ValueError) as exc:
            raise _translate(exc) from exc
        try:
            return fn(backend)
        except (MicropathError, ValueError) as exc:
            raise _translate(exc) from exc
        finally:
            backend.close()
            service.changed()
