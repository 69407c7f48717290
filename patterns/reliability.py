"""Coding reliability: agreement between coders on double-coded cases, per variable.

A coded bundle may carry ``reliability.csv``: independent second (third, ...) codings of a sample of
cases by other coders (docs/coded-format.md). In the graph each is a ``CODED_AS`` edge with its
``coder``, beside the record's own value (``HAS_FACTOR``, ``BY_METHOD``, ``HAS_MOTIVE``,
``HAS_RELATIONSHIP``, also with its coder). The saved queries ``slice_codings_*`` pull both side by
side, the same on LadybugDB and Neo4j; the measures are finished here.

The unit is a (record, variable): every factor, and the method, motive and relationship. Its codings are
the record's own value and each second coding. A value that was not coded (not_recorded, or no value)
is *missing*: it is left out, never counted as a disagreement, so a unit counts only when at least two
codings of it exist ("double-coded"). Coding frames are honoured: a factor added in a later frame of the
coding frame (``mp:addedInFrame``) was never asked for a record coded under an earlier frame, so such
units are excluded (the loader already refuses such codings; a graph built otherwise is still measured
honestly, and ``excluded_by_frame`` says how many were dropped).

Per variable:

- ``cases``: double-coded units; ``codings``: their values; ``coders``: distinct coders among them.
- ``agreement``: percent agreement, as a proportion — the share of double-coded units on which every
  coding is the same.
- ``kappa``: Cohen's kappa, ``(p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed agreement and ``p_e``
  the agreement expected from the two raters' own category shares (``sklearn.metrics.cohen_kappa_score``,
  scikit-learn). Cohen's kappa is for two raters, so it is given only when every unit has exactly two
  codings: rater 1 is the record's own value and rater 2 the second coding (when the own value is
  missing, the lower coder id is rater 1). The raters are roles, not persons: coders vary from case to
  case. With three or more codings of any unit it is null; use alpha.
- ``alpha``: Krippendorff's alpha, nominal level (the ``krippendorff`` package), ``1 - D_o / D_e`` from
  the coincidence matrix of the pairable values; any number of coders, missing values allowed, coders
  need not be the same persons. This is the measure to report.
- ``below_threshold``: True when alpha, or kappa where given, is below ``threshold`` (default 0.6);
  null when neither is defined (fewer than one double-coded unit, or one category only: every coding
  the same value leaves chance agreement undefined — ``note`` says why).

The measures pool every selected dataset; unit ids (record uids) are unique across datasets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from graph_model.backend import GraphBackend
from graph_model.errors import MicropathError
from graph_model.vocab import get_vocabulary
from patterns.results import to_result
from patterns.slices import saved_frame

THRESHOLD = 0.6
FACTOR_SLICE = "slice_codings_factors"
CONCEPT_SLICES = {"method": "slice_codings_method", "motive": "slice_codings_motive",
                  "relationship": "slice_codings_relationship"}
CONCEPT_LABELS = {"method": "Method of killing", "motive": "Motive (apparent circumstance)",
                  "relationship": "Victim-suspect relationship"}
# One row per coding: the unit (record uid, variable), who coded it and what.
CODING_COLUMNS = ["dataset", "uid", "coding_frame_version", "kind", "variable", "variable_label",
                  "added_in_frame", "role", "coder", "value"]
COLUMNS = ["variable", "label", "kind", "added_in_frame", "cases", "codings", "coders", "excluded_by_frame",
           "agreement", "kappa", "alpha", "threshold", "below_threshold", "note"]


@dataclass(frozen=True)
class Selection:
    """Which records to measure (the saved queries' parameters)."""

    dataset: str = ""
    year_from: int = 0
    year_to: int = 9999

    def params(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "year_from": self.year_from, "year_to": self.year_to}


def _slice(backend: GraphBackend, name: str, selection: Selection) -> pd.DataFrame:
    frame, truncated = saved_frame(backend, name, selection.params())
    if truncated:
        raise MicropathError(f"saved query {name!r} hit its row cap; narrow the selection (--dataset, years)")
    return frame


def codings(backend: GraphBackend, selection: Selection | None = None) -> pd.DataFrame:
    """Every coding of every unit that has a second coding: one row per (unit, coder, value).

    ``role`` is 'own' (the record's value) or 'second' (a CODED_AS edge). Factor values are 'present' or
    'absent'; method, motive and relationship values are common-scheme codes.
    """
    selection = selection or Selection()
    parts = []
    factors = _slice(backend, FACTOR_SLICE, selection)
    if len(factors):
        frames = _factor_frames()
        base = factors.assign(kind="factor", added_in_frame=factors["variable_uid"].map(frames))
        base["variable"] = base["variable_uid"]
        second = base.assign(role="second", value=np.where(base["present"].astype(bool), "present", "absent"))
        own = base[base["primary_present"].notna()].assign(
            role="own", coder=lambda f: f["primary_coder"],
            value=lambda f: np.where(f["primary_present"].astype(bool), "present", "absent"))
        parts += [second, own]
    for variable, name in CONCEPT_SLICES.items():
        rows = _slice(backend, name, selection)
        if not len(rows):
            continue
        base = rows.assign(kind=variable, variable_label=CONCEPT_LABELS[variable], added_in_frame=1)
        second = base.assign(role="second", value=base["value_uid"])
        own = base[base["primary_value_uid"].notna()].assign(
            role="own", coder=lambda f: f["primary_coder"], value=lambda f: f["primary_value_uid"])
        parts += [second, own]
    if not parts:
        return pd.DataFrame(columns=CODING_COLUMNS)
    out = pd.concat([p[CODING_COLUMNS] for p in parts], ignore_index=True)
    # the own value repeats on every second coding's row: keep each coding once
    out = out.drop_duplicates(["uid", "variable", "role", "coder", "value"])
    return out.sort_values(["variable", "uid", "role", "coder", "value"], kind="stable").reset_index(drop=True)


def _factor_frames() -> dict[str, int]:
    """Factor uid -> the coding frame that added it (1 when the ontology does not say)."""
    vocab = get_vocabulary()
    return {c.uid: int(c.get("added_in_frame") or 1)  # type: ignore[call-overload]
            for c in vocab.concepts.values() if c.label_class == "Factor"}


def agreement_table(coded: pd.DataFrame, threshold: float = THRESHOLD) -> pd.DataFrame:
    """One row per variable (columns ``COLUMNS``) from the long table of :func:`codings`."""
    frame, names = _as_codes(coded)
    rows = []
    for variable, group in frame.groupby("variable", sort=True):
        rows.append(_measure(str(variable), group, threshold, names))
    table = pd.DataFrame(rows, columns=COLUMNS)
    order = {"factor": 0, "method": 1, "motive": 2, "relationship": 3}
    table = table.assign(_k=table["kind"].map(order)).sort_values(["_k", "variable"], kind="stable")
    return table.drop(columns="_k").reset_index(drop=True)


def _as_codes(coded: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """``uid``, ``coder`` and ``value`` as integer codes in sorted order (null stays null), so that the
    grouping, counting and sorting below run in numpy instead of on Python strings; and the value names."""
    frame = coded.copy()
    names = np.zeros(0, dtype=object)
    for column in ("uid", "coder", "value"):
        codes, uniques = pd.factorize(frame[column], sort=True)
        frame[column] = codes if (codes >= 0).all() else np.where(codes >= 0, codes, np.nan)
        if column == "value":
            names = np.asarray(uniques, dtype=object)
    return frame, names


def _measure(variable: str, group: pd.DataFrame, threshold: float, names: np.ndarray) -> dict[str, Any]:
    first = group.iloc[0]
    kind = str(first["kind"])
    added = int(first["added_in_frame"])
    label = str(first["variable_label"])
    frame = pd.to_numeric(group["coding_frame_version"], errors="coerce")
    early = frame.notna() & (frame < added)
    excluded = int(group.loc[early, "uid"].nunique())
    group = group[~early]
    per_unit = group.groupby("uid", sort=True)
    sizes = per_unit.size()
    pairable = group[group["uid"].isin(sizes[sizes >= 2].index)]
    row: dict[str, Any] = {
        "variable": variable.rsplit(":", 1)[-1] if kind == "factor" else variable, "label": label,
        "kind": kind, "added_in_frame": added, "cases": int((sizes >= 2).sum()), "codings": len(pairable),
        "coders": int(pairable["coder"].nunique()), "excluded_by_frame": excluded,
        "agreement": None, "kappa": None, "alpha": None, "threshold": threshold,
        "below_threshold": None, "note": "",
    }
    if pairable.empty:
        row["note"] = "no case coded by two coders"
        return row
    values = pairable.groupby("uid", sort=True)["value"]
    row["agreement"] = float((values.nunique() == 1).mean())
    categories = sorted(pairable["value"].unique())
    if len(categories) < 2:
        row["note"] = (f"every coding is {_short(str(names[int(categories[0])]))}: chance agreement is 1, "
                       "kappa and alpha undefined")
        return row
    row["alpha"] = krippendorff_alpha(pairable, categories)
    if values.size().max() == 2:
        row["kappa"] = cohen_kappa(pairable, categories)
    else:
        row["note"] = "some cases have three or more codings: Cohen's kappa is for two coders (see alpha)"
    measures = [m for m in (row["kappa"], row["alpha"]) if m is not None]
    row["below_threshold"] = bool(min(measures) < threshold)
    return row


def _short(value: str) -> str:
    return value.rsplit(":", 1)[-1]


def cohen_kappa(pairable: pd.DataFrame, categories: list[str]) -> float:
    """Cohen's kappa over units with two codings: rater 1 the own value (else the lower coder id)."""
    ordered = pairable.assign(_own=pairable["role"] != "own").sort_values(["uid", "_own", "coder"], kind="stable")
    rater = ordered.groupby("uid", sort=True).cumcount()
    one = ordered.loc[rater == 0].set_index("uid")["value"]
    two = ordered.loc[rater == 1].set_index("uid")["value"]
    return float(cohen_kappa_score(one.to_numpy(), two.loc[one.index].to_numpy(), labels=categories))


def krippendorff_alpha(pairable: pd.DataFrame, categories: list[str]) -> float:
    """Krippendorff's alpha (nominal) from the units x categories counts of the pairable values."""
    _, unit = np.unique(pairable["uid"].to_numpy(), return_inverse=True)
    category = pd.Index(categories).get_indexer(pairable["value"])
    counts = np.zeros((int(unit.max()) + 1 if len(unit) else 0, len(categories)))
    np.add.at(counts, (unit.ravel(), category), 1.0)
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def reliability(backend: GraphBackend, selection: Selection | None = None,
                threshold: float = THRESHOLD) -> pd.DataFrame:
    """Agreement per variable on the double-coded records of ``selection`` (see the module docstring)."""
    if not 0 < threshold <= 1:
        raise MicropathError(f"the threshold must be above 0 and at most 1, not {threshold}")
    return agreement_table(codings(backend, selection), threshold)


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-ready dicts (None for missing), for the CLI and the dashboard."""
    return to_result(table).rows


__all__ = ["COLUMNS", "THRESHOLD", "Selection", "agreement_table", "codings", "cohen_kappa",
           "krippendorff_alpha", "records", "reliability"]
