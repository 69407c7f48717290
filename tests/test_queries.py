"""Saved queries give exact answers: on the hand-made fixture graph (expected values computed here in
plain Python from tests/graph_fixtures.py) and on the Met's London file (expected values computed with
pandas from the CSV). Every answer is checked on both engines, LadybugDB and Neo4j. Then the CLI:
listing and running saved queries as JSON, refusing writes, row caps and time limits.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cli.main import main
from graph_model.backend import GraphBackend
from graph_model.errors import QueryTimeoutError
from graph_model.vocab import get_vocabulary
from queries.registry import Registry
from queries.runner import run_saved_query
from tests.graph_fixtures import (
    CASES,
    CONFLICT_CODES,
    DATASETS,
    LONDON_CSV,
    MP,
    Case,
    Graphs,
    common,
    concept_label,
    dataset,
)

ENGINES = ("embedded", "neo4j")
HOMICIDE_KINDS = ("homicide", "murder_suicide")
Row = dict[str, Any]


# ---- graphs: the fixture and the London file, on each engine --------------------------------------
@pytest.fixture(scope="module", params=ENGINES)
def graphs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Graphs]:
    holder = Graphs(request.param, tmp_path_factory.mktemp(f"queries-{request.param}"),
                    lambda: request.getfixturevalue("neo4j_uri"))
    yield holder
    holder.close()


@pytest.fixture
def fx(graphs: Graphs) -> GraphBackend:
    return graphs.get("fixture")


@pytest.fixture
def london(graphs: Graphs) -> GraphBackend:
    return graphs.get("london")


def run(backend: GraphBackend, name: str, **params: Any) -> list[Row]:
    result = run_saved_query(backend, name, params)
    assert not result.truncated
    return result.rows


# ---- plain-Python answers from the fixture data ---------------------------------------------------
def selected(c: Case, *, ds: str = "", year_from: int = 0, year_to: int = 9999,
             kinds: tuple[str, ...] = HOMICIDE_KINDS) -> bool:
    return ((not ds or c.dataset == ds) and year_from <= c.year <= year_to
            and (c.label == "Homicide" or c.kind in kinds))


def common_label(label_class: str, uid: str) -> str:
    return concept_label(label_class, uid)


def code(uid: str) -> str:
    return uid.split(":", 1)[1]


def present_common(c: Case) -> set[str]:
    return {common("Factor", f) for f, p in c.factors.items() if p}  # type: ignore[misc]


def area_ancestors(uid: str) -> list[str]:
    """The area and every area containing it (MAPS_TO from an area to the one containing it)."""
    chain, todo = [], [uid]
    while todo:
        current = todo.pop()
        chain.append(current)
        todo += get_vocabulary().common_for("Area", current)
    return chain


def area(uid: str) -> Any:
    return get_vocabulary().concepts[("Area", uid)]


def expected_by_year(**kw: Any) -> list[Row]:
    counts = Counter((c.dataset, c.year) for c in CASES if selected(c, **kw))
    return [{"dataset": d, "year": y, "homicides": n} for (d, y), n in sorted(counts.items())]


def expected_by_area(level: str = "", **kw: Any) -> list[Row]:
    counts: Counter[tuple[str, str]] = Counter()
    for c in CASES:
        if not selected(c, **kw) or c.area is None:
            continue
        places = [c.area] if not level else [a for a in area_ancestors(c.area) if area(a).get("level") == level]
        for place in set(places):
            counts[(c.dataset, place)] += 1
    rows = [{"dataset": d, "area_code": area(a).code, "area": area(a).label, "level": area(a).get("level"),
             "homicides": n} for (d, a), n in counts.items()]
    return sorted(rows, key=lambda r: (r["dataset"], -r["homicides"], r["area_code"]))


def expected_by_concept(label_class: str, attr: str, column: str, **kw: Any) -> list[Row]:
    records = Counter(c.dataset for c in CASES if selected(c, **kw))
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in CASES:
        if selected(c, **kw):
            target = common(label_class, getattr(c, attr))
            groups[(c.dataset, target or "")].add(c.uid)
    rows = []
    for (d, target), uids in groups.items():
        rows.append({"dataset": d, f"{column}_code": code(target) if target else "",
                     column: common_label(label_class, target) if target else "(not coded)",
                     "homicides": len(uids), "records": records[d], "share": len(uids) / records[d]})
    return sorted(rows, key=lambda r: (r["dataset"], -r["homicides"], r[f"{column}_code"]))


def expected_factors_by(label_class: str, attr: str, column: str, **kw: Any) -> list[Row]:
    scope: dict[str, set[str]] = defaultdict(set)  # dataset -> common factors it records anywhere
    for c in CASES:
        scope[c.dataset] |= {common("Factor", f) or "" for f in c.factors}
    n_present: Counter[tuple[str, str]] = Counter()
    n_coded: Counter[tuple[str, str]] = Counter()
    for c in CASES:
        group = common(label_class, getattr(c, attr))
        if not selected(c, **kw) or group is None:
            continue
        for f in scope[c.dataset]:
            edges = [p for src, p in c.factors.items() if common("Factor", src) == f]
            n_present[(group, f)] += any(edges)
            presence_only = dataset(c.dataset).factor_recording == "presence_only"
            n_coded[(group, f)] += 1 if presence_only or edges else 0
    rows = [{f"{column}_code": code(g), column: common_label(label_class, g), "factor_code": code(f),
             "factor": common_label("Factor", f), "n_present": n_present[(g, f)], "n_coded": n,
             "prevalence": n_present[(g, f)] / n} for (g, f), n in n_coded.items() if n > 0]
    return sorted(rows, key=lambda r: (r[f"{column}_code"], -r["prevalence"], r["factor_code"]))


def expected_similar(uid: str, k: int, ds: str = "") -> list[Row]:
    mine = present_common(next(c for c in CASES if c.uid == uid))
    rows = []
    for other in CASES:
        if other.uid == uid or not selected(other, ds=ds):
            continue
        theirs = present_common(other)
        shared = mine & theirs
        if shared and len(shared) >= k:
            rows.append({"uid": other.uid, "dataset": other.dataset, "year": other.year, "shared": len(shared),
                         "shared_factors": sorted(common_label("Factor", f) for f in shared),
                         "mine": len(mine), "theirs": len(theirs),
                         "jaccard": len(shared) / (len(mine) + len(theirs) - len(shared))})
    return sorted(rows, key=lambda r: (-r["shared"], -r["jaccard"], r["uid"]))


def motive_code(c: Case) -> str:
    target = common("Motive", c.motive)
    return code(target) if target else ""


def expected_transitions(motive: str = "", min_homicides: int = 1) -> list[Row]:
    chosen = [c for c in CASES if c.label == "Homicide" and c.events and (not motive or motive_code(c) == motive)]
    transitions: Counter[tuple[str, str]] = Counter()
    homicides: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in chosen:
        for (a, _), (b, _) in zip(c.events, c.events[1:], strict=False):
            transitions[(a, b)] += 1
            homicides[(a, b)].add(c.uid)
    out_of: Counter[str] = Counter()
    for (a, _), n in transitions.items():
        out_of[a] += n
    rows = [{"from_code": a, "from_type": common_label("EventType", MP + a), "to_code": b,
             "to_type": common_label("EventType", MP + b), "transitions": n, "homicides": len(homicides[(a, b)]),
             "pathways": len(chosen), "prevalence": len(homicides[(a, b)]) / len(chosen),
             "probability": n / out_of[a]}
            for (a, b), n in transitions.items() if len(homicides[(a, b)]) >= min_homicides]
    return sorted(rows, key=lambda r: (-r["homicides"], -r["transitions"], r["from_code"], r["to_code"]))


BANDS = ["<5 min", "5-15 min", "15-60 min", "1-24 h", ">24 h", "not known"]


def band_order(minutes: float | None) -> int:
    if minutes is None:
        return 6
    return 1 + sum(minutes >= edge for edge in (5, 15, 60, 1440))


def escalations() -> list[tuple[Case, int, str, float | None]]:
    """(homicide, first conflict step, its event type, minutes to the fatal incident)."""
    out = []
    for c in CASES:
        steps = [i for i, (t, _) in enumerate(c.events, 1) if t in CONFLICT_CODES]
        if c.label == "Homicide" and steps:
            first = min(steps)
            out.append((c, first, c.events[first - 1][0], c.events[first - 1][1]))
    return out


def expected_escalation_times() -> list[Row]:
    rows = []
    for c, first, kind, minutes in escalations():
        motive, method = common("Motive", c.motive), common("Method", c.method)
        rows.append({
            "uid": c.uid, "dataset": c.dataset, "year": c.year,
            "motive_code": code(motive) if motive else "",
            "motive": common_label("Motive", motive) if motive else "(not coded)",
            "method_code": code(method) if method else "",
            "method": common_label("Method", method) if method else "(not coded)",
            "first_step": first, "first_conflict_code": kind,
            "first_conflict": common_label("EventType", MP + kind), "minutes": minutes,
            "band": BANDS[band_order(minutes) - 1], "band_order": band_order(minutes)})
    return sorted(rows, key=lambda r: (r["band_order"], r["minutes"] if r["minutes"] is not None else 0,
                                       r["uid"], r["motive_code"], r["method_code"]))


def expected_escalation_summary() -> list[Row]:
    groups: dict[str, list[float | None]] = defaultdict(list)
    for c, _, _, minutes in escalations():
        groups[motive_code(c)].append(minutes)
    rows = []
    for motive, times in groups.items():
        bands = Counter(band_order(m) for m in times)
        known = [m for m in times if m is not None]
        rows.append({"motive_code": motive, "motive": common_label("Motive", MP + motive) if motive else "(not coded)",
                     "homicides": len(times), "under_5_min": bands[1], "from_5_to_15_min": bands[2],
                     "from_15_to_60_min": bands[3], "from_1_to_24_h": bands[4], "over_24_h": bands[5],
                     "not_known": bands[6], "median_minutes": statistics.median(known) if known else None})
    return sorted(rows, key=lambda r: (-r["homicides"], r["motive_code"]))


def expected_pathway(uid: str) -> list[Row]:
    c = next(c for c in CASES if c.uid == uid)
    rows = []
    for i, (kind, before) in enumerate(c.events, 1):
        last = i == len(c.events)
        nxt = None if last else c.events[i]
        gap = None if last or before is None or nxt[1] is None else before - nxt[1]  # type: ignore[index]
        rows.append({"step": i, "source": f"{uid}/e{i}", "source_label": "Event",
                     "source_caption": common_label("EventType", MP + kind), "rel": None if last else "NEXT",
                     "target": None if last else f"{uid}/e{i + 1}", "target_label": None if last else "Event",
                     "target_caption": None if last else common_label("EventType", MP + nxt[0]),  # type: ignore[index]
                     "type_code": kind, "minutes_before": before, "minutes": gap, "homicide": uid})
    return rows


def expected_card(uid: str) -> Row:
    c = next(c for c in CASES if c.uid == uid)
    info = dataset(c.dataset)

    def labels(label_class: str, uid: str | None) -> list[str]:
        return [concept_label(label_class, uid)] if uid else []

    return {
        "uid": uid, "dataset": c.dataset, "synthetic": info.synthetic, "case_id": uid.split(":", 1)[1],
        "year": c.year, "month": c.month, "offence_type": c.offence_type, "kind": c.kind, "iccs": c.iccs,
        "solved": c.solved, "victim_count": len(c.victims), "coding_frame_version": None,
        "factors_present": sorted(concept_label("Factor", f) for f, p in c.factors.items() if p),
        "factors_absent": sorted(concept_label("Factor", f) for f, p in c.factors.items() if not p),
        "motives": labels("Motive", c.motive), "methods": labels("Method", c.method),
        "relationships": labels("Relationship", c.relationship),
        "areas": [f"{area(c.area).label} ({area(c.area).code})"] if c.area else [],
        "suspects": c.suspects, "pathway_steps": len(c.events),
        "victims": [{"position": i, "age_group": v.age_group, "sex": v.sex} for i, v in enumerate(c.victims, 1)],
    }


def expected_factor_prevalence() -> list[Row]:
    present: Counter[str] = Counter()
    coded: Counter[str] = Counter()
    for d in DATASETS:
        records = [c for c in CASES if c.dataset == d.name]
        tagged = {f for c in records for f in c.factors}
        for f in tagged:
            present[f] += sum(c.factors.get(f) is True for c in records)
            coded[f] += len(records) if d.factor_recording == "presence_only" else sum(f in c.factors for c in records)
    vocab = get_vocabulary()

    def node(f: str) -> tuple[str, str | None]:
        if ("Factor", f) in vocab.concepts:
            return vocab.concepts[("Factor", f)].scheme, vocab.concepts[("Factor", f)].get("kind")  # type: ignore[return-value]
        return f.split(":")[0], None

    rows = [{"uid": f, "factor": concept_label("Factor", f), "scheme": node(f)[0], "kind": node(f)[1],
             "n_present": present[f], "n_coded": coded[f], "prevalence": present[f] / coded[f]} for f in coded]
    return sorted(rows, key=lambda r: (-r["prevalence"], r["factor"]))


def expected_cooccurrence() -> list[Row]:
    n = Counter(f for c in CASES for f, p in c.factors.items() if p)
    both: Counter[tuple[str, str]] = Counter()
    for c in CASES:
        on = sorted(f for f, p in c.factors.items() if p)
        both.update((a, b) for i, a in enumerate(on) for b in on[i + 1:])
    rows = [{"a_uid": a, "factor_a": concept_label("Factor", a), "b_uid": b, "factor_b": concept_label("Factor", b),
             "n_a": n[a], "n_b": n[b], "n_ab": k} for (a, b), k in both.items()]
    return sorted(rows, key=lambda r: (-r["n_ab"], r["factor_a"], r["factor_b"]))


# ---- exact answers on the fixture, both engines --------------------------------------------------
def test_homicides_by_year(fx: GraphBackend) -> None:
    assert run(fx, "homicides_by_year") == expected_by_year()
    assert run(fx, "homicides_by_year", year_from=2020, year_to=2020) == expected_by_year(year_from=2020, year_to=2020)
    everything = ["homicide", "murder_suicide", "suicide", "accidental"]
    assert run(fx, "homicides_by_year", incident_kinds=everything) == expected_by_year(kinds=tuple(everything))
    assert run(fx, "homicides_by_year", dataset="fx-tags", incident_kinds=[]) == []


@pytest.mark.parametrize("level", ["", "borough", "region"])
def test_homicides_by_area(fx: GraphBackend, level: str) -> None:
    assert run(fx, "homicides_by_area", level=level) == expected_by_area(level)
    assert run(fx, "homicides_by_area", level=level, dataset="fx-src") == expected_by_area(level, ds="fx-src")


def test_region_level_rolls_boroughs_up() -> None:  # the expectation itself, checked by hand
    assert expected_by_area("region") == [
        {"dataset": "fx-coded", "area_code": "E12000007", "area": "London", "level": "region", "homicides": 5},
        {"dataset": "fx-src", "area_code": "E12000007", "area": "London", "level": "region", "homicides": 2}]


@pytest.mark.parametrize(("name", "label_class", "attr", "column"), [
    ("homicides_by_method", "Method", "method", "method"),
    ("homicides_by_motive", "Motive", "motive", "motive"),
    ("victim_suspect_relationships", "Relationship", "relationship", "relationship"),
])
def test_homicides_by_concept(fx: GraphBackend, name: str, label_class: str, attr: str, column: str) -> None:
    assert run(fx, name) == expected_by_concept(label_class, attr, column)
    assert run(fx, name, year_from=2021) == expected_by_concept(label_class, attr, column, year_from=2021)
    assert run(fx, name, dataset="fx-src") == expected_by_concept(label_class, attr, column, ds="fx-src")


def test_method_shares_by_hand(fx: GraphBackend) -> None:
    """fx-src codes its methods in the Met's scheme: they count under the common methods they map to."""
    rows = [r for r in run(fx, "homicides_by_method") if r["dataset"] == "fx-src"]
    assert [(r["method_code"], r["homicides"], r["share"]) for r in rows] == [
        ("sharp_instrument", 1, 0.5), ("shooting", 1, 0.5)]


