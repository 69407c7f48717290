"""Homicide similarity (Jaccard over situational features) and clusters of similar homicides.

Each record of the slice is described by a set of features:

- ``factor:<uid>`` for every factor present (factors as recorded, see ``patterns.factors``);
- ``motive:<code>``, ``method:<code>`` for its common motive(s) and method(s);
- ``event:<code>`` for every common event type in its micropathway (the set of steps, not their order).

Similarity of records u and v is the Jaccard index |F_u ∩ F_v| / |F_u ∪ F_v|, made coding-aware for
factors: a factor counts in the union only if it was coded for both records. A case coded under frame 1
(social media not coded) is neither rewarded nor penalised for social media against a frame-2 case.
Formally, with P = present factors, C = coded factors and G = the other features,

    J(u, v) = (|P_u ∩ P_v| + |G_u ∩ G_v|) / (|P_u ∩ C_v| + |P_v ∩ C_u| − |P_u ∩ P_v| + |G_u ∪ G_v|)

(0 when the union is empty). For one record against all others this is a few sparse matrix-vector
products, O(non-zeros), never O(n²). Clusters: the similarity graph (an edge where J >= threshold, weight
J) of the slice, or of a seeded uniform random sample of ``max_records`` records when the slice is
larger, split into communities with networkx's Louvain method (fixed seed), each described by the
features over-represented in it against the rest of the (sampled) records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse

from graph_model.backend import GraphBackend
from graph_model.errors import MicropathError
from graph_model.vocab import get_vocabulary
from patterns import slices
from patterns.factors import ItemMatrix, _sorted, build_factor_matrix
from patterns.slices import Filters
from patterns.stats import benjamini_hochberg, fisher_exact_tests

FEATURE_KINDS = ("factor", "motive", "method", "event")


@dataclass
class Features:
    """Records x features of a slice: ``present`` (CSR, factors and the other features) and
    ``coded`` (CSR, same columns; meaningful for factors only: motives, methods and event types are
    compared over every record)."""

    records: pd.DataFrame  # uid, dataset, year, ... (row i)
    features: pd.DataFrame  # feature, kind, item_uid, label (column j)
    present: sparse.csr_matrix
    coded: sparse.csr_matrix
    is_factor: np.ndarray  # bool per column

    @property
    def uids(self) -> list[str]:
        return list(self.records["uid"])


def slice_frames(backend: GraphBackend, filters: Filters | None = None) -> dict[str, pd.DataFrame]:
    """The raw slices a similarity needs: records, factor values, presence-only universes, the factor
    catalogue, and the other features (``record_uid, kind, item_uid, label``)."""
    filters = filters or Filters()
    others = []
    vocab = get_vocabulary()
    for dimension in ("motive", "method"):
        links = slices.record_concepts(backend, dimension, filters).dropna(subset=["common_code"])
        label_class = dimension.capitalize()
        others.append(pd.DataFrame({
            "record_uid": links["record_uid"], "kind": dimension, "item_uid": links["common_code"],
            "label": [_vocab_label(vocab, label_class, c) for c in links["common_code"]]}))
    events = slices.record_event_types(backend, filters)
    others.append(pd.DataFrame({"record_uid": events["record_uid"], "kind": "event", "item_uid": events["event_type"],
                                "label": events["event_type_label"]}))
    return {"records": slices.records(backend, filters), "values": slices.record_factors(backend, filters),
            "universe": slices.factor_universe(backend, filters), "catalogue": slices.factor_catalogue(backend),
            "others": pd.concat(others, ignore_index=True)}


def features_from(frames: dict[str, pd.DataFrame]) -> Features:
    factors = build_factor_matrix(frames["records"], frames["values"], frames["universe"], frames["catalogue"])
    return build_features(factors, frames["others"])


def features(backend: GraphBackend, filters: Filters | None = None) -> Features:
    """The features of every record of the slice."""
    return features_from(slice_frames(backend, filters))


def _vocab_label(vocab: Any, label_class: str, code: str) -> str:
    concept = vocab.concepts.get((label_class, f"micropathways:{code}"))
    return str(concept.label) if concept is not None else str(code)


def build_features(factors: ItemMatrix, others: pd.DataFrame) -> Features:
    """Combine the factor matrix with the other features (``record_uid, kind, item_uid, label`` rows)."""
    recs = factors.records
    row = pd.Index(recs["uid"])
    others = others[row.get_indexer(others["record_uid"]) >= 0].drop_duplicates(["record_uid", "kind", "item_uid"])
    others = others.assign(feature=others["kind"] + ":" + others["item_uid"])
    other_cols = others.drop_duplicates("feature").sort_values("feature", kind="stable")
    factor_cols = pd.DataFrame({"feature": ["factor:" + u for u in factors.uids], "kind": "factor",
                                "item_uid": factors.uids, "label": factors.labels})
    columns = pd.concat([factor_cols, other_cols[["feature", "kind", "item_uid", "label"]]], ignore_index=True)
    n_f = len(factor_cols)
    o_rows = row.get_indexer(others["record_uid"])
    o_cols = n_f + pd.Index(other_cols["feature"]).get_indexer(others["feature"])
    fr, fc = np.nonzero(factors.present)
    cr, cc = np.nonzero(factors.coded)
    shape = (len(row), len(columns))
    ones = np.ones
    present = sparse.csr_matrix((ones(len(fr) + len(o_rows)), (np.r_[fr, o_rows], np.r_[fc, o_cols])), shape=shape)
    coded = sparse.csr_matrix((ones(len(cr) + len(o_rows)), (np.r_[cr, o_rows], np.r_[cc, o_cols])), shape=shape)
    is_factor = np.zeros(len(columns), dtype=bool)
    is_factor[:n_f] = True
    return Features(recs, columns, present, coded, is_factor)


def _split(feat: Features) -> tuple[sparse.csr_matrix, sparse.csr_matrix, sparse.csr_matrix]:
    """(present factors, coded factors, other features) as CSR float matrices."""
    f = np.flatnonzero(feat.is_factor)
    g = np.flatnonzero(~feat.is_factor)
    return (feat.present[:, f].tocsr().astype(np.float64), feat.coded[:, f].tocsr().astype(np.float64),
            feat.present[:, g].tocsr().astype(np.float64))


def jaccard_to(feat: Features, query: Features) -> np.ndarray:
    """Coding-aware Jaccard of every record of ``feat`` with the single record of ``query``
    (which must have the same feature columns)."""
    pf, cf, g = _split(feat)
    qpf, qcf, qg = _split(query)
    qpf_v, qcf_v, qg_v = (np.asarray(m.toarray()).ravel() for m in (qpf, qcf, qg))
    inter_f = pf @ qpf_v
    inter_g = g @ qg_v
    union = cf @ qpf_v + pf @ qcf_v - inter_f + qg_v.sum() + np.asarray(g.sum(axis=1)).ravel() - inter_g
    inter = inter_f + inter_g
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


SIMILAR_COLUMNS = ["uid", "dataset", "year", "jaccard", "n_shared", "shared"]


def similar(backend: GraphBackend, uid: str, filters: Filters | None = None, *, k: int = 10,
            min_jaccard: float = 0.0) -> pd.DataFrame:
    """The k records of the slice most similar to record ``uid`` (which need not be in the slice).

    Columns: ``uid, dataset, year, jaccard, n_shared, shared`` (the shared features, as
    ``kind: label``). Records with nothing in common are left out, and so is ``uid`` itself. Ordered by
    Jaccard (highest first), shared count, then uid.
    """
    frames = slice_frames(backend, filters)
    if uid not in set(frames["records"]["uid"]):
        own = slice_frames(backend, Filters(uid=uid))
        if own["records"].empty:
            raise MicropathError(f"no record with uid {uid!r}")
        frames = {name: pd.concat([frames[name], own[name]], ignore_index=True).drop_duplicates(
            subset=None if name != "records" else ["uid"]) for name in frames}
        frames["records"] = frames["records"].sort_values("uid", kind="stable").reset_index(drop=True)
    return similar_of(features_from(frames), uid, k=k, min_jaccard=min_jaccard)


def similar_of(feat: Features, uid: str, *, k: int = 10, min_jaccard: float = 0.0) -> pd.DataFrame:
    """Top-k of :func:`similar` on features already built (``uid`` must be one of their records)."""
    position = feat.uids.index(uid)
    query = _restrict(feat, [position])
    scores = jaccard_to(feat, query)
    keep = np.flatnonzero((scores >= min_jaccard) & (scores > 0) & (np.arange(len(scores)) != position))
    shared_m = feat.present[keep].multiply(query.present[0]).tocsr()
    n_shared = np.asarray(shared_m.sum(axis=1)).ravel().astype(int)
    recs = feat.records
    out = pd.DataFrame({"uid": recs["uid"].to_numpy()[keep], "dataset": recs["dataset"].to_numpy()[keep],
                        "year": recs["year"].to_numpy()[keep], "jaccard": scores[keep], "n_shared": n_shared,
                        "_row": np.arange(len(keep))})
    out = _sorted(out, [("jaccard", False), ("n_shared", False), ("uid", True)]).head(k)
    names = (feat.features["kind"] + ": " + feat.features["label"]).to_numpy()
    out["shared"] = [list(names[np.sort(shared_m[r].indices)]) for r in out["_row"]]
    return out[SIMILAR_COLUMNS].reset_index(drop=True)


def _restrict(feat: Features, rows: list[int] | np.ndarray) -> Features:
    rows = np.asarray(rows)
    return Features(feat.records.iloc[rows].reset_index(drop=True), feat.features, feat.present[rows],
                    feat.coded[rows], feat.is_factor)


# ---- clusters -------------------------------------------------------------------------------------
@dataclass
class Clusters:
    members: pd.DataFrame  # uid, dataset, year, cluster
    description: pd.DataFrame  # cluster, size, feature, kind, label, ... (over-represented features)
    summary: dict[str, Any] = field(default_factory=dict)


DESCRIPTION_COLUMNS = ["cluster", "size", "kind", "feature", "label", "n_cluster", "present_cluster",
                       "prevalence_cluster", "prevalence_rest", "lift", "p_value", "q_value"]


def clusters(backend: GraphBackend, filters: Filters | None = None, *, threshold: float = 0.5,
             neighbours: int = 15, max_records: int = 5000, seed: int = 42, resolution: float = 1.0,
             min_size: int = 5, top: int = 5) -> Clusters:
    """Clusters of similar records (see :func:`clusters_of`)."""
    return clusters_of(features(backend, filters), threshold=threshold, neighbours=neighbours,
                       max_records=max_records, seed=seed, resolution=resolution, min_size=min_size, top=top)


def sample_rows(n: int, max_records: int, seed: int) -> np.ndarray:
    """All rows when n <= max_records, else a uniform random sample without replacement (seeded), sorted."""
    if n <= max_records:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_records, replace=False))


def similarity_edges(feat: Features, threshold: float, neighbours: int = 15, block: int = 1000) -> pd.DataFrame:
    """``i, j, jaccard`` (i < j) of the similarity graph of ``feat``'s rows: each row is joined to its
    ``neighbours`` most similar rows with coding-aware Jaccard >= threshold (ties: lower row first), the
    union of those links kept once (a k-nearest-neighbour graph). ``neighbours = 0``: every pair above
    the threshold. Computed in row blocks (memory: block x n)."""
    pf, cf, g = _split(feat)
    # two products per block: shared = |P_i ∩ P_j| + |G_i ∩ G_j| and
    # union − |G_i| − |G_j| = |P_i ∩ C_j| + |C_i ∩ P_j| − |P_i ∩ P_j| − |G_i ∩ G_j|
    left_shared = _dense_if_narrow(sparse.hstack([pf, g]).tocsr())
    left_union = _dense_if_narrow(sparse.hstack([pf, cf, -pf, -g]).tocsr())
    right_shared, right_union = (_transposed(m) for m in (left_shared, _dense_if_narrow(
        sparse.hstack([cf, pf, pf, g]).tocsr())))
    g_size = np.asarray(g.sum(axis=1)).ravel()
    n = pf.shape[0]
    out_i, out_j, out_w = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    for start in range(0, n, block):
        stop = min(n, start + block)
        shared = _array(left_shared[start:stop] @ right_shared)
        union = _array(left_union[start:stop] @ right_union)
        union += g_size[start:stop, None]
        union += g_size[None, :]
        jac = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
        local = np.arange(stop - start)
        jac[local, local + start] = -1.0  # never a self-loop
        if neighbours > 0:
            rows, cols = np.nonzero(_top_k(jac, neighbours) & (jac >= threshold))
        else:
            rows, cols = np.nonzero(jac >= threshold)
        weights = jac[rows, cols]
        rows = rows + start
        out_i.append(np.minimum(rows, cols))
        out_j.append(np.maximum(rows, cols))
        out_w.append(weights)
    edges = pd.DataFrame({"i": np.concatenate(out_i), "j": np.concatenate(out_j), "jaccard": np.concatenate(out_w)})
    edges = edges.drop_duplicates(["i", "j"]).sort_values(["i", "j"], kind="stable")
    return edges.reset_index(drop=True)


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Mask of each row's k largest values, ties to the lower column (what a stable descending sort keeps),
    found with a partition instead of a sort."""
    if k >= values.shape[1]:
        return np.ones(values.shape, dtype=bool)
    kth = -np.partition(-values, k - 1, axis=1)[:, k - 1:k]  # each row's k-th largest value
    above = values > kth
    tied = values == kth
    room = k - above.sum(axis=1, keepdims=True)
    return above | (tied & (np.cumsum(tied, axis=1) <= room))


