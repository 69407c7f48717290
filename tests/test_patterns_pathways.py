"""Micropathway analytics (patterns/pathways.py, `micropath pathways …`) on both engines.

The main data is a coded bundle written here (docs/coded-format.md) from the plain Python table PATHWAYS.
Every expected figure is computed in this file from that table with plain loops and textbook formulas —
Counter over consecutive pairs for transitions, Haberman's adjusted residual cell by cell, brute-force
enumeration of contiguous windows and of every index combination for sub-sequences, a dict of prefixes
for the divergence tree, sorted lists for quartiles, exact binomial tails with math.comb — never with the
pandas/numpy/prefixspan code under test. Counts must be equal, floats within 1e-9. Every test using the
``backend`` fixture runs on LadybugDB and on Neo4j; the synthetic test loads both engines and demands
identical tables.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cli.main import main as micropath
from graph_model.backend import GraphBackend
from graph_model.embedded import EmbeddedBackend
from graph_model.neo4j_backend import Neo4jBackend
from graph_model.vocab import get_vocabulary
from loaders.base import load
from loaders.synthetic import write_bundle as write_synthetic
from patterns import pathways
from patterns.pathways import Filters, load_slice
from queries.runner import run_saved_query
from tests import graph_fixtures as fx

TOL = 1e-9
CASE_COLUMNS = ["case_id", "year", "month", "area_code", "solved", "method", "motive", "relationship",
                "coding_frame_version", "coder"]
CONFLICT = {c.code for c in get_vocabulary().scheme_concepts("EventType", "micropathways") if c.get("conflict_event")}
LABEL = {c.code: c.label for c in get_vocabulary().scheme_concepts("EventType", "micropathways")}

Step = tuple[str, float | None]
# dataset -> case -> (year, motive, method, steps); every pathway ends with the fatal incident
PATHWAYS: dict[str, dict[str, tuple[int, str, str, list[Step]]]] = {
    "pw-main": {
        "K01": (2019, "quarrel_revenge_temper", "sharp_instrument",
                [("chance_encounter", 12), ("verbal_argument", 6), ("physical_altercation", 5), ("fatal_incident", 0)]),
        "K02": (2019, "quarrel_revenge_temper", "sharp_instrument",  # a repeated transition, counted once in prevalence
                [("verbal_argument", 4.5), ("physical_altercation", 3), ("verbal_argument", 2),
                 ("physical_altercation", 1), ("fatal_incident", 0)]),
        "K03": (2020, "quarrel_revenge_temper", "hitting_kicking",
                [("substance_use", 90), ("verbal_argument", 7), ("physical_altercation", 5.5), ("fatal_incident", 0)]),
        "K04": (2020, "theft_gain", "shooting",
                [("planned_meeting", 30), ("robbery_attempt", 3), ("fatal_incident", 0)]),
        "K05": (2021, "theft_gain", "sharp_instrument",
                [("planned_meeting", 20), ("robbery_attempt", 2), ("weapon_retrieved", 1), ("fatal_incident", 0)]),
        "K06": (2021, "quarrel_revenge_temper", "sharp_instrument",
                [("prior_dispute", 2880), ("online_provocation", 1440), ("verbal_argument", 5), ("threat", 4),
                 ("weapon_retrieved", 2), ("fatal_incident", 0)]),
        "K07": (2018, "not_known", "shooting",  # the first conflict step's time is not known
                [("chance_encounter", None), ("pursuit", None), ("fatal_incident", 0)]),
        "K08": (2022, "quarrel_revenge_temper", "sharp_instrument",  # no conflict step
                [("chance_encounter", 3), ("substance_use", 2), ("fatal_incident", 0)]),
        "K09": (2022, "other", "hitting_kicking", [("fatal_incident", 0)]),  # the fatal incident only
        "K10": (2017, "quarrel_revenge_temper", "sharp_instrument",  # a self-transition
                [("verbal_argument", 10), ("verbal_argument", 8), ("physical_altercation", 8), ("fatal_incident", 0)]),
        "K11": (2019, "quarrel_revenge_temper", "sharp_instrument", []),  # no micropathway: not a pathway
        "K12": (2023, "irrational_act", "strangulation",
                [("threat", 60), ("physical_altercation", 15), ("fatal_incident", 0)]),
        "K13": (2020, "quarrel_revenge_temper", "sharp_instrument",  # the same pathway as K01
                [("chance_encounter", 12), ("verbal_argument", 6), ("physical_altercation", 5), ("fatal_incident", 0)]),
        "K14": (2016, "quarrel_revenge_temper", "sharp_instrument",
                [("chance_encounter", 30), ("verbal_argument", 16), ("intervention_attempt", 15),
                 ("fatal_incident", 0)]),
    },
    "pw-other": {
        "J1": (2019, "quarrel_revenge_temper", "sharp_instrument", [("verbal_argument", 5), ("fatal_incident", 0)]),
        "J2": (2020, "theft_gain", "shooting",
               [("robbery_attempt", 1), ("physical_altercation", 0.5), ("fatal_incident", 0)]),
    },
}


# ---- the bundle --------------------------------------------------------------------------------------------
def write_coded(folder: Path, name: str, cases: dict[str, tuple[int, str, str, list[Step]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bundle.toml").write_text(
        f'name = "{name}"\nsource = "hand-made pathway test"\nlicence = "CC0-1.0"\nsynthetic = true\n'
        'coding_frame_version = 2\ndescription = "Invented micropathways for tests."\n', encoding="utf-8")
    rows = [{"case_id": k, "year": y, "month": "", "area_code": "E09000011", "solved": "", "method": me,
             "motive": mo, "relationship": "stranger", "coding_frame_version": 2, "coder": "C01"}
            for k, (y, mo, me, _) in cases.items()]
    pd.DataFrame(rows, columns=CASE_COLUMNS).to_csv(folder / "cases.csv", index=False)
    (folder / "victims.csv").write_text("case_id,position,age_group,sex\n", encoding="utf-8")
    (folder / "suspects.csv").write_text("case_id,position,age_group,sex\n", encoding="utf-8")
    (folder / "factors.csv").write_text("case_id,factor,value,coder\n" + "".join(
        f"{k},alcohol,absent,C01\n" for k in cases), encoding="utf-8")  # factors are not used here
    lines = ["case_id,step,event_type,minutes_before,coder"]
    for k, (_, _, _, steps) in cases.items():
        lines += [f"{k},{i},{t},{'' if m is None else m},C01" for i, (t, m) in enumerate(steps, 1)]
    (folder / "events.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def load_pathways(backend: GraphBackend, tmp_path: Path) -> None:
    for name, cases in PATHWAYS.items():
        load("coded", write_coded(tmp_path / name, name, cases), backend)


def selected(dataset: str = "", year_from: int = 0, year_to: int = 9999, motive: str = "",
             method: str = "") -> dict[str, tuple[str, str, list[str], list[float | None]]]:
    """uid -> (motive, method, event types, minutes) of the selected cases that have a pathway."""
    out = {}
    for name, cases in PATHWAYS.items():
        for k, (year, mo, me, steps) in cases.items():
            if (dataset in ("", name) and year_from <= year <= year_to and motive in ("", mo)
                    and method in ("", me) and steps):
                out[f"{name}:{k}"] = (mo, me, [t for t, _ in steps], [m for _, m in steps])
    return out


def groups_of(cases: dict[str, Any], by: str | None) -> dict[str, dict[str, list[str]]]:
    """group code -> uid -> event types (one group '' when by is None)."""
    out: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for uid, (mo, me, types, _) in cases.items():
        out["" if by is None else mo if by == "motive" else me][uid] = types
    return out


# ---- independent reference computations -------------------------------------------------------------------
def normal_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def bh(p: dict[Any, float]) -> dict[Any, float]:
    """Benjamini-Hochberg, by the textbook: q_(i) = min over j >= i of p_(j) * m / j, capped at 1."""
    keys = sorted(p, key=lambda k: p[k])
    m = len(keys)
    q, running = {}, 1.0
    for rank in range(m, 0, -1):
        running = min(running, p[keys[rank - 1]] * m / rank)
        q[keys[rank - 1]] = min(1.0, running)
    return q


def expected_transitions(cases: dict[str, Any], by: str | None = None, alpha: float = 0.05) -> list[dict[str, Any]]:
    rows = []
    for group, seqs in groups_of(cases, by).items():
        count: Counter[tuple[str, str]] = Counter()
        containing: dict[tuple[str, str], set[str]] = defaultdict(set)
        for uid, types in seqs.items():
            for a, b in pairwise(types):
                count[(a, b)] += 1
                containing[(a, b)].add(uid)
        total = sum(count.values())
        out_of = {a: sum(n for (x, _), n in count.items() if x == a) for a, _ in count}
        into = {b: sum(n for (_, y), n in count.items() if y == b) for _, b in count}
        residual, p = {}, {}
        for a in out_of:  # every cell of the table, observed or not
            for b in into:
                e = out_of[a] * into[b] / total
                variance = e * (1 - out_of[a] / total) * (1 - into[b] / total)
                if variance > 0:
                    residual[(a, b)] = (count[(a, b)] - e) / math.sqrt(variance)
                    p[(a, b)] = normal_two_sided(residual[(a, b)])
        q = bh(p)
        for (a, b), n in count.items():
            z = residual.get((a, b))
            rows.append({"group": group, "from": a, "to": b, "count": n, "homicides": len(containing[(a, b)]),
                         "pathways": len(seqs), "prevalence": len(containing[(a, b)]) / len(seqs),
                         "probability": n / out_of[a], "from_total": out_of[a], "to_total": into[b], "total": total,
                         "expected": out_of[a] * into[b] / total, "residual": z, "p_value": p.get((a, b)),
                         "q_value": q.get((a, b)),
                         "above_chance": z is not None and z > 0 and q[(a, b)] < alpha})
    return rows


def subsequences(types: list[str], n: int, *, gapped: bool) -> set[tuple[str, ...]]:
    if gapped:
        return {tuple(types[i] for i in idx) for idx in combinations(range(len(types)), n)}
    return {tuple(types[i:i + n]) for i in range(len(types) - n + 1)}


def expected_sequences(cases: dict[str, Any], *, gapped: bool, lengths: Iterable[int], min_support: float,
                       by: str | None = None) -> dict[tuple[str, str], tuple[int, int, int | None]]:
    """(group, pattern text) -> (homicides, pathways, occurrences) by brute force."""
    out = {}
    for group, seqs in groups_of(cases, by).items():
        for n in lengths:
            support: Counter[tuple[str, ...]] = Counter()
            occurrences: Counter[tuple[str, ...]] = Counter()
            for types in seqs.values():
                support.update(subsequences(types, n, gapped=gapped))
                occurrences.update(tuple(types[i:i + n]) for i in range(len(types) - n + 1))
            for pattern, k in support.items():
                if k / len(seqs) >= min_support - 1e-12:
                    out[(group, " > ".join(pattern))] = (k, len(seqs), None if gapped else occurrences[pattern])
    return out


def expected_divergence(cases: dict[str, Any],
                        min_support: float = 0.0) -> dict[tuple[str, str], tuple[int, int, float]]:
    """(prefix, next) -> (prefix pathways, next pathways, entropy) at the branch points."""
    nexts: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for _, _, types, _ in cases.values():
        for i in range(len(types) + 1):
            nexts[tuple(types[:i])][types[i] if i < len(types) else "(end)"] += 1
    out = {}
    for prefix, counter in nexts.items():
        reach = sum(counter.values())
        if len(counter) < 2 or reach / len(cases) < min_support - 1e-12:
            continue
        entropy = -sum(k / reach * math.log2(k / reach) for k in counter.values())
        for step, k in counter.items():
            out[(" > ".join(prefix) or "(start)", step)] = (reach, k, entropy)
    return out


def first_conflicts(cases: dict[str, Any]) -> dict[str, tuple[int, str, float | None]]:
    out = {}
    for uid, (_, _, types, minutes) in cases.items():
        for i, t in enumerate(types):
            if t in CONFLICT:
                out[uid] = (i + 1, t, minutes[i])
                break
    return out


def quantile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (R type 7), as percentileCont."""
    xs = sorted(values)
    h = (len(xs) - 1) * p
    lo = math.floor(h)
    return xs[lo] + (h - lo) * (xs[min(lo + 1, len(xs) - 1)] - xs[lo])


