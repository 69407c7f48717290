"""The fields a link run may compare, and how Splink compares each.

Numeric fields get Splink's levels "exact", "within d" for each tolerance d, "anything else";
text fields "exact" and "anything else"; a null on either side is Splink's null level (neutral).
``area_<level>`` fields (``area_state``, ``area_borough``, ...) are text fields made from the
graph's Area hierarchy (linkage/records.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from linkage.records import LinkageError


@dataclass(frozen=True)
class Field:
    name: str
    numeric: bool
    tolerances: tuple[int, ...] = ()
    description: str = ""


FIELDS = {f.name: f for f in (
    Field("pseudonymous_ref", False, description="pseudonymous reference both datasets hold"),
    Field("case_id", False, description="case identifier within the dataset"),
    Field("year", True, description="year of the homicide or incident"),
    Field("month", True, (1,), "month 1-12 (tolerance: one month)"),
    Field("iccs", False, description="ICCS category code"),
    Field("kind", False, description="incident kind (Incidents)"),
    Field("victim_count", True, (1,), "number of victims (tolerance: one)"),
    Field("area", False, description="the Area the record is in (uid)"),
    Field("victim_age", True, (1, 3), "first victim's age (tolerances: 1 and 3 years)"),
    Field("victim_age_band", False, description="first victim's age band (0-17, 18-24, ..., 65+)"),
    Field("victim_sex", False, description="first victim's sex (Unknown counts as missing)"),
    Field("suspect_age", True, (1, 3), "first suspect's age (tolerances: 1 and 3 years)"),
    Field("suspect_age_band", False, description="first suspect's age band"),
    Field("suspect_sex", False, description="first suspect's sex (Unknown counts as missing)"),
    Field("method", False, description="common method code(s), e.g. shooting"),
)}


def field(name: str) -> Field:
    """The Field called ``name`` (``area_<level>`` is any Area level)."""
    if name in FIELDS:
        return FIELDS[name]
    if name.startswith("area_") and name[5:].isidentifier():
        return Field(name, False, description=f"the {name[5:]} the record is in (Area uid)")
    raise LinkageError(f"unknown linkage field {name!r}; use one of {sorted(FIELDS)} or area_<level> "
                       "(area_state, area_county, area_borough, ...)")


def parse_fields(text: str | list[str]) -> list[str]:
    """Field names from 'a,b' (or a list); checked, in the order given, without repeats."""
    names = text.split(",") if isinstance(text, str) else text
    out: list[str] = []
    for name in (n.strip() for n in names):
        if name and name not in out:
            out.append(field(name).name)
    if not out:
        raise LinkageError("no linkage fields given: name at least one, e.g. year,month,area_state")
    return out


def parse_filters(items: list[str] | None) -> dict[str, str]:
    """``FIELD=VALUE`` filters (a record is kept when the field equals the value as text)."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise LinkageError(f"filter {item!r} is not FIELD=VALUE, e.g. method=shooting or year=2014")
        if name.strip() in ("year_from", "year_to"):
            out[name.strip()] = value.strip()
            continue
        out[field(name.strip()).name] = value.strip()
    return out


def apply_filters(records: pd.DataFrame, filters: dict[str, str], side: str) -> pd.DataFrame:
    """Records meeting every filter; year_from / year_to bound the year."""
    keep = pd.Series(True, index=records.index)
    for name, value in filters.items():
        if name in ("year_from", "year_to"):
            year = pd.to_numeric(records["year"], errors="coerce")
            bound = int(value)
            keep &= (year >= bound) if name == "year_from" else (year <= bound)
            continue
        if name not in records.columns:
            raise LinkageError(f"{side} records have no field {name!r} to filter on; they have "
                               f"{sorted(c for c in records.columns if c not in ('uid', 'label', 'dataset'))}")
        column = records[name]
        if name == "method":  # several methods: any of them
            keep &= column.fillna("").astype(str).str.split("|").map(lambda codes, v=value: v in codes)
        else:
            keep &= column.astype("string").fillna("") == value
    return records[keep.fillna(False).astype(bool)].reset_index(drop=True)


def comparable(records: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Columns ``uid`` and ``names`` typed for comparison: numbers as floats, text as strings."""
    out = pd.DataFrame({"uid": records["uid"].astype(str)})
    for name in names:
        column = records[name] if name in records.columns else pd.Series([None] * len(records))
        if field(name).numeric:
            out[name] = pd.to_numeric(column, errors="coerce").astype("float64").to_numpy()
        else:
            out[name] = column.astype("string").replace("", pd.NA).astype(object).where(
                column.notna(), None).to_numpy()
    return out
