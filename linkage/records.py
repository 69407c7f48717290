"""The records of one dataset as a flat table of linkage fields, read from the graph.

Every dataset loaded through the loaders can be linked, whatever its source: the fields come from the
graph contract, not from the source files. One row per record (Homicide or Incident) with:

* ``uid``, ``label`` (graph label), ``dataset``, ``case_id``, ``pseudonymous_ref``;
* ``year``, ``month``, ``iccs``, ``kind`` (Incidents), ``victim_count``;
* ``area``: the uid of the Area the record is IN_AREA, and ``area_<level>`` for that area and the
  areas it MAPS_TO (one or two steps up), e.g. ``area_county`` and ``area_state`` for SHR,
  ``area_state`` for GVA, ``area_borough`` and ``area_region`` for London;
* ``victim_age``, ``victim_age_band``, ``victim_sex``: of the first victim (lowest position), and
  ``suspect_age``, ``suspect_age_band``, ``suspect_sex`` of the first suspect (Unknown sex is null);
* ``method``: the common (micropathways scheme) method code(s), '|'-joined when several.
"""

from __future__ import annotations

import pandas as pd

from graph_model.backend import GraphBackend
from graph_model.schema import get_schema

COMMON_SCHEME = "micropathways"
RECORD_PROPERTIES = ("case_id", "pseudonymous_ref", "year", "month", "iccs", "kind", "victim_count")
MAX_ROWS = 5_000_000
TIMEOUT_S = 600.0
AGE_BANDS = ((0, 17, "0-17"), (18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"),
             (45, 54, "45-54"), (55, 64, "55-64"), (65, 200, "65+"))
UNKNOWN_SEX = ("Unknown", "")


class LinkageError(ValueError):
    """A link run cannot be made as asked (says why and what to change)."""


def dataset_records(backend: GraphBackend, dataset: str) -> pd.DataFrame:
    """One row per record of ``dataset`` with the linkage fields (see the module docstring)."""
    frames = [_base(backend, label, dataset) for label in get_schema().labels_with_role("record")]
    base = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    if base is None:
        raise LinkageError(f"the graph holds no records of dataset {dataset!r}: load it first "
                           "(`micropath load SOURCE PATH`), or check the name with `micropath datasets`")
    base = base.merge(_areas(backend, dataset), on="uid", how="left")
    base = base.merge(_people(backend, dataset, "HAS_VICTIM", "Victim", "victim"), on="uid", how="left")
    base = base.merge(_people(backend, dataset, "HAS_SUSPECT", "Suspect", "suspect"), on="uid", how="left")
    base = base.merge(_methods(backend, dataset), on="uid", how="left")
    return base.sort_values("uid", ignore_index=True)


def _read(backend: GraphBackend, query: str, params: dict[str, object], tag: str) -> pd.DataFrame:
    result = backend.run_read(query, params, max_rows=MAX_ROWS, timeout_s=TIMEOUT_S, tag=tag)
    if result.truncated:
        raise LinkageError(f"{tag}: more than {MAX_ROWS} rows; link a narrower selection")
    return pd.DataFrame(result.rows, columns=result.columns)


def _base(backend: GraphBackend, label: str, dataset: str) -> pd.DataFrame:
    spec = get_schema().node(get_schema().check_label(label))
    have = {p.name for p in spec.properties}
    returns = ", ".join(f"h.{p} AS {p}" for p in RECORD_PROPERTIES if p in have)
    frame = _read(backend, f"MATCH (h:{label}) WHERE h.dataset = $d RETURN h.uid AS uid, {returns}",
                  {"d": dataset}, f"linkage records ({label})")
    for column in RECORD_PROPERTIES:
        if column not in frame.columns:
            frame[column] = None
    frame.insert(1, "label", label)
    frame.insert(2, "dataset", dataset)
    return frame


def _areas(backend: GraphBackend, dataset: str) -> pd.DataFrame:
    direct = _read(backend, "MATCH (h)-[:IN_AREA]->(a:Area) WHERE h.dataset = $d "
                            "RETURN h.uid AS uid, a.uid AS area, a.level AS level",
                   {"d": dataset}, "linkage areas")
    up = _read(backend, "MATCH (h)-[:IN_AREA]->(:Area)-[:MAPS_TO*1..2]->(a:Area) WHERE h.dataset = $d "
                        "RETURN h.uid AS uid, a.uid AS area, a.level AS level",
               {"d": dataset}, "linkage areas above")
    out = direct.groupby("uid", as_index=False)["area"].min() if len(direct) else pd.DataFrame(
        columns=["uid", "area"])
    levels = pd.concat([direct, up], ignore_index=True).dropna(subset=["level"])
    if len(levels):
        wide = levels.groupby(["uid", "level"])["area"].min().unstack("level")
        wide.columns = [f"area_{c}" for c in wide.columns]
        out = out.merge(wide.reset_index(), on="uid", how="outer")
    return out


def _people(backend: GraphBackend, dataset: str, rel: str, label: str, prefix: str) -> pd.DataFrame:
    """Age, age band and sex of the record's first victim (or suspect): the lowest position."""
    schema = get_schema()
    rows = _read(backend, f"MATCH (h)-[:{schema.check_rel_type(rel)}]->(v:{schema.check_label(label)}) "
                          "WHERE h.dataset = $d RETURN h.uid AS uid, v.position AS position, v.age AS age, "
                          "v.sex AS sex", {"d": dataset}, f"linkage {prefix}s")
    columns = ["uid", f"{prefix}_age", f"{prefix}_age_band", f"{prefix}_sex"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    first = rows.sort_values(["uid", "position"]).drop_duplicates("uid")
    age = pd.to_numeric(first["age"], errors="coerce")
    sex = first["sex"].where(~first["sex"].isin(UNKNOWN_SEX))
    return pd.DataFrame(dict(zip(columns, (first["uid"].to_numpy(), age.astype("Int64").to_numpy(),
                                           age_band(age).to_numpy(), sex.to_numpy()), strict=True)))


def age_band(age: pd.Series) -> pd.Series:
    """Age bands 0-17, 18-24, 25-34, ..., 55-64, 65+ (null where the age is not known)."""
    out = pd.Series([None] * len(age), index=age.index, dtype="object")
    for low, high, name in AGE_BANDS:
        out[(age >= low) & (age <= high)] = name
    return out


def _methods(backend: GraphBackend, dataset: str) -> pd.DataFrame:
    mapped = _read(backend, "MATCH (h)-[:BY_METHOD]->(:Method)-[:MAPS_TO]->(m:Method) "
                            "WHERE h.dataset = $d AND m.scheme = $s RETURN h.uid AS uid, m.code AS method",
                   {"d": dataset, "s": COMMON_SCHEME}, "linkage methods")
    direct = _read(backend, "MATCH (h)-[:BY_METHOD]->(m:Method) WHERE h.dataset = $d AND m.scheme = $s "
                            "RETURN h.uid AS uid, m.code AS method",
                   {"d": dataset, "s": COMMON_SCHEME}, "linkage methods (common scheme)")
    both = pd.concat([mapped, direct], ignore_index=True).drop_duplicates()
    if both.empty:
        return pd.DataFrame(columns=["uid", "method"])
    return both.sort_values(["uid", "method"]).groupby("uid", as_index=False)["method"].agg("|".join)