def binomial_upper_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, j) for j in range(k, n + 1)) / 2 ** n


def close(a: Any, b: Any) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) and \
               (b is None or (isinstance(b, float) and math.isnan(b)))
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return bool(a) == bool(b)
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return int(a) == int(b)
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return abs(float(a) - float(b)) <= TOL
    return bool(a == b)


def assert_rows(got: list[dict[str, Any]], expected: list[dict[str, Any]], key: Iterable[str]) -> None:
    key = list(key)
    got_by = {tuple(r[k] for k in key): r for r in got}
    exp_by = {tuple(r[k] for k in key): r for r in expected}
    assert sorted(got_by, key=repr) == sorted(exp_by, key=repr)
    assert len(got_by) == len(got)
    for k, row in exp_by.items():
        for column, value in row.items():
            assert close(got_by[k][column], value), (k, column, got_by[k][column], value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return pathways.to_result(frame).rows


# ---- transitions --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("by", [None, "motive", "method"])
def test_transitions_counts_prevalence_and_residuals(backend: GraphBackend, tmp_path: Path, by: str | None) -> None:
    load_pathways(backend, tmp_path)
    got = records(pathways.transitions(backend, Filters(dataset="pw-main"), by=by))
    expected = expected_transitions(selected("pw-main"), by)
    if by is None:
        for row in expected:
            del row["group"]
    assert_rows(got, expected, ["from", "to"] if by is None else ["group", "from", "to"])
    # the hand-checked cells: K02 goes verbal argument -> physical altercation twice (3 pathways, 4 times)
    if by is None:
        va_pa = next(r for r in got if (r["from"], r["to"]) == ("verbal_argument", "physical_altercation"))
        assert (va_pa["count"], va_pa["homicides"], va_pa["pathways"]) == (6, 5, 13)
        assert {"from", "to", "count", "prevalence"} <= set(va_pa)
        assert va_pa["from_label"] == "Verbal argument"
        self_loop = next(r for r in got if (r["from"], r["to"]) == ("verbal_argument", "verbal_argument"))
        assert (self_loop["count"], self_loop["homicides"]) == (1, 1)
        # rows are ordered by count, then codes
        assert [r["count"] for r in got] == sorted((r["count"] for r in got), reverse=True)


def test_transition_selection_and_zero_cells(backend: GraphBackend, tmp_path: Path) -> None:
    load_pathways(backend, tmp_path)
    for filters in (Filters(), Filters(year_from=2019, year_to=2020), Filters(motive="theft_gain"),
                    Filters(method="sharp_instrument"), Filters(dataset="pw-other")):
        got = records(pathways.transitions(backend, filters))
        expected = expected_transitions(selected(filters.dataset, filters.year_from or 0, filters.year_to or 9999,
                                                 filters.motive, filters.method))
        for row in expected:
            del row["group"]
        assert_rows(got, expected, ["from", "to"])
    everything = pathways.transitions(backend)
    pd.testing.assert_frame_equal(pathways.transitions(backend, Filters(area="E12000007")), everything)  # London
    assert pathways.transitions(backend, Filters(relationship="partner_ex_partner")).empty
    full = pathways.transitions(backend, Filters(dataset="pw-main"), include_zero=True)
    observed = pathways.transitions(backend, Filters(dataset="pw-main"))
    assert len(full) == full["from"].nunique() * full["to"].nunique() > len(observed)
    zero = full[full["count"] == 0]
    assert (zero["homicides"] == 0).all() and (zero["residual"] < 0).all() and not zero["above_chance"].any()
    assert pathways.transitions(backend, Filters(dataset="no-such-dataset")).empty


def test_transitions_agree_with_the_saved_next_chain_query(backend: GraphBackend, tmp_path: Path) -> None:
    """The lag-1 pairs from positions equal the pairs along the graph's NEXT relationships."""
    load_pathways(backend, tmp_path)
    saved = run_saved_query(backend, "pathway_transitions", {"dataset": "pw-main"}).rows
    mine = records(pathways.transitions(backend, Filters(dataset="pw-main")))
    assert {(r["from_code"], r["to_code"]): (r["transitions"], r["homicides"], r["prevalence"]) for r in saved} == \
        {(r["from"], r["to"]): (r["count"], r["homicides"], r["prevalence"]) for r in mine}


def test_residual_formula_on_a_textbook_table() -> None:
    """A 2x2 lag-1 table worked by hand: A->A 10, A->B 20, B->A 30, B->B 40 (N = 100).

    Row totals 30, 70; column totals 40, 60. Cell A->A: expected 12, variance 12 * 0.7 * 0.6 = 5.04,
    z = -2 / sqrt(5.04). In a 2x2 table every |z| is the same.
    """
    runs = [["A", "A"]] * 10 + [["A", "B"]] * 20 + [["B", "A"]] * 30 + [["B", "B"]] * 40
    steps = pd.DataFrame([{"record_uid": f"r{i:03d}", "position": p + 1, "type_code": t, "type_label": t,
                           "minutes_before": None} for i, run in enumerate(runs) for p, t in enumerate(run)])
    recs = pd.DataFrame([{"record_uid": f"r{i:03d}", "dataset": "x", "year": 2020, "synthetic": True, "steps": 2,
                          "motive_code": "", "motive": "(not coded)", "method_code": "", "method": "(not coded)"}
                         for i in range(len(runs))])
    got = pathways.transitions(pathways.PathwaySlice(steps, recs)).set_index(["from", "to"])
    z = 2 / math.sqrt(5.04)
    assert got.loc[("A", "A"), "residual"] == pytest.approx(-z, abs=TOL)
    assert got.loc[("A", "B"), "residual"] == pytest.approx(z, abs=TOL)
    assert got.loc[("B", "A"), "residual"] == pytest.approx(z, abs=TOL)
    assert got.loc[("B", "B"), "residual"] == pytest.approx(-z, abs=TOL)
    assert got.loc[("A", "B"), "expected"] == pytest.approx(18.0, abs=TOL)
    assert got.loc[("A", "B"), "probability"] == pytest.approx(20 / 30, abs=TOL)


# ---- frequent sub-sequences ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("by", "min_support"), [(None, 0.0), (None, 0.15), ("motive", 0.3), ("method", 0.0)])
def test_contiguous_and_gapped_subsequences_by_brute_force(backend: GraphBackend, tmp_path: Path, by: str | None,
                                                           min_support: float) -> None:
    load_pathways(backend, tmp_path)
    sl = load_slice(backend, Filters(dataset="pw-main"))
    cases = selected("pw-main")
    got = pathways.sequences(sl, by=by, min_support=min_support, max_length=4)
    for kind, is_gapped in (("contiguous", False), ("gapped", True)):
        part = got[got["kind"] == kind]
        group = part["group"] if by else pd.Series("", index=part.index)
        mine = {(g, p): (h, n, None if pd.isna(o) else int(o))
                for g, p, h, n, o in zip(group, part["pattern"], part["homicides"], part["pathways"],
                                         part["occurrences"], strict=True)}
        assert mine == expected_sequences(cases, gapped=is_gapped, lengths=range(2, 5), min_support=min_support, by=by)
        assert np.allclose(part["support"], part["homicides"] / part["pathways"], rtol=0, atol=TOL)
        labels = [" > ".join(LABEL[c] for c in p.split(" > ")) for p in part["pattern"]]
        assert part["pattern_labels"].tolist() == labels


def test_gapped_patterns_are_weighted_by_identical_pathways_and_closed_ones_are_a_subset(
        backend: GraphBackend, tmp_path: Path) -> None:
    load_pathways(backend, tmp_path)
    sl = load_slice(backend, Filters(dataset="pw-main"))
    found = pathways.gapped(sl, min_support=0.0).set_index("pattern")
    # K01 and K13 are the same pathway: mined once, counted twice
    assert found.loc["chance_encounter > verbal_argument > physical_altercation", "homicides"] == 2
    closed = pathways.gapped(sl, min_support=0.0, closed=True).set_index("pattern")
    assert set(closed.index) < set(found.index)
    for pattern, row in closed.iterrows():  # no super-pattern (one more step) has the same support
        assert row["homicides"] == found.loc[pattern, "homicides"]
        steps = pattern.split(" > ")
        for other, k in found["homicides"].items():
            longer = other.split(" > ")
            if len(longer) == len(steps) + 1 and any(longer[:i] + longer[i + 1:] == steps for i in range(len(longer))):
                assert k < row["homicides"], (pattern, other)
    one = pathways.gapped(sl, min_support=0.0, min_length=1, max_length=1).set_index("pattern")
    assert one.loc["fatal_incident", "homicides"] == 13


# ---- divergence --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("min_support", [0.0, 0.2])
def test_divergence_on_a_known_tree(backend: GraphBackend, tmp_path: Path, min_support: float) -> None:
    load_pathways(backend, tmp_path)
    got = pathways.divergence(backend, Filters(dataset="pw-main"), min_support=min_support)
    mine = {(p, n): (a, b, e) for p, n, a, b, e in zip(got["prefix"], got["next"], got["prefix_pathways"],
                                                       got["next_pathways"], got["entropy"], strict=True)}
    expected = expected_divergence(selected("pw-main"), min_support)
    assert mine.keys() == expected.keys()
    for key, (reach, k, entropy) in expected.items():
        assert mine[key][:2] == (reach, k) and abs(mine[key][2] - entropy) <= TOL, key
    assert np.allclose(got["next_share"], got["next_pathways"] / got["prefix_pathways"], rtol=0, atol=TOL)
    assert np.allclose(got["prefix_share"], got["prefix_pathways"] / 13, rtol=0, atol=TOL)
    root = got[got["prefix"] == "(start)"]
    assert root["depth"].eq(0).all() and root["prefix_pathways"].eq(13).all() and root["branches"].eq(7).all()
    # chance encounter (5 pathways) -> verbal argument 3 (K01, K13, K14), substance use 1 (K08), pursuit 1 (K07)
    ce = got[got["prefix"] == "chance_encounter"].set_index("next")["next_pathways"].to_dict()
    assert ce == {"verbal_argument": 3, "substance_use": 1, "pursuit": 1}
    by_motive = pathways.divergence(backend, Filters(dataset="pw-main"), by="motive")
    theft = by_motive[by_motive["group"] == "theft_gain"]
    assert theft[["prefix", "next", "next_pathways"]].values.tolist() == [
        ["planned_meeting > robbery_attempt", "fatal_incident", 1],
        ["planned_meeting > robbery_attempt", "weapon_retrieved", 1]]


# ---- escalation --------------------------------------------------------------------------------------------
def expected_escalation(cases: dict[str, Any], by: str | None) -> list[dict[str, Any]]:
    rows = []
    firsts = first_conflicts(cases)
    grouped: dict[str, list[str]] = defaultdict(list)
    for uid, (mo, me, _, _) in cases.items():
        grouped["" if by is None else mo if by == "motive" else me].append(uid)
    for group, uids in grouped.items():
        with_conflict = [u for u in uids if u in firsts]
        known = [firsts[u][2] for u in with_conflict if firsts[u][2] is not None]
        around = sum(1 for m in known if 3 <= m <= 7)
        row: dict[str, Any] = {
            "pathways": len(uids), "homicides": len(with_conflict), "known": len(known),
            "not_known": len(with_conflict) - len(known), "share_with_conflict": len(with_conflict) / len(uids),
            "under_5_min": sum(1 for m in known if m < 5), "from_5_to_15_min": sum(1 for m in known if 5 <= m < 15),
            "from_15_to_60_min": sum(1 for m in known if 15 <= m < 60),
            "from_1_to_24_h": sum(1 for m in known if 60 <= m < 1440), "over_24_h": sum(1 for m in known if m >= 1440),
            "around_5_min": around}
        if known:
            row.update(median=quantile(known, 0.5), q1=quantile(known, 0.25), q3=quantile(known, 0.75),
                       mean=sum(known) / len(known), min=min(known), max=max(known),
                       share_under_5_min=row["under_5_min"] / len(known), share_around_5_min=around / len(known))
            z = 1.959963984540054
            p, n = around / len(known), len(known)
            centre = (p + z * z / (2 * n)) / (1 + z * z / n)
            half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
            row.update(around_5_ci_low=centre - half, around_5_ci_high=centre + half)
        if by is not None:
            row["group"] = group
        rows.append(row)
    return rows


@pytest.mark.parametrize("by", [None, "motive", "method"])
def test_escalation_distribution_by_hand(backend: GraphBackend, tmp_path: Path, by: str | None) -> None:
    load_pathways(backend, tmp_path)
    got = records(pathways.escalation(backend, by=by))
    assert_rows(got, expected_escalation(selected(), by), [] if by is None else ["group"])
    if by is None:
        (row,) = got
        # K01 6, K02 4.5, K03 7, K04 3, K05 2, K06 2880, K07 unknown, K10 10, K12 60, K13 6, K14 16, J1 5, J2 1
        assert (row["pathways"], row["homicides"], row["known"], row["not_known"]) == (15, 13, 12, 1)
        assert (row["under_5_min"], row["around_5_min"], row["over_24_h"]) == (4, 6, 1)
        assert row["median"] == 6.0


def test_escalation_times_per_homicide(backend: GraphBackend, tmp_path: Path) -> None:
    load_pathways(backend, tmp_path)
    got = pathways.escalation_times(backend)
    mine = {u: (s, c, None if pd.isna(m) else m) for u, s, c, m in
            zip(got["record_uid"], got["first_conflict_step"], got["first_conflict"], got["minutes"], strict=True)}
    assert mine == first_conflicts(selected())
    assert got["record_uid"].tolist() == sorted(mine)
    assert (got["first_conflict_label"] == got["first_conflict"].map(LABEL)).all()
    saved = run_saved_query(backend, "escalation_times").rows  # the saved query's definition agrees
    assert {r["uid"]: (r["first_step"], r["first_conflict_code"], r["minutes"]) for r in saved} == mine


def test_conflict_types_come_from_the_ontology() -> None:
    assert pathways.conflict_codes() == CONFLICT
    assert "verbal_argument" in CONFLICT and "chance_encounter" not in CONFLICT and "fatal_incident" not in CONFLICT


def expected_five_minute(known: list[float], low: float = 3.0, high: float = 7.0) -> dict[str, Any]:
    inside = sum(1 for m in known if low <= m <= high)
    below = sum(1 for m in known if low * low / high <= m < low)
    above = sum(1 for m in known if high < m <= high * high / low)
    p_below, p_above = binomial_upper_tail(inside, inside + below), binomial_upper_tail(inside, inside + above)
    return {"known": len(known), "in_window": inside, "below": below, "above": above, "p_below": p_below,
            "p_above": p_above, "p_value": max(p_below, p_above), "share_in_window": inside / len(known)}


def test_five_minute_test_by_hand(backend: GraphBackend, tmp_path: Path) -> None:
    load_pathways(backend, tmp_path)
    known = [m for _, _, m in first_conflicts(selected()).values() if m is not None]
    got = records(pathways.five_minute_test(backend))
    assert_rows(got, [expected_five_minute(known)], [])
    # in the window 3..7: 6, 4.5, 7, 3, 6, 5; below [1.29, 3): 2; above (7, 16.33]: 10, 16
    assert (got[0]["in_window"], got[0]["below"], got[0]["above"]) == (6, 1, 2)
    assert got[0]["cluster"] is False  # 6 of 7 and 6 of 8 are not enough evidence at 5%


# ---- the five-minute claim on synthetic data, and identical tables on both engines ---------------------------
def test_five_minute_cluster_in_synthetic_data_and_identical_tables_on_both_engines(
        tmp_path: Path, neo4j_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_synthetic(tmp_path / "synthetic", cases=1500, seed=8)
    events = pd.read_csv(folder / "events.csv", dtype={"case_id": str})
    embedded_path = tmp_path / "graph.lbdb"
    with EmbeddedBackend(embedded_path, read_only=False) as db:
        load("coded", folder, db)
    neo4j = Neo4jBackend(neo4j_uri)
    try:
        neo4j.delete_all()
        load("coded", folder, neo4j)
        engines = {"embedded": EmbeddedBackend(embedded_path), "neo4j": neo4j}
        tables: dict[str, dict[str, pd.DataFrame]] = {}
        for engine, backend in engines.items():
            sl = load_slice(backend)
            tables[engine] = {
                "transitions": pathways.transitions(sl), "transitions_motive": pathways.transitions(sl, by="motive"),
                "sequences": pathways.sequences(sl, by="method", min_support=0.02),
                "divergence": pathways.divergence(sl), "escalation": pathways.escalation(sl, by="motive"),
                "times": pathways.escalation_times(sl), "five": pathways.five_minute_test(sl)}
        engines["embedded"].close()
    finally:
        neo4j.close()
    for name, table in tables["embedded"].items():
        pd.testing.assert_frame_equal(table, tables["neo4j"][name], check_exact=True, obj=name)
    # the escalation times, independently from the raw events file
    conflict = events[events["event_type"].isin(CONFLICT)].sort_values(["case_id", "step"]).drop_duplicates("case_id")
    known = conflict["minutes_before"].dropna().astype(float).tolist()
    five = records(tables["embedded"]["five"])[0]
    assert_rows([five], [expected_five_minute(known)], [])
    assert five["cluster"] is True and five["p_value"] < 1e-4  # the planted cluster around five minutes is found
    assert five["in_window"] > 2 * five["above"] and five["in_window"] > five["below"]
    # transition counts, independently from the raw events file
    events = events.sort_values(["case_id", "step"])
    pairs: Counter[tuple[str, str]] = Counter()
    for _, group in events.groupby("case_id"):
        types = group["event_type"].tolist()
        pairs.update(pairwise(types))
    trans = tables["embedded"]["transitions"]
    assert dict(zip(zip(trans["from"], trans["to"], strict=True), trans["count"], strict=True)) == dict(pairs)
    # the CLI gives the same rows on both engines
    outputs = []
    for uri in (f"embedded:{embedded_path}", neo4j_uri):
        assert micropath(["pathways", "escalation", "--five-minute-test", "--db", uri, "--format", "json"]) == 0
        out, err = capsys.readouterr()
        assert "SYNTHETIC" in err
        outputs.append(json.loads(out))
    assert outputs[0] == outputs[1] and outputs[0][0]["cluster"] is True


def test_no_cluster_when_times_spread_evenly_on_the_log_scale(backend: GraphBackend, tmp_path: Path) -> None:
    """A negative control: escalation times log-uniform from 0.5 minutes to two days show no cluster."""
    rng = np.random.default_rng(3)
    minutes = np.round(np.exp(rng.uniform(math.log(0.5), math.log(2880), 600)), 1)
    cases = {f"L{i:03d}": (2020, "quarrel_revenge_temper", "sharp_instrument",
                           [("verbal_argument", float(m)), ("fatal_incident", 0.0)]) for i, m in enumerate(minutes)}
    load("coded", write_coded(tmp_path / "flat", "pw-flat", cases), backend)
    got = records(pathways.five_minute_test(backend, Filters(dataset="pw-flat")))
    assert_rows(got, [expected_five_minute([float(m) for m in minutes])], [])
    assert got[0]["cluster"] is False


# ---- source schemes, the CLI ---------------------------------------------------------------------------------
def test_source_motives_are_grouped_by_their_common_concept(backend: GraphBackend) -> None:
    """The fixture graph's fx-src cases are coded in source schemes (fx:brawl, mps:...) reached by MAPS_TO."""
    fx.write_fixture(backend)
    cases = {c.uid: ((fx.common("Motive", c.motive) or "").removeprefix(fx.MP),
                     (fx.common("Method", c.method) or "").removeprefix(fx.MP), [t for t, _ in c.events],
                     [m for _, m in c.events]) for c in fx.CASES if c.events and c.label == "Homicide"}
    got = records(pathways.transitions(backend, by="motive"))
    assert_rows(got, expected_transitions(cases, "motive"), ["group", "from", "to"])
    quarrel = records(pathways.transitions(backend, Filters(motive="quarrel_revenge_temper")))
    assert {r["pathways"] for r in quarrel} == {sum(1 for mo, *_ in cases.values() if mo == "quarrel_revenge_temper")}
    assert any(r["group"] == "quarrel_revenge_temper" and r["pathways"] == 5 for r in got)  # 3 coded + 2 fx:brawl


def test_cli_json_shape(backend: GraphBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_pathways(backend, tmp_path)
    uri = backend.uri
    backend.close()  # the CLI opens the database itself
    assert micropath(["pathways", "transitions", "--db", uri, "--dataset", "pw-main", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert "SYNTHETIC" in err and rows
    assert all({"from", "to", "count", "prevalence"} <= set(r) for r in rows)
    expected = {(r["from"], r["to"]): (r["count"], r["prevalence"]) for r in expected_transitions(selected("pw-main"))}
    assert {(r["from"], r["to"]): (r["count"], r["prevalence"]) for r in rows} == expected
    assert all(isinstance(r["count"], int) and isinstance(r["prevalence"], float) for r in rows)
    for argv in (["sequences", "--kind", "gapped", "--by", "motive"], ["divergence", "--max-depth", "1"],
                 ["escalation", "--by", "method"], ["escalation", "--times"], ["transitions", "--include-zero"]):
        assert micropath(["pathways", *argv, "--db", uri, "--format", "json"]) == 0
        assert isinstance(json.loads(capsys.readouterr().out), list)
    assert micropath(["pathways", "sequences", "--db", uri, "--dataset", "pw-other", "--format", "csv",
                      "--kind", "contiguous", "--min-support", "0.5"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["kind,length,pattern,pattern_labels,homicides,pathways,support,occurrences",
                   "contiguous,2,physical_altercation > fatal_incident,Physical altercation > Fatal incident,1,2,0.5,1",
                   "contiguous,2,robbery_attempt > physical_altercation,"
                   "Robbery attempt > Physical altercation,1,2,0.5,1",
                   "contiguous,2,verbal_argument > fatal_incident,Verbal argument > Fatal incident,1,2,0.5,1",
                   "contiguous,3,robbery_attempt > physical_altercation > fatal_incident,"
                   "Robbery attempt > Physical altercation > Fatal incident,1,2,0.5,1"]
    assert micropath(["pathways", "divergence", "--db", uri, "--min-support", "2"]) == 1
    assert "min_support" in capsys.readouterr().err
    assert micropath(["pathways", "transitions", "--db", uri, "--dataset", "nope", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


# ---- the worked example of docs/pathways.md ------------------------------------------------------------------
DOC = Path(__file__).resolve().parents[1] / "docs" / "pathways.md"


def test_the_documented_example_gives_the_documented_figures(backend: GraphBackend, tmp_path: Path) -> None:
    example = DOC.read_text(encoding="utf-8").split("## A worked example", 1)[1].split("\n## ", 1)[0]
    files = dict(re.findall(r"`([a-z]+\.csv)`:\n\n```csv\n(.*?)```", example, re.DOTALL))
    assert set(files) == {"cases.csv", "factors.csv", "events.csv"}
    folder = tmp_path / "example"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    for name in ("victims.csv", "suspects.csv"):
        (folder / name).write_text("case_id,position,age_group,sex\n", encoding="utf-8")
    (folder / "bundle.toml").write_text(
        'name = "pathways-example"\nsource = "docs/pathways.md"\nlicence = "CC0-1.0"\nsynthetic = true\n'
        'coding_frame_version = 2\ndescription = "Five invented micropathways."\n', encoding="utf-8")
    load("coded", folder, backend)
    table = example.split("`micropath pathways transitions`", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    header, *lines = table.strip().splitlines()
    got = pathways.transitions(backend, Filters(dataset="pathways-example"))[header.split()]

    def shown(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    assert [[shown(v) for v in row.values()] for row in records(got)] == [line.split() for line in lines]
    five = records(pathways.five_minute_test(backend, Filters(dataset="pathways-example")))[0]
    assert (five["in_window"], five["below"], five["above"], five["p_value"]) == (4, 0, 1, 0.1875)
    escalation = records(pathways.escalation(backend, Filters(dataset="pathways-example")))[0]
    assert (escalation["median"], escalation["q1"], escalation["q3"], escalation["under_5_min"]) == (5.0, 4.5, 6.0, 2)
    root = pathways.divergence(backend, Filters(dataset="pathways-example")).iloc[0]
    assert f"{root['entropy']:.3f}" == "1.522"
