"""Factor patterns: prevalence, co-occurring pairs, association rules, frequent itemsets, group contrasts.

Every measure starts from an :class:`ItemMatrix` pulled with the saved slice queries
(``patterns.slices``): one row per record of the filtered slice, one column per factor (or per motive,
method or relationship concept), and two boolean matrices, ``coded`` and ``present``.

Denominators (docs/graph-contract.md, "Absent vs not coded"):

- explicit datasets: a factor is coded for a record when it has a ``HAS_FACTOR`` edge (present or
  absent); no edge = not coded, and the record is left out of that factor's denominator (a case coded
  under coding frame 1 never counts in social_media's);
- presence-only datasets (``factor_recording = 'presence_only'``, GVA tags): every factor the dataset
  records somewhere is coded for each of its records, and a missing tag counts as absent;
- a pair (A, B) uses the records where *both* were coded; an itemset the records where all its items
  were coded; a contrast the records of the group / of the rest where the factor was coded.

Statistics: Wilson 95% intervals, Fisher's exact test (two-sided by default: a pair that co-occurs
*less* than chance is reported too; ``lift`` gives the direction; ``alternative='greater'`` asks only
for over-representation), Benjamini–Hochberg q-values over every test of one call (a "family").
All functions are deterministic: rows are totally ordered (ties broken by uids).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from graph_model.backend import GraphBackend
from graph_model.errors import MicropathError
from graph_model.vocab import get_vocabulary
from patterns import itemsets as mining
from patterns import slices
from patterns.slices import DIMENSIONS, Filters
from patterns.stats import benjamini_hochberg, fisher_exact_tests, wilson_interval

FactorLevel = Literal["recorded", "common"]
GroupLevel = Literal["common", "source"]
LABEL_CLASS = {"motive": "Motive", "method": "Method", "relationship": "Relationship", "factor": "Factor",
               "event": "EventType"}


@dataclass
class ItemMatrix:
    """Records x items, with which (record, item) values were coded and which were present.

    ``records``: the slice's records (``patterns.slices.records``), row i of the matrices.
    ``items``: one row per column: ``item_uid``, ``label``, ``scheme``, ``kind``.
    ``coded[i, j]``: item j was coded for record i; ``present[i, j]`` implies ``coded[i, j]``.
    """

    records: pd.DataFrame
    items: pd.DataFrame
    coded: np.ndarray
    present: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.records), len(self.items))
        assert self.coded.shape == shape and self.present.shape == shape, (self.coded.shape, shape)
        assert not (self.present & ~self.coded).any(), "present implies coded"

    @property
    def uids(self) -> list[str]:
        return list(self.items["item_uid"])

    @property
    def labels(self) -> list[str]:
        return list(self.items["label"])


# ---- building the matrices ----------------------------------------------------------------------
def _empty_items() -> pd.DataFrame:
    return pd.DataFrame({"item_uid": pd.Series(dtype=object), "label": pd.Series(dtype=object),
                         "scheme": pd.Series(dtype=object), "kind": pd.Series(dtype=object)})


def factor_matrix(backend: GraphBackend, filters: Filters | None = None,
                  level: FactorLevel = "recorded") -> ItemMatrix:
    """The factors of the filtered records (see the module docstring for what "coded" means).

    ``level='recorded'``: factors as the source recorded them (GVA tags, the Met's domestic-abuse flag,
    the common factors of coded bundles). ``level='common'``: each factor replaced by the common
    (micropathways) factor it maps to; a record has the common factor present when any of its factors
    mapping to it is present, coded when any is coded; factors that map to none are dropped.
    """
    filters = filters or Filters()
    recs = slices.records(backend, filters)
    values = slices.record_factors(backend, filters)
    universe = slices.factor_universe(backend, filters)
    catalogue = slices.factor_catalogue(backend)
    return build_factor_matrix(recs, values, universe, catalogue, level)


def build_factor_matrix(recs: pd.DataFrame, values: pd.DataFrame, universe: pd.DataFrame,
                        catalogue: pd.DataFrame, level: FactorLevel = "recorded") -> ItemMatrix:
    """Pure part of :func:`factor_matrix` (the slices in, the matrices out)."""
    if level not in ("recorded", "common"):
        raise MicropathError(f"level must be 'recorded' or 'common', not {level!r}")
    row = pd.Index(recs["uid"])
    presence_only = recs.loc[recs["factor_recording"] == "presence_only", "dataset"].unique()
    universe = universe[universe["dataset"].isin(presence_only)]
    factor_uids = sorted(set(values["factor_uid"].unique()) | set(universe["factor_uid"].unique()))
    col = pd.Index(factor_uids)
    coded = np.zeros((len(row), len(col)), dtype=bool)
    present = np.zeros_like(coded)
    if len(values):
        r, c = row.get_indexer(values["record_uid"]), col.get_indexer(values["factor_uid"])
        coded[r, c] = True
        hit = values["present"].to_numpy(dtype=bool)
        present[r[hit], c[hit]] = True
    datasets = recs["dataset"].to_numpy()
    for name, group in universe.groupby("dataset"):
        rows = np.flatnonzero(datasets == name)
        cols = col.get_indexer(group["factor_uid"])
        coded[np.ix_(rows, cols)] = True
    info = catalogue.drop_duplicates("factor_uid").set_index("factor_uid")
    items = pd.DataFrame({"item_uid": factor_uids,
                          "label": [_label(info, u) for u in factor_uids],
                          "scheme": [info["scheme"].get(u) for u in factor_uids],
                          "kind": [info["kind"].get(u) for u in factor_uids]}) if factor_uids else _empty_items()
    matrix = ItemMatrix(recs, items, coded, present)
    return matrix if level == "recorded" else _to_common(matrix, catalogue)


def _label(info: pd.DataFrame, uid: str) -> str:
    label = info["label"].get(uid) if len(info) else None
    return str(label) if isinstance(label, str) else uid


def _to_common(matrix: ItemMatrix, catalogue: pd.DataFrame) -> ItemMatrix:
    mapped = catalogue.dropna(subset=["common_uid"])
    mapped = mapped[mapped["factor_uid"].isin(matrix.uids)]
    commons = sorted(mapped["common_uid"].unique())
    position = {u: i for i, u in enumerate(matrix.uids)}
    coded = np.zeros((len(matrix.records), len(commons)), dtype=bool)
    present = np.zeros_like(coded)
    labels, kinds = [], []
    vocab = get_vocabulary()
    for j, common in enumerate(commons):
        sources = [position[u] for u in mapped.loc[mapped["common_uid"] == common, "factor_uid"]]
        coded[:, j] = matrix.coded[:, sources].any(axis=1)
        present[:, j] = matrix.present[:, sources].any(axis=1)
        labels.append(str(mapped.loc[mapped["common_uid"] == common, "common_label"].iloc[0]))
        concept = vocab.concepts.get(("Factor", common))
        kinds.append(concept.get("kind") if concept is not None else None)
    items = pd.DataFrame({"item_uid": commons, "label": labels, "scheme": "micropathways", "kind": kinds}) \
        if commons else _empty_items()
    return ItemMatrix(matrix.records, items, coded, present)


def concept_matrix(backend: GraphBackend, dimension: str, filters: Filters | None = None,
                   level: GroupLevel = "common", recs: pd.DataFrame | None = None) -> ItemMatrix:
    """Motives, methods or relationships as items: coded = the record has one in that dimension,
    present = it has this one. ``level='common'`` uses common codes, ``'source'`` the concepts as recorded."""
    filters = filters or Filters()
    recs = slices.records(backend, filters) if recs is None else recs
    links = group_links(backend, dimension, filters, level)
    row = pd.Index(recs["uid"])
    uids = sorted(links["group"].unique())
    col = pd.Index(uids)
    present = np.zeros((len(row), len(col)), dtype=bool)
    r, c = row.get_indexer(links["record_uid"]), col.get_indexer(links["group"])
    keep = r >= 0
    present[r[keep], c[keep]] = True
    coded = np.repeat(present.any(axis=1, keepdims=True), len(col), axis=1)
    labels = links.drop_duplicates("group").set_index("group")["group_label"]
    items = pd.DataFrame({"item_uid": uids, "label": [labels[u] for u in uids],
                          "scheme": [("micropathways" if level == "common" else u.split(":", 1)[0]) for u in uids],
                          "kind": dimension}) if uids else _empty_items()
    return ItemMatrix(recs, items, coded, present)


def group_links(backend: GraphBackend, dimension: str, filters: Filters | None = None,
                level: GroupLevel = "common") -> pd.DataFrame:
    """``record_uid, group, group_label`` for a motive/method/relationship dimension (distinct rows)."""
    if level not in ("common", "source"):
        raise MicropathError(f"group level must be 'common' or 'source', not {level!r}")
    links = slices.record_concepts(backend, dimension, filters)
    if level == "common":
        links = links.dropna(subset=["common_code"])
        vocab = get_vocabulary()
        label_class = LABEL_CLASS[dimension]
        out = pd.DataFrame({"record_uid": links["record_uid"], "group": links["common_code"],
                            "group_label": [_common_label(vocab, label_class, c) for c in links["common_code"]]})
    else:
        out = pd.DataFrame({"record_uid": links["record_uid"], "group": links["concept_uid"],
                            "group_label": links["concept_label"]})
    return out.drop_duplicates(["record_uid", "group"]).reset_index(drop=True)


def _common_label(vocab: object, label_class: str, code: str) -> str:
    concept = getattr(vocab, "concepts", {}).get((label_class, f"micropathways:{code}"))
    return str(concept.label) if concept is not None else str(code)


# ---- prevalence -----------------------------------------------------------------------------------
def prevalence(backend: GraphBackend, filters: Filters | None = None, *, level: FactorLevel = "recorded",
               confidence: float = 0.95) -> pd.DataFrame:
    """Prevalence of every factor coded in the slice, with a Wilson interval (see :func:`prevalence_of`)."""
    return prevalence_of(factor_matrix(backend, filters, level), confidence=confidence)


def prevalence_of(matrix: ItemMatrix, *, confidence: float = 0.95) -> pd.DataFrame:
    """``factor, factor_uid, scheme, kind, n_present, n_coded, n_not_coded, prevalence, ci_low, ci_high``.

    ``n_coded`` is the denominator: records of the slice where the factor was coded (presence-only
    datasets: all their records); ``n_not_coded`` the records of the slice left out. Ordered by
    prevalence (highest first), then factor uid.
    """
    n_present = matrix.present.sum(axis=0).astype(np.int64)
    n_coded = matrix.coded.sum(axis=0).astype(np.int64)
    low, high = wilson_interval(n_present, n_coded, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n_coded > 0, n_present / np.maximum(n_coded, 1), np.nan)
    out = pd.DataFrame({
        "factor": matrix.labels, "factor_uid": matrix.uids, "scheme": list(matrix.items["scheme"]),
        "kind": list(matrix.items["kind"]), "n_present": n_present, "n_coded": n_coded,
        "n_not_coded": len(matrix.records) - n_coded, "prevalence": share, "ci_low": low, "ci_high": high,
    })
    out = out[out["n_coded"] > 0]
    return _sorted(out, [("prevalence", False), ("factor_uid", True)])


def _sorted(frame: pd.DataFrame, keys: list[tuple[str, bool]]) -> pd.DataFrame:
    """Total, reproducible order: stable sorts from the last key to the first (NaN last)."""
    for column, ascending in reversed(keys):
        frame = frame.sort_values(column, ascending=ascending, kind="stable", na_position="last")
    return frame.reset_index(drop=True)


# ---- pairs and rules ------------------------------------------------------------------------------
def _pair_counts(matrix: ItemMatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, n_ab, n_a_given_b_coded) as item x item matrices of exact integer counts.

    n[a, b]: records where a and b were both coded; n_ab[a, b]: both present; na[a, b]: a present and b
    coded (a present implies a coded), so the n_a of pair (a, b) is na[a, b] and its n_b is na[b, a].
    Dense float64 products (BLAS) are exact for counts below 2**53.
    """
    coded = matrix.coded.astype(np.float64)
    present = matrix.present.astype(np.float64)
    n = np.rint(coded.T @ coded).astype(np.int64)
    n_ab = np.rint(present.T @ present).astype(np.int64)
    na = np.rint(present.T @ coded).astype(np.int64)
    return n, n_ab, na


