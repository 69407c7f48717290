"""Data slices for the pattern analytics, pulled with the saved queries ``queries/library/slice_*.cypher``.

Every function takes a backend (embedded or Neo4j: the saved Cypher gives the same rows on both) and a
:class:`Filters`, and returns a plain pandas DataFrame, sorted, with a fresh RangeIndex. The queries return
long rows: factor values and event types one row per (record, factor) or (record, event type), already
sorted (LadybugDB returns 2.2 million such rows four times faster than it collects them into lists per
factor); motive, method and relationship one row per concept with the sorted list of its records (a
handful of rows), which the functions here explode into long frames.

Records are ``Homicide`` and ``Incident`` nodes alike. Filters (all optional; the defaults mean "any"):

- ``dataset``: one dataset name; ``uid``: one record;
- ``year_from`` / ``year_to``: inclusive; with neither, records with no year are kept too;
- ``area``: an area code or uid; a record matches when its area is that area or lies inside it
  (``IN_AREA`` then up to three ``MAPS_TO`` hops: borough → London, county → state);
- ``motive`` / ``method`` / ``relationship``: a common code (``quarrel_revenge_temper``) matches records
  coded in that common concept or in a source concept that ``MAPS_TO`` it; a concept uid (``shr:40``)
  matches that concept;
- ``incident_kinds``: keep only Incidents of these kinds (Homicides are always kept); empty = all.

Not coded is not absent (docs/graph-contract.md): ``record_factors`` lists only the values that were coded
(a ``HAS_FACTOR`` edge). For presence-only datasets (``factor_recording = 'presence_only'``, GVA tags),
``factor_universe`` lists the factors the dataset can record; there a record without the tag is absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from graph_model.backend import GraphBackend
from graph_model.errors import MicropathError
from queries.registry import default_registry

Dimension = Literal["motive", "method", "relationship"]
DIMENSIONS: tuple[str, ...] = ("motive", "method", "relationship")
ROW_CAP = 50_000_000  # slices are analysis inputs, not displays: never silently truncated


@dataclass(frozen=True)
class Filters:
    """Which records a measure uses. Defaults mean "any"; see the module docstring."""

    dataset: str = ""
    year_from: int | None = None
    year_to: int | None = None
    area: str = ""
    motive: str = ""
    method: str = ""
    relationship: str = ""
    incident_kinds: tuple[str, ...] = field(default=())
    uid: str = ""

    def params(self) -> dict[str, Any]:
        """The saved-query parameters (non-null "any" values, see docs/dialects.md)."""
        return {
            "dataset": self.dataset or "", "uid": self.uid or "",
            "year_from": 0 if self.year_from is None else int(self.year_from),
            "year_to": 9999 if self.year_to is None else int(self.year_to),
            "area": self.area or "", "motive": self.motive or "", "method": self.method or "",
            "relationship": self.relationship or "", "incident_kinds": list(self.incident_kinds),
        }

    def only(self, uid: str) -> Filters:
        """The same filters restricted to one record."""
        return replace(self, uid=uid)

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.params().items()
                 if v not in ("", [], 0, 9999)]
        return ", ".join(parts) if parts else "all records"


def run_slice(backend: GraphBackend, name: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run saved query ``name`` and return its rows as a DataFrame (columns kept even when empty)."""
    frame, truncated = saved_frame(backend, name, params, max_rows=ROW_CAP)
    if truncated:  # pragma: no cover - needs more than ROW_CAP rows
        raise MicropathError(f"slice {name!r} has more than {ROW_CAP} rows; narrow the filters")
    return frame


def saved_frame(backend: GraphBackend, name: str, params: dict[str, Any],
                max_rows: int | None = None) -> tuple[pd.DataFrame, bool]:
    """Saved query ``name`` through the backend's columnar read path (``run_read_frame``: read-only, its
    time limit, at most ``max_rows`` rows, default the query's own cap): ``(frame, truncated)``."""
    query = default_registry().get(name)
    return backend.run_read_frame(query.text, query.bind(params), timeout_s=query.timeout_s,
                                  max_rows=max_rows or query.max_rows, tag=query.name)