@pytest.mark.parametrize(("name", "label_class", "attr", "column"), [
    ("factors_by_method", "Method", "method", "method"),
    ("factors_by_motive", "Motive", "motive", "motive"),
])
def test_factors_by_group(fx: GraphBackend, name: str, label_class: str, attr: str, column: str) -> None:
    assert run(fx, name) == expected_factors_by(label_class, attr, column)
    assert run(fx, name, dataset="fx-coded") == expected_factors_by(label_class, attr, column, ds="fx-coded")
    assert run(fx, name, year_to=2020) == expected_factors_by(label_class, attr, column, year_to=2020)


def test_factor_denominators_by_hand(fx: GraphBackend) -> None:
    """Shooting: coded homicide fx-coded:3 (alcohol absent, gang present), fx-src:2, and two GVA-like
    homicide incidents of the presence-only dataset whose tags cover alcohol and gang (one untagged
    incident counts as absent). The suicide and accidental incidents are not homicides."""
    rows = {r["factor_code"]: r for r in run(fx, "factors_by_method") if r["method_code"] == "shooting"}
    assert (rows["alcohol"]["n_present"], rows["alcohol"]["n_coded"]) == (1, 3)
    assert (rows["gang_involvement"]["n_present"], rows["gang_involvement"]["n_coded"]) == (3, 3)
    assert (rows["domestic_abuse"]["n_present"], rows["domestic_abuse"]["n_coded"]) == (0, 1)
    assert "mental_health" not in rows  # coded for none of them