def pairs(backend: GraphBackend, filters: Filters | None = None, *, level: FactorLevel = "recorded",
          min_count: int = 1, alternative: str = "two-sided") -> pd.DataFrame:
    """Co-occurring factor pairs (see :func:`pairs_of`)."""
    return pairs_of(factor_matrix(backend, filters, level), min_count=min_count, alternative=alternative)


def pairs_of(matrix: ItemMatrix, *, min_count: int = 1, alternative: str = "two-sided") -> pd.DataFrame:
    """Every unordered pair of factors (a before b by uid) coded together in at least one record.

    Columns: ``a, b`` (labels), ``a_uid, b_uid``, ``n`` (records where both were coded: the
    denominator), ``n_a, n_b`` (a / b present among those), ``n_ab`` (both present), ``support`` =
    n_ab/n, ``confidence`` = n_ab/n_a (the rule a → b), ``lift`` = n_ab·n/(n_a·n_b), ``odds_ratio``,
    ``p_value`` (Fisher's exact test on [[n_ab, n_a−n_ab], [n_b−n_ab, n−n_a−n_b+n_ab]]), ``q_value``
    (Benjamini–Hochberg over every pair tested) and ``tested``.

    A pair is tested when its table can vary: 0 < n_a < n and 0 < n_b < n; the others have no p-value.
    Only pairs with n_ab >= min_count are listed, but the BH family is every tested pair (listed or
    not), so hiding rare pairs does not make the correction lighter. Ordered by p-value, lift (highest
    first), then uids.
    """
    frame = _all_pairs(matrix, alternative)
    frame = frame[frame["n_ab"] >= min_count]
    return _sorted(frame, [("p_value", True), ("lift", False), ("a_uid", True), ("b_uid", True)])


