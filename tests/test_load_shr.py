"""The SHR loader against the real Murder Accountability Project file and small broken copies.

Expected figures are computed here from the CSV with pandas, independently of loaders/sources/shr.py;
the graph is read back with portable Cypher. Every test that touches a graph runs on both engines: the
full file is loaded once per backend (a module-scoped, backend-parametrised fixture on a fresh graph),
and a test that writes restores that graph before it ends, so the tests do not depend on their order.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from graph_model.backend import GraphBackend
from loaders.base import load, prepare
from loaders.problems import ValidationFailed
from tests.conftest import BACKENDS, SHR_CSV
from tests.graph_checks import Loaded, as_dict, graph_counts, load_once, rows, scalar

INCIDENTS = 52_727
JUSTIFIABLE = ["80", "81"]  # circumstance codes of justifiable homicides
VICTIM = ["vic_age", "vic_sex", "vic_race", "vic_ethnic"]
OFFENDER = ["off_age", "off_sex", "off_race", "off_ethnic"]
# The intended circumstance -> Homicide Index mapping, written out here to check shr.ttl against it.
MOTIVE_MAP = {
    "Rape": "other", "Robbery": "theft_gain", "Burglary": "theft_gain", "Larceny": "theft_gain",
    "Motor vehicle theft": "theft_gain", "Arson": "arson", "Prostitution and commercialized vice": "other",
    "Other sex offense": "other", "Narcotic drug laws": "other", "Gambling": "other",
    "Other - not specified": "other", "Lovers triangle": "quarrel_revenge_temper",
    "Child killed by babysitter": "other", "Brawl due to influence of alcohol": "quarrel_revenge_temper",
    "Brawl due to influence of narcotics": "quarrel_revenge_temper",
    "Argument over money or property": "quarrel_revenge_temper", "Other arguments": "quarrel_revenge_temper",
    "Gangland killings": "other", "Juvenile gang killings": "other", "Institutional killings": "other",
    "Sniper attack": "other", "Victim shot in hunting accident": "other",
    "Gun-cleaning death - other than self": "other", "Children playing with gun": "other",
    "Other negligent handling of gun": "other", "All other manslaughter by negligence": "other",
    "Other": "other", "All suspected felony type": "other", "Felon killed by private citizen": "other",
    "Felon killed by police": "restrain_arrest", "Circumstances undetermined": "not_known",
}

pytestmark = pytest.mark.skipif(not SHR_CSV.exists(), reason=f"real data not found at {SHR_CSV}")


# ---- helpers ------------------------------------------------------------------------------------
def per_incident(raw: pd.DataFrame, column: str) -> dict[str, int]:
    """Homicides per value of ``column``: distinct (mapid, value) pairs counted by value."""
    pairs = raw[["mapid", column]].drop_duplicates()
    return {str(k): int(v) for k, v in pairs[column].value_counts().items()}


# ---- the full real file -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(SHR_CSV, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    yield from load_once(request, tmp_path_factory, "shr", SHR_CSV)


@pytest.fixture
def db(loaded: Loaded) -> GraphBackend:
    return loaded.backend


@pytest.mark.slow
def test_one_homicide_per_mapid(raw: pd.DataFrame, loaded: Loaded) -> None:
    backend, report = loaded.backend, loaded.report
    incidents = raw["mapid"].nunique()
    assert incidents == INCIDENTS  # as the data README says
    assert (report.records_new, report.records_changed, report.records_unchanged) == (incidents, 0, 0)
    assert loaded.counts[":Homicide"] == incidents  # the graph was empty
    assert scalar(backend, "MATCH (h:Homicide) WHERE h.dataset = 'shr' RETURN count(h) AS n") == incidents
    assert scalar(backend, "MATCH (h:Homicide)-[:FROM_DATASET]->(d:Dataset {name: 'shr'}) "
                           "RETURN count(h) AS n") == incidents
    first = raw.drop_duplicates("mapid").set_index("mapid")
    sample = first.sample(200, random_state=1)
    got = rows(backend, "MATCH (h:Homicide) WHERE h.uid IN $u RETURN h.case_id AS case_id, h.year AS year, "
                        "h.month AS month, h.offence_type AS offence, h.synthetic AS synthetic",
               u=["shr:" + m for m in sample.index])
    assert len(got) == len(sample)
    for row in got:
        expected = sample.loc[row["case_id"]]
        assert (row["year"], row["month"]) == (int(expected["year"]), int(expected["month"]))
        assert row["offence"] == expected["homicide_type"]
        assert row["synthetic"] is False


@pytest.mark.slow
def test_dataset_node(db: GraphBackend) -> None:
    (dataset,) = rows(db, "MATCH (d:Dataset {uid: 'shr'}) RETURN d.name AS name, d.source AS source, "
                          "d.licence AS licence, d.synthetic AS synthetic, d.factor_recording AS fr, "
                          "d.record_count AS n")
    assert dataset == {"name": "shr", "source": "Murder Accountability Project SHR, via "
                       "cronkitedata/rstudyguide @ 639ed11", "licence": "none stated", "synthetic": False,
                       "fr": "explicit", "n": INCIDENTS}
    assert scalar(db, "MATCH (h:Homicide)-[:HAS_FACTOR]->(f) WHERE h.dataset = 'shr' "
                      "RETURN count(*) AS n") == 0


@pytest.mark.slow
@pytest.mark.parametrize(("rel", "label", "column"), [
    ("HAS_MOTIVE", "Motive", "circumstance"),
    ("BY_METHOD", "Method", "weapon"),
    ("HAS_RELATIONSHIP", "Relationship", "relationship"),
])
def test_homicides_per_shr_label(raw: pd.DataFrame, db: GraphBackend, rel: str, label: str,
                                 column: str) -> None:
    got = rows(db, f"MATCH (h:Homicide)-[:{rel}]->(c:{label}) WHERE h.dataset = 'shr' "
                   "RETURN c.label AS k, c.scheme AS scheme, count(DISTINCT h) AS n, count(*) AS edges")
    assert {row["scheme"] for row in got} == {"shr"}
    assert all(row["n"] == row["edges"] for row in got)  # one edge per distinct concept
    assert as_dict(got) == per_incident(raw, column)


@pytest.mark.slow
def test_incidents_with_two_weapons_have_two_edges(raw: pd.DataFrame, db: GraphBackend) -> None:
    weapons = raw.groupby("mapid")["weapon_code"].nunique()
    two = sorted(weapons[weapons > 1].index)
    assert two  # the real file has some
    got = rows(db, "MATCH (h:Homicide)-[:BY_METHOD]->(m:Method) WHERE h.uid IN $u "
                   "RETURN h.case_id AS k, count(m) AS n", u=["shr:" + m for m in two])
    assert as_dict(got) == {m: int(weapons[m]) for m in two}


@pytest.mark.slow
def test_homicides_per_common_motive(raw: pd.DataFrame, db: GraphBackend) -> None:
    pairs = raw[["mapid", "circumstance"]].drop_duplicates()
    common = pairs.assign(common=pairs["circumstance"].map(MOTIVE_MAP))
    assert common["common"].notna().all()
    expected = common.drop_duplicates(["mapid", "common"])["common"].value_counts()
    got = rows(db, "MATCH (h:Homicide)-[:HAS_MOTIVE]->(:Motive)-[:MAPS_TO]->(c:Motive) "
                   "WHERE h.dataset = 'shr' AND c.scheme = 'micropathways' "
                   "RETURN c.code AS k, count(DISTINCT h) AS n")
    assert as_dict(got) == {str(k): int(v) for k, v in expected.items()}


@pytest.mark.slow
@pytest.mark.parametrize(("label", "size"), [("Method", 17), ("Motive", 31), ("Relationship", 29)])
def test_every_shr_concept_maps_to_one_common_concept(raw: pd.DataFrame, db: GraphBackend, label: str,
                                                      size: int) -> None:
    got = rows(db, f"MATCH (s:{label}) WHERE s.scheme = 'shr' OPTIONAL MATCH (s)-[:MAPS_TO]->(c:{label}) "
                   "RETURN s.code AS code, count(c) AS n, min(c.scheme) AS scheme")
    assert len(got) == size
    assert all(row["n"] == 1 and row["scheme"] == "micropathways" for row in got), got


@pytest.mark.slow
def test_homicides_per_state_via_county(raw: pd.DataFrame, db: GraphBackend) -> None:
    incidents = raw.drop_duplicates("mapid")
    got = rows(db, "MATCH (h:Homicide)-[:IN_AREA]->(c:Area)-[:MAPS_TO]->(s:Area) "
                   "WHERE h.dataset = 'shr' AND c.level = 'county' AND s.scheme = 'us-state' "
                   "RETURN s.code AS k, count(h) AS n")
    assert as_dict(got) == {str(k): int(v) for k, v in incidents["state_fip"].value_counts().items()}
    assert scalar(db, "MATCH (h:Homicide)-[:IN_AREA]->(a) WHERE h.dataset = 'shr' "
                      "RETURN count(*) AS n") == len(incidents)


@pytest.mark.slow
def test_counties_are_areas_with_verbatim_names(raw: pd.DataFrame, db: GraphBackend) -> None:
    counties = raw[["fip", "cnty_name", "state_fip"]].drop_duplicates()
    got = rows(db, "MATCH (c:Area {scheme: 'us-county'})-[:MAPS_TO]->(s:Area) RETURN c.uid AS uid, "
                   "c.code AS code, c.label AS label, c.level AS level, s.uid AS state")
    assert sorted((r["uid"], r["code"], r["label"], r["level"], r["state"]) for r in got) == sorted(
        (f"us-county:{f}", f, n, "county", f"us-state:{s}") for f, n, s in counties.itertuples(index=False))
    per_county = raw.drop_duplicates("mapid")["fip"].value_counts()
    got_counts = rows(db, "MATCH (h:Homicide)-[:IN_AREA]->(c:Area) WHERE c.code = '04013' "
                          "RETURN count(h) AS n")
    assert got_counts[0]["n"] == per_county["04013"]  # Maricopa, AZ


@pytest.mark.slow
def test_solved(raw: pd.DataFrame, db: GraphBackend) -> None:
    solved_any = raw.assign(yes=raw["solved"] == "Yes").groupby("mapid")["yes"].any()
    disagree = raw.groupby("mapid")["solved"].nunique()
    assert int((disagree > 1).sum()) == 2  # the rule "solved if any row says Yes" matters for 2
    got = rows(db, "MATCH (h:Homicide) WHERE h.dataset = 'shr' RETURN h.solved AS k, count(h) AS n")
    assert as_dict(got) == {True: int(solved_any.sum()), False: int((~solved_any).sum())}
    for mapid in disagree[disagree > 1].index:
        assert scalar(db, "MATCH (h:Homicide {uid: $u}) RETURN h.solved AS s", u=f"shr:{mapid}") is True


@pytest.mark.slow
def test_iccs(raw: pd.DataFrame, db: GraphBackend) -> None:
    not_justifiable = set(raw.loc[~raw["circumstance_code"].isin(JUSTIFIABLE), "mapid"])
    incidents = raw.drop_duplicates("mapid")
    justifiable = ~incidents["mapid"].isin(not_justifiable)
    code = incidents["homicide_type"].map({"Murder and non-negligent manslaughter": "0101",
                                           "Manslaughter by negligence": "0103"})
    expected = code[~justifiable].value_counts().to_dict()
    expected[None] = int(justifiable.sum())
    got = rows(db, "MATCH (h:Homicide) WHERE h.dataset = 'shr' RETURN h.iccs AS k, count(h) AS n")
    assert as_dict(got) == expected


@pytest.mark.slow
def test_victims(raw: pd.DataFrame, db: GraphBackend) -> None:
    # Rule: every row of a multiple-victim incident (situation D/E/F on any row) is a victim; in a
    # single-victim incident rows with the same victim attributes are one victim.
    multiple = raw["mapid"].isin(set(raw.loc[raw["situation_code"].isin(["D", "E", "F"]), "mapid"]))
    victims = raw[multiple | ~raw.duplicated(["mapid", *VICTIM])]
    assert len(raw) - len(victims) == 17
    got = rows(db, "MATCH (h:Homicide)-[:HAS_VICTIM]->(v:Victim) WHERE h.dataset = 'shr' "
                   "RETURN v.sex AS k, count(v) AS n, count(v.age) AS aged, sum(v.age) AS ages")
    assert as_dict(got) == {str(k): int(v) for k, v in victims["vic_sex"].value_counts().items()}
    known_age = victims[victims["vic_age"] != "999"]
    assert sum(r["aged"] for r in got) == len(known_age)
    assert sum(int(r["ages"]) for r in got) == int(known_age["vic_age"].astype(int).sum())
    assert scalar(db, "MATCH (h:Homicide) WHERE h.dataset = 'shr' RETURN sum(h.victim_count) AS n") \
        == len(victims)
    count = victims.groupby("mapid").size()
    got_counts = rows(db, "MATCH (h:Homicide) WHERE h.victim_count > 1 RETURN h.case_id AS k, "
                          "h.victim_count AS n")
    assert as_dict(got_counts) == {k: int(v) for k, v in count[count > 1].items()}
    races = rows(db, "MATCH (v:Victim) WHERE v.record_uid STARTS WITH 'shr:' "
                     "RETURN v.ethnicity AS k, count(v) AS n")
    assert as_dict(races) == {str(k): int(v) for k, v in victims["vic_race"].value_counts().items()}


@pytest.mark.slow
def test_suspects(raw: pd.DataFrame, db: GraphBackend) -> None:
    # Rule: one Suspect per distinct offender of an incident; an offender with unknown age, sex
    # and race (always so in "unknown offender(s)" situations but six rows) is no Suspect.
    unknown = (raw["off_age"] == "999") & (raw["off_sex"] == "Unknown") & (raw["off_race"] == "Unknown")
    suspects = raw[~unknown & ~raw.duplicated(["mapid", *OFFENDER])]
    got = rows(db, "MATCH (h:Homicide)-[:HAS_SUSPECT]->(s:Suspect) WHERE h.dataset = 'shr' "
                   "RETURN s.sex AS k, count(s) AS n, count(s.age) AS aged")
    assert as_dict(got) == {str(k): int(v) for k, v in suspects["off_sex"].value_counts().items()}
    assert sum(r["aged"] for r in got) == int((suspects["off_age"] != "999").sum())
    unknown_offender = raw["situation_code"].isin(["B", "F"])
    only_unknown = set(raw.loc[unknown_offender, "mapid"]) - set(raw.loc[~unknown_offender | ~unknown,
                                                                          "mapid"])
    assert only_unknown
    assert scalar(db, "MATCH (h:Homicide)-[:HAS_SUSPECT]->(s) WHERE h.uid IN $u RETURN count(s) AS n",
                  u=["shr:" + m for m in only_unknown]) == 0


@pytest.mark.slow
def test_columns_outside_the_contract_are_stripped(loaded: Loaded) -> None:
    result = loaded.result
    assert result.stripped["agency"] == result.stripped["ori"] == "not part of the graph contract"
    assert {"agency_type", "msa_name", "use_date", "rowid"} <= set(result.stripped)
    (props,) = rows(loaded.backend, "MATCH (h:Homicide {uid: 'shr:197612001AZ00100'}) RETURN h")
    assert props["h"]["case_id"] == "197612001AZ00100"  # the node was read
    assert not any(str(v) in {"Apache County", "Sheriff", "1980-03-01"} for v in props["h"].values())


@pytest.mark.slow
def test_reload_changes_nothing(loaded: Loaded) -> None:
    backend = loaded.backend
    _, report = load("shr", SHR_CSV, backend)
    assert (report.records_new, report.records_changed, report.records_unchanged) == (0, 0, INCIDENTS)
    assert (report.nodes_written, report.rels_written) == (0, 0)
    assert graph_counts(backend) == loaded.counts


# ---- small constructed files --------------------------------------------------------------------
def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return path


# Incident ids of the constructed file: real December 1976 mapids, so a constructed file loaded into
# the real graph replaces real records (put back afterwards) and never adds any.
TINY_IDS = ["197612001AZ00100", "197612001AZ00300", "197612001AZ01000", "197612001AZ01003",
            "197612002AZ01003", "197612003AZ01003", "197612001CO00600"]


@pytest.fixture(scope="module")
def template(raw: pd.DataFrame) -> pd.Series:
    assert set(TINY_IDS) <= set(raw["mapid"])
    return raw.iloc[0]  # 197612001AZ00100: Apache, AZ, one victim, one offender


def row(template: pd.Series, number: int, **changes: str) -> dict[str, str]:
    values = {str(k): str(v) for k, v in template.items()}
    return values | {"mapid": TINY_IDS[number - 1], "incident_num": str(number)} | changes


@pytest.fixture(scope="module")
def tiny(template: pd.Series) -> pd.DataFrame:
    """Incidents that exercise each rule, built from the first real row."""
    unknown_offender = {"off_age": "999", "off_sex": "Unknown", "off_race": "Unknown",
                        "off_race_code": "U", "situation_code": "B",
                        "situation": "Single victim/unknown offender(s)", "solved": "No",
                        "relationship_code": "UN", "relationship": "Relationship not determined"}
    multiple = {"situation_code": "D", "situation": "Multiple victims/single offender"}
    return pd.DataFrame([
        row(template, 1),                                              # plain: 1 victim, 1 suspect
        row(template, 2, **multiple), row(template, 2, **multiple),     # 2 alike victims, 1 suspect
        row(template, 3), row(template, 3),                             # duplicate report: 1 victim
        row(template, 4, **unknown_offender, weapon_code="11", weapon="Firearm, type not stated"),
        row(template, 4),                                               # unsolved then solved
        row(template, 5, **unknown_offender, vic_age="999"),            # no suspect, unknown age
        row(template, 6, circumstance_code="81", circumstance="Felon killed by police"),
        row(template, 7, homicide_type="Manslaughter by negligence", circumstance_code="59",
            circumstance="All other manslaughter by negligence"),
    ])


@pytest.mark.slow
def test_rules_on_constructed_incidents(tiny: pd.DataFrame, tmp_path: Path, loaded: Loaded) -> None:
    backend = loaded.backend
    try:
        _, report = load("shr", write_csv(tmp_path / "tiny.csv", tiny), backend)
        # incident 1 is the real first row unchanged; the six others replace real incidents
        assert (report.records_new, report.records_changed, report.records_unchanged) == (0, 6, 1)
        got = rows(backend, "MATCH (h:Homicide) WHERE h.uid IN $u "
                            "OPTIONAL MATCH (h)-[:HAS_SUSPECT]->(s:Suspect) "
                            "WITH h, count(s) AS suspects OPTIONAL MATCH (h)-[:BY_METHOD]->(m:Method) "
                            "RETURN h.case_id AS id, h.victim_count AS victims, suspects, h.solved AS solved, "
                            "h.iccs AS iccs, count(m) AS methods", u=[f"shr:{m}" for m in TINY_IDS])
        by_number = {TINY_IDS.index(r["id"]) + 1: (r["victims"], r["suspects"], r["solved"], r["iccs"],
                                                   r["methods"]) for r in got}
        assert by_number == {
            1: (1, 1, True, "0101", 1),
            2: (2, 1, True, "0101", 1),
            3: (1, 1, True, "0101", 1),
            4: (1, 1, True, "0101", 2),
            5: (1, 0, False, "0101", 1),
            6: (1, 1, True, None, 1),
            7: (1, 1, True, "0103", 1),
        }
        assert scalar(backend, "MATCH (v:Victim {uid: $u}) RETURN v.age AS a", u=f"shr:{TINY_IDS[4]}/v1") is None
        assert scalar(backend, "MATCH (s:Suspect {uid: $u}) RETURN s.age AS a", u=f"shr:{TINY_IDS[0]}/s1") == 22
        assert scalar(backend, "MATCH (h:Homicide) RETURN count(h) AS n") == INCIDENTS  # replaced, none added
    finally:
        restored = loaded.restore()
    assert (restored.records_new, restored.records_changed) == (0, 6)
    assert graph_counts(backend) == loaded.counts


Mutation = Callable[[pd.DataFrame], pd.DataFrame]


def _set(index: int, **values: str) -> Mutation:
    def mutate(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for column, value in values.items():
            frame.loc[index, column] = value
        return frame
    return mutate


# (mutation, line, column, value, what the message must say was expected)
BAD_VALUES: dict[str, tuple[Mutation, int, str, str, str]] = {
    "unknown weapon code": (_set(0, weapon_code="99"), 2, "weapon_code", "99",
                            "expected one of the SHR weapon codes ['11', '12', '13'"),
    "unknown circumstance": (_set(9, circumstance_code="98"), 11, "circumstance_code", "98",
                             "expected one of the SHR circumstance codes ['2', '3', '5'"),
    "unknown relationship": (_set(0, relationship_code="ZZ"), 2, "relationship_code", "ZZ",
                             "expected one of the SHR relationship codes ['AQ', 'BF'"),
    "bad year": (_set(0, year="19x6"), 2, "year", "19x6", "expected a four-digit year"),
    "bad month": (_set(7, month="13"), 9, "month", "13", "expected a month number 1-12"),
    "label mismatch": (_set(0, weapon="Rifle"), 2, "weapon", "Rifle",
                       "expected 'Knife or cutting instrument', the SHR label of weapon_code '20'"),
    "mapid format": (_set(0, mapid="1976120AZ001"), 2, "mapid", "1976120AZ001",
                     "expected a 16-character mapid"),
    "mapid against year": (_set(0, mapid="197701001AZ00100"), 2, "mapid", "197701001AZ00100",
                           "expected a mapid that starts with the row's year and month"),
    "incident rows disagree": (_set(2, fip="04013", cnty_name="Maricopa, AZ"), 4, "fip", "04013",
                               "expected '04001' as on line 3: every row of incident (mapid) "
                               f"'{TINY_IDS[1]}' must have the same fip"),
    "unknown sex": (_set(0, vic_sex="M"), 2, "vic_sex", "M", "expected one of ['Male', 'Female', 'Unknown']"),
    "unknown state": (_set(0, state_fip="99", fip="99001"), 2, "state_fip", "99",
                      "expected the two-digit FIPS code of a US state"),
}


def refused(path: Path, loaded: Loaded) -> str:
    """Load ``path`` into the real graph: it must fail, say so, and leave the graph as it was."""
    with pytest.raises(ValidationFailed) as failure:
        load("shr", path, loaded.backend)
    message = str(failure.value)
    assert "nothing was written to the graph" in message
    assert graph_counts(loaded.backend) == loaded.counts
    return message


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_values_are_reported_and_nothing_is_written(case: str, tiny: pd.DataFrame, tmp_path: Path,
                                                        loaded: Loaded) -> None:
    mutate, line, column, value, expected = BAD_VALUES[case]
    message = refused(write_csv(tmp_path / "bad.csv", mutate(tiny)), loaded)
    assert f"bad.csv, row {line}, column {column!r}: value {value!r}" in message
    assert expected in message


@pytest.mark.slow
def test_missing_column(tiny: pd.DataFrame, tmp_path: Path, loaded: Loaded) -> None:
    message = refused(write_csv(tmp_path / "bad.csv", tiny.drop(columns=["weapon"])), loaded)
    assert "bad.csv, row 1, column 'weapon' — error: expected a column named 'weapon' in the header" in message


@pytest.mark.slow
def test_non_utf8_bytes(tiny: pd.DataFrame, tmp_path: Path, loaded: Loaded) -> None:
    path = write_csv(tmp_path / "bad.csv", tiny)
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"Apache", b"Apach\xe9")  # Latin-1 e-acute on line 4
    path.write_bytes(b"\n".join(lines))
    message = refused(path, loaded)
    assert "bad.csv, row 4, column 'cnty_name': value" in message and "\\\\xe9" in message
    assert "expected UTF-8 text" in message


@pytest.mark.slow
def test_ragged_row(tiny: pd.DataFrame, tmp_path: Path, loaded: Loaded) -> None:
    path = write_csv(tmp_path / "bad.csv", tiny)
    lines = path.read_text().split("\n")
    lines[5] += ",extra"
    path.write_text("\n".join(lines))
    message = refused(path, loaded)
    value = ",".join(next(csv.reader([lines[5]])))[:60]  # the row as read, shortened
    assert f"bad.csv, row 6: value {value!r}" in message
    assert f"expected {len(tiny.columns)} fields as in the header, found {len(tiny.columns) + 1}" in message


@pytest.mark.slow
def test_personal_data_column_is_refused(tiny: pd.DataFrame, tmp_path: Path, loaded: Loaded) -> None:
    message = refused(write_csv(tmp_path / "bad.csv", tiny.assign(victim_name="someone")), loaded)
    assert "column 'victim_name' — personal data refused" in message


def test_every_problem_is_reported_at_once(tiny: pd.DataFrame, tmp_path: Path) -> None:
    bad = _set(1, weapon_code="99")(_set(8, year="2x18")(tiny))
    with pytest.raises(ValidationFailed) as failure:
        prepare("shr", write_csv(tmp_path / "bad.csv", bad))
    message = str(failure.value)
    assert "row 3, column 'weapon_code'" in message and "row 10, column 'year'" in message