@pytest.mark.parametrize(("uid", "k", "ds"), [("fx-coded:1", 2, ""), ("fx-coded:1", 1, ""), ("fx-src:1", 1, ""),
                                              ("fx-coded:2", 1, "fx-coded"), ("fx-coded:5", 1, ""), ("", 2, "")])
def test_similar_homicides(fx: GraphBackend, uid: str, k: int, ds: str) -> None:
    expected = expected_similar(uid, k, ds) if uid else []
    assert run(fx, "similar_homicides", uid=uid, k=k, dataset=ds) == expected


def test_similar_homicides_by_hand(fx: GraphBackend) -> None:
    rows = run(fx, "similar_homicides", uid="fx-coded:1", k=2)
    assert [(r["uid"], r["shared"], r["shared_factors"], r["jaccard"]) for r in rows] == [
        ("fx-coded:4", 3, ["Alcohol", "Drugs", "Mental health"], 1.0)]


@pytest.mark.parametrize(("motive", "min_homicides"), [("", 1), ("", 2), ("theft_gain", 1),
                                                       ("quarrel_revenge_temper", 1), ("arson", 1)])
def test_pathway_transitions(fx: GraphBackend, motive: str, min_homicides: int) -> None:
    assert run(fx, "pathway_transitions", motive=motive, min_homicides=min_homicides) == \
        expected_transitions(motive, min_homicides)