PAIR_COLUMNS = ["a", "b", "a_uid", "b_uid", "n_a", "n_b", "n_ab", "n", "support", "confidence", "lift",
                "odds_ratio", "p_value", "q_value", "tested"]


def _all_pairs(matrix: ItemMatrix, alternative: str) -> pd.DataFrame:
    if len(matrix.items) < 2:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    n, n_ab, na = _pair_counts(matrix)
    ia, ib = np.triu_indices(len(matrix.items), k=1)  # items are sorted by uid, so a_uid < b_uid
    nn, nab, n_a, n_b = n[ia, ib], n_ab[ia, ib], na[ia, ib], na[ib, ia]
    keep = nn > 0
    ia, ib, nn, nab, n_a, n_b = ia[keep], ib[keep], nn[keep], nab[keep], n_a[keep], n_b[keep]
    tested = (n_a > 0) & (n_a < nn) & (n_b > 0) & (n_b < nn)
    tables = np.stack([nab, n_a - nab, n_b - nab, nn - n_a - n_b + nab], axis=1)
    odds = np.full(len(nn), np.nan)
    pvalues = np.full(len(nn), np.nan)
    qvalues = np.full(len(nn), np.nan)
    if tested.any():
        odds[tested], pvalues[tested] = fisher_exact_tests(tables[tested], alternative)
        qvalues[tested] = benjamini_hochberg(pvalues[tested])
    with np.errstate(divide="ignore", invalid="ignore"):
        support = nab / nn
        confidence = np.where(n_a > 0, nab / np.maximum(n_a, 1), np.nan)
        lift = np.where((n_a > 0) & (n_b > 0), nab * nn / np.maximum(n_a * n_b, 1), np.nan)
    labels, uids = np.array(matrix.labels, dtype=object), np.array(matrix.uids, dtype=object)
    return pd.DataFrame({
        "a": labels[ia], "b": labels[ib], "a_uid": uids[ia], "b_uid": uids[ib], "n_a": n_a, "n_b": n_b,
        "n_ab": nab, "n": nn, "support": support, "confidence": confidence, "lift": lift, "odds_ratio": odds,
        "p_value": pvalues, "q_value": qvalues, "tested": tested,
    }, columns=PAIR_COLUMNS)


