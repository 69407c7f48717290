"""Factor patterns (patterns.factors, patterns.similarity, `micropath patterns …`) against independent answers.

Every test runs on both engines (the ``backend`` fixture: a fresh LadybugDB file and a real Neo4j) on data
loaded through the real loaders: a seeded synthetic coded bundle (cases coded under frame 1, where social
media and the night-time economy are not coded, and scattered ``not_recorded`` values) and the hand-made
fixture graph (``tests/graph_fixtures.py``: a presence-only dataset of GVA-like tags, source schemes that
reach the common ones through MAPS_TO). Expected figures are computed here from the bundle's CSV files (or
from the fixture's plain Python cases) with pandas, the formulas written out (Wilson, Benjamini–Hochberg
step-up, Jaccard), scipy's Fisher test on 2x2 tables counted by hand, brute-force enumeration of factor
sets, and networkx's Louvain run on a similarity graph built by brute force. Counts must be equal, floats
within 1e-9.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from statistics import NormalDist
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from scipy.stats import fisher_exact

from cli.main import main
from graph_model.backend import GraphBackend
from graph_model.vocab import get_vocabulary
from loaders.base import load
from loaders.synthetic import write_bundle
from patterns import factors, similarity
from patterns.slices import Filters
from tests.conftest import open_fresh
from tests.graph_fixtures import CASES, DATASETS, write_fixture

MP = "micropathways:"
TOL = 1e-9
SEED = 3
NAME = f"synthetic-s{SEED}"


# ---- data ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(tmp_path_factory.mktemp("patterns") / "bundle", cases=300, seed=SEED)


class Truth:
    """What the measures must give, from the coded bundle's CSV files (never from the graph)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.cases = pd.read_csv(folder / "cases.csv", dtype=str, keep_default_na=False)
        self.cases["uid"] = name + ":" + self.cases["case_id"]
        self.cases["year"] = self.cases["year"].astype(int)
        values = pd.read_csv(folder / "factors.csv", dtype=str, keep_default_na=False)
        values = values[values["value"] != "not_recorded"]
        values = values.assign(uid=name + ":" + values["case_id"], factor=MP + values["factor"],
                               present=values["value"] == "present")
        # records x factors: 1.0 present, 0.0 absent, NaN not coded
        self.table = (values.pivot(index="uid", columns="factor", values="present").astype(float)
                      .reindex(sorted(self.cases["uid"])))
        self.table = self.table[sorted(self.table.columns)]
        events = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False)
        self.events = events.assign(uid=name + ":" + events["case_id"])

    def subset(self, keep: pd.Series) -> pd.DataFrame:
        return self.table.loc[sorted(self.cases.loc[keep, "uid"])]


@pytest.fixture(scope="module")
def truth(bundle: Path) -> Truth:
    return Truth(bundle, NAME)


def label(uid: str) -> str:
    scheme, code = uid.split(":", 1)
    return get_vocabulary().lookup("Factor", scheme, code).label