def test_repeated_transition_counts_once_for_prevalence(fx: GraphBackend) -> None:
    """fx-coded:2 goes substance use -> verbal argument twice: two transitions, one homicide."""
    row = next(r for r in run(fx, "pathway_transitions")
               if (r["from_code"], r["to_code"]) == ("substance_use", "verbal_argument"))
    assert (row["transitions"], row["homicides"], row["pathways"], row["probability"]) == (2, 1, 7, 1.0)


def test_escalation_times(fx: GraphBackend) -> None:
    rows = run(fx, "escalation_times")
    assert rows == expected_escalation_times()
    assert [(r["uid"], r["minutes"], r["band"]) for r in rows] == [
        ("fx-coded:3", 3.0, "<5 min"), ("fx-src:1", 5.0, "5-15 min"), ("fx-coded:6", 15.0, "15-60 min"),
        ("fx-coded:2", 60.0, "1-24 h"), ("fx-coded:1", 1500.0, ">24 h"), ("fx-coded:4", None, "not known")]


def test_escalation_conflict_codes_parameter(fx: GraphBackend) -> None:
    """With only 'threat' counted as conflict, fx-coded:4 escalates from its threat, 30 minutes out."""
    rows = run(fx, "escalation_times", conflict_codes=["threat"])
    assert [(r["uid"], r["first_step"], r["minutes"]) for r in rows] == [("fx-coded:4", 2, 30.0)]