def rules(backend: GraphBackend, filters: Filters | None = None, *, level: FactorLevel = "recorded",
          min_count: int = 1, min_support: float = 0.0, min_confidence: float = 0.0,
          alternative: str = "two-sided") -> pd.DataFrame:
    """Association rules A → B in both directions (see :func:`rules_of`)."""
    return rules_of(factor_matrix(backend, filters, level), min_count=min_count, min_support=min_support,
                    min_confidence=min_confidence, alternative=alternative)


def rules_of(matrix: ItemMatrix, *, min_count: int = 1, min_support: float = 0.0, min_confidence: float = 0.0,
             alternative: str = "two-sided") -> pd.DataFrame:
    """Both rules of every pair: ``antecedent → consequent`` with ``n`` (records where both were coded),
    ``n_antecedent, n_consequent, n_both``, ``support`` = n_both/n, ``confidence`` = n_both/n_antecedent,
    ``lift``, ``leverage`` = support − p(antecedent)·p(consequent), ``conviction`` =
    (1 − p(consequent)) / (1 − confidence) (empty when confidence is 1), and the pair's Fisher
    ``p_value`` / BH ``q_value`` (one test per pair: both directions share it). Rules with n_both >=
    min_count, support >= min_support and confidence >= min_confidence, ordered by confidence, lift
    (highest first), then uids.
    """
    base = _all_pairs(matrix, alternative)
    if base.empty:
        return pd.DataFrame(columns=RULE_COLUMNS)
    halves = []
    for ante, cons in (("a", "b"), ("b", "a")):
        half = pd.DataFrame({
            "antecedent": base[ante], "consequent": base[cons], "antecedent_uid": base[f"{ante}_uid"],
            "consequent_uid": base[f"{cons}_uid"], "n_antecedent": base[f"n_{ante}"],
            "n_consequent": base[f"n_{cons}"], "n_both": base["n_ab"], "n": base["n"],
            "support": base["support"], "p_value": base["p_value"], "q_value": base["q_value"]})
        halves.append(half)
    out = pd.concat(halves, ignore_index=True)
    n = out["n"].to_numpy(dtype=float)
    both, ante, cons = (out[c].to_numpy(dtype=float) for c in ("n_both", "n_antecedent", "n_consequent"))
    with np.errstate(divide="ignore", invalid="ignore"):
        confidence = np.where(ante > 0, both / np.maximum(ante, 1), np.nan)
        p_cons = cons / n
        out["confidence"] = confidence
        out["lift"] = np.where((ante > 0) & (cons > 0), both * n / np.maximum(ante * cons, 1), np.nan)
        out["leverage"] = both / n - (ante / n) * p_cons
        out["conviction"] = np.where(confidence < 1, (1 - p_cons) / (1 - confidence), np.nan)
    keep = (out["n_both"] >= min_count) & (out["support"] >= min_support) & (out["confidence"] >= min_confidence)
    out = out.loc[keep, RULE_COLUMNS]
    return _sorted(out, [("confidence", False), ("lift", False), ("antecedent_uid", True), ("consequent_uid", True)])


