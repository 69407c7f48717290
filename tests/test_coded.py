"""The coded bundle: exact graph contents, every kind of bad input, idempotent reloads, and proof that
the SHACL interpreter (loaders/shapes.py) agrees with pyshacl on the shapes in ontology/shapes/coded.ttl.

Real embedded engine, real files (tests/fixtures/coded_small, copied and edited per test), no mocks.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyshacl
import pytest
from rdflib import SKOS, Graph, Namespace, URIRef

from graph_model.backend import GraphBackend
from graph_model.embedded import EmbeddedBackend
from graph_model.ontology import load_ontology
from graph_model.schema import get_schema
from loaders.base import load, prepare
from loaders.problems import Problem, ValidationFailed
from loaders.shapes import ShapeError, clean, load_shapes

FIXTURE = Path(__file__).parent / "fixtures" / "coded_small"
DATASET = "coded-small"
SH = Namespace("http://www.w3.org/ns/shacl#")


# ---- helpers -------------------------------------------------------------------------------------------
@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    """A private copy of the small bundle that a test may edit."""
    target = tmp_path / "bundle"
    shutil.copytree(FIXTURE, target)
    return target


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedBackend, dict]]:
    """An embedded database holding the small bundle, and its full contents."""
    backend = EmbeddedBackend(tmp_path_factory.mktemp("coded") / "graph.lbdb", read_only=False)
    load("coded", FIXTURE, backend)
    try:
        yield backend, contents(backend)
    finally:
        backend.close()


def contents(db: GraphBackend) -> dict[str, list]:
    """Every property of every node and relationship, per label and type (sorted)."""
    schema = get_schema()
    out: dict[str, list] = {}
    for label, spec in schema.nodes.items():
        fields = ", ".join(f"n.{p.name} AS {p.name}" for p in spec.properties)
        out[label] = db.run_read(f"MATCH (n:{label}) RETURN {fields} ORDER BY uid", max_rows=100_000).rows
    for rel_type, spec in schema.rels.items():
        props = "".join(f", r.{p.name} AS {p.name}" for p in spec.properties)
        out[rel_type] = db.run_read(f"MATCH (x)-[r:{rel_type}]->(y) RETURN x.uid AS a, y.uid AS b{props} "
                                    "ORDER BY a, b", max_rows=100_000).rows
    return out


def rows(db: GraphBackend, query: str) -> list[dict]:
    return db.run_read(query, max_rows=10_000).rows


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def refused(folder: Path) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        prepare("coded", folder)
    return info.value


def find(error: ValidationFailed, file: str, row: int | None, column: str | None, expected: str = "") -> Problem:
    matches = [p for p in error.problems.items
               if (p.file, p.row, p.column) == (file, row, column) and expected in p.expected]
    assert matches, f"no problem at {file}, row {row}, column {column} expecting {expected!r}; got:\n{error}"
    return matches[0]


# ---- a good bundle, exactly ---------------------------------------------------------------------------------
def test_small_bundle_graph_is_exact(loaded: tuple[EmbeddedBackend, dict]) -> None:
    db, _ = loaded
    assert rows(db, "MATCH (h:Homicide) RETURN h.uid AS uid, h.case_id AS case_id, h.dataset AS dataset, "
                    "h.year AS year, h.month AS month, h.solved AS solved, h.synthetic AS synthetic, "
                    "h.coding_frame_version AS frame, h.iccs AS iccs, h.victim_count AS victims ORDER BY uid") == [
        {"uid": "coded-small:K1", "case_id": "K1", "dataset": DATASET, "year": 2019, "month": 3, "solved": True,
         "synthetic": True, "frame": 2, "iccs": "0101", "victims": 1},
        {"uid": "coded-small:K2", "case_id": "K2", "dataset": DATASET, "year": 2016, "month": None,
         "solved": False, "synthetic": True, "frame": 1, "iccs": "0101", "victims": 2},
        {"uid": "coded-small:K3", "case_id": "K3", "dataset": DATASET, "year": 2021, "month": 11,
         "solved": None, "synthetic": True, "frame": 2, "iccs": "0101", "victims": 1},
    ]
    assert rows(db, "MATCH (d:Dataset {name: 'coded-small'}) RETURN d.synthetic AS synthetic, "
                    "d.factor_recording AS recording, d.coding_frame_version AS frame, d.licence AS licence, "
                    "d.record_count AS records") == [
        {"synthetic": True, "recording": "explicit", "frame": 2, "licence": "CC0-1.0", "records": 3}]
    assert rows(db, "MATCH (h:Homicide)-[:FROM_DATASET]->(d:Dataset) RETURN d.uid AS d, count(h) AS n") == [
        {"d": DATASET, "n": 3}]
    assert rows(db, "MATCH (h:Homicide)-[:IN_AREA]->(a:Area) RETURN h.case_id AS c, a.code AS code "
                    "ORDER BY c") == [{"c": "K1", "code": "E09000011"}, {"c": "K2", "code": "E09000022"},
                                      {"c": "K3", "code": "E12000007"}]
    for rel_type, label, expected in [
        ("BY_METHOD", "Method", [("K1", "sharp_instrument", "C01"), ("K2", "shooting", "C02"),
                                 ("K3", "strangulation", "C01")]),
        ("HAS_MOTIVE", "Motive", [("K1", "quarrel_revenge_temper", "C01"), ("K2", "not_known", "C02"),
                                  ("K3", "quarrel_revenge_temper", "C01")]),
        ("HAS_RELATIONSHIP", "Relationship", [("K1", "friend_acquaintance", "C01"), ("K2", "stranger", "C02"),
                                              ("K3", "partner_ex_partner", "C01")]),
    ]:
        got = rows(db, f"MATCH (x:Homicide)-[r:{rel_type}]->(c:{label}) RETURN x.case_id AS h, c.code AS code, "
                       "c.scheme AS scheme, r.coder AS coder ORDER BY h")
        assert [(r["h"], r["code"], r["coder"]) for r in got] == expected
        assert {r["scheme"] for r in got} == {"micropathways"}


def test_factors_present_absent_and_not_coded(loaded: tuple[EmbeddedBackend, dict]) -> None:
    db, _ = loaded
    got = rows(db, "MATCH (x:Homicide)-[r:HAS_FACTOR]->(y:Factor) RETURN x.case_id AS h, y.code AS f, "
                   "r.present AS present, r.coder AS coder ORDER BY h, f")
    assert [(r["h"], r["f"], r["present"], r["coder"]) for r in got] == [
        ("K1", "alcohol", False, "C01"),
        ("K1", "gang_involvement", True, "C01"),
        ("K1", "social_media", True, "C01"),
        ("K2", "drug_addiction_history", True, "C03"),
        ("K2", "drugs", True, "C02"),
        ("K3", "domestic_abuse", True, "C01"),
        ("K3", "mental_health", False, "C01"),
    ]
    # not_recorded (K1 mental health, K2 social media) and missing rows are not coded: no edge at all
    assert rows(db, "MATCH (h:Homicide {case_id: 'K1'})-[r:HAS_FACTOR]->(f:Factor {code: 'mental_health'}) "
                    "RETURN count(r) AS n") == [{"n": 0}]
    assert rows(db, "MATCH (h:Homicide {case_id: 'K2'})-[r:HAS_FACTOR]->(f:Factor {code: 'social_media'}) "
                    "RETURN count(r) AS n") == [{"n": 0}]


def test_people(loaded: tuple[EmbeddedBackend, dict]) -> None:
    db, _ = loaded
    assert rows(db, "MATCH (h:Homicide)-[:HAS_VICTIM]->(v:Victim) RETURN v.uid AS uid, v.record_uid AS rec, "
                    "v.position AS pos, v.age_group AS age, v.sex AS sex ORDER BY uid") == [
        {"uid": "coded-small:K1/v1", "rec": "coded-small:K1", "pos": 1, "age": "20 to 24", "sex": "Male"},
        {"uid": "coded-small:K2/v1", "rec": "coded-small:K2", "pos": 1, "age": "13 to 19", "sex": "Male"},
        {"uid": "coded-small:K2/v2", "rec": "coded-small:K2", "pos": 2, "age": None, "sex": "Unknown"},
        {"uid": "coded-small:K3/v1", "rec": "coded-small:K3", "pos": 1, "age": "35 to 44", "sex": "Female"},
    ]
    assert rows(db, "MATCH (x:Homicide)-[:HAS_SUSPECT]->(s:Suspect) RETURN x.case_id AS h, s.uid AS uid, "
                    "s.age_group AS age, s.sex AS sex ORDER BY uid") == [
        {"h": "K1", "uid": "coded-small:K1/s1", "age": "20 to 24", "sex": "Male"},
        {"h": "K3", "uid": "coded-small:K3/s1", "age": "35 to 44", "sex": "Male"},
    ]


def test_micropathways_in_order(loaded: tuple[EmbeddedBackend, dict]) -> None:
    db, _ = loaded
    assert rows(db, "MATCH (x:Homicide)-[:FIRST_EVENT]->(y:Event) RETURN x.case_id AS h, y.uid AS e "
                    "ORDER BY h") == [{"h": "K1", "e": "coded-small:K1/e1"}, {"h": "K3", "e": "coded-small:K3/e1"}]
    events = rows(db, "MATCH (e:Event)-[o:OF_TYPE]->(t:EventType) RETURN e.uid AS uid, e.record_uid AS rec, "
                      "e.position AS pos, e.minutes_before AS m, t.code AS type, o.coder AS coder ORDER BY uid")
    assert [(r["uid"], r["pos"], r["m"], r["type"], r["coder"]) for r in events] == [
        ("coded-small:K1/e1", 1, 2880.0, "online_provocation", "C01"),
        ("coded-small:K1/e2", 2, 6.0, "chance_encounter", "C01"),
        ("coded-small:K1/e3", 3, 5.5, "verbal_argument", "C01"),
        ("coded-small:K1/e4", 4, 0.0, "fatal_incident", "C01"),
        ("coded-small:K3/e1", 1, None, "prior_dispute", "C04"),  # listed out of order in the file
        ("coded-small:K3/e2", 2, 4.0, "verbal_argument", "C04"),
        ("coded-small:K3/e3", 3, 1.5, "physical_altercation", "C04"),
        ("coded-small:K3/e4", 4, 0.0, "fatal_incident", "C04"),
    ]
    assert rows(db, "MATCH (x:Event)-[r:NEXT]->(y:Event) RETURN x.uid AS a, y.uid AS b, r.minutes AS m "
                    "ORDER BY a") == [
        {"a": "coded-small:K1/e1", "b": "coded-small:K1/e2", "m": 2874.0},
        {"a": "coded-small:K1/e2", "b": "coded-small:K1/e3", "m": 0.5},
        {"a": "coded-small:K1/e3", "b": "coded-small:K1/e4", "m": 5.5},
        {"a": "coded-small:K3/e1", "b": "coded-small:K3/e2", "m": None},  # step 1's time is not known
        {"a": "coded-small:K3/e2", "b": "coded-small:K3/e3", "m": 2.5},
        {"a": "coded-small:K3/e3", "b": "coded-small:K3/e4", "m": 1.5},
    ]
    # the whole chain, walked from the homicide
    path = rows(db, "MATCH (h:Homicide {case_id: 'K1'})-[:FIRST_EVENT]->(e1:Event)-[:NEXT]->(e2:Event)"
                    "-[:NEXT]->(e3:Event)-[:NEXT]->(e4:Event)-[:OF_TYPE]->(t:EventType) RETURN t.code AS last")
    assert path == [{"last": "fatal_incident"}]


def test_reload_is_idempotent_and_a_change_replaces_the_case(bundle_dir: Path, tmp_path: Path) -> None:
    with EmbeddedBackend(tmp_path / "graph.lbdb", read_only=False) as db:
        _, first = load("coded", bundle_dir, db)
        assert (first.records_new, first.records_changed) == (3, 0)
        before = contents(db)
        _, again = load("coded", bundle_dir, db)
        assert (again.records_new, again.records_changed, again.records_unchanged) == (0, 0, 3)
        assert not again.changed_anything
        assert contents(db) == before
        edit(bundle_dir / "factors.csv", "K1,alcohol,absent,C01", "K1,alcohol,present,C05")
        _, changed = load("coded", bundle_dir, db)
        assert (changed.records_new, changed.records_changed, changed.records_unchanged) == (0, 1, 2)
        assert rows(db, "MATCH (h:Homicide {case_id: 'K1'})-[r:HAS_FACTOR]->(f:Factor {code: 'alcohol'}) "
                        "RETURN r.present AS p, r.coder AS c") == [{"p": True, "c": "C05"}]
        after = contents(db)
        for label in ("Homicide", "Victim", "Suspect", "Event", "NEXT", "FIRST_EVENT", "OF_TYPE"):
            key = "content_hash"
            strip = [{k: v for k, v in r.items() if k != key} for r in after[label]]
            assert strip == [{k: v for k, v in r.items() if k != key} for r in before[label]], label
        assert len(after["HAS_FACTOR"]) == len(before["HAS_FACTOR"])


# ---- bad input: every problem names file, row, column, value, expected; nothing is written ------------
Edit = Callable[[Path], None]


def _bad_year(d: Path) -> None:
    edit(d / "cases.csv", "K2,2016,", "K2,20x6,")


def _unknown_factor(d: Path) -> None:
    edit(d / "factors.csv", "K1,gang_involvement,present", "K1,gang,present")


def _step_gap(d: Path) -> None:
    edit(d / "events.csv", "K1,2,chance_encounter,6,C01\n", "")


def _rising_minutes(d: Path) -> None:
    edit(d / "events.csv", "K1,3,verbal_argument,5.5,C01", "K1,3,verbal_argument,60,C01")


def _frame_version(d: Path) -> None:
    edit(d / "factors.csv", "K2,social_media,not_recorded,C02", "K2,social_media,present,C02")


def _duplicate_case(d: Path) -> None:
    append(d / "cases.csv", "K1,2020,1,E09000001,true,other,other,stranger,2,C01")


def _orphan_factor(d: Path) -> None:
    append(d / "factors.csv", "K9,alcohol,absent,C01")


def _personal_column(d: Path) -> None:
    path = d / "victims.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",victim_name"] + [line + ",Jane Roe" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _phone_number(d: Path) -> None:
    edit(d / "events.csv", "K3,3,physical_altercation,1.5,C04", "K3,3,physical_altercation,1.5,07700 900123")


def _email_in_toml(d: Path) -> None:
    edit(d / "bundle.toml", 'description = "Three invented', 'description = "ask jane.roe@example.org; three invented')


def _not_utf8(d: Path) -> None:
    path = d / "victims.csv"
    path.write_bytes(path.read_bytes().replace(b"K2,2,,Unknown", b"K2,2,caf\xe9,Unknown"))


def _missing_file(d: Path) -> None:
    (d / "suspects.csv").unlink()


def _extra_column(d: Path) -> None:
    path = d / "cases.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",weather"] + [line + ",rain" for line in lines[1:]]) + "\n",
                    encoding="utf-8")


def _not_fatal_last(d: Path) -> None:
    edit(d / "events.csv", "K1,4,fatal_incident,0,C01", "K1,4,pursuit,0,C01")


def _fatal_not_zero(d: Path) -> None:
    edit(d / "events.csv", "K3,4,fatal_incident,0,C04", "K3,4,fatal_incident,1,C04")


def _broader_absent(d: Path) -> None:
    edit(d / "factors.csv", "K2,drugs,present,C02", "K2,drugs,absent,C02")


def _bad_name(d: Path) -> None:
    edit(d / "bundle.toml", 'name = "coded-small"', 'name = "Coded Small"')


def _newer_frame(d: Path) -> None:
    edit(d / "cases.csv", "strangulation,quarrel_revenge_temper,partner_ex_partner,2,C01",
         "strangulation,quarrel_revenge_temper,partner_ex_partner,4,C01")


def _missing_required(d: Path) -> None:
    edit(d / "cases.csv", "K1,2019,3,E09000011,true,sharp_instrument", "K1,2019,3,,true,sharp_instrument")


# (edit, file, row, column, value, words in expected, kind)
BAD_INPUTS: dict[str, tuple[Edit, str, int | None, str | None, str | None, str, str]] = {
    "bad year": (_bad_year, "cases.csv", 3, "year", "20x6", "a whole number matching ^[0-9]{4}$ from 1900 to 2100",
                 "error"),
    "unknown factor code": (_unknown_factor, "factors.csv", 2, "factor", "gang",
                            "a code of the scheme 'Micropathways situational factors'", "error"),
    "step gap": (_step_gap, "events.csv", 3, "step", "3", "step 2", "error"),
    "increasing minutes": (_rising_minutes, "events.csv", 4, "minutes_before", "60", "at most 6,", "error"),
    "frame version": (_frame_version, "factors.csv", 6, "value", "present",
                      "social_media was added in coding frame 2; case K2 was coded under frame 1", "error"),
    "duplicate case_id": (_duplicate_case, "cases.csv", 5, "case_id", "K1", "already on line 2", "error"),
    "orphan case in factors.csv": (_orphan_factor, "factors.csv", 11, "case_id", "K9",
                                   "a case_id listed in cases.csv", "error"),
    "personal-data column": (_personal_column, "victims.csv", 1, "victim_name", "victim_name",
                             "no personal data: the column 'victim_name' looks like a person's name",
                             "personal-data"),
    "phone number in a value": (_phone_number, "events.csv", 8, "coder", "07… (12 characters, redacted)",
                                "no personal data: the value looks like a UK mobile number", "personal-data"),
    "e-mail in bundle.toml": (_email_in_toml, "bundle.toml", 7, "description", "as… (77 characters, redacted)",
                              "no personal data: the value looks like an e-mail address", "personal-data"),
    "non-UTF-8 file": (_not_utf8, "victims.csv", 4, "age_group", "b'\\xe9,Unknow'", "UTF-8 text", "error"),
    "missing file": (_missing_file, "suspects.csv", None, None, "suspects.csv", "an existing file suspects.csv",
                     "error"),
    "unknown column": (_extra_column, "cases.csv", 1, "weather", "weather", "only the columns of the format",
                       "error"),
    "last step not fatal": (_not_fatal_last, "events.csv", 5, "event_type", "pursuit",
                            "fatal_incident: the last step", "error"),
    "fatal incident not at 0": (_fatal_not_zero, "events.csv", 9, "minutes_before", "1",
                                "0: the last step is the fatal incident itself", "error"),
    "broader factor absent": (_broader_absent, "factors.csv", 7, "value", "absent",
                              "drug_addiction_history is present for this case and is a kind of drugs", "error"),
    "bad dataset name": (_bad_name, "bundle.toml", 2, "name", "Coded Small", "lower-kebab-case", "error"),
    "frame newer than the bundle": (_newer_frame, "cases.csv", 4, "coding_frame_version", "4",
                                    "at most 3, the newest coding frame the ontology knows", "error"),
    "missing required value": (_missing_required, "cases.csv", 2, "area_code", None,
                               "a value (required): a code of the scheme 'ONS GSS geography codes'", "error"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_with_a_precise_problem(case: str, bundle_dir: Path,
                                                     loaded: tuple[EmbeddedBackend, dict]) -> None:
    change, file, row, column, value, expected, kind = BAD_INPUTS[case]
    db, before = loaded
    change(bundle_dir)
    error = refused(bundle_dir)
    problem = find(error, file, row, column, expected)
    assert problem.value == value
    assert expected in problem.expected
    assert problem.kind == kind
    message = str(error)
    assert "nothing was written to the graph" in message
    assert str(problem) in message  # the report shows it: file, row, column, value and expected
    where = file + (f", row {row}" if row is not None else "") + (f", column {column!r}" if column else "")
    assert where in str(problem)
    if value is not None:
        assert f"value {value!r}" in str(problem)
    assert expected in str(problem)
    # the database loaded before is exactly as it was
    with pytest.raises(ValidationFailed):
        load("coded", bundle_dir, db)
    assert contents(db) == before


def test_personal_values_never_appear_in_the_report(bundle_dir: Path) -> None:
    _personal_column(bundle_dir)
    _phone_number(bundle_dir)
    _email_in_toml(bundle_dir)
    error = refused(bundle_dir)
    report = str(error) + error.to_frame().to_csv()
    for secret in ("Jane Roe", "900123", "jane.roe@example.org"):
        assert secret not in report


def test_every_problem_in_every_file_is_reported_together(bundle_dir: Path) -> None:
    for change in (_bad_year, _unknown_factor, _rising_minutes, _personal_column, _missing_file, _bad_name):
        change(bundle_dir)
    error = refused(bundle_dir)
    found = {(p.file, p.row, p.column) for p in error.problems.items}
    assert {("cases.csv", 3, "year"), ("factors.csv", 2, "factor"), ("events.csv", 4, "minutes_before"),
            ("victims.csv", 1, "victim_name"), ("suspects.csv", None, None), ("bundle.toml", 2, "name")} <= found


def test_not_a_folder(tmp_path: Path) -> None:
    error = refused(tmp_path / "nowhere")
    assert error.problems.items[0].expected.startswith("a folder holding bundle.toml")


def test_whitespace_around_cells_is_ignored(bundle_dir: Path) -> None:
    edit(bundle_dir / "cases.csv", "K1,2019,3,", "K1, 2019 ,3 ,")
    result = prepare("coded", bundle_dir)
    homicides = result.bundle.nodes["Homicide"]
    assert homicides.loc[homicides["case_id"] == "K1", "year"].tolist() == [2019]


# ---- the interpreter agrees with pyshacl -----------------------------------------------------------------
GOOD = {
    "bundle.toml": {"name": "coded-x", "source": "a test", "licence": "CC0-1.0", "synthetic": "true",
                    "coding_frame_version": "2", "description": "a test bundle"},
    "cases.csv": {"case_id": "K1", "year": "2019", "month": "3", "area_code": "E09000011", "solved": "true",
                  "method": "sharp_instrument", "motive": "other", "relationship": "stranger",
                  "coding_frame_version": "2", "coder": "C01"},
    "victims.csv": {"case_id": "K1", "position": "1", "age_group": "20 to 24", "sex": "Male"},
    "suspects.csv": {"case_id": "K1", "position": "2", "age_group": "65 and over", "sex": "Unknown"},
    "factors.csv": {"case_id": "K1", "factor": "alcohol", "value": "not_recorded", "coder": "AB1234"},
    "events.csv": {"case_id": "K1", "step": "1", "event_type": "fatal_incident", "minutes_before": "0.5",
                   "coder": "C12"},
    "reliability.csv": {"case_id": "K1", "variable": "social_media", "value": "not_recorded", "coder": "C02"},
}
# Values to try in each kind of column: good and bad, including forms rdflib's datatypes accept loosely.
TRIALS = {
    "integer": ["7", "2019", "0", "-3", "+4", "1_000", "12.0", "1e3", "abc", "١٢", "99999", ""],
    # no "NaN": rdflib's Decimal comparison raises inside pyshacl (sh:minInclusive) on NaN^^xsd:decimal;
    # the interpreter refuses it (tested in test_nan_is_refused)
    "decimal": ["0", "2.5", "10", ".5", "5.", "-1", "1e2", "INF", "Infinity", "1_0", "x", " 3", ""],
    "text": ["K1", "k-1.2_x", "a b", "/x", "C01", "c01", "ABCD1", "E09000011", "sharp_instrument", "Male",
             "present", "true", "Yes", "", "coded-x", "Coded X", "ab", "x" * 70],
}


def _trial_frame(file: str) -> pd.DataFrame:
    """The good row, then one row per (column, trial value), then a row with an extra column."""
    shape = load_shapes("coded")[file]
    records = [dict(GOOD[file])]
    for rule in shape.columns:
        kind = "integer" if rule.datatype and rule.datatype.endswith("integer") else \
            "decimal" if rule.datatype and rule.datatype.endswith("decimal") else "text"
        for value in TRIALS[kind] + list(rule.allowed or ()) + list((rule.codes or ())[:3]):
            records.append({**GOOD[file], rule.column: value})
    records.append({**GOOD[file], "colour": "blue"})
    frame = pd.DataFrame(records, dtype="string").fillna("")
    frame["_line"] = range(2, len(frame) + 2)
    return clean(frame)


def _interpreter_violations(file: str, frame: pd.DataFrame) -> set[tuple[int, str]]:
    shape = load_shapes("coded")[file]
    found = set()
    for rule, bad in shape.violations(frame):
        found |= {(int(line), rule.column) for line in frame.loc[bad, "_line"]}
    if shape.closed:
        for column in frame.columns:
            if column not in shape.column_names and not column.startswith("_"):
                found |= {(int(line), column) for line in frame.loc[frame[column].notna(), "_line"]}
    return found


def _pyshacl_violations(file: str, frame: pd.DataFrame) -> set[tuple[int, str]]:
    formats = load_shapes("coded")
    shape = formats[file]
    data = Graph()
    nodes = shape.to_rdf(frame, data)
    ontology = load_ontology()
    for predicate in (SKOS.inScheme, SKOS.notation):  # what mp:inScheme's SPARQL validator looks up
        for triple in ontology.triples((None, predicate, None)):
            data.add(triple)
    conforms, report, _ = pyshacl.validate(data, shacl_graph=formats.graph(), allow_warnings=False)
    columns = shape.path_columns()
    found = set()
    for result in report.subjects(SH.resultSeverity, SH.Violation):
        focus = report.value(result, SH.focusNode)
        if focus not in nodes:
            continue
        path = str(report.value(result, SH.resultPath))
        found.add((nodes[focus], columns.get(path, path.rsplit("#", 1)[-1])))
    assert conforms == (not found)
    return found


@pytest.mark.parametrize("file", ["bundle.toml", "cases.csv", "victims.csv", "suspects.csv", "factors.csv",
                                  "events.csv", "reliability.csv"])
def test_interpreter_and_pyshacl_find_the_same_violations(file: str) -> None:
    frame = _trial_frame(file)
    ours = _interpreter_violations(file, frame)
    theirs = _pyshacl_violations(file, frame)
    assert ours == theirs
    assert not any(line == 2 for line, _ in ours)  # the good row is good
    assert len(ours) > 10  # and the trials did find problems


def test_nan_is_refused() -> None:
    rule = load_shapes("coded")["events.csv"].column("minutes_before")
    assert rule.violations(pd.Series(["NaN", "nan", "5"], dtype="string")).tolist() == [True, True, False]


def test_interpreter_refuses_constraints_it_does_not_know(tmp_path: Path) -> None:
    source = (Path(load_shapes("coded").source)).read_text(encoding="utf-8")
    (tmp_path / "odd.ttl").write_text(source.replace('sh:in ( "Male" "Female" "Unknown" )',
                                                     'sh:in ( "Male" "Female" "Unknown" ) ; sh:hasValue "Male"'),
                                      encoding="utf-8")
    with pytest.raises(ShapeError, match="hasValue"):
        load_shapes("odd", tmp_path)


def test_every_column_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "coded-format.md").read_text(encoding="utf-8")
    for file, shape in load_shapes("coded").files.items():
        assert f"`{file}`" in doc
        for column in shape.column_names:
            assert f"`{column}`" in doc, (file, column)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "coded-format.md").read_text(encoding="utf-8")
    example = doc.split("## A worked example", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"`([a-z]+\.(?:csv|toml))`[^\n]*:\n\n```[a-z]*\n(.*?)```", example, re.DOTALL)
    assert sorted(name for name, _ in blocks) == sorted(["bundle.toml", "cases.csv", "victims.csv",
                                                         "suspects.csv", "factors.csv", "events.csv"])
    for name, text in blocks:
        (tmp_path / name).write_text(text, encoding="utf-8")
    with EmbeddedBackend(tmp_path / "graph.lbdb", read_only=False) as db:
        load("coded", tmp_path, db)
        assert rows(db, "MATCH (x:Event)-[r:NEXT]->(y:Event) RETURN r.minutes AS m ORDER BY x.position") == [
            {"m": 2874.0}, {"m": 0.5}, {"m": 5.5}]
        assert rows(db, "MATCH (:Homicide)-[r:HAS_FACTOR]->(:Factor) RETURN count(r) AS n") == [{"n": 4}]


def test_every_code_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "coded-format.md").read_text(encoding="utf-8")
    codes = doc.split("## Codes", 1)[1].split("\n## ", 1)[0]
    for shape in load_shapes("coded").files.values():
        for rule in shape.columns:
            for code in rule.codes or ():
                if not code.startswith("E09"):
                    assert f"`{code}`" in codes, (rule.column, code)


def test_shapes_reference_real_schemes() -> None:
    ontology = load_ontology()
    for shape in load_shapes("coded").files.values():
        for rule in shape.columns:
            if rule.scheme:
                assert rule.codes and all(code for code in rule.codes)
                assert (URIRef(rule.scheme), None, None) in ontology