def test_escalation_summary(fx: GraphBackend) -> None:
    assert run(fx, "escalation_summary") == expected_escalation_summary()
    assert run(fx, "escalation_summary", dataset="fx-src")[0]["from_5_to_15_min"] == 1


@pytest.mark.parametrize("uid", ["fx-coded:1", "fx-coded:2", "fx-src:2", "fx-coded:5", ""])
def test_pathway_of_homicide(fx: GraphBackend, uid: str) -> None:
    assert run(fx, "pathway_of_homicide", uid=uid) == (expected_pathway(uid) if uid else [])


def test_dataset_summary(fx: GraphBackend) -> None:
    rows = run(fx, "dataset_summary")
    for row in rows:
        assert isinstance(row.pop("loaded_at"), str)
    expected = []
    for d in sorted(DATASETS, key=lambda d: d.name):
        records = [c for c in CASES if c.dataset == d.name]
        years = [c.year for c in records]
        expected.append({
            "dataset": d.name, "synthetic": d.synthetic, "factor_recording": d.factor_recording,
            "coding_frame_version": d.coding_frame_version, "records": len(records),
            "homicides": sum(c.label == "Homicide" for c in records),
            "incidents": sum(c.label == "Incident" for c in records),
            "first_year": min(years, default=None), "last_year": max(years, default=None),
            "years": len(set(years)), "source": "hand-made test fixture", "licence": "none"})
    assert rows == expected