RULE_COLUMNS = ["antecedent", "consequent", "antecedent_uid", "consequent_uid", "n_antecedent", "n_consequent",
                "n_both", "n", "support", "confidence", "lift", "leverage", "conviction", "p_value", "q_value"]


# ---- frequent itemsets ----------------------------------------------------------------------------
ITEMSET_COLUMNS = ["itemset", "items", "item_uids", "size", "count", "n", "support", "expected", "lift"]


def itemsets(backend: GraphBackend, filters: Filters | None = None, *, level: FactorLevel = "recorded",
             min_support: float = 0.05, min_count: int = 5, min_len: int = 2, max_len: int | None = 4) -> pd.DataFrame:
    """Frequent factor sets (see :func:`itemsets_of`)."""
    return itemsets_of(factor_matrix(backend, filters, level), min_support=min_support, min_count=min_count,
                       min_len=min_len, max_len=max_len)


def itemsets_of(matrix: ItemMatrix, *, min_support: float = 0.05, min_count: int = 5, min_len: int = 2,
                max_len: int | None = 4) -> pd.DataFrame:
    """Sets of factors present together: every set S with min_len <= |S| <= max_len, ``count`` (records
    with all of S present) >= min_count and ``support`` = count / n >= min_support, where ``n`` is the
    records where every factor of S was coded (not coded ≠ absent, as everywhere).

    ``expected`` is the support S would have if its factors were independent (the product of each
    factor's prevalence among those same n records) and ``lift`` = support / expected.

    Candidates come from mlxtend's FP-growth run per stratum of records with similar coding (cases coded
    under the same coding frame), each with a count threshold that can never miss a set the stratum makes
    frequent (``patterns.itemsets``); each candidate's count, n and support are then computed exactly over
    all records. Ordered by support (highest first), size (largest first), then uids.
    """
    if min_count < 1:
        raise MicropathError("min_count must be at least 1")
    if not 0 <= min_support <= 1:
        raise MicropathError("min_support must be between 0 and 1")
    n_records = matrix.present.shape[0]
    usable = np.flatnonzero(matrix.present.sum(axis=0) >= min_count)
    if n_records == 0 or len(usable) < max(min_len, 1):
        return pd.DataFrame(columns=ITEMSET_COLUMNS)
    coded, present = matrix.coded[:, usable], matrix.present[:, usable]
    longest = len(usable) if max_len is None else min(max_len, len(usable))
    found = mining.candidates(coded, present, min_support=min_support, min_len=min_len, longest=longest)
    coded_bits, present_bits = mining.pack(coded), mining.pack(present)
    parts = []
    for size in sorted({len(s) for s in found}):
        sets = np.array([s for s in found if len(s) == size], dtype=np.intp).reshape(-1, size)
        n, count, singles = mining.exact_counts(coded_bits, present_bits, sets)
        keep = (n > 0) & (count >= min_count) & (count >= min_support * n - 1e-12)
        parts.append(_itemset_rows(matrix, usable[sets[keep]], n[keep], count[keep], singles[keep]))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ITEMSET_COLUMNS)
    out["_key"] = out["item_uids"].map(lambda u: "\x00".join(u))
    out = _sorted(out, [("support", False), ("size", False), ("_key", True)])
    return out.drop(columns="_key")


