"""Coding reliability: double-coded bundles (reliability.csv), their validation, CODED_AS in the graph, and
the agreement measures (patterns/reliability.py, `micropath reliability`) on both engines.

Expected figures are computed here from the bundle's own rows with the textbook formulas — Cohen's kappa
from the confusion matrix, Krippendorff's alpha (nominal) from the coincidence matrix — never with
scikit-learn or the krippendorff package the module uses, and checked against published values
(Cohen's kappa 0.4 on the classic 50-item table; Krippendorff's 2011 example, alpha = 0.743).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections import Counter
from collections.abc import Callable
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli.main import main as micropath
from graph_model.backend import GraphBackend
from graph_model.embedded import EmbeddedBackend
from graph_model.neo4j_backend import Neo4jBackend
from loaders.base import load, prepare
from loaders.problems import ValidationFailed
from loaders.synthetic import write_bundle as write_synthetic
from patterns.reliability import Selection, records, reliability
from queries.runner import run_saved_query
from tests.graph_checks import graph_counts, rows

FIXTURE = Path(__file__).parent / "fixtures" / "coded_small"
DOC = Path(__file__).resolve().parents[1] / "docs" / "coded-format.md"
CASE_COLUMNS = ["case_id", "year", "month", "area_code", "solved", "method", "motive", "relationship",
                "coding_frame_version", "coder"]
MEASURES = ("agreement", "kappa", "alpha")


# ---- independent reference computations ------------------------------------------------------------
def textbook_kappa(one: list[str], two: list[str]) -> float:
    """Cohen (1960): (p_o - p_e) / (1 - p_e) from the confusion matrix of two raters."""
    categories = sorted(set(one) | set(two))
    index = {c: i for i, c in enumerate(categories)}
    matrix = np.zeros((len(categories), len(categories)))
    for a, b in zip(one, two, strict=True):
        matrix[index[a], index[b]] += 1
    n = matrix.sum()
    p_o = np.trace(matrix) / n
    p_e = float((matrix.sum(axis=1) * matrix.sum(axis=0)).sum()) / n ** 2
    return float((p_o - p_e) / (1 - p_e))


def textbook_alpha(units: list[list[str]]) -> float:
    """Krippendorff's alpha, nominal, from the coincidence matrix (Krippendorff 2011, section C)."""
    coincidence: Counter[tuple[str, str]] = Counter()
    for values in units:
        m = len(values)
        if m < 2:
            continue  # unpairable
        for i, j in permutations(range(m), 2):
            coincidence[(values[i], values[j])] += 1 / (m - 1)
    categories = sorted({c for pair in coincidence for c in pair})
    n_c = {c: sum(v for (a, _), v in coincidence.items() if a == c) for c in categories}
    n = sum(n_c.values())
    observed = sum(v for (a, b), v in coincidence.items() if a != b)
    expected = sum(n_c[a] * n_c[b] for a in categories for b in categories if a != b)
    return 1 - (n - 1) * observed / expected


# ---- building small bundles ----------------------------------------------------------------------------
def case(case_id: str, *, method: str = "sharp_instrument", motive: str = "quarrel_revenge_temper",
         relationship: str = "stranger", frame: int = 2, coder: str = "C01", year: int = 2020) -> dict[str, object]:
    return {"case_id": case_id, "year": year, "month": "", "area_code": "E09000011", "solved": "",
            "method": method, "motive": motive, "relationship": relationship, "coding_frame_version": frame,
            "coder": coder}