@pytest.mark.parametrize("uid", [c.uid for c in CASES])
def test_homicide_card(fx: GraphBackend, uid: str) -> None:
    assert run(fx, "homicide_card", uid=uid) == [expected_card(uid)]


def test_homicide_card_shows_no_more_than_age_group_and_sex(fx: GraphBackend) -> None:
    card = run(fx, "homicide_card", uid="fx-coded:1")[0]
    assert card["victims"][0] == {"position": 1, "age_group": "18 to 24", "sex": "Male"}  # no age, no ethnicity
    assert run(fx, "homicide_card", uid="no-such:1") == []


def test_incidents_by_kind(fx: GraphBackend) -> None:
    incidents = [c for c in CASES if c.label == "Incident"]
    counts = Counter((c.dataset, c.kind, c.iccs or "") for c in incidents)
    totals = Counter(c.dataset for c in incidents)
    expected = sorted(({"dataset": d, "kind": k, "iccs": i, "incidents": n, "share": n / totals[d]}
                       for (d, k, i), n in counts.items()), key=lambda r: (r["dataset"], -r["incidents"], r["kind"]))  # type: ignore[operator]
    assert run(fx, "incidents_by_kind") == expected
    assert run(fx, "incidents_by_kind", year_from=2015) == [
        {"dataset": "fx-tags", "kind": "homicide", "iccs": "0101", "incidents": 1, "share": 0.5},
        {"dataset": "fx-tags", "kind": "suicide", "iccs": "", "incidents": 1, "share": 0.5}]


def test_factor_prevalence(fx: GraphBackend) -> None:
    assert run(fx, "factor_prevalence") == expected_factor_prevalence()


def test_factor_cooccurrence(fx: GraphBackend) -> None:
    assert run(fx, "factor_cooccurrence") == expected_cooccurrence()


# ---- the real London file: figures computed independently with pandas ----------------------------
@pytest.fixture(scope="module")
def csv() -> pd.DataFrame:
    return pd.read_csv(LONDON_CSV, dtype=str, keep_default_na=False)


# The Met's method labels and the common (Homicide Index) method each is, read off ontology/vocab/mps.ttl.
MPS_METHODS = {
    "Knife or Sharp Implement": ("sharp_instrument", "Sharp instrument"),
    "Shooting": ("shooting", "Shooting"),
    "Blunt Implement": ("blunt_instrument", "Blunt instrument"),
    "Physical Assault, no weapon": ("hitting_kicking", "Hitting, kicking, etc. without a weapon"),
    "Other Methods of Killing": ("other", "Other"),
    "Not known/Not Recorded": ("not_known", "Not known"),
}


def test_london_by_year(london: GraphBackend, csv: pd.DataFrame) -> None:
    counts = csv["Recorded Year"].astype(int).value_counts().sort_index()
    assert run(london, "homicides_by_year") == [
        {"dataset": "london-mps", "year": int(y), "homicides": int(n)} for y, n in counts.items()]
    recent = csv[csv["Recorded Year"].astype(int).between(2015, 2020)]
    assert sum(r["homicides"] for r in run(london, "homicides_by_year", year_from=2015, year_to=2020)) == len(recent)