def _itemset_rows(matrix: ItemMatrix, sets: np.ndarray, n: np.ndarray, count: np.ndarray,
                  singles: np.ndarray) -> pd.DataFrame:
    """ITEMSET_COLUMNS for sets (m x k item indices) with their exact counts."""
    labels, uids = np.array(matrix.labels, dtype=object), np.array(matrix.uids, dtype=object)
    expected = np.prod(singles / n[:, None], axis=1)
    support = count / n
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(expected > 0, support / expected, np.nan)
    items = [list(row) for row in labels[sets]]
    return pd.DataFrame({
        "itemset": [" + ".join(row) for row in items], "items": items,
        "item_uids": [list(row) for row in uids[sets]], "size": sets.shape[1], "count": count, "n": n,
        "support": support, "expected": expected, "lift": lift}, columns=ITEMSET_COLUMNS)


# ---- contrasts ------------------------------------------------------------------------------------
CONTRAST_COLUMNS = ["by", "group", "group_label", "item", "item_uid", "n_group", "present_group", "prevalence_group",
                    "n_rest", "present_rest", "prevalence_rest", "lift", "odds_ratio", "p_value", "q_value"]


def contrasts(backend: GraphBackend, filters: Filters | None = None, *, by: str = "motive", items: str = "factor",
              factor_level: FactorLevel = "recorded", group_level: GroupLevel = "common",
              alternative: str = "two-sided", min_group: int = 1) -> pd.DataFrame:
    """Items (factors by default; or motive / method / relationship concepts) over- or under-represented
    in each motive, method or relationship group against the rest (see :func:`contrasts_of`)."""
    if by not in DIMENSIONS:
        raise MicropathError(f"by must be one of {DIMENSIONS}, not {by!r}")
    if items != "factor" and items not in DIMENSIONS:
        raise MicropathError(f"items must be 'factor' or one of {DIMENSIONS}, not {items!r}")
    if items == by:
        raise MicropathError("items and by must differ")
    filters = filters or Filters()
    if items == "factor":
        matrix = factor_matrix(backend, filters, factor_level)
    else:
        matrix = concept_matrix(backend, items, filters, group_level)
    links = group_links(backend, by, filters, group_level)
    return contrasts_of(matrix, links, by=by, alternative=alternative, min_group=min_group)