def wilson(k: int, n: int) -> tuple[float, float]:
    z = NormalDist().inv_cdf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bh_step_up(pvalues: list[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values, textbook: q_(i) = min_{j>=i} p_(j) m / j, capped at 1."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * m / rank)
        q[i] = running
    return q


def close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= TOL


# ---- prevalence, denominators, filters ----------------------------------------------------------
def expected_prevalence(table: pd.DataFrame) -> dict[str, tuple[int, int]]:
    return {f: (int((table[f] == 1).sum()), int(table[f].notna().sum())) for f in table.columns
            if table[f].notna().any()}


def check_prevalence(frame: pd.DataFrame, table: pd.DataFrame) -> None:
    expected = expected_prevalence(table)
    assert set(frame["factor_uid"]) == set(expected)
    for row in frame.itertuples():
        k, n = expected[row.factor_uid]
        assert (row.n_present, row.n_coded, row.n_not_coded) == (k, n, len(table) - n)
        assert row.factor == label(row.factor_uid)
        assert close(row.prevalence, k / n)
        low, high = wilson(k, n)
        assert close(row.ci_low, low) and close(row.ci_high, high)
    shares = list(frame["prevalence"])
    assert shares == sorted(shares, reverse=True)


def test_prevalence_uses_coded_denominators_and_filters(backend: GraphBackend, bundle: Path, truth: Truth) -> None:
    load("coded", bundle, backend)
    check_prevalence(factors.prevalence(backend), truth.table)

    # a case coded under frame 1 never counts in social_media's denominator
    frame_1 = truth.cases.loc[truth.cases["coding_frame_version"] == "1", "uid"]
    assert len(frame_1) > 10
    social = factors.prevalence(backend).set_index("factor_uid").loc[MP + "social_media"]
    assert social["n_coded"] == truth.table[MP + "social_media"].notna().sum() < len(truth.table)
    assert truth.table.loc[frame_1, MP + "social_media"].isna().all()
    one = factors.prevalence(backend, Filters(uid=frame_1.iloc[0]))
    assert MP + "social_media" not in set(one["factor_uid"]) and len(one) > 3

    c = truth.cases
    for filters, keep in [
        (Filters(dataset=NAME), c["uid"] == c["uid"]),
        (Filters(year_from=2018, year_to=2020), c["year"].between(2018, 2020)),
        (Filters(year_from=2022), c["year"] >= 2022),
        (Filters(area="E09000028"), c["area_code"] == "E09000028"),
        (Filters(area="E12000007"), c["uid"] == c["uid"]),  # London contains every borough
        (Filters(motive="theft_gain"), c["motive"] == "theft_gain"),
        (Filters(method="shooting"), c["method"] == "shooting"),
        (Filters(relationship="partner_ex_partner"), c["relationship"] == "partner_ex_partner"),
        (Filters(method="sharp_instrument", relationship="stranger", year_to=2021),
         (c["method"] == "sharp_instrument") & (c["relationship"] == "stranger") & (c["year"] <= 2021)),
    ]:
        assert keep.sum() > 5, filters
        check_prevalence(factors.prevalence(backend, filters), truth.subset(keep))
    assert factors.prevalence(backend, Filters(dataset="no-such-dataset")).empty


def fixture_truth() -> tuple[pd.DataFrame, dict[str, set[str]]]:
    """The fixture graph's factor values: records x factors (1 / 0 / NaN), presence-only tags absent."""
    recording = {d.name: d.factor_recording for d in DATASETS}
    universe: dict[str, set[str]] = {}
    for case in CASES:
        if recording[case.dataset] == "presence_only":
            universe.setdefault(case.dataset, set()).update(case.factors)
    columns = sorted({f for case in CASES for f in case.factors})
    rows = {}
    for case in CASES:
        row = {}
        for f in columns:
            if f in case.factors:
                row[f] = 1.0 if case.factors[f] else 0.0
            elif f in universe.get(case.dataset, set()):
                row[f] = 0.0  # presence-only: a missing tag is absent
            else:
                row[f] = math.nan
        rows[case.uid] = row
    return pd.DataFrame.from_dict(rows, orient="index")[columns].sort_index(), universe


def test_presence_only_tags_count_missing_as_absent(backend: GraphBackend) -> None:
    write_fixture(backend)
    table, universe = fixture_truth()
    assert universe["fx-tags"] == {MP + "alcohol", MP + "gang_involvement", "fx:bar_fight"}
    frame = factors.prevalence(backend).set_index("factor_uid")
    for f, (k, n) in expected_prevalence(table).items():
        assert (frame.loc[f, "n_present"], frame.loc[f, "n_coded"]) == (k, n), f
    # every fx-tags incident is in the denominator of each tag the dataset uses, tagged or not
    tags = factors.prevalence(backend, Filters(dataset="fx-tags")).set_index("factor_uid")
    assert tags["n_coded"].to_dict() == {MP + "alcohol": 4, MP + "gang_involvement": 4, "fx:bar_fight": 4}
    assert tags["n_present"].to_dict() == {MP + "alcohol": 1, MP + "gang_involvement": 2, "fx:bar_fight": 1}
    pairs = factors.pairs(backend, Filters(dataset="fx-tags"), min_count=0)
    assert set(zip(pairs["a_uid"], pairs["b_uid"], pairs["n"], pairs["n_ab"], strict=True)) == {
        ("fx:bar_fight", MP + "alcohol", 4, 1), ("fx:bar_fight", MP + "gang_involvement", 4, 1),
        (MP + "alcohol", MP + "gang_involvement", 4, 1)}
    # the common level merges the tag "Bar fight" into alcohol (present if either is present)
    common = factors.prevalence(backend, Filters(dataset="fx-tags"), level="common").set_index("factor_uid")
    assert common["n_present"].to_dict() == {MP + "alcohol": 1, MP + "gang_involvement": 2}
    # the Met's domestic-abuse flag maps to the common factor
    src = factors.prevalence(backend, Filters(dataset="fx-src"), level="common").set_index("factor_uid")
    assert src.loc[MP + "domestic_abuse", ["n_present", "n_coded"]].tolist() == [1, 2]
    # incident kinds: only the homicides among the tagged incidents (Homicides always kept)
    kinds = factors.prevalence(backend, Filters(dataset="fx-tags", incident_kinds=("homicide",)))
    assert kinds.set_index("factor_uid")["n_coded"].to_dict() == {
        MP + "alcohol": 2, MP + "gang_involvement": 2, "fx:bar_fight": 2}


# ---- pairs and rules -----------------------------------------------------------------------------
def expected_pairs(table: pd.DataFrame, alternative: str = "two-sided") -> pd.DataFrame:
    rows = []
    for a, b in combinations(table.columns, 2):
        both = table[[a, b]].dropna()
        n = len(both)
        if n == 0:
            continue
        n_a, n_b = int((both[a] == 1).sum()), int((both[b] == 1).sum())
        n_ab = int(((both[a] == 1) & (both[b] == 1)).sum())
        tested = 0 < n_a < n and 0 < n_b < n
        p = fisher_exact([[n_ab, n_a - n_ab], [n_b - n_ab, n - n_a - n_b + n_ab]],
                         alternative=alternative).pvalue if tested else math.nan
        rows.append({"a_uid": a, "b_uid": b, "n": n, "n_a": n_a, "n_b": n_b, "n_ab": n_ab, "p_value": p,
                     "tested": tested})
    frame = pd.DataFrame(rows)
    tested = frame["tested"]
    frame["q_value"] = math.nan
    frame.loc[tested, "q_value"] = bh_step_up(list(frame.loc[tested, "p_value"]))
    return frame.set_index(["a_uid", "b_uid"])


def test_pairs_and_rules_match_hand_counts(backend: GraphBackend, bundle: Path, truth: Truth) -> None:
    load("coded", bundle, backend)
    for alternative in ("two-sided", "greater"):
        expected = expected_pairs(truth.table, alternative)
        got = factors.pairs(backend, min_count=0, alternative=alternative)
        assert len(got) == len(expected) == 66  # every pair of the 12 factors is coded together somewhere
        for row in got.itertuples():
            want = expected.loc[(row.a_uid, row.b_uid)]
            assert row.a_uid < row.b_uid and (row.a, row.b) == (label(row.a_uid), label(row.b_uid))
            assert (row.n, row.n_a, row.n_b, row.n_ab, row.tested) == (
                want["n"], want["n_a"], want["n_b"], want["n_ab"], want["tested"])
            assert close(row.support, row.n_ab / row.n)
            assert close(row.confidence, row.n_ab / row.n_a)
            assert close(row.lift, row.n_ab * row.n / (row.n_a * row.n_b))
            assert close(row.p_value, want["p_value"]) and close(row.q_value, want["q_value"])
    # the denominator of a pair is the records where both were coded: social media leaves frame 1 out
    pair = got.set_index(["a_uid", "b_uid"]).loc[(MP + "alcohol", MP + "social_media")]
    assert pair["n"] == truth.table[[MP + "alcohol", MP + "social_media"]].dropna().shape[0] < len(truth.table)

    # listing fewer pairs does not change the BH family
    listed = factors.pairs(backend, min_count=20)
    assert 0 < len(listed) < 66 and (listed["n_ab"] >= 20).all()
    full = factors.pairs(backend, min_count=0).set_index(["a_uid", "b_uid"])
    for row in listed.itertuples():
        assert row.q_value == full.loc[(row.a_uid, row.b_uid), "q_value"]

    rules = factors.rules(backend, min_confidence=0.3, min_count=5)
    pairs = factors.pairs(backend, min_count=0).set_index(["a_uid", "b_uid"])
    seen = 0
    for a, b in pairs.index:
        p = pairs.loc[(a, b)]
        for ante, cons, n_ante, n_cons in ((a, b, p["n_a"], p["n_b"]), (b, a, p["n_b"], p["n_a"])):
            confidence = p["n_ab"] / n_ante
            listed_rule = rules[(rules["antecedent_uid"] == ante) & (rules["consequent_uid"] == cons)]
            if confidence < 0.3 or p["n_ab"] < 5:
                assert listed_rule.empty
                continue
            seen += 1
            r = listed_rule.iloc[0]
            assert (r["n_antecedent"], r["n_consequent"], r["n_both"], r["n"]) == (n_ante, n_cons, p["n_ab"], p["n"])
            assert close(r["confidence"], confidence)
            assert close(r["lift"], confidence / (n_cons / p["n"]))
            assert close(r["leverage"], p["n_ab"] / p["n"] - (n_ante / p["n"]) * (n_cons / p["n"]))
            if confidence < 1:
                assert close(r["conviction"], (1 - n_cons / p["n"]) / (1 - confidence))
            else:  # a narrower factor implies its broader one: confidence 1, no conviction
                assert math.isnan(r["conviction"]) and cons == MP + "drugs"
                assert ante in (MP + "drug_addiction_history", MP + "drugs_in_lead_up")
            assert close(r["p_value"], p["p_value"]) and close(r["q_value"], p["q_value"])
    assert seen == len(rules) > 10
    assert list(rules["confidence"]) == sorted(rules["confidence"], reverse=True)


# ---- frequent itemsets ---------------------------------------------------------------------------
def brute_force_itemsets(table: pd.DataFrame, min_support: float, min_count: int, min_len: int,
                         max_len: int) -> dict[tuple[str, ...], tuple[int, int, float]]:
    out = {}
    values = {f: table[f].to_numpy() for f in table.columns}
    for size in range(min_len, max_len + 1):
        for items in combinations(table.columns, size):
            coded = np.all([~np.isnan(values[f]) for f in items], axis=0)
            present = np.all([values[f] == 1 for f in items], axis=0)
            n, count = int(coded.sum()), int(present.sum())
            if n and count >= min_count and count / n >= min_support:
                expected = float(np.prod([(values[f][coded] == 1).sum() / n for f in items]))
                out[items] = (count, n, expected)
    return out


@pytest.mark.parametrize(("min_support", "min_count", "min_len", "max_len"),
                         [(0.05, 3, 2, 4), (0.1, 1, 1, None), (0.01, 8, 3, 5)])
def test_itemsets_match_brute_force(backend: GraphBackend, bundle: Path, truth: Truth, min_support: float,
                                    min_count: int, min_len: int, max_len: int | None) -> None:
    load("coded", bundle, backend)
    got = factors.itemsets(backend, min_support=min_support, min_count=min_count, min_len=min_len, max_len=max_len)
    want = brute_force_itemsets(truth.table, min_support, min_count, min_len, max_len or truth.table.shape[1])
    assert len(want) > 20
    assert {tuple(u) for u in got["item_uids"]} == set(want)
    for row in got.itertuples():
        count, n, expected = want[tuple(row.item_uids)]
        assert (row.count, row.n, row.size) == (count, n, len(row.item_uids))
        assert row.items == [label(u) for u in row.item_uids]
        assert close(row.support, count / n) and close(row.expected, expected)
        assert close(row.lift, count / n / expected)
    assert list(got["support"]) == sorted(got["support"], reverse=True)


def level_wise_itemsets(table: pd.DataFrame, min_support: float, min_count: int, min_len: int,
                        max_len: int) -> dict[tuple[str, ...], tuple[int, int, float]]:
    """Every factor set with count >= min_count, grown one factor at a time (count only falls as a set grows,
    so this misses none), then kept when its support among the records that coded it is >= min_support."""
    columns = list(table.columns)
    present = {f: table[f].to_numpy() == 1 for f in columns}
    coded = {f: table[f].notna().to_numpy() for f in columns}
    level = [(f,) for f in columns if present[f].sum() >= min_count]
    out = {}
    while level and len(level[0]) <= max_len:
        grown = []
        for items in level:
            all_present = np.all([present[f] for f in items], axis=0)
            all_coded = np.all([coded[f] for f in items], axis=0)
            count, n = int(all_present.sum()), int(all_coded.sum())
            if len(items) >= min_len and count / n >= min_support:
                out[items] = (count, n, float(np.prod([(present[f] & all_coded).sum() / n for f in items])))
            grown += [(*items, f) for f in columns[columns.index(items[-1]) + 1:]
                      if (all_present & present[f]).sum() >= min_count]
        level = grown
    return out


@pytest.mark.parametrize(("min_support", "min_count", "min_len", "max_len"),
                         [(0.05, 5, 2, 4), (0.2, 10, 1, None), (0.02, 12, 3, 6)])
def test_itemsets_with_later_frame_factors_use_the_coded_denominator(
        backend: GraphBackend, tmp_path: Path, min_support: float, min_count: int, min_len: int,
        max_len: int | None) -> None:
    """Coding frame 3: 30 factors, 18 of them not coded for the cases coded under frames 1 and 2 (and values
    not recorded here and there). Each set's support is among the cases that coded all of it, so a set of
    frame-3 factors can be frequent although it is rare among all cases; the result must be every such set."""
    name = "synthetic-s17"
    load("coded", write_bundle(tmp_path / "f3", cases=900, seed=17, coding_frame=3), backend)
    truth = Truth(tmp_path / "f3", name)
    assert truth.table.shape[1] == 30 and truth.table.isna().mean().max() > 0.3  # later-frame factors
    got = factors.itemsets(backend, Filters(dataset=name), min_support=min_support, min_count=min_count,
                           min_len=min_len, max_len=max_len)
    want = level_wise_itemsets(truth.table, min_support, min_count, min_len, max_len or 30)
    assert len(want) > 20
    assert {tuple(u) for u in got["item_uids"]} == set(want)
    for row in got.itertuples():
        count, n, expected = want[tuple(row.item_uids)]
        assert (row.count, row.n, row.size) == (count, n, len(row.item_uids))
        assert close(row.support, count / n) and close(row.expected, expected)
        assert close(row.lift, count / n / expected)
    # sets that only the honest denominator finds: frequent among the cases that coded them, not among all
    honest_only = got[(got["n"] < len(truth.table)) & (got["count"] < min_support * len(truth.table))]
    assert len(honest_only) > 0


# ---- contrasts -----------------------------------------------------------------------------------
def test_contrasts_match_hand_counts(backend: GraphBackend, bundle: Path, truth: Truth) -> None:
    load("coded", bundle, backend)
    vocab = get_vocabulary()
    for by, alternative in (("motive", "two-sided"), ("relationship", "greater"), ("method", "two-sided")):
        group_of = truth.cases.set_index("uid")[by].reindex(truth.table.index)
        rows = []
        for g in sorted(group_of.unique()):
            inside = (group_of == g).to_numpy()
            for f in truth.table.columns:
                v = truth.table[f].to_numpy()
                coded = ~np.isnan(v)
                ng, kg = int((coded & inside).sum()), int(((v == 1) & inside).sum())
                nr, kr = int((coded & ~inside).sum()), int(((v == 1) & ~inside).sum())
                if ng == 0 or nr == 0 or kg + kr in (0, ng + nr):
                    continue
                p = fisher_exact([[kg, ng - kg], [kr, nr - kr]], alternative=alternative).pvalue
                rows.append({"group": g, "item_uid": f, "n_group": ng, "present_group": kg, "n_rest": nr,
                             "present_rest": kr, "p_value": p, "lift": (kg / ng) / ((kg + kr) / (ng + nr))})
        want = pd.DataFrame(rows)
        want["q_value"] = bh_step_up(list(want["p_value"]))
        want = want.set_index(["group", "item_uid"])
        got = factors.contrasts(backend, by=by, alternative=alternative)
        assert len(got) == len(want) > 30
        for row in got.itertuples():
            w = want.loc[(row.group, row.item_uid)]
            assert (row.by, row.n_group, row.present_group, row.n_rest, row.present_rest) == (
                by, w["n_group"], w["present_group"], w["n_rest"], w["present_rest"])
            assert row.group_label == vocab.lookup(by.capitalize(), "micropathways", row.group).label
            assert close(row.lift, w["lift"]) and close(row.p_value, w["p_value"]) and close(row.q_value, w["q_value"])
            assert close(row.prevalence_group, w["present_group"] / w["n_group"])


def test_contrasts_of_concepts_and_source_groups(backend: GraphBackend) -> None:
    """Motives as items by relationship group, as the sources coded them (the SHR-style question)."""
    write_fixture(backend)
    got = factors.contrasts(backend, by="relationship", items="motive", group_level="source", alternative="greater")
    coded = [c for c in CASES if c.motive and c.relationship]
    row = got.set_index(["group", "item_uid"]).loc[("fx:acquaintance", "fx:brawl")]
    inside = [c for c in coded if c.relationship == "fx:acquaintance"]
    rest = [c for c in coded if c.relationship != "fx:acquaintance"]
    kg, kr = sum(c.motive == "fx:brawl" for c in inside), sum(c.motive == "fx:brawl" for c in rest)
    assert (row["n_group"], row["present_group"], row["n_rest"], row["present_rest"]) == (
        len(inside), kg, len(rest), kr) == (1, 1, 5, 0)
    assert close(row["p_value"], fisher_exact([[kg, len(inside) - kg], [kr, len(rest) - kr]], "greater").pvalue)
    assert row["group_label"] == "Acquaintance" and row["item"] == "Brawl"


# ---- similarity and clusters ---------------------------------------------------------------------
def truth_features(truth: Truth) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
    present = {u: {f for f in truth.table.columns if truth.table.loc[u, f] == 1} for u in truth.table.index}
    coded = {u: {f for f in truth.table.columns if not math.isnan(truth.table.loc[u, f])} for u in truth.table.index}
    other = {r.uid: {f"motive:{r.motive}", f"method:{r.method}"} for r in truth.cases.itertuples()}
    for r in truth.events.itertuples():
        other[r.uid].add(f"event:{r.event_type}")
    return present, coded, other


def jaccard(u: str, v: str, present: dict[str, set[str]], coded: dict[str, set[str]],
            other: dict[str, set[str]]) -> tuple[float, int]:
    shared = len(present[u] & present[v]) + len(other[u] & other[v])
    union = (len(present[u] & coded[v]) + len(present[v] & coded[u]) - len(present[u] & present[v])
             + len(other[u] | other[v]))
    return (shared / union if union else 0.0), shared


def test_similar_matches_brute_force_jaccard(backend: GraphBackend, bundle: Path, truth: Truth) -> None:
    load("coded", bundle, backend)
    present, coded, other = truth_features(truth)
    uids = sorted(present)
    for query, filters, pool in [
        (uids[7], Filters(), uids),
        (uids[7], Filters(year_from=2022), sorted(truth.cases.loc[truth.cases["year"] >= 2022, "uid"])),
    ]:
        scored = [(v, *jaccard(query, v, present, coded, other)) for v in pool if v != query]
        scored = [s for s in scored if s[1] > 0]
        scored.sort(key=lambda s: (-s[1], -s[2], s[0]))
        got = similarity.similar(backend, query, filters, k=12)
        assert list(got["uid"]) == [s[0] for s in scored[:12]]
        for row, (_uid, jac, shared) in zip(got.itertuples(), scored, strict=False):
            assert close(row.jaccard, jac) and row.n_shared == shared == len(row.shared)
    assert truth.cases.set_index("uid").loc[uids[7], "year"] < 2022  # the second query was outside its slice
    with pytest.raises(Exception, match="no record with uid"):
        similarity.similar(backend, "no-such:1")


def test_clusters_are_louvain_on_the_similarity_graph(backend: GraphBackend, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "small", cases=120, seed=8)
    truth = Truth(folder, "synthetic-s8")
    load("coded", folder, backend)
    present, coded, other = truth_features(truth)
    uids = sorted(present)
    threshold, neighbours = 0.4, 6
    edges: dict[tuple[int, int], float] = {}
    for i, u in enumerate(uids):
        scores = [(jaccard(u, v, present, coded, other)[0], j) for j, v in enumerate(uids) if j != i]
        for jac, j in sorted(scores, key=lambda s: (-s[0], s[1]))[:neighbours]:
            if jac >= threshold:
                edges[(min(i, j), max(i, j))] = jac
    graph = nx.Graph()
    graph.add_nodes_from(range(len(uids)))
    graph.add_weighted_edges_from((i, j, w) for (i, j), w in sorted(edges.items()))
    want = {frozenset(uids[i] for i in c) for c in nx.community.louvain_communities(graph, weight="weight", seed=7)}

    found = similarity.clusters(backend, threshold=threshold, neighbours=neighbours, seed=7, min_size=5, top=50)
    got = {frozenset(g["uid"]) for _, g in found.members.groupby("cluster")}
    assert got == want and len(got) > 2
    assert found.summary["edges"] == len(edges) and not found.summary["sampled"]
    sizes = found.members["cluster"].value_counts()
    assert list(sizes.sort_index()) == sorted(sizes, reverse=True)  # numbered by size
    # each described feature: its prevalence in the cluster vs the rest, counted by hand
    members = found.members.set_index("uid")["cluster"]
    for row in found.description.itertuples():
        inside = [u for u in uids if members[u] == row.cluster]
        rest = [u for u in uids if members[u] != row.cluster]
        if row.kind == "factor":
            f = row.feature.removeprefix("factor:")
            ni, nr = [u for u in inside if f in coded[u]], [u for u in rest if f in coded[u]]
            ki, kr = sum(f in present[u] for u in ni), sum(f in present[u] for u in nr)
        else:
            ni, nr = inside, rest
            ki, kr = sum(row.feature in other[u] for u in ni), sum(row.feature in other[u] for u in nr)
        assert (row.size, row.n_cluster, row.present_cluster) == (len(inside), len(ni), ki)
        assert close(row.prevalence_rest, kr / len(nr))
        assert close(row.lift, (ki / len(ni)) / ((ki + kr) / (len(ni) + len(nr))))
        assert row.lift > 1
        assert close(row.p_value, fisher_exact([[ki, len(ni) - ki], [kr, len(nr) - kr]], "greater").pvalue)

    sampled = similarity.clusters(backend, threshold=threshold, neighbours=neighbours, max_records=50, seed=7)
    assert sampled.summary["sampled"] and len(sampled.members) == 50
    chosen = np.sort(np.random.default_rng(7).choice(len(uids), size=50, replace=False))
    assert sorted(sampled.members["uid"]) == [uids[i] for i in chosen]


# ---- the same answers on both engines ------------------------------------------------------------
@pytest.fixture
def both(tmp_path: Path, request: pytest.FixtureRequest, bundle: Path) -> Iterator[dict[str, GraphBackend]]:
    opened = {kind: open_fresh(kind, tmp_path, request) for kind in ("embedded", "neo4j")}
    try:
        for backend in opened.values():
            write_fixture(backend)
            load("coded", bundle, backend)
        yield opened
    finally:
        for backend in opened.values():
            backend.close()


def all_measures(backend: GraphBackend, truth: Truth) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for name, filters in [("all", Filters()), ("tags", Filters(dataset="fx-tags")),
                          ("slice", Filters(year_from=2019, area="E12000007", method="sharp_instrument"))]:
        matrix = factors.factor_matrix(backend, filters)
        out[f"records {name}"] = matrix.records
        out[f"prevalence {name}"] = factors.prevalence_of(matrix)
        out[f"pairs {name}"] = factors.pairs_of(matrix, min_count=0)
        out[f"rules {name}"] = factors.rules_of(matrix)
        out[f"itemsets {name}"] = factors.itemsets_of(matrix, min_support=0.02, min_count=2)
        out[f"common {name}"] = factors.prevalence(backend, filters, level="common")
        for by in ("motive", "method", "relationship"):
            out[f"contrasts {by} {name}"] = factors.contrasts(backend, filters, by=by)
    out["similar"] = similarity.similar(backend, truth.cases["uid"].iloc[3], k=20)
    found = similarity.clusters(backend, threshold=0.4, max_records=200)
    out["cluster members"], out["cluster description"] = found.members, found.description
    return out


def test_both_engines_give_identical_frames(both: dict[str, GraphBackend], truth: Truth) -> None:
    embedded, neo4j = (all_measures(both[k], truth) for k in ("embedded", "neo4j"))
    assert embedded.keys() == neo4j.keys()
    for name, frame in embedded.items():
        assert_frame_equal(frame, neo4j[name], check_dtype=False, check_exact=True, obj=name)
    assert len(embedded["pairs all"]) > 66 and len(embedded["cluster members"]) == 200


# ---- the CLI -------------------------------------------------------------------------------------
def test_cli_pairs_json_shape(backend: GraphBackend, bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load("coded", bundle, backend)
    expected = factors.pairs(backend, Filters(dataset=NAME))
    uri = backend.uri
    backend.close()  # the CLI opens the database itself (read-only)
    assert main(["patterns", "pairs", "--db", uri, "--dataset", NAME, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert "SYNTHETIC" in err
    required = ["a", "b", "n_a", "n_b", "n_ab", "n", "support", "confidence", "lift", "p_value", "q_value"]
    assert len(rows) == len(expected) > 0
    for row, want in zip(rows, expected.to_dict("records"), strict=True):
        assert set(required) <= set(row)
        assert isinstance(row["a"], str) and isinstance(row["n_ab"], int) and isinstance(row["p_value"], float)
        for key in required:
            assert row[key] == want[key] or close(row[key], want[key])

    def run(*argv: str) -> str:
        assert main(["patterns", *argv, "--db", uri]) == 0, argv
        return capsys.readouterr().out

    prevalence = json.loads(run("prevalence", "--format", "json", "--year-from", "2020"))
    assert {"factor", "n_present", "n_coded", "prevalence", "ci_low", "ci_high"} <= set(prevalence[0])
    assert run("rules", "--min-confidence", "0.5").splitlines()[0].startswith("antecedent")
    assert run("itemsets", "--format", "csv").splitlines()[0].startswith("itemset,items,item_uids,size")
    assert json.loads(run("contrasts", "--by", "relationship", "--format", "json"))[0]["by"] == "relationship"
    similar = json.loads(run("similar", f"{NAME}:SYN-000005", "-k", "3", "--format", "json"))
    assert len(similar) == 3 and isinstance(similar[0]["shared"], list)
    members = json.loads(run("clusters", "--members", "--max-records", "100", "--format", "json"))
    assert len(members) == 100 and set(members[0]) == {"uid", "dataset", "year", "cluster"}
    assert main(["patterns", "contrasts", "--by", "motive", "--items", "motive", "--db", uri]) == 1


# ---- the planted pattern is found ----------------------------------------------------------------
def test_planted_patterns_are_significant_on_synthetic_data(backend: GraphBackend, tmp_path: Path) -> None:
    """The generator plants gang involvement with social media and alcohol with the night-time economy."""
    folder = write_bundle(tmp_path / "planted", cases=2000, seed=21)
    load("coded", folder, backend)
    got = factors.pairs(backend, Filters(dataset="synthetic-s21")).set_index(["a_uid", "b_uid"])
    for pair in [(MP + "gang_involvement", MP + "social_media"), (MP + "alcohol", MP + "night_time_economy")]:
        row: Any = got.loc[pair]
        assert row["q_value"] < 0.001 and row["lift"] > 1.5, (pair, row.to_dict())
    # and they are not artefacts of the denominators: both factors coded, frame-1 cases left out
    assert got.loc[(MP + "gang_involvement", MP + "social_media"), "n"] < 2000