def write_folder(folder: Path, name: str, cases: list[dict[str, object]],
                 factors: list[tuple[str, str, str, str]], reliability_rows: list[tuple[str, str, str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bundle.toml").write_text(
        f'name = "{name}"\nsource = "hand-made reliability test"\nlicence = "CC0-1.0"\nsynthetic = true\n'
        'coding_frame_version = 2\ndescription = "Invented double-coded cases for tests."\n', encoding="utf-8")
    pd.DataFrame(cases, columns=CASE_COLUMNS).to_csv(folder / "cases.csv", index=False)
    (folder / "victims.csv").write_text("case_id,position,age_group,sex\n", encoding="utf-8")
    (folder / "suspects.csv").write_text("case_id,position,age_group,sex\n", encoding="utf-8")
    (folder / "events.csv").write_text("case_id,step,event_type,minutes_before,coder\n", encoding="utf-8")
    pd.DataFrame(factors, columns=["case_id", "factor", "value", "coder"]).to_csv(folder / "factors.csv", index=False)
    pd.DataFrame(reliability_rows, columns=["case_id", "variable", "value", "coder"]).to_csv(
        folder / "reliability.csv", index=False)
    return folder


def by_variable(backend: GraphBackend, dataset: str, threshold: float = 0.6) -> dict[str, dict]:
    return {r["variable"]: r for r in records(reliability(backend, Selection(dataset), threshold))}


def pairs_from_csv(folder: Path, variable: str) -> tuple[list[str], list[str], list[list[str]]]:
    """From the files alone: (own values, second values) of units coded by exactly two, and all units."""
    cases = pd.read_csv(folder / "cases.csv", dtype=str)
    factors = pd.read_csv(folder / "factors.csv", dtype=str)
    second = pd.read_csv(folder / "reliability.csv", dtype=str)
    second = second[(second["variable"] == variable) & (second["value"] != "not_recorded")]
    if variable in ("method", "motive", "relationship"):
        own = cases[["case_id", variable]].rename(columns={variable: "value"})
    else:
        own = factors[(factors["factor"] == variable) & (factors["value"] != "not_recorded")][["case_id", "value"]]
    units = []
    one, two = [], []
    for case_id in sorted(set(own["case_id"]) | set(second["case_id"])):
        mine = own.loc[own["case_id"] == case_id, "value"].tolist()
        others = second[second["case_id"] == case_id].sort_values("coder")["value"].tolist()
        values = mine + others
        if len(values) >= 2:
            units.append(values)
        if len(values) == 2:
            one.append(values[0])
            two.append(values[1])
    return one, two, units


# ---- exact measures on hand-made bundles, both engines ---------------------------------------------------
@pytest.fixture
def cohen_bundle(tmp_path: Path) -> Path:
    """50 cases coded by C01, double-coded by C02 (C03 for a few mental-health values).

    alcohol is Cohen's classic table (yes/yes 20, yes/no 5, no/yes 10, no/no 15: kappa 0.4); gang
    involvement agrees perfectly; mental health has missing values on both sides; the method has a
    four-category confusion matrix.
    """
    ids = [f"K{i:02d}" for i in range(1, 51)]
    alcohol = [("present", "present")] * 20 + [("present", "absent")] * 5 + [("absent", "present")] * 10 + \
        [("absent", "absent")] * 15
    methods = [("sharp_instrument", "sharp_instrument")] * 25 + [("sharp_instrument", "blunt_instrument")] * 3 + \
        [("blunt_instrument", "blunt_instrument")] * 10 + [("blunt_instrument", "hitting_kicking")] * 2 + \
        [("hitting_kicking", "hitting_kicking")] * 8 + [("shooting", "sharp_instrument")] * 2
    cases = [case(k, method=methods[i][0]) for i, k in enumerate(ids)]
    factors, second = [], []
    for i, k in enumerate(ids):
        factors.append((k, "alcohol", alcohol[i][0], "C01"))
        second.append((k, "alcohol", alcohol[i][1], "C02"))
        gang = "present" if i % 3 == 0 else "absent"
        factors.append((k, "gang_involvement", gang, "C01"))
        second.append((k, "gang_involvement", gang, "C02"))
        own = "not_recorded" if i < 5 else ("present" if i % 2 else "absent")
        other = "not_recorded" if 5 <= i < 10 else ("present" if i % 5 else "absent")
        factors.append((k, "mental_health", own, "C01"))
        second.append((k, "mental_health", other, "C02"))
        second.append((k, "method", methods[i][1], "C02"))
    # own value not coded, two second coders: still a double-coded unit (rater 1 = the lower coder id)
    second += [(ids[0], "mental_health", "present", "C03"), (ids[1], "mental_health", "absent", "C03")]
    return write_folder(tmp_path / "cohen", "rel-cohen", cases, factors, second)


def test_cohen_textbook_table_and_missing_values(backend: GraphBackend, cohen_bundle: Path) -> None:
    load("coded", cohen_bundle, backend)
    got = by_variable(backend, "rel-cohen")
    assert set(got) == {"alcohol", "gang_involvement", "mental_health", "method"}
    alcohol = got["alcohol"]
    assert (alcohol["cases"], alcohol["codings"], alcohol["coders"]) == (50, 100, 2)
    assert alcohol["agreement"] == pytest.approx(0.7, abs=1e-12)
    assert alcohol["kappa"] == pytest.approx(0.4, abs=1e-9)  # Cohen's classic table
    for variable, row in got.items():
        one, two, units = pairs_from_csv(cohen_bundle, variable)
        assert row["cases"] == len(units), variable
        assert row["codings"] == sum(len(u) for u in units), variable
        assert row["agreement"] == pytest.approx(np.mean([len(set(u)) == 1 for u in units]), abs=1e-12)
        assert row["kappa"] == pytest.approx(textbook_kappa(one, two), abs=1e-9), variable
        assert row["alpha"] == pytest.approx(textbook_alpha(units), abs=1e-9), variable
        assert row["below_threshold"] == (min(row["kappa"], row["alpha"]) < 0.6), variable
    # perfect agreement (with both categories used) is 1
    assert got["gang_involvement"]["kappa"] == pytest.approx(1.0, abs=1e-12)
    assert got["gang_involvement"]["alpha"] == pytest.approx(1.0, abs=1e-12)
    assert got["gang_involvement"]["below_threshold"] is False
    # missing: 5 own values and 5 second values not coded (10 units unpairable), 2 units rescued by C03
    assert got["mental_health"]["cases"] == 50 - 10 + 2
    assert got["mental_health"]["coders"] == 3
    assert got["alcohol"]["below_threshold"] is True  # 0.4
    # the threshold is a parameter
    assert by_variable(backend, "rel-cohen", threshold=0.3)["alcohol"]["below_threshold"] is False


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the nominal example: 4 observers,
# 12 units, missing values; alpha = 0.743. Values 1..5 are coded as five methods.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
METHOD_OF = {1: "sharp_instrument", 2: "shooting", 3: "blunt_instrument", 4: "hitting_kicking", 5: "strangulation"}


def test_krippendorff_published_example_with_four_coders(backend: GraphBackend, tmp_path: Path) -> None:
    cases, second, units = [], [], []
    for unit in range(12):
        coded = [(f"C0{coder + 1}", METHOD_OF[row[unit]]) for coder, row in enumerate(KRIPPENDORFF_2011)
                 if row[unit] is not None]
        own_coder, own_value = coded[0]  # the first observer who coded the unit is the case's own coder
        cases.append(case(f"U{unit + 1:02d}", method=own_value, coder=own_coder))
        second += [(f"U{unit + 1:02d}", "method", value, coder) for coder, value in coded[1:]]
        units.append([value for _, value in coded])
    factors = [(c["case_id"], "alcohol", "absent", c["coder"]) for c in cases]  # not double-coded
    folder = write_folder(tmp_path / "kripp", "rel-kripp", cases, factors, second)
    load("coded", folder, backend)
    got = by_variable(backend, "rel-kripp")
    assert set(got) == {"method"}
    method = got["method"]
    assert round(method["alpha"], 3) == 0.743  # the published figure
    assert method["alpha"] == pytest.approx(textbook_alpha(units), abs=1e-9)
    assert (method["cases"], method["codings"], method["coders"]) == (11, 40, 4)  # unit 12 has one value
    assert method["kappa"] is None and "three or more" in method["note"]  # not a two-coder design
    assert method["below_threshold"] is False


def test_no_variation_and_no_double_coding(backend: GraphBackend, tmp_path: Path) -> None:
    cases = [case(f"N{i}") for i in range(1, 5)]
    factors = [(f"N{i}", "robbery", "absent", "C01") for i in range(1, 5)]
    second = [(f"N{i}", "robbery", "absent", "C02") for i in range(1, 5)]
    second += [("N1", "alcohol", "present", "C02")]  # no own value of alcohol: a single coding
    folder = write_folder(tmp_path / "flat", "rel-flat", cases, factors, second)
    load("coded", folder, backend)
    got = by_variable(backend, "rel-flat")
    assert got["robbery"]["agreement"] == 1.0
    assert got["robbery"]["kappa"] is None and got["robbery"]["alpha"] is None
    assert got["robbery"]["below_threshold"] is None and "undefined" in got["robbery"]["note"]
    assert got["alcohol"]["cases"] == 0 and got["alcohol"]["below_threshold"] is None
    assert "method" not in got  # no second coding of any method: not in the sample
    assert by_variable(backend, "no-such-dataset") == {}


# ---- coding frames ---------------------------------------------------------------------------------------------
@pytest.fixture
def mixed_frames(tmp_path: Path) -> Path:
    """Six cases: M1-M3 coded under frame 1 (social media never asked), M4-M6 under frame 2."""
    cases = [case(f"M{i}", frame=1 if i <= 3 else 2, year=2016 if i <= 3 else 2021) for i in range(1, 7)]
    factors, second = [], []
    own_sm = {4: "present", 5: "absent", 6: "present"}
    other_sm = {4: "present", 5: "present", 6: "present"}
    for i in range(1, 7):
        factors.append((f"M{i}", "alcohol", "present" if i % 2 else "absent", "C01"))
        second.append((f"M{i}", "alcohol", "present" if i % 3 else "absent", "C02"))
        factors.append((f"M{i}", "social_media", own_sm.get(i, "not_recorded"), "C01"))
        second.append((f"M{i}", "social_media", other_sm.get(i, "not_recorded"), "C02"))
    return write_folder(tmp_path / "frames", "rel-frames", cases, factors, second)


def test_a_variable_added_later_leaves_out_earlier_frames(backend: GraphBackend, mixed_frames: Path) -> None:
    load("coded", mixed_frames, backend)
    got = by_variable(backend, "rel-frames")
    social = got["social_media"]
    assert social["added_in_frame"] == 2
    assert (social["cases"], social["excluded_by_frame"]) == (3, 0)  # frame-1 cases: not coded, not disagreeing
    _, _, units = pairs_from_csv(mixed_frames, "social_media")
    assert social["alpha"] == pytest.approx(textbook_alpha(units), abs=1e-9)
    assert got["alcohol"]["cases"] == 6  # a frame-1 variable counts every case


def test_a_graph_built_otherwise_is_still_measured_by_frame(backend: GraphBackend, mixed_frames: Path) -> None:
    """A frame-1 record coded on a frame-2 factor (the loader refuses this; another writer might not)."""
    result = prepare("coded", mixed_frames)
    bundle = result.bundle
    uid, factor = "rel-frames:M1", "micropathways:social_media"
    bundle.add_rels("HAS_FACTOR", "Homicide", "Factor", pd.DataFrame(
        [{"from": uid, "to": factor, "present": True, "coder": "C01"}]))
    bundle.add_rels("CODED_AS", "Homicide", "Factor", pd.DataFrame(
        [{"from": uid, "to": factor, "present": False, "coder": "C02"}]))
    from graph_model.schema import get_schema

    backend.write_bundle(bundle.conform(get_schema()))
    social = by_variable(backend, "rel-frames")["social_media"]
    assert (social["cases"], social["excluded_by_frame"]) == (3, 1)
    _, _, units = pairs_from_csv(mixed_frames, "social_media")  # the files: without the planted unit
    assert social["alpha"] == pytest.approx(textbook_alpha(units), abs=1e-9)


def test_prevalence_leaves_out_cases_coded_before_the_factor_existed(backend: GraphBackend,
                                                                   mixed_frames: Path) -> None:
    """factor_prevalence divides by the cases where the factor was coded: no frame-1 case for social media."""
    load("coded", mixed_frames, backend)
    result = run_saved_query(backend, "factor_prevalence", {"dataset": "rel-frames"})
    got = {r["uid"]: r for r in result.rows}
    factors = pd.read_csv(mixed_frames / "factors.csv", dtype=str)
    frames = pd.read_csv(mixed_frames / "cases.csv", dtype=str).set_index("case_id")["coding_frame_version"]
    for code in ("social_media", "alcohol"):
        coded = factors[(factors["factor"] == code) & (factors["value"] != "not_recorded")]
        row = got[f"micropathways:{code}"]
        assert row["n_coded"] == len(coded)
        assert row["n_present"] == int((coded["value"] == "present").sum())
        assert row["prevalence"] == pytest.approx((coded["value"] == "present").mean(), abs=1e-12)
    social = factors[factors["factor"] == "social_media"]
    assert got["micropathways:social_media"]["n_coded"] == int((social["case_id"].map(frames) == "2").sum()) == 3
    # the second codings never change a prevalence
    assert got["micropathways:social_media"]["prevalence"] == pytest.approx(2 / 3, abs=1e-12)


# ---- the graph ---------------------------------------------------------------------------------------------------
def test_second_codings_in_the_graph(backend: GraphBackend, cohen_bundle: Path) -> None:
    load("coded", cohen_bundle, backend)
    second = pd.read_csv(cohen_bundle / "reliability.csv", dtype=str)
    coded = second[second["value"] != "not_recorded"]
    got = rows(backend, "MATCH (h:Homicide)-[c:CODED_AS]->(f:Factor) RETURN h.case_id AS k, f.code AS v, "
                        "c.present AS p, c.coder AS coder ORDER BY k, v, coder")
    factor_rows = coded[coded["variable"] != "method"].sort_values(["case_id", "variable", "coder"])
    assert [(r["k"], r["v"], r["p"], r["coder"]) for r in got] == [
        (k, v, value == "present", c) for k, v, value, c in factor_rows.itertuples(index=False)]
    methods = rows(backend, "MATCH (h:Homicide)-[c:CODED_AS]->(m:Method) RETURN h.case_id AS k, m.code AS v, "
                            "c.present AS p, c.coder AS coder ORDER BY k")
    method_rows = coded[coded["variable"] == "method"].sort_values("case_id")
    assert [(r["k"], r["v"], r["p"], r["coder"]) for r in methods] == [
        (k, v, True, c) for k, _, v, c in method_rows.itertuples(index=False)]
    # the case's own values are untouched
    assert rows(backend, "MATCH (:Homicide)-[r:HAS_FACTOR]->(:Factor) RETURN count(r) AS n") == [{"n": 145}]


def test_reloading_without_reliability_removes_the_second_codings(backend: GraphBackend, cohen_bundle: Path) -> None:
    load("coded", cohen_bundle, backend)
    _, again = load("coded", cohen_bundle, backend)
    assert not again.changed_anything
    (cohen_bundle / "reliability.csv").unlink()
    _, report = load("coded", cohen_bundle, backend)
    assert report.records_changed == 50
    assert rows(backend, "MATCH ()-[c:CODED_AS]->() RETURN count(c) AS n") == [{"n": 0}]
    assert by_variable(backend, "rel-cohen") == {}


# ---- validation -------------------------------------------------------------------------------------------------
BASE_RELIABILITY = """case_id,variable,value,coder
K1,gang_involvement,present,C05
K1,social_media,absent,C05
K1,method,sharp_instrument,C05
K2,drugs,present,C05
K2,social_media,not_recorded,C05
K3,relationship,partner_ex_partner,C06
K3,mental_health,present,C05
"""


@pytest.fixture
def double_coded_small(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(FIXTURE, target)
    (target / "reliability.csv").write_text(BASE_RELIABILITY, encoding="utf-8")
    return target


def _replace(old: str, new: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        path = folder / "reliability.csv"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return change


def _append(*lines: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        with (folder / "reliability.csv").open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
    return change


def _column(name: str, value: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        path = folder / "reliability.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join([f"{lines[0]},{name}"] + [f"{line},{value}" for line in lines[1:]]) + "\n",
                        encoding="utf-8")
    return change


# (edit, row, column, value, words in expected, kind)
BAD_RELIABILITY: dict[str, tuple[Callable[[Path], None], int, str, str | None, str, str]] = {
    "unknown variable": (_replace("K1,gang_involvement,present", "K1,gangs,present"), 2, "variable", "gangs",
                         "a variable of the coding frame: method, motive, relationship or a factor code", "error"),
    "factor value": (_replace("K3,mental_health,present", "K3,mental_health,yes"), 8, "value", "yes",
                     "one of 'present', 'absent', 'not_recorded' (the variable is a factor)", "error"),
    "method code": (_replace("K1,method,sharp_instrument", "K1,method,knife"), 4, "value", "knife",
                    "a code of the scheme 'Method of killing (Homicide Index)' (the variable is method)", "error"),
    "own coder of a factor": (_replace("K1,gang_involvement,present,C05", "K1,gang_involvement,present,C01"), 2,
                              "coder", "C01", "a coder other than C01, who coded the case's own gang_involvement "
                              "(factors.csv line 2): a second coding must be independent", "error"),
    "own coder of the case": (_replace("K3,relationship,partner_ex_partner,C06", "K3,relationship,stranger,C01"),
                              7, "coder", "C01", "a coder other than C01, who coded the case's own relationship "
                              "(cases.csv line 4)", "error"),
    "repeated coding": (_append("K1,method,other,C05"), 9, "coder", "C05",
                        "each coder codes a variable of a case once (already on line 4)", "error"),
    "unknown case": (_append("K9,alcohol,absent,C05"), 9, "case_id", "K9", "a case_id listed in cases.csv", "error"),
    "frame version": (_replace("K2,social_media,not_recorded", "K2,social_media,present"), 6, "value", "present",
                      "social_media was added in coding frame 2; case K2 was coded under frame 1", "error"),
    "narrower present, broader absent": (_append("K2,drug_addiction_history,present,C06", "K2,drugs,absent,C06"),
                                         10, "value", "absent", "drug_addiction_history is present for this case "
                                         "by this coder and is a kind of drugs", "error"),
    "coder id": (_replace("K3,mental_health,present,C05", "K3,mental_health,present,Jo"), 8, "coder", "Jo",
                 "a pseudonymous coder id such as C01", "error"),
    "missing value": (_replace("K1,method,sharp_instrument,C05", "K1,method,,C05"), 4, "value", None,
                      "a value (required)", "error"),
    "unknown column": (_column("confidence", "high"), 1, "confidence", "confidence",
                       "only the columns of the format", "error"),
    "personal-data column": (_column("coder_name", "Jane Roe"), 1, "coder_name", "coder_name",
                             "no personal data", "personal-data"),
}


@pytest.mark.parametrize("name", list(BAD_RELIABILITY))
def test_bad_reliability_rows_are_refused(name: str, backend: GraphBackend, double_coded_small: Path) -> None:
    change, row, column, value, expected, kind = BAD_RELIABILITY[name]
    load("coded", double_coded_small, backend)
    before = graph_counts(backend)
    change(double_coded_small)
    with pytest.raises(ValidationFailed) as info:
        load("coded", double_coded_small, backend)
    error = info.value
    found = [p for p in error.problems.items if (p.file, p.row, p.column) == ("reliability.csv", row, column)]
    assert found, f"no problem at reliability.csv row {row} column {column}; got:\n{error}"
    problem = found[0]
    assert (problem.value, problem.kind) == (value, kind)
    assert expected in problem.expected
    assert str(problem) in str(error) and "nothing was written to the graph" in str(error)
    assert "Jane Roe" not in str(error)
    assert graph_counts(backend) == before  # nothing written


def test_reliability_file_is_optional_and_reported(double_coded_small: Path) -> None:
    with_file = prepare("coded", double_coded_small)
    assert any("7 second codings of 3 cases" in note and "1 coded not_recorded" in note for note in with_file.notes)
    assert len(with_file.bundle.rels[("CODED_AS", "Homicide", "Factor")]) == 4
    (double_coded_small / "reliability.csv").unlink()
    without = prepare("coded", double_coded_small)
    assert not any("second codings" in note for note in without.notes)
    assert not any(key[0] == "CODED_AS" for key in without.bundle.rels)


def test_the_documented_reliability_example_loads(tmp_path: Path) -> None:
    doc = DOC.read_text(encoding="utf-8")
    example = doc.split("## A worked example", 1)[1].split("\n## ", 1)[0]
    for name, text in re.findall(r"`([a-z]+\.(?:csv|toml))`[^\n]*:\n\n```[a-z]*\n(.*?)```", example, re.DOTALL):
        (tmp_path / name).write_text(text, encoding="utf-8")
    section = doc.split("## Double coding", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"could be:\n\n```\n(.*?)```", section, re.DOTALL)
    assert block is not None
    (tmp_path / "reliability.csv").write_text(block.group(1), encoding="utf-8")
    with EmbeddedBackend(tmp_path / "graph.lbdb", read_only=False) as db:
        load("coded", tmp_path, db)
        assert rows(db, "MATCH (:Homicide)-[c:CODED_AS]->() RETURN count(c) AS n") == [{"n": 9}]
        got = by_variable(db, "example")
        assert got["gang_involvement"]["agreement"] == 1.0 and got["relationship"]["agreement"] == 0.0


# ---- synthetic double coding, CLI, both engines --------------------------------------------------------------------
PLANTED_LOW = {"mental_health", "social_media"}


def test_synthetic_double_coding_flags_the_planted_variables_on_both_engines(
        tmp_path: Path, neo4j_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_synthetic(tmp_path / "synthetic", cases=3000, seed=21)
    second = pd.read_csv(folder / "reliability.csv", dtype=str)
    assert second["case_id"].nunique() == 300  # a tenth of the cases
    embedded_path = tmp_path / "graph.lbdb"
    with EmbeddedBackend(embedded_path, read_only=False) as db:
        load("coded", folder, db)
    neo4j = Neo4jBackend(neo4j_uri)
    try:
        neo4j.delete_all()
        load("coded", folder, neo4j)
    finally:
        neo4j.close()
    outputs = {}
    for uri in (f"embedded:{embedded_path}", neo4j_uri):
        assert micropath(["reliability", "--db", uri, "--format", "json"]) == 0
        outputs[uri] = json.loads(capsys.readouterr().out)
    embedded, server = outputs.values()
    assert embedded == server  # identical on both engines, to the last digit
    got = {r["variable"]: r for r in embedded}
    assert {v for v, r in got.items() if r["below_threshold"]} == PLANTED_LOW
    assert got["method"]["kappa"] > 0.9 and got["method"]["alpha"] > 0.9
    for variable in PLANTED_LOW:
        assert got[variable]["alpha"] < 0.55
    for variable, row in got.items():
        one, two, units = pairs_from_csv(folder, variable)
        assert row["cases"] == len(units), variable
        assert row["kappa"] == pytest.approx(textbook_kappa(one, two), abs=1e-9), variable
        assert row["alpha"] == pytest.approx(textbook_alpha(units), abs=1e-9), variable
    frames = pd.read_csv(folder / "cases.csv", dtype=str).set_index("case_id")["coding_frame_version"]
    sampled = second.drop_duplicates("case_id")["case_id"].map(frames)
    assert got["social_media"]["cases"] <= int((sampled == "2").sum())  # frame-1 cases never count
    assert got["social_media"]["excluded_by_frame"] == 0
    # table output marks the flagged variables
    assert micropath(["reliability", "--db", f"embedded:{embedded_path}", "--threshold", "0.6"]) == 0
    table = capsys.readouterr().out
    flagged = [line.split()[0] for line in table.splitlines() if "<< BELOW 0.6" in line]
    assert set(flagged) == PLANTED_LOW
    assert "2 variable(s) below 0.6: mental_health, social_media" in table
    # csv: one row per variable, full precision
    assert micropath(["reliability", "--db", f"embedded:{embedded_path}", "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(frame["variable"]) == [r["variable"] for r in embedded]
    assert frame["alpha"].tolist() == pytest.approx([r["alpha"] for r in embedded], abs=1e-12)


def test_cli_refuses_a_bad_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.lbdb"
    with EmbeddedBackend(path, read_only=False) as db:
        db.ensure_schema()  # an empty graph of the current contract
    assert micropath(["reliability", "--db", f"embedded:{path}", "--threshold", "1.5"]) == 1
    assert "threshold" in capsys.readouterr().err
    assert micropath(["reliability", "--db", f"embedded:{path}"]) == 0
    assert "no double-coded cases" in capsys.readouterr().out


def test_header_only_files_mean_no_rows(double_coded_small: Path) -> None:
    """docs/coded-format.md: victims, suspects, events (and reliability.csv) may be a header line alone."""
    headers = {"suspects.csv": "case_id,position,age_group,sex", "events.csv":
               "case_id,step,event_type,minutes_before,coder", "reliability.csv": "case_id,variable,value,coder"}
    for file, header in headers.items():
        (double_coded_small / file).write_text(header + "\n", encoding="utf-8")
    result = prepare("coded", double_coded_small)
    assert "Suspect" not in result.bundle.nodes or result.bundle.nodes["Suspect"].empty
    assert result.bundle.nodes["Event"].empty
    assert any("0 second codings of 0 cases" in note for note in result.notes)
    (double_coded_small / "cases.csv").write_text(",".join(CASE_COLUMNS) + "\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="at least one data row"):  # a bundle of no cases is refused
        prepare("coded", double_coded_small)