def contrasts_of(matrix: ItemMatrix, links: pd.DataFrame, *, by: str = "motive", alternative: str = "two-sided",
                 min_group: int = 1) -> pd.DataFrame:
    """For each group g (a row of ``links``: record_uid, group, group_label) and item f: among the
    records of the slice that have at least one group in this dimension, compare the records of g
    with the rest, each restricted to the records where f was coded: ``n_group`` / ``present_group``,
    ``n_rest`` / ``present_rest``, the two prevalences, ``lift`` = prevalence in g / prevalence in both,
    Fisher's exact test on [[present_group, n_group − present_group], [present_rest, n_rest − present_rest]]
    (``odds_ratio`` > 1: over-represented in g) and BH ``q_value`` over every (group, item) tested.
    Records with no group in the dimension take no part; a record with two groups is in both.
    Tested (and listed) when both sides have coded records and f is neither never nor always present
    among them; groups smaller than min_group records are skipped. Ordered by p-value, lift, group, item.
    """
    row = pd.Index(matrix.records["uid"])
    links = links[row.get_indexer(links["record_uid"]) >= 0]
    groups = sorted(links["group"].unique())
    if not groups or matrix.coded.shape[1] == 0:
        return pd.DataFrame(columns=CONTRAST_COLUMNS)
    gcol = pd.Index(groups)
    member = np.zeros((len(row), len(groups)), dtype=bool)
    member[row.get_indexer(links["record_uid"]), gcol.get_indexer(links["group"])] = True
    eligible = member.any(axis=1)
    member_f = member[eligible].astype(np.float64)
    coded_f = matrix.coded[eligible].astype(np.float64)
    present_f = matrix.present[eligible].astype(np.float64)
    n_group = np.rint(member_f.T @ coded_f).astype(np.int64)  # groups x items
    k_group = np.rint(member_f.T @ present_f).astype(np.int64)
    n_total = np.rint(coded_f.sum(axis=0)).astype(np.int64)
    k_total = np.rint(present_f.sum(axis=0)).astype(np.int64)
    size = member.sum(axis=0)
    grid = np.meshgrid(np.arange(len(groups)), np.arange(matrix.coded.shape[1]), indexing="ij")
    g_idx, f_idx = grid[0].ravel(), grid[1].ravel()
    ng, kg = n_group[g_idx, f_idx], k_group[g_idx, f_idx]
    nt, kt = n_total[f_idx], k_total[f_idx]
    nr, kr = nt - ng, kt - kg
    keep = (ng > 0) & (nr > 0) & (kt > 0) & (kt < nt) & (size[g_idx] >= min_group)
    g_idx, f_idx, ng, kg, nr, kr, nt, kt = (a[keep] for a in (g_idx, f_idx, ng, kg, nr, kr, nt, kt))
    tables = np.stack([kg, ng - kg, kr, nr - kr], axis=1)
    odds, pvalues = fisher_exact_tests(tables, alternative) if len(tables) else (np.zeros(0), np.zeros(0))
    labels = links.drop_duplicates("group").set_index("group")["group_label"]
    out = pd.DataFrame({
        "by": by, "group": np.array(groups, dtype=object)[g_idx],
        "group_label": [labels[groups[g]] for g in g_idx],
        "item": np.array(matrix.labels, dtype=object)[f_idx], "item_uid": np.array(matrix.uids, dtype=object)[f_idx],
        "n_group": ng, "present_group": kg, "prevalence_group": kg / ng,
        "n_rest": nr, "present_rest": kr, "prevalence_rest": kr / nr,
        "lift": (kg / ng) / (kt / nt), "odds_ratio": odds, "p_value": pvalues,
        "q_value": benjamini_hochberg(pvalues),
    }, columns=CONTRAST_COLUMNS)
    return _sorted(out, [("p_value", True), ("lift", False), ("group", True), ("item_uid", True)])
