"""The mapped-csv source: a partner's CSV plus a TOML mapping file, on both engines.

Expected graph contents are read from the CSV here with pandas; validation problems, personal-data
refusal, atomicity (a refused load writes nothing) and idempotence (a reload writes nothing; a changed
row is replaced) are checked like the other sources.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graph_model.backend import GraphBackend
from loaders.base import load, prepare
from loaders.problems import ValidationFailed
from tests.graph_checks import rows, scalar
from tests.linkage_fixtures import row, write_source

ROWS = [row("C1", key="k1", yr=2019, mon=3, borough="E09000011", age=24, sex="Male", s_age=30, s_sex="Male"),
        row("C2", key="k2", yr=2019, mon=4, borough="E09000001", age="", sex="Female", mech="sharp_instrument"),
        row("C3", key="", yr=2020, mon="", borough="", age=61, sex="", mech="", iccs="", victims=2)]


def mapping(tmp_path: Path, rows_: list[dict[str, object]] = ROWS, **kwargs: object) -> Path:
    return write_source(tmp_path, "partner-z", "Incident", rows_, kind="homicide", **kwargs)  # type: ignore[arg-type]


def test_rows_become_records_with_victims_suspects_areas_and_methods(backend: GraphBackend,
                                                                       tmp_path: Path) -> None:
    path = mapping(tmp_path)
    result, report = load("mapped-csv", path, backend)
    csv = pd.read_csv(tmp_path / "partner-z.csv", dtype=str, keep_default_na=False)
    assert report.records_new == len(csv) == 3
    got = {r["case_id"]: r for r in rows(backend, "MATCH (i:Incident) WHERE i.dataset = $d RETURN "
                                                  "i.case_id AS case_id, i.pseudonymous_ref AS ref, i.year AS year, "
                                                  "i.month AS month, i.iccs AS iccs, i.kind AS kind, "
                                                  "i.victim_count AS victims", d="partner-z")}
    for _, r in csv.iterrows():
        record = got[r["ref"]]
        assert record["ref"] == (r["key"] or None)
        assert record["year"] == int(r["yr"]) and record["month"] == (int(r["mon"]) if r["mon"] else None)
        assert record["iccs"] == (r["iccs"] or None) and record["kind"] == "homicide"
        assert record["victims"] == int(r["victims"])
    victims = {x["cid"]: x for x in rows(backend, "MATCH (i:Incident)-[:HAS_VICTIM]->(v:Victim) "
                                                   "RETURN i.case_id AS cid, v.age AS age, v.sex AS sex")}
    expected_victims = csv[(csv["age"] != "") | (csv["sex"] != "")]
    assert set(victims) == set(expected_victims["ref"])
    for _, r in expected_victims.iterrows():
        assert victims[r["ref"]]["age"] == (int(r["age"]) if r["age"] else None)
        assert victims[r["ref"]]["sex"] == (r["sex"] or None)
    suspects = rows(backend, "MATCH (i:Incident)-[:HAS_SUSPECT]->(s:Suspect) RETURN i.case_id AS cid, s.age AS age")
    assert {(s["cid"], s["age"]) for s in suspects} == {(r["ref"], int(r["s_age"])) for _, r in csv.iterrows()
                                                         if r["s_age"]}
    areas = rows(backend, "MATCH (i:Incident)-[:IN_AREA]->(a:Area) RETURN i.case_id AS cid, a.code AS code")
    assert {(a["cid"], a["code"]) for a in areas} == {(r["ref"], r["borough"]) for _, r in csv.iterrows()
                                                       if r["borough"]}
    methods = rows(backend, "MATCH (i:Incident)-[:BY_METHOD]->(m:Method) RETURN i.case_id AS cid, m.code AS code")
    assert {(m["cid"], m["code"]) for m in methods} == {(r["ref"], r["mech"]) for _, r in csv.iterrows() if r["mech"]}
    assert result.stripped == {}
    assert scalar(backend, "MATCH (d:Dataset) WHERE d.name = $d RETURN d.record_count AS n", d="partner-z") == 3


def test_reload_writes_nothing_and_a_changed_row_is_replaced(backend: GraphBackend, tmp_path: Path) -> None:
    load("mapped-csv", mapping(tmp_path), backend)
    _, again = load("mapped-csv", mapping(tmp_path), backend)
    assert (again.records_new, again.records_changed, again.records_unchanged) == (0, 0, 3)
    assert again.nodes_written == 0 and again.rels_written == 0
    changed = [dict(ROWS[0], age=25), *ROWS[1:]]
    _, third = load("mapped-csv", mapping(tmp_path, changed), backend)
    assert (third.records_new, third.records_changed, third.records_unchanged) == (0, 1, 2)
    ages = rows(backend, "MATCH (i:Incident)-[:HAS_VICTIM]->(v:Victim) WHERE i.case_id = $c RETURN v.age AS age",
                c="C1")
    assert ages == [{"age": 25}]
    assert scalar(backend, "MATCH (i:Incident) WHERE i.dataset = $d RETURN count(i) AS n", d="partner-z") == 3


def test_every_bad_value_is_reported_and_nothing_is_written(backend: GraphBackend, tmp_path: Path) -> None:
    bad = [row("C1", yr="19x9", mon=13, borough="E09999999", sex="M", mech="laser", age=130, iccs="101"),
           row("C1", yr=2019, mon=1)]
    with pytest.raises(ValidationFailed) as caught:
        load("mapped-csv", mapping(tmp_path, bad), backend)
    found = {(p.row, p.column) for p in caught.value.problems.items}
    assert found == {(2, "yr"), (2, "mon"), (2, "borough"), (2, "sex"), (2, "mech"), (2, "age"), (2, "iccs"),
                     (2, "ref"), (3, "ref")}
    assert scalar(backend, "MATCH (n) RETURN count(n) AS n") == 0


def test_mapping_problems_are_reported_together(tmp_path: Path) -> None:
    path = mapping(tmp_path)
    text = path.read_text(encoding="utf-8").replace('record = "Incident"', 'record = "Incident"\ncolour = "red"')
    text = text.replace('"victim.age" = "age"', '"victim.age" = "age"\n"victim.shoe_size" = "age"')
    text = text.replace('scheme = "gss"', 'scheme = "no-such-scheme"')
    text = text.replace('"case_id" = "ref"', '"case_id" = "missing_column"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        prepare("mapped-csv", path)
    columns = {p.column for p in caught.value.problems.items}
    assert {"colour", "properties.victim.shoe_size", "concepts.Area.scheme"} <= columns
    (tmp_path / "partner-z.toml").write_text(text.replace('"no-such-scheme"', '"gss"')
                                             .replace('"victim.shoe_size" = "age"\n', "")
                                             .replace('colour = "red"\n', ""), encoding="utf-8")
    with pytest.raises(ValidationFailed, match="missing_column"):
        prepare("mapped-csv", path)


def test_personal_data_is_refused(tmp_path: Path) -> None:
    with_name = [dict(r, victim_name="Jane Doe") for r in ROWS]
    with pytest.raises(ValidationFailed, match="personal data refused") as caught:
        prepare("mapped-csv", mapping(tmp_path, with_name))
    assert {p.column for p in caught.value.problems.items} == {"victim_name"}
    email = [dict(ROWS[0], key="jane.doe@example.org"), *ROWS[1:]]
    with pytest.raises(ValidationFailed, match="personal data refused") as caught:
        prepare("mapped-csv", mapping(tmp_path, email))
    (problem,) = caught.value.problems.items
    assert (problem.row, problem.column) == (2, "key") and "example.org" not in str(problem)


def test_unmapped_columns_are_stripped(tmp_path: Path) -> None:
    result = prepare("mapped-csv", mapping(tmp_path, [dict(r, ward="x") for r in ROWS]))
    assert set(result.stripped) == {"ward"}
    assert "ward" not in result.bundle.nodes["Incident"].columns
