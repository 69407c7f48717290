"""The london-mps loader against the Met's real file and small broken copies, on both engines.

Expected figures are computed here from the CSV with pandas, independently of
loaders/sources/london_mps.py (the mappings the loader should apply are written out below); the graph
is read back with portable Cypher. The real file is loaded once per backend (a module-scoped,
backend-parametrised fixture on a fresh graph); a test that writes restores the graph before it ends,
so the tests do not depend on their order.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from graph_model.backend import GraphBackend
from loaders.base import load, prepare
from loaders.problems import ValidationFailed
from tests.conftest import BACKENDS, LONDON_CSV
from tests.graph_checks import Loaded, as_dict, graph_counts, load_once, rows, scalar

DATASET = "london-mps"
RECORDS = 2_936
HOMICIDES = "MATCH (h:Homicide) WHERE h.dataset = 'london-mps' "
# The Met's method labels and the common (Homicide Index) method each should map to.
METHOD_MAP = {
    "Knife or Sharp Implement": "sharp_instrument",
    "Shooting": "shooting",
    "Blunt Implement": "blunt_instrument",
    "Physical Assault, no weapon": "hitting_kicking",
    "Other Methods of Killing": "other",
    "Not known/Not Recorded": "not_known",
}
# ONS GSS codes of the London boroughs, as the Met's file spells them (the City of London,
# E09000001, has its own police force and never appears).
BOROUGH_GSS = {
    "Barking & Dagenham": "E09000002", "Barnet": "E09000003", "Bexley": "E09000004", "Brent": "E09000005",
    "Bromley": "E09000006", "Camden": "E09000007", "Croydon": "E09000008", "Ealing": "E09000009",
    "Enfield": "E09000010", "Greenwich": "E09000011", "Hackney": "E09000012",
    "Hammersmith & Fulham": "E09000013", "Haringey": "E09000014", "Harrow": "E09000015",
    "Havering": "E09000016", "Hillingdon": "E09000017", "Hounslow": "E09000018", "Islington": "E09000019",
    "Kensington & Chelsea": "E09000020", "Kingston Upon Thames": "E09000021", "Lambeth": "E09000022",
    "Lewisham": "E09000023", "Merton": "E09000024", "Newham": "E09000025", "Redbridge": "E09000026",
    "Richmond Upon Thames": "E09000027", "Southwark": "E09000028", "Sutton": "E09000029",
    "Tower Hamlets": "E09000030", "Waltham Forest": "E09000031", "Wandsworth": "E09000032",
    "Westminster": "E09000033",
}
LONDON_REGION = "E12000007"  # where the file's 'Unmapped' rows belong
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
ICCS = {"Murder": "0101", "Manslaughter": "0101", "Infanticide": "0101", "Corporate Manslaughter": "0103"}

pytestmark = pytest.mark.skipif(not LONDON_CSV.exists(), reason=f"real data not found at {LONDON_CSV}")


# ---- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The real file; row i (0-based) is on line i + 2 and is case_id i + 1."""
    frame = pd.read_csv(LONDON_CSV, dtype=str, keep_default_na=False)
    assert len(LONDON_CSV.read_text(encoding="utf-8").splitlines()) == len(frame) + 1  # no multi-line rows
    return frame.assign(case_id=[str(i) for i in range(1, len(frame) + 1)])


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    yield from load_once(request, tmp_path_factory, DATASET, LONDON_CSV)


@pytest.fixture
def db(loaded: Loaded) -> GraphBackend:
    return loaded.backend


def counts_of(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts().items()}