def test_london_by_method(london: GraphBackend, csv: pd.DataFrame) -> None:
    counts = csv["MethodofKilling"].map(lambda m: MPS_METHODS[m]).value_counts()
    expected = sorted(({"dataset": "london-mps", "method_code": code_, "method": label, "homicides": int(n),
                        "records": len(csv), "share": int(n) / len(csv)} for (code_, label), n in counts.items()),
                      key=lambda r: (-r["homicides"], r["method_code"]))
    assert run(london, "homicides_by_method") == expected


def _norm(name: str) -> str:
    return name.lower().replace("&", "and").replace(" ", "")


def test_london_by_area(london: GraphBackend, csv: pd.DataFrame) -> None:
    """Counted by borough name in the file; the Met's 'Unmapped' victims are placed in the London region."""
    by_borough = csv["Borough"].value_counts()
    rows = run(london, "homicides_by_area")
    got = {(_norm(r["area"]) if r["level"] == "borough" else "unmapped"): r["homicides"] for r in rows}
    assert got == {(_norm(b) if b != "Unmapped" else "unmapped"): int(n) for b, n in by_borough.items()}
    assert all(r["area_code"].startswith("E09") for r in rows if r["level"] == "borough")
    assert [r["homicides"] for r in rows] == sorted((r["homicides"] for r in rows), reverse=True)

    boroughs = run(london, "homicides_by_area", level="borough")
    assert sum(r["homicides"] for r in boroughs) == int((csv["Borough"] != "Unmapped").sum())
    assert run(london, "homicides_by_area", level="region") == [
        {"dataset": "london-mps", "area_code": "E12000007", "area": "London", "level": "region",
         "homicides": len(csv)}]


def test_london_domestic_abuse_by_method(london: GraphBackend, csv: pd.DataFrame) -> None:
    domestic = csv["Domestic Abuse"] == "Domestic Abuse"
    rows = {r["method_code"]: r for r in run(london, "factors_by_method")}
    for label, (code_, _) in MPS_METHODS.items():
        group = csv["MethodofKilling"] == label
        assert (rows[code_]["n_present"], rows[code_]["n_coded"]) == (int((group & domestic).sum()), int(group.sum()))


# ---- limits: row cap and time limit ----------------------------------------------------------------
HEAVY = """// name = "heavy"
// title = "A three-way cartesian product"
// description = "Deliberately heavy: billions of rows."
// max_rows = 3
// timeout_s = 0.05
MATCH (a), (b), (c)
WHERE a.uid + b.uid + c.uid <> ''
RETURN count(*) AS n
"""
CAPPED = """// name = "capped"
// title = "Every homicide"
// description = "More rows than the cap."
// max_rows = 3
MATCH (h:Homicide)
RETURN h.uid AS uid
ORDER BY uid
"""


@pytest.fixture(scope="module")
def limits_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder = tmp_path_factory.mktemp("limits")
    (folder / "heavy.cypher").write_text(HEAVY)
    (folder / "capped.cypher").write_text(CAPPED)
    return Registry([folder])


def test_row_cap_reports_truncated(london: GraphBackend, limits_registry: Registry) -> None:
    capped = run_saved_query(london, "capped", registry=limits_registry)
    assert len(capped.rows) == 3 and capped.truncated
    by_year = run_saved_query(london, "homicides_by_year", max_rows=5)
    assert [r["year"] for r in by_year.rows] == [2003, 2004, 2005, 2006, 2007] and by_year.truncated
    assert not run_saved_query(london, "homicides_by_year", max_rows=22).truncated  # exactly 22 years


def test_time_limit_names_the_setting(london: GraphBackend, limits_registry: Registry) -> None:
    with pytest.raises(QueryTimeoutError, match=r"'heavy'.*time limit of 0\.05s.*timeout_s"):
        run_saved_query(london, "heavy", registry=limits_registry)


# ---- the CLI ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def london_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    holder = Graphs("embedded", tmp_path_factory.mktemp("cli"), lambda: "")
    holder.get("london")
    yield f"embedded:{holder.path('london')}"
    holder.close()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code_ = main(list(argv))
    out, err = capsys.readouterr()
    return code_, out, err


