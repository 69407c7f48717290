"""An in-memory index of every record, so that any filter setting is answered in milliseconds.

Built once per version of the graph from the pattern layer's slices (``patterns.slices``,
``patterns.similarity.slice_frames``) and the saved query ``area_records``: the records, their factor
matrix (``patterns.factors.ItemMatrix``: coded and present, "not coded" kept apart from "absent"), their
similarity features, their motive / method / relationship concepts and the areas that contain them.
A filter (``patterns.slices.Filters``) becomes a boolean mask over the records, with the same rules as
the slice queries' WHERE clauses (a test checks the two agree); the measures (prevalence, pairs with
Fisher + Benjamini–Hochberg, similarity) are then the pattern layer's own functions on the masked rows.

Why: pulling a slice from the engine takes seconds at 100,000 homicides (the factor co-occurrence alone
~1.5 s embedded); masking a matrix takes milliseconds, so filters stay interactive and the unfiltered and
filtered cases are computed the same way (no approximation, no separate tallies to keep in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from graph_model.backend import GraphBackend
from graph_model.vocab import get_vocabulary
from patterns import similarity, slices
from patterns.factors import ItemMatrix, build_factor_matrix
from patterns.slices import DIMENSIONS, Filters
from queries.runner import run_saved_query

COMMON = "micropathways"
ANY_FROM, ANY_TO = 0, 9999  # the slice queries' "any year" bounds
LABEL_CLASS = {"motive": "Motive", "method": "Method", "relationship": "Relationship"}


@dataclass
class CaseIndex:
    """Every record (row i of each array) with what the dashboard filters and measures on."""

    records: pd.DataFrame  # uid, dataset, factor_recording, synthetic, year, kind, area_code
    factors: ItemMatrix  # rows = records
    features: similarity.Features  # rows = records
    concepts: dict[str, pd.DataFrame]  # dim -> row, concept_uid, concept_label, common_code, label
    areas: pd.DataFrame  # area_uid, area_code, area, level, n_records
    area_rows: dict[str, np.ndarray]  # area_uid -> record rows (the area and every area inside it)
    fingerprint: Any = None
    synthetic_datasets: frozenset[str] = frozenset()  # the Dataset nodes that say synthetic = true
    _row: pd.Index = field(init=False)

    def __post_init__(self) -> None:
        self._row = pd.Index(self.records["uid"])

    def __len__(self) -> int:
        return len(self.records)

    def synthetic_in(self, mask: np.ndarray) -> list[str]:
        """Datasets among the masked records that are synthetic (their Dataset node says so, or a record
        does)."""
        recs = self.records[mask]
        flagged = set(recs.loc[recs["synthetic"].fillna(False).astype(bool), "dataset"])
        return sorted((set(recs["dataset"]) & self.synthetic_datasets) | flagged)

    def row_of(self, uid: str) -> int | None:
        pos = self._row.get_indexer([uid])[0]
        return None if pos < 0 else int(pos)

    # ---- filters -------------------------------------------------------------------------------
    def mask(self, filters: Filters) -> np.ndarray:
        """Rows matching ``filters`` (same rules as the slice queries; see ``patterns.slices``)."""
        recs = self.records
        keep = np.ones(len(recs), dtype=bool)
        if filters.dataset:
            keep &= (recs["dataset"] == filters.dataset).to_numpy()
        if filters.uid:
            keep &= (recs["uid"] == filters.uid).to_numpy()
        start = ANY_FROM if filters.year_from is None else int(filters.year_from)
        end = ANY_TO if filters.year_to is None else int(filters.year_to)
        years = pd.to_numeric(recs["year"], errors="coerce").to_numpy(dtype=float)
        missing = np.isnan(years)
        in_range = ~missing & (years >= start) & (years <= end)
        keep &= in_range | (missing & (start == ANY_FROM) & (end == ANY_TO))
        if filters.incident_kinds:
            kinds = recs["kind"]
            keep &= (kinds.isna() | kinds.isin(list(filters.incident_kinds))).to_numpy()
        for dim in DIMENSIONS:
            value = getattr(filters, dim)
            if value:
                keep &= self._concept_rows(dim, value)
        if filters.area:
            keep &= self._area_rows(filters.area)
        return keep

    def _concept_rows(self, dim: str, value: str) -> np.ndarray:
        links = self.concepts[dim]
        common = links["common_code"].fillna("")
        hit = (links["concept_uid"] == value) | (common == value) | ((COMMON + ":" + common) == value)
        out = np.zeros(len(self.records), dtype=bool)
        out[links.loc[hit, "row"].to_numpy(dtype=int)] = True
        return out

    def _area_rows(self, value: str) -> np.ndarray:
        out = np.zeros(len(self.records), dtype=bool)
        hit = self.areas[(self.areas["area_uid"] == value) | (self.areas["area_code"] == value)]
        for uid in hit["area_uid"]:
            out[self.area_rows[uid]] = True
        return out

    # ---- measures on a mask --------------------------------------------------------------------
    def factor_matrix(self, mask: np.ndarray) -> ItemMatrix:
        """The factor matrix of the masked records, with the factors coded among them (as
        ``patterns.factors.factor_matrix`` would build it from the same slice)."""
        coded = self.factors.coded[mask]
        present = self.factors.present[mask]
        used = coded.any(axis=0)
        return ItemMatrix(self.factors.records[mask].reset_index(drop=True),
                          self.factors.items[used].reset_index(drop=True), coded[:, used], present[:, used])

    def rows_with(self, mask: np.ndarray, factor_uids: list[str]) -> np.ndarray:
        """Masked rows where every factor of ``factor_uids`` is present."""
        keep = mask.copy()
        position = pd.Index(self.factors.uids).get_indexer(factor_uids)
        for pos in position:
            if pos < 0:
                return np.zeros(0, dtype=int)
            keep &= self.factors.present[:, pos]
        return np.flatnonzero(keep)

    def concept_counts(self, dim: str, mask: np.ndarray) -> pd.DataFrame:
        """``code, label, records`` of dimension ``dim`` among the masked records (common concepts;
        a source concept mapped to none counts under its own label)."""
        links = self.concepts[dim]
        links = links[mask[links["row"].to_numpy(dtype=int)]]
        if links.empty:
            return pd.DataFrame({"code": [], "label": [], "records": []})
        code = links["common_code"].where(links["common_code"].notna(), links["concept_uid"])
        frame = pd.DataFrame({"code": code, "label": links["label"], "row": links["row"]}).drop_duplicates(
            ["code", "row"])
        out = frame.groupby(["code", "label"], as_index=False).agg(records=("row", "nunique"))
        return out.sort_values(["records", "code"], ascending=[False, True], kind="stable").reset_index(drop=True)

    def similar(self, uid: str, mask: np.ndarray, k: int = 10) -> pd.DataFrame:
        """The k masked records most similar to ``uid`` (``patterns.similarity.similar_of``)."""
        own = self.row_of(uid)
        if own is None:
            return pd.DataFrame(columns=similarity.SIMILAR_COLUMNS)
        rows = np.flatnonzero(mask | (np.arange(len(mask)) == own))
        feat = self.features
        if len(rows) == len(mask):  # every record: no copy
            return similarity.similar_of(feat, uid, k=k)
        part = similarity.Features(feat.records.iloc[rows].reset_index(drop=True), feat.features,
                                   feat.present[rows], feat.coded[rows], feat.is_factor)
        return similarity.similar_of(part, uid, k=k)


# ---- building ---------------------------------------------------------------------------------------
def build(backend: GraphBackend, fingerprint: Any = None, synthetic_datasets: frozenset[str] = frozenset()
          ) -> CaseIndex:
    """Pull every record's slices from the graph (seconds at 100,000 records; done once per version)."""
    frames = similarity.slice_frames(backend)
    matrix = build_factor_matrix(frames["records"], frames["values"], frames["universe"], frames["catalogue"])
    feats = similarity.build_features(matrix, frames["others"])
    recs = matrix.records.reset_index(drop=True)
    row = pd.Index(recs["uid"])
    vocab = get_vocabulary()
    concepts = {}
    for dim in DIMENSIONS:
        links = slices.record_concepts(backend, dim)
        rows = row.get_indexer(links["record_uid"])
        links = links[rows >= 0].assign(row=rows[rows >= 0])
        labels = {c: _common_label(vocab, LABEL_CLASS[dim], c) for c in links["common_code"].dropna().unique()}
        links["label"] = [labels[c] if isinstance(c, str) else lab
                          for c, lab in zip(links["common_code"], links["concept_label"], strict=True)]
        concepts[dim] = links.reset_index(drop=True)
    result = run_saved_query(backend, "area_records", {}, max_rows=slices.ROW_CAP)
    areas = pd.DataFrame([{k: r[k] for k in ("area_uid", "area_code", "area", "level", "n_records")}
                          for r in result.rows], columns=["area_uid", "area_code", "area", "level", "n_records"])
    area_rows = {}
    for r in result.rows:
        found = row.get_indexer(list(r["records"]))
        area_rows[str(r["area_uid"])] = found[found >= 0]
    return CaseIndex(recs, matrix, feats, concepts, areas, area_rows, fingerprint, frozenset(synthetic_datasets))


def _common_label(vocab: Any, label_class: str, code: str) -> str:
    concept = vocab.concepts.get((label_class, f"{COMMON}:{code}"))
    return str(concept.label) if concept is not None else str(code)