def write_rows(path: Path, header: list[str], records: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(records)
    return path


# ---- the full real file ------------------------------------------------------------------------
def test_one_homicide_and_one_victim_per_row(raw: pd.DataFrame, loaded: Loaded) -> None:
    db, report = loaded.backend, loaded.report
    assert len(raw) == RECORDS  # as the data README says
    assert (report.records_new, report.records_changed, report.records_unchanged) == (RECORDS, 0, 0)
    assert loaded.counts[":Homicide"] == loaded.counts[":Victim"] == RECORDS  # the graph was empty
    assert loaded.counts[":Suspect"] == loaded.counts[":Incident"] == loaded.counts[":Event"] == 0
    assert scalar(db, HOMICIDES + "RETURN count(h) AS n") == RECORDS
    per_homicide = rows(db, HOMICIDES + "OPTIONAL MATCH (h)-[:HAS_VICTIM]->(v:Victim) WITH h, count(v) AS c "
                                        "RETURN min(c) AS lo, max(c) AS hi, sum(h.victim_count) AS vc")
    assert per_homicide == [{"lo": 1, "hi": 1, "vc": RECORDS}]
    assert scalar(db, "MATCH (h:Homicide)-[:FROM_DATASET]->(d:Dataset {uid: 'london-mps'}) "
                      "RETURN count(DISTINCT h) AS n") == RECORDS
    victims = rows(db, HOMICIDES + "MATCH (h)-[:HAS_VICTIM]->(v:Victim) RETURN h.uid AS h, v.uid AS uid, "
                                   "v.record_uid AS record, v.position AS position")
    assert all((v["uid"], v["record"], v["position"]) == (v["h"] + "/v1", v["h"], 1) for v in victims)


def test_every_row_is_its_homicide(raw: pd.DataFrame, db: GraphBackend) -> None:
    """Row by row: case_id is the data-row number; year, month, solved, offence, method, flag, area."""
    got = rows(db, HOMICIDES + "MATCH (h)-[:BY_METHOD]->(m:Method) MATCH (h)-[r:HAS_FACTOR]->(:Factor) "
                               "MATCH (h)-[:IN_AREA]->(a:Area) MATCH (h)-[:HAS_VICTIM]->(v:Victim) "
                               "RETURN h.uid AS uid, h.case_id AS case_id, h.year AS year, h.month AS month, "
                               "h.solved AS solved, h.offence_type AS offence, h.synthetic AS synthetic, "
                               "m.label AS method, r.present AS domestic, a.code AS area, v.sex AS sex, "
                               "v.age_group AS age_group, v.ethnicity AS ethnicity")
    assert len(got) == RECORDS  # one match per homicide: one method, one flag, one area, one victim
    area = raw["Borough"].map(BOROUGH_GSS | {"Unmapped": LONDON_REGION})
    expected = {
        case_id: {"uid": f"london-mps:{case_id}", "case_id": case_id, "year": int(year),
                  "month": MONTHS.index(month) + 1, "solved": solved == "Solved", "offence": offence,
                  "synthetic": False, "method": method, "domestic": domestic == "Domestic Abuse",
                  "area": code, "sex": sex, "age_group": age_group, "ethnicity": ethnicity}
        for case_id, year, month, solved, offence, method, domestic, code, sex, age_group, ethnicity in zip(
            raw["case_id"], raw["Recorded Year"], raw["Recorded Month"], raw["Solved Status"],
            raw["Homicide Offence Type"], raw["MethodofKilling"], raw["Domestic Abuse"], area, raw["Sex"],
            raw["Age Group"], raw["Officer Observed Ethnicity"], strict=True)
    }
    assert {row["case_id"]: row for row in got} == expected


def test_dataset_node(db: GraphBackend) -> None:
    (dataset,) = rows(db, "MATCH (d:Dataset {uid: 'london-mps'}) RETURN d.name AS name, d.source AS source, "
                          "d.licence AS licence, d.synthetic AS synthetic, d.factor_recording AS fr, "
                          "d.record_count AS n, d.loaded_at AS loaded_at, "
                          "d.coding_frame_version AS frame")
    loaded_at = dataset.pop("loaded_at")
    assert dataset == {"name": "london-mps", "source": "Metropolitan Police Service published homicide data, "
                       "via Mazedaa/London-Homicide-Project @ 9ba35d5", "licence": "none stated",
                       "synthetic": False, "fr": "explicit", "n": RECORDS, "frame": None}
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", loaded_at), loaded_at
    assert scalar(db, "MATCH (d:Dataset) RETURN count(d) AS n") == 1


def test_homicides_per_year(raw: pd.DataFrame, db: GraphBackend) -> None:
    got = as_dict(rows(db, HOMICIDES + "RETURN h.year AS k, count(h) AS n"))
    expected = {int(k): v for k, v in counts_of(raw["Recorded Year"]).items()}
    assert got == expected
    assert min(got) == 2003 and max(got) == 2024


def test_homicides_per_month(raw: pd.DataFrame, db: GraphBackend) -> None:
    got = as_dict(rows(db, HOMICIDES + "RETURN h.month AS k, count(h) AS n"))
    assert got == {MONTHS.index(k) + 1: v for k, v in counts_of(raw["Recorded Month"]).items()}
    assert set(got) == set(range(1, 13))


def test_homicides_per_method_label(raw: pd.DataFrame, db: GraphBackend) -> None:
    got = rows(db, HOMICIDES + "MATCH (h)-[:BY_METHOD]->(m:Method) "
                               "RETURN m.label AS k, m.scheme AS scheme, count(h) AS n")
    assert {row["scheme"] for row in got} == {"mps"}
    assert as_dict(got) == counts_of(raw["MethodofKilling"])
    assert as_dict(got)["Not known/Not Recorded"] == 151  # a quirk the data README names


def test_homicides_per_common_method(raw: pd.DataFrame, db: GraphBackend) -> None:
    common = raw["MethodofKilling"].map(METHOD_MAP)
    assert common.notna().all()
    got = rows(db, HOMICIDES + "MATCH (h)-[:BY_METHOD]->(:Method)-[:MAPS_TO]->(c:Method) "
                               "WHERE c.scheme = 'micropathways' RETURN c.code AS k, count(DISTINCT h) AS n, "
                               "count(*) AS paths")
    assert all(row["n"] == row["paths"] for row in got)  # each Met method maps to one common method
    assert as_dict(got) == counts_of(common)
    mappings = rows(db, "MATCH (m:Method {scheme: 'mps'}) OPTIONAL MATCH (m)-[:MAPS_TO]->(c:Method) "
                        "RETURN m.label AS k, c.code AS n")
    assert as_dict(mappings) == METHOD_MAP


def test_homicides_per_borough(raw: pd.DataFrame, db: GraphBackend) -> None:
    boroughs = set(raw["Borough"]) - {"Unmapped"}
    assert boroughs == set(BOROUGH_GSS)  # 32 boroughs; the City of London never appears
    got = rows(db, HOMICIDES + "MATCH (h)-[:IN_AREA]->(a:Area) RETURN a.uid AS uid, a.code AS k, "
                               "a.scheme AS scheme, a.level AS level, a.label AS label, count(h) AS n")
    expected = counts_of(raw["Borough"].map(BOROUGH_GSS | {"Unmapped": LONDON_REGION}))
    assert as_dict(got) == expected
    assert sum(row["n"] for row in got) == RECORDS  # one area per homicide
    by_code = {row["k"]: row for row in got}
    assert all(row["uid"] == f"gss:{code}" and row["scheme"] == "gss" for code, row in by_code.items())
    for name, code, label in [("Greenwich", "E09000011", "Greenwich"), ("Lambeth", "E09000022", "Lambeth"),
                              ("Westminster", "E09000033", "Westminster"),
                              ("Barking & Dagenham", "E09000002", "Barking and Dagenham")]:
        assert (by_code[code]["n"], by_code[code]["label"], by_code[code]["level"]) \
            == (int((raw["Borough"] == name).sum()), label, "borough")
    assert (by_code[LONDON_REGION]["n"], by_code[LONDON_REGION]["label"], by_code[LONDON_REGION]["level"]) \
        == (int((raw["Borough"] == "Unmapped").sum()), "London", "region")
    assert by_code[LONDON_REGION]["n"] == 64  # the 'Unmapped' rows the data README mentions


def test_every_borough_is_in_the_london_region(db: GraphBackend) -> None:
    got = scalar(db, HOMICIDES + "MATCH (h)-[:IN_AREA]->(:Area)-[:MAPS_TO]->(r:Area) "
                                 "WHERE r.code = $london RETURN count(DISTINCT h) AS n", london=LONDON_REGION)
    unmapped = scalar(db, HOMICIDES + "MATCH (h)-[:IN_AREA]->(r:Area) WHERE r.code = $london "
                                      "RETURN count(h) AS n", london=LONDON_REGION)
    assert got + unmapped == RECORDS


def test_solved(raw: pd.DataFrame, db: GraphBackend) -> None:
    got = as_dict(rows(db, HOMICIDES + "RETURN h.solved AS k, count(h) AS n"))
    assert got == {True: int((raw["Solved Status"] == "Solved").sum()),
                   False: int((raw["Solved Status"] == "Unsolved").sum())}
    assert got == {True: 2_770, False: 166}


def test_domestic_abuse_is_recorded_for_every_homicide(raw: pd.DataFrame, db: GraphBackend) -> None:
    """Explicit recording: every homicide has the flag, present true or false (denominator 2,936)."""
    got = rows(db, HOMICIDES + "MATCH (h)-[r:HAS_FACTOR]->(f:Factor) "
                               "RETURN f.uid AS uid, r.present AS k, count(h) AS n")
    assert {row["uid"] for row in got} == {"mps:domestic_abuse"}
    present = int((raw["Domestic Abuse"] == "Domestic Abuse").sum())
    assert as_dict(got) == {True: present, False: int((raw["Domestic Abuse"] == "Not Domestic Abuse").sum())}
    assert present == 499
    common = rows(db, HOMICIDES + "MATCH (h)-[r:HAS_FACTOR]->(:Factor)-[:MAPS_TO]->(c:Factor) "
                                  "WHERE c.uid = 'micropathways:domestic_abuse' RETURN count(h) AS coded, "
                                  "sum(CASE WHEN r.present THEN 1 ELSE 0 END) AS present")
    assert common == [{"coded": RECORDS, "present": present}]


def test_offence_types_and_iccs(raw: pd.DataFrame, db: GraphBackend) -> None:
    got = as_dict(rows(db, HOMICIDES + "RETURN h.offence_type AS k, count(h) AS n"))
    assert got == counts_of(raw["Homicide Offence Type"])
    iccs = as_dict(rows(db, HOMICIDES + "RETURN h.iccs AS k, count(h) AS n"))
    assert iccs == counts_of(raw["Homicide Offence Type"].map(ICCS))
    assert iccs["0103"] == 12  # corporate manslaughter


def test_victims_by_sex_and_age_group(raw: pd.DataFrame, db: GraphBackend) -> None:
    got = rows(db, HOMICIDES + "MATCH (h)-[:HAS_VICTIM]->(v:Victim) "
                               "RETURN v.sex AS sex, v.age_group AS age_group, count(v) AS n")
    expected = raw.groupby(["Sex", "Age Group"]).size()
    assert {(r["sex"], r["age_group"]): r["n"] for r in got} == {k: int(v) for k, v in expected.items()}
    by_sex = as_dict(rows(db, "MATCH (v:Victim) RETURN v.sex AS k, count(v) AS n"))
    assert by_sex == counts_of(raw["Sex"]) == {"Male": 2_235, "Female": 699, "Unknown": 2}
    by_age = as_dict(rows(db, "MATCH (v:Victim) RETURN v.age_group AS k, count(v) AS n"))
    assert by_age == counts_of(raw["Age Group"])
    assert scalar(db, "MATCH (v:Victim) WHERE v.age IS NOT NULL RETURN count(v) AS n") == 0  # bands only
    ethnicity = as_dict(rows(db, "MATCH (v:Victim) RETURN v.ethnicity AS k, count(v) AS n"))
    assert ethnicity == counts_of(raw["Officer Observed Ethnicity"])


def test_no_column_is_stripped_and_no_free_text_is_stored(loaded: Loaded) -> None:
    assert loaded.result.stripped == {}
    allowed = {
        "Homicide": {"uid", "case_id", "dataset", "year", "month", "solved", "synthetic", "offence_type", "iccs",
                     "victim_count", "content_hash", "_labels"},
        "Victim": {"uid", "record_uid", "position", "age_group", "sex", "ethnicity", "_labels"},
    }
    for label, keys in allowed.items():
        for row in rows(loaded.backend, f"MATCH (n:{label}) RETURN n"):
            assert set(row["n"]) <= keys, (label, set(row["n"]) - keys)


def test_reload_changes_nothing(loaded: Loaded) -> None:
    db = loaded.backend
    stamp = scalar(db, "MATCH (d:Dataset {uid: 'london-mps'}) RETURN d.loaded_at AS t")
    _, report = load(DATASET, LONDON_CSV, db)
    assert (report.records_new, report.records_changed, report.records_unchanged) == (0, 0, RECORDS)
    assert (report.nodes_written, report.rels_written) == (0, 0)
    assert graph_counts(db) == loaded.counts
    assert scalar(db, "MATCH (d:Dataset {uid: 'london-mps'}) RETURN d.loaded_at AS t") == stamp


def content_hashes(db: GraphBackend) -> dict[str, str]:
    return as_dict(rows(db, HOMICIDES + "RETURN h.uid AS k, h.content_hash AS n"))


def test_changed_row_replaces_exactly_that_record(raw: pd.DataFrame, loaded: Loaded, tmp_path: Path) -> None:
    db = loaded.backend
    row = int(raw.index[raw["MethodofKilling"] == "Knife or Sharp Implement"][0])
    uid = f"london-mps:{raw.loc[row, 'case_id']}"
    records = raw.drop(columns="case_id").to_numpy().tolist()
    records[row][list(raw.columns).index("MethodofKilling")] = "Shooting"
    changed = write_rows(tmp_path / LONDON_CSV.name, list(raw.columns[:-1]), records)
    before = content_hashes(db)
    try:
        _, report = load(DATASET, changed, db)
        assert (report.records_new, report.records_changed, report.records_unchanged) == (0, 1, RECORDS - 1)
        # the record and the one victim it owns, re-created with their five relationships
        assert (report.nodes_written, report.rels_written) == (2, 5)
        after = content_hashes(db)
        assert {k for k in before if after[k] != before[k]} == {uid} and set(after) == set(before)
        assert as_dict(rows(db, "MATCH (h:Homicide {uid: $u})-[:BY_METHOD]->(m:Method) "
                                "RETURN m.label AS k, count(*) AS n", u=uid)) == {"Shooting": 1}
        assert scalar(db, "MATCH (h:Homicide {uid: $u})-[:HAS_VICTIM]->(v:Victim) RETURN count(v) AS n",
                      u=uid) == 1
        assert graph_counts(db) == loaded.counts  # replaced, not added
        methods = as_dict(rows(db, HOMICIDES + "MATCH (h)-[:BY_METHOD]->(m:Method) "
                                               "RETURN m.label AS k, count(h) AS n"))
        expected = counts_of(raw["MethodofKilling"])
        expected["Knife or Sharp Implement"] -= 1
        expected["Shooting"] += 1
        assert methods == expected
    finally:
        _, restored = load(DATASET, LONDON_CSV, db)
    assert (restored.records_new, restored.records_changed, restored.records_unchanged) == (0, 1, RECORDS - 1)
    assert content_hashes(db) == before
    assert graph_counts(db) == loaded.counts


# ---- small broken copies (the real graph must stay as it was) ---------------------------------
Mutation = Callable[[list[list[str]]], None]


def set_cell(row: int, column: str, value: str) -> Mutation:
    def mutate(records: list[list[str]]) -> None:
        records[row + 1][records[0].index(column)] = value  # records[0] is the header
    return mutate


# (data row (0-based; line = row + 2), column, bad value, what the message must say was expected)
BAD_VALUES: dict[str, tuple[int, str, str, str]] = {
    "unknown method": (1, "MethodofKilling", "Poisoning",
                       "expected one of ['Blunt Implement', 'Knife or Sharp Implement', 'Not known/Not Recorded', "
                       "'Other Methods of Killing', 'Physical Assault, no weapon', 'Shooting']"),
    "bad month name": (2, "Recorded Month", "Sept", f"expected one of {MONTHS}"),
    "bad year": (0, "Recorded Year", "20O3", "expected a four-digit year"),
    "fractional year": (3, "Recorded Year", "2003.5", "expected a four-digit year"),
    "year out of range": (3, "Recorded Year", "1066", "expected a four-digit year"),
    "unknown borough": (4, "Borough", "Gotham", "expected a London borough name or 'Unmapped'"),
    "unknown sex": (0, "Sex", "M", "expected one of ['Female', 'Male', 'Unknown']"),
    "two victims on a row": (1, "Count of Victims", "2", "expected 1 (one victim per row)"),
    "unknown solved status": (2, "Solved Status", "Closed", "expected one of ['Solved', 'Unsolved']"),
    "unknown domestic flag": (3, "Domestic Abuse", "Yes", "expected one of ['Domestic Abuse', "
                                                          "'Not Domestic Abuse']"),
    "unknown offence": (4, "Homicide Offence Type", "Assault",
                        "expected one of ['Murder', 'Manslaughter', 'Infanticide', 'Corporate Manslaughter']"),
    "free text in age group": (1, "Age Group", "07700 900123", "expected one of ['0 to 12', '13 to 19'"),
    "free text in ethnicity": (2, "Officer Observed Ethnicity", "Jane Example",
                               "expected one of ['White', 'Black', 'Asian', 'Other', 'Unrecorded / Unknown'] "
                               "or empty"),
}


@pytest.fixture(scope="module")
def small(raw: pd.DataFrame) -> list[list[str]]:
    """The header and the first five real rows."""
    return [list(raw.columns[:-1]), *raw.drop(columns="case_id").head(5).to_numpy().tolist()]


def broken(tmp_path: Path, small: list[list[str]], mutate: Mutation | None = None) -> Path:
    records = [list(r) for r in small]
    if mutate:
        mutate(records)
    return write_rows(tmp_path / "bad.csv", records[0], records[1:])


def refused(path: Path, loaded: Loaded) -> ValidationFailed:
    """Load ``path`` into the real graph: it must fail and leave the graph as it was."""
    with pytest.raises(ValidationFailed) as failure:
        load(DATASET, path, loaded.backend)
    assert "nothing was written to the graph" in str(failure.value)
    assert graph_counts(loaded.backend) == loaded.counts
    return failure.value


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_value_is_reported_and_nothing_is_written(case: str, small: list[list[str]], tmp_path: Path,
                                                      loaded: Loaded) -> None:
    row, column, value, expected = BAD_VALUES[case]
    error = refused(broken(tmp_path, small, set_cell(row, column, value)), loaded)
    assert f"bad.csv, row {row + 2}, column {column!r}: value {value!r} — error: {expected}" in str(error)
    assert [(p.file, p.row, p.column, p.value) for p in error.problems.items] \
        == [("bad.csv", row + 2, column, value)]


def test_missing_column(small: list[list[str]], tmp_path: Path, loaded: Loaded) -> None:
    index = small[0].index("Borough")
    path = write_rows(tmp_path / "bad.csv", [c for i, c in enumerate(small[0]) if i != index],
                      [[v for i, v in enumerate(r) if i != index] for r in small[1:]])
    error = refused(path, loaded)
    assert "bad.csv, row 1, column 'Borough' — error: expected a column named 'Borough' in the header" \
        in str(error)
    assert error.problems.total == 1


def test_ragged_row(small: list[list[str]], tmp_path: Path, loaded: Loaded) -> None:
    path = broken(tmp_path, small)
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[3] += ",extra"  # line 4
    path.write_text("\n".join(lines), encoding="utf-8")
    error = refused(path, loaded)
    value = ",".join(next(csv.reader([lines[3]])))[:60]  # the row as read, shortened
    assert f"bad.csv, row 4: value {value!r} — error: expected 11 fields as in the header, found 12" \
        in str(error)
    assert error.problems.total == 1


def test_non_utf8_bytes(small: list[list[str]], tmp_path: Path, loaded: Loaded) -> None:
    path = broken(tmp_path, small)
    lines = path.read_bytes().split(b"\n")
    assert b"Wandsworth" in lines[2]
    lines[2] = lines[2].replace(b"Wandsworth", b"Wandsw\xf6rth")  # Latin-1 o-umlaut on line 3
    path.write_bytes(b"\n".join(lines))
    error = refused(path, loaded)
    message = str(error)
    assert "bad.csv, row 3, column 'Borough': value" in message and "\\\\xf6rth" in message
    assert "expected UTF-8 text (re-save the file as UTF-8)" in message


def test_personal_data_column_is_refused(small: list[list[str]], tmp_path: Path, loaded: Loaded) -> None:
    path = write_rows(tmp_path / "bad.csv", [*small[0], "Victim Name"],
                      [[*r, "Jane Example"] for r in small[1:]])
    error = refused(path, loaded)
    (problem,) = error.problems.items
    assert (problem.file, problem.column, problem.kind) == ("bad.csv", "Victim Name", "personal-data")
    assert ("bad.csv, column 'Victim Name' — personal data refused: expected no personal data: this column "
            "looks like a person's name") in str(error)
    assert scalar(loaded.backend, "MATCH (v:Victim) WHERE v.ethnicity = 'Jane Example' "
                                  "RETURN count(v) AS n") == 0


# ---- validation alone (no graph) ----------------------------------------------------------------
def test_other_extra_columns_are_stripped_with_a_reason(small: list[list[str]], tmp_path: Path) -> None:
    path = write_rows(tmp_path / "extra.csv", [*small[0], "Ward Code"], [[*r, "E05000001"] for r in small[1:]])
    result = prepare(DATASET, path)
    assert result.stripped == {"Ward Code": "not a column of the Met's file: not part of the graph contract"}


def test_every_problem_is_reported_at_once(small: list[list[str]], tmp_path: Path) -> None:
    def mutate(records: list[list[str]]) -> None:
        set_cell(0, "MethodofKilling", "Poisoning")(records)
        set_cell(2, "Recorded Month", "Sept")(records)
        set_cell(4, "Borough", "Gotham")(records)

    with pytest.raises(ValidationFailed) as failure:
        prepare(DATASET, broken(tmp_path, small, mutate))
    assert [(p.row, p.column) for p in sorted(failure.value.problems.items, key=lambda p: p.row or 0)] \
        == [(2, "MethodofKilling"), (4, "Recorded Month"), (6, "Borough")]