def test_cli_lists_queries_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code_, out, _ = cli(capsys, "queries", "--format", "json")
    listed = json.loads(out)
    assert code_ == 0 and len(listed) == len(Registry())
    by_name = {q["name"]: q for q in listed}
    assert {"name", "title", "parameters"} <= set(by_name["homicides_by_area"])
    assert [p["name"] for p in by_name["homicides_by_area"]["parameters"]] == [
        "dataset", "year_from", "year_to", "level", "incident_kinds"]
    assert by_name["similar_homicides"]["parameters"][1] == {
        "name": "k", "type": "integer", "default": 2, "description": "Minimum number of shared present factors"}


def test_cli_runs_a_saved_query_as_json(capsys: pytest.CaptureFixture[str], london_uri: str, csv: pd.DataFrame) -> None:
    code_, out, err = cli(capsys, "query", "homicides_by_year", "-p", "year_from=2010", "-p", "year_to=2012",
                          "--db", london_uri, "--format", "json")
    years = csv["Recorded Year"].astype(int)
    assert code_ == 0 and err == ""
    assert json.loads(out) == [{"dataset": "london-mps", "year": y, "homicides": int((years == y).sum())}
                               for y in (2010, 2011, 2012)]
    code_, out, _ = cli(capsys, "query", "homicides_by_area", "-p", "level=region", "-p",
                        "incident_kinds=homicide,suicide", "--db", london_uri, "--format", "json")
    assert code_ == 0 and json.loads(out)[0]["homicides"] == len(csv)


def test_cli_reports_bad_parameters(capsys: pytest.CaptureFixture[str], london_uri: str) -> None:
    code_, _, err = cli(capsys, "query", "homicides_by_year", "-p", "year_from=soon", "--db", london_uri)
    assert code_ == 1 and "'year_from' expects integer" in err
    code_, _, err = cli(capsys, "query", "homicides_by_year", "-p", "borough=x", "--db", london_uri)
    assert code_ == 1 and "has no parameter(s) ['borough']" in err


def test_cli_warns_when_truncated(capsys: pytest.CaptureFixture[str], london_uri: str) -> None:
    code_, out, err = cli(capsys, "query", "homicides_by_year", "--max-rows", "2", "--db", london_uri,
                          "--format", "json")
    assert code_ == 0 and len(json.loads(out)) == 2 and "truncated" in err


@pytest.mark.parametrize("statement", ["MATCH (h) SET h.x = 1", "MATCH (h:Homicide) SET h.year = 1900",
                                       "MATCH (h:Homicide) DETACH DELETE h"])
def test_cli_refuses_writes(capsys: pytest.CaptureFixture[str], london_uri: str, statement: str) -> None:
    snapshot: Callable[[], tuple[int, str]] = lambda: cli(  # noqa: E731
        capsys, "cypher", "MATCH (h:Homicide) RETURN count(h) AS n, min(h.year) AS y0, max(h.year) AS y1",
        "--db", london_uri, "--format", "json")[:2]
    before = snapshot()
    code_, out, err = cli(capsys, "cypher", statement, "--db", london_uri)
    assert code_ == 1 and out == ""
    assert "refused" in err and "can change the graph" in err and "read-only" in err
    assert snapshot() == before
    assert json.loads(before[1]) == [{"n": 2936, "y0": 2003, "y1": 2024}]


def test_cli_time_limit(capsys: pytest.CaptureFixture[str], london_uri: str) -> None:
    code_, _, err = cli(capsys, "cypher", "MATCH (a), (b), (c) WHERE a.uid + b.uid + c.uid <> '' RETURN count(*) AS n",
                        "--timeout", "0.05", "--db", london_uri)
    assert code_ == 1 and "time limit of 0.05s" in err and "--timeout" in err


def test_fixture_graph_path_helper(tmp_path: Path) -> None:
    """build_fixture_graph (for notebooks and the docs generator) writes the same graph the tests use."""
    from graph_model.embedded import EmbeddedBackend
    from tests.graph_fixtures import build_fixture_graph

    with EmbeddedBackend(build_fixture_graph(tmp_path / "fx.lbdb")) as backend:
        assert run(backend, "homicides_by_year") == expected_by_year()