DENSE_FEATURES = 2000  # feature matrices at most this wide are multiplied dense (exact counts in float64)


def _dense_if_narrow(matrix: sparse.csr_matrix) -> sparse.csr_matrix | np.ndarray:
    return matrix.toarray() if matrix.shape[1] <= DENSE_FEATURES else matrix


def _transposed(matrix: sparse.csr_matrix | np.ndarray) -> sparse.csc_matrix | np.ndarray:
    return matrix.T if isinstance(matrix, np.ndarray) else matrix.T.tocsc()


def _array(product: Any) -> np.ndarray:
    return product if isinstance(product, np.ndarray) else product.toarray()


def clusters_of(feat: Features, *, threshold: float = 0.5, neighbours: int = 15, max_records: int = 5000,
                seed: int = 42, resolution: float = 1.0, min_size: int = 5, top: int = 5) -> Clusters:
    """Louvain communities of the similarity graph (:func:`similarity_edges`: each record linked to its
    ``neighbours`` nearest records with Jaccard >= threshold; of the slice, or of a seeded uniform random
    sample of ``max_records`` records when the slice is larger), numbered 1, 2, … by size (largest first, ties by
    smallest member uid). Records with no edge form clusters of one and are not described.

    Description: for each cluster of at least ``min_size`` records and each feature, Fisher's exact test
    (one-sided, 'greater': is the feature commoner inside the cluster than among the other sampled
    records?) on the records where the feature was coded, BH q-values over all (cluster, feature) tests;
    the ``top`` features with lift > 1 per cluster are listed, by q-value then lift. The clusters are
    found from the same features, so these p-values describe, they do not confirm.
    """
    if not 0 < threshold <= 1:
        raise MicropathError("threshold must be in (0, 1]")
    rows = sample_rows(len(feat.records), max_records, seed)
    sub = _restrict(feat, rows)
    edges = similarity_edges(sub, threshold, neighbours)
    graph = nx.Graph()
    uids = sub.uids
    graph.add_nodes_from(range(len(uids)))
    graph.add_weighted_edges_from(zip(edges["i"].tolist(), edges["j"].tolist(), edges["jaccard"].tolist(),
                                      strict=True))
    communities = nx.community.louvain_communities(graph, weight="weight", resolution=resolution, seed=seed)
    ordered = sorted((sorted(c) for c in communities), key=lambda c: (-len(c), uids[c[0]]))
    label = np.zeros(len(uids), dtype=int)
    for number, members in enumerate(ordered, 1):
        label[members] = number
    members_frame = pd.DataFrame({"uid": uids, "dataset": sub.records["dataset"].to_numpy(),
                                  "year": sub.records["year"].to_numpy(), "cluster": label})
    members_frame = _sorted(members_frame, [("cluster", True), ("uid", True)])
    description = describe_clusters(sub, label, min_size=min_size, top=top)
    sizes = np.bincount(label)[1:] if len(label) else np.zeros(0, int)
    summary = {"records_in_slice": len(feat.records), "records_clustered": len(uids),
               "sampled": len(uids) < len(feat.records), "seed": seed, "threshold": threshold,
               "neighbours": neighbours,
               "resolution": resolution, "edges": len(edges), "clusters": len(ordered),
               "clusters_of_min_size": int((sizes >= min_size).sum()), "singletons": int((sizes == 1).sum())}
    return Clusters(members_frame, description, summary)