def _explode(frame: pd.DataFrame, keep: list[str], lists: str = "records",
             to: str = "record_uid") -> pd.DataFrame:
    """One row per element of the list column ``lists`` (renamed ``to``), with the ``keep`` columns."""
    lengths = frame[lists].map(len).to_numpy() if len(frame) else np.zeros(0, dtype=int)
    out = {col: np.repeat(frame[col].to_numpy(dtype=object), lengths) for col in keep}
    flat = [uid for records in frame[lists] for uid in records]
    out[to] = np.array(flat, dtype=object)
    return pd.DataFrame(out, columns=[to, *keep])


def _long(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    """A flat slice with the given column dtypes, sorted by its first two columns, with a fresh RangeIndex.

    The query orders the rows already; the check (one pass) keeps the order Python's when an engine's
    string order differs from it (Neo4j compares UTF-16 code units)."""
    out = pd.DataFrame({col: frame[col].to_numpy(dtype=kind) for col, kind in dtypes.items()},
                       columns=list(dtypes))
    first, second = list(dtypes)[:2]
    if not _sorted_by(out[first].to_numpy(), out[second].to_numpy()):
        out = out.sort_values([first, second], kind="stable").reset_index(drop=True)
    return out


def _sorted_by(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the pairs ``(a[i], b[i])`` are in non-decreasing order."""
    if len(a) < 2:
        return True
    same = a[1:] == a[:-1]
    return bool(np.all((a[1:] > a[:-1]) | same) and np.all(b[1:][same] >= b[:-1][same]))


# ---- the slices ------------------------------------------------------------------------------------
def records(backend: GraphBackend, filters: Filters | None = None) -> pd.DataFrame:
    """The filtered records: ``uid, dataset, factor_recording, synthetic, year, kind, area_code`` (one row each)."""
    frame = run_slice(backend, "slice_records", (filters or Filters()).params())
    frame = frame.drop_duplicates("uid", keep="first")  # a record IN_AREA twice keeps its first area code
    return frame.sort_values("uid", kind="stable").reset_index(drop=True)


def record_factors(backend: GraphBackend, filters: Filters | None = None) -> pd.DataFrame:
    """Coded factor values of the filtered records: ``record_uid, factor_uid, present`` (bool).

    One row per ``HAS_FACTOR`` edge: a (record, factor) without a row was not coded (or, in a
    presence-only dataset, is absent: see :func:`factor_universe`). Sorted by record, then factor.
    """
    frame = run_slice(backend, "slice_factor_records", (filters or Filters()).params())
    return _long(frame, {"record_uid": object, "factor_uid": object, "present": bool})


def record_concepts(backend: GraphBackend, dimension: str, filters: Filters | None = None) -> pd.DataFrame:
    """Motive, method or relationship of the filtered records.

    ``record_uid, concept_uid, concept_label, common_code`` (the common code is null for a source concept
    that maps to none). A record with several concepts has several rows; sorted by record, then concept.
    """
    if dimension not in DIMENSIONS:
        raise MicropathError(f"dimension must be one of {DIMENSIONS}, not {dimension!r}")
    raw = run_slice(backend, f"slice_{dimension}_records", (filters or Filters()).params())
    long = _explode(raw, ["concept_uid", "concept_label", "common_code"])
    return long.sort_values(["record_uid", "concept_uid", "common_code"], kind="stable",
                            na_position="last").reset_index(drop=True)


def record_event_types(backend: GraphBackend, filters: Filters | None = None) -> pd.DataFrame:
    """Common event types in each filtered record's micropathway: ``record_uid, event_type,
    event_type_label`` (one row per distinct type per record; records without events have none)."""
    frame = run_slice(backend, "slice_event_type_records", (filters or Filters()).params())
    return _long(frame, {"record_uid": object, "event_type": object, "event_type_label": object})


def factor_catalogue(backend: GraphBackend) -> pd.DataFrame:
    """Every Factor: ``factor_uid, code, label, scheme, kind, common_uid, common_label`` (common: the
    micropathways factor it stands for, itself when already common; null when none)."""
    return run_slice(backend, "slice_factors", {})


def factor_universe(backend: GraphBackend, filters: Filters | None = None) -> pd.DataFrame:
    """``dataset, factor_uid``: the factors each presence-only dataset can record (it has them somewhere)."""
    return run_slice(backend, "slice_factor_universe", {"dataset": (filters or Filters()).dataset or ""})