def describe_clusters(feat: Features, label: np.ndarray, *, min_size: int = 5, top: int = 5) -> pd.DataFrame:
    """Features over-represented in each cluster against the rest (see :func:`clusters_of`)."""
    sizes = np.bincount(label, minlength=1)
    chosen = [c for c in range(1, len(sizes)) if sizes[c] >= min_size]
    if not chosen or feat.present.shape[1] == 0:
        return pd.DataFrame(columns=DESCRIPTION_COLUMNS)
    member = sparse.csr_matrix((np.ones(len(label)), (np.arange(len(label)), label)),
                               shape=(len(label), len(sizes)))[:, chosen]
    present = feat.present.astype(np.float64)
    coded = feat.coded.astype(np.float64)
    n_in = np.rint((member.T @ coded).toarray()).astype(np.int64)  # clusters x features
    k_in = np.rint((member.T @ present).toarray()).astype(np.int64)
    n_all = np.rint(np.asarray(coded.sum(axis=0)).ravel()).astype(np.int64)
    n_in[:, ~feat.is_factor] = sizes[chosen][:, None]  # motive, method, event: every record counts
    n_all[~feat.is_factor] = len(label)
    k_all = np.rint(np.asarray(present.sum(axis=0)).ravel()).astype(np.int64)
    c_idx, f_idx = (a.ravel() for a in np.meshgrid(np.arange(len(chosen)), np.arange(present.shape[1]), indexing="ij"))
    ni, ki = n_in[c_idx, f_idx], k_in[c_idx, f_idx]
    nr, kr = n_all[f_idx] - ni, k_all[f_idx] - ki
    keep = (ni > 0) & (nr > 0) & (k_all[f_idx] > 0) & (k_all[f_idx] < n_all[f_idx])
    c_idx, f_idx, ni, ki, nr, kr = (a[keep] for a in (c_idx, f_idx, ni, ki, nr, kr))
    _odds, pvalues = fisher_exact_tests(np.stack([ki, ni - ki, kr, nr - kr], axis=1), "greater") \
        if len(ni) else (np.zeros(0), np.zeros(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = (ki / ni) / ((ki + kr) / (ni + nr))
    cols = feat.features
    out = pd.DataFrame({
        "cluster": np.array(chosen)[c_idx], "size": sizes[np.array(chosen)[c_idx]],
        "kind": cols["kind"].to_numpy()[f_idx], "feature": cols["feature"].to_numpy()[f_idx],
        "label": cols["label"].to_numpy()[f_idx], "n_cluster": ni, "present_cluster": ki,
        "prevalence_cluster": ki / ni, "prevalence_rest": np.where(nr > 0, kr / np.maximum(nr, 1), np.nan),
        "lift": lift, "p_value": pvalues, "q_value": benjamini_hochberg(pvalues)}, columns=DESCRIPTION_COLUMNS)
    out = out[out["lift"] > 1]
    out = _sorted(out, [("cluster", True), ("q_value", True), ("lift", False), ("feature", True)])
    return out.groupby("cluster", sort=False).head(top).reset_index(drop=True)
