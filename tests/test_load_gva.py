"""The gva loader against the real Gun Violence Archive file, on the real embedded engine.

Expected figures are computed here from the CSV with pandas/re, independently of the loader.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from rdflib import Graph, Namespace
from rdflib.namespace import SKOS

from graph_model.embedded import EmbeddedBackend
from graph_model.schema import get_schema
from loaders.base import load
from loaders.problems import ValidationFailed

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gva_fatal_incidents_2014_2015.csv"
GVA_TTL = REPO / "ontology" / "vocab" / "gva.ttl"
SHOT_DEAD = "Shot - Dead (murder, accidental, suicide)"
MP = Namespace("https://w3id.org/micropathways/ontology#")


def split(cell: str) -> list[str]:
    """GVA lists: '||'-separated, some rows with a single '|'."""
    return [p.strip() for p in re.split(r"\|\|?", cell) if p.strip()]


def pair_values(cell: str) -> dict[int, str]:
    out = {}
    for part in split(cell):
        index, value = re.match(r"^(\d+)::?(.+)$", part).groups()  # type: ignore[union-attr]
        out[int(index)] = value
    return out


@pytest.fixture(scope="module")
def csv_frame() -> pd.DataFrame:
    assert DATA.exists(), f"the real GVA file is expected at {DATA}"
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("gva") / "graph.lbdb"
    backend = EmbeddedBackend(path, read_only=False)
    result, report = load("gva", DATA, backend)
    yield backend, result, report
    backend.close()


def rows(backend: EmbeddedBackend, query: str, **params) -> list[dict]:
    result = backend.run_read(query, params, max_rows=500_000, timeout_s=120)
    assert not result.truncated
    return result.rows


def scalar(backend: EmbeddedBackend, query: str, **params):
    (row,) = rows(backend, query, **params)
    return next(iter(row.values()))


# ---- the full real file ------------------------------------------------------------------------
@pytest.mark.slow
def test_one_incident_per_row(loaded, csv_frame):
    backend, _, report = loaded
    assert len(csv_frame) == 23_187
    assert report.records_new == 23_187
    assert scalar(backend, "MATCH (i:Incident) WHERE i.dataset = 'gva' RETURN count(i) AS n") == 23_187
    assert scalar(backend, "MATCH (h:Homicide) RETURN count(h) AS n") == 0
    ids = {r["id"] for r in rows(backend, "MATCH (i:Incident) RETURN i.case_id AS id, i.uid AS uid")}
    assert ids == set(csv_frame["incident_id"])
    one = rows(backend, "MATCH (i:Incident {uid: 'gva:92512'}) RETURN i.year AS y, i.month AS m, "
                        "i.victim_count AS v, i.synthetic AS s, i.solved AS solved")[0]
    assert one == {"y": 2014, "m": 1, "v": 1, "s": False, "solved": None}


@pytest.mark.slow
def test_year_month_and_victim_count(loaded, csv_frame):
    backend, _, _ = loaded
    got = {(r["y"], r["m"]): r["n"] for r in rows(
        backend, "MATCH (i:Incident) RETURN i.year AS y, i.month AS m, count(*) AS n")}
    dates = pd.to_datetime(csv_frame["date"], format="%Y-%m-%d")
    expected = Counter(zip(dates.dt.year, dates.dt.month, strict=True))
    assert got == {(int(y), int(m)): n for (y, m), n in expected.items()}
    killed = scalar(backend, "MATCH (i:Incident) RETURN sum(i.victim_count) AS n")
    # int(): LadybugDB returns sum() of an INT64 as INT128, which arrives as a Decimal
    assert int(killed) == int(csv_frame["n_killed"].astype(int).sum())


@pytest.mark.slow
def test_incidents_per_state(loaded, csv_frame):
    backend, _, _ = loaded
    got = {r["state"]: r["n"] for r in rows(
        backend, "MATCH (i:Incident)-[:IN_AREA]->(a:Area) WHERE a.scheme = 'us-state' "
                 "RETURN a.label AS state, count(DISTINCT i) AS n")}
    assert got == csv_frame["state"].value_counts().to_dict()
    assert got["District of Columbia"] > 0
    levels = rows(backend, "MATCH (:Incident)-[:IN_AREA]->(a:Area) RETURN DISTINCT a.level AS level")
    assert levels == [{"level": "state"}]  # no city or finer areas


@pytest.mark.slow
def test_factor_counts_per_tag(loaded, csv_frame):
    backend, _, _ = loaded
    expected = Counter(t for cell in csv_frame["incident_characteristics"] for t in set(split(cell)))
    got = {r["tag"]: r["n"] for r in rows(
        backend, "MATCH (i:Incident)-[r:HAS_FACTOR]->(f:Factor) WHERE f.scheme = 'gva' AND r.present "
                 "RETURN f.label AS tag, count(DISTINCT i) AS n")}
    top = [tag for tag, _ in expected.most_common(10)]
    for tag in [*top, "Domestic Violence", "Gang involvement", "Drug involvement"]:
        assert got.get(tag) == expected[tag], tag
    assert got == dict(expected)  # every tag, not only the top ten
    # the single-'|' rows are split too: no factor label contains a pipe
    assert not [t for t in got if "|" in t]
    assert scalar(backend, "MATCH (:Incident)-[r:HAS_FACTOR]->(:Factor) WHERE NOT r.present "
                           "RETURN count(r) AS n") == 0


@pytest.mark.slow
def test_common_factor_mappings(loaded, csv_frame):
    backend, _, _ = loaded
    domestic = int(csv_frame["incident_characteristics"].map(lambda c: "Domestic Violence" in split(c)).sum())
    got = scalar(backend, "MATCH (i:Incident)-[:HAS_FACTOR]->(:Factor)-[:MAPS_TO]->(c:Factor) "
                          "WHERE c.uid = 'micropathways:domestic_abuse' RETURN count(DISTINCT i) AS n")
    assert got == domestic
    method = scalar(backend, "MATCH (i:Incident)-[:BY_METHOD]->(:Method)-[:MAPS_TO]->(c:Method) "
                             "WHERE c.uid = 'micropathways:shooting' RETURN count(DISTINCT i) AS n")
    non_shooting = csv_frame["incident_characteristics"].map(
        lambda c: "Non-Shooting Incident" in split(c) and not any(t.startswith("Shot - ") for t in split(c)))
    assert method == len(csv_frame) - int(non_shooting.sum())


@pytest.mark.slow
def test_victims_and_suspects(loaded, csv_frame):
    backend, _, _ = loaded
    types = Counter(v for cell in csv_frame["participant_type"] for v in pair_values(cell).values())
    assert scalar(backend, "MATCH (:Incident)-[:HAS_VICTIM]->(v:Victim) RETURN count(v) AS n") \
        == types["Victim"]
    assert scalar(backend, "MATCH (:Incident)-[:HAS_SUSPECT]->(s:Suspect) RETURN count(s) AS n") \
        == types["Subject-Suspect"]
    assert scalar(backend, "MATCH (v:Victim) RETURN count(v) AS n") == types["Victim"]
    row = csv_frame.set_index("incident_id").loc["92512"]
    ages, sexes = pair_values(row["participant_age"]), pair_values(row["participant_gender"])
    people = rows(backend, "MATCH (i:Incident {uid: 'gva:92512'})-[:HAS_VICTIM|HAS_SUSPECT]->(p) "
                           "RETURN p.uid AS uid, p.position AS pos, p.age AS age, p.sex AS sex")
    for person in people:
        index = person["pos"] - 1
        assert person["age"] == int(ages[index]) and person["sex"] == sexes[index]
    kinds = {p["uid"].rsplit("/", 1)[1][0] for p in people}
    assert kinds == {"v", "s"}
    ages_all = [int(v) for cell in csv_frame["participant_age"] for v in pair_values(cell).values()]
    assert scalar(backend, "MATCH (p:Victim) WHERE p.age IS NOT NULL RETURN count(p) AS n") \
        + scalar(backend, "MATCH (p:Suspect) WHERE p.age IS NOT NULL RETURN count(p) AS n") == len(ages_all)


@pytest.mark.slow
def test_relationships(loaded, csv_frame):
    backend, _, _ = loaded
    expected = Counter(v for cell in csv_frame["participant_relationship"]
                       for v in set(pair_values(cell).values()))
    got = {r["label"]: r["n"] for r in rows(
        backend, "MATCH (i:Incident)-[:HAS_RELATIONSHIP]->(r:Relationship) WHERE r.scheme = 'gva' "
                 "RETURN r.label AS label, count(DISTINCT i) AS n")}
    assert got == dict(expected)


def _kind_scheme() -> dict[str, str | None]:
    graph = Graph().parse(REPO / "ontology" / "vocab" / "micropathways.ttl")
    scheme = next(s for s in graph.subjects(MP.schemeCode, None) if str(graph.value(s, MP.schemeCode))
                  == "incident-kind")
    out = {}
    for concept in graph.subjects(SKOS.inScheme, scheme):
        iccs = graph.value(concept, MP.iccsCode)
        out[str(graph.value(concept, SKOS.notation))] = None if iccs is None else str(iccs)
    return out


@pytest.mark.slow
def test_kind_and_iccs(loaded, csv_frame):
    backend, _, _ = loaded
    scheme = _kind_scheme()
    got = {r["uid"].split(":", 1)[1]: (r["kind"], r["iccs"]) for r in rows(
        backend, "MATCH (i:Incident) RETURN i.uid AS uid, i.kind AS kind, i.iccs AS iccs")}
    assert {k for k, _ in got.values()} <= set(scheme)
    assert all(iccs == scheme[kind] for kind, iccs in got.values())
    tags = {i: set(split(c)) for i, c in zip(csv_frame["incident_id"], csv_frame["incident_characteristics"],
                                               strict=True)}
    # rule 1: every "Murder/Suicide" incident, and only those, is murder_suicide
    assert {i for i, (k, _) in got.items() if k == "murder_suicide"} == {i for i, t in tags.items()
                                                                          if "Murder/Suicide" in t}
    # only the generic shooting tags: homicide (by exclusion), ICCS 0101
    generic = [i for i, t in tags.items() if SHOT_DEAD in t and t <= {SHOT_DEAD, "Shot - Wounded/Injured"}]
    assert len(generic) > 10_000 and all(got[i] == ("homicide", "0101") for i in generic)
    # no tags at all, or nothing about a death: undetermined
    empty = [i for i, t in tags.items() if not t or t == {"Animal shot/killed"}]
    assert empty and all(got[i] == ("undetermined", None) for i in empty)
    police = {"Officer Involved Shooting - subject/suspect/perpetrator killed"}
    stronger = {"Murder/Suicide", "Officer Involved Shooting - Officer killed",
                "Home Invasion - Resident killed", "Attempted Murder/Suicide (one variable unsuccessful)"}
    shot_by_police = [i for i, t in tags.items() if t & police and not t & stronger and
                      not any(x.startswith("Mass Murder") for x in t)]
    assert shot_by_police and all(got[i] == ("legal_intervention", None) for i in shot_by_police)
    plain_suicide = [i for i, t in tags.items() if t <= {SHOT_DEAD, "Suicide^", "Shot - Wounded/Injured"}
                     and "Suicide^" in t]
    assert plain_suicide and all(got[i] == ("suicide", None) for i in plain_suicide)
    accidental_only = {SHOT_DEAD, "Accidental Shooting", "Accidental Shooting - Death"}
    accident = [i for i, t in tags.items() if t <= accidental_only and "Accidental Shooting - Death" in t]
    assert accident and all(got[i] == ("accidental", "0103") for i in accident)


@pytest.mark.slow
def test_dataset_node_and_stripped_columns(loaded, csv_frame):
    backend, result, _ = loaded
    (dataset,) = rows(backend, "MATCH (d:Dataset {uid: 'gva'}) RETURN d.name AS name, d.source AS source, "
                               "d.licence AS licence, d.synthetic AS synthetic, "
                               "d.factor_recording AS fr, d.record_count AS n")
    assert dataset == {
        "name": "gva", "source": "Gun Violence Archive via jamesqo/gun-violence-data @ 17dc307 "
        "(credit: Gun Violence Archive)", "licence": "none stated; GVA asks to be credited",
        "synthetic": False, "fr": "presence_only", "n": 23_187}
    personal = {"address": "an address", "latitude": "a location finer than an area",
                "longitude": "a location finer than an area",
                "notes": "a free-text narrative that may identify people",
                "location_description": "a free-text narrative that may identify people"}
    for column, reason in personal.items():
        assert result.stripped[column] == reason
    for column in ["incident_url", "source_url", "sources", "city_or_county", "congressional_district",
                   "state_house_district", "state_senate_district", "participant_status"]:
        assert column in result.stripped
    mapped = {"incident_id", "date", "state", "n_killed", "incident_characteristics", "participant_type",
              "participant_age", "participant_age_group", "participant_gender", "participant_relationship"}
    assert set(result.stripped) == set(csv_frame.columns) - mapped


@pytest.mark.slow
def test_no_personal_data_in_graph(loaded, csv_frame):
    backend, _, _ = loaded
    schema = get_schema()
    strings: list[str] = []
    allowed = {
        "Incident": {"uid", "case_id", "dataset", "year", "month", "synthetic", "kind", "iccs",
                     "victim_count", "content_hash"},
        "Victim": {"uid", "record_uid", "position", "age", "age_group", "sex"},
        "Suspect": {"uid", "record_uid", "position", "age", "age_group", "sex"},
    }
    for label in schema.nodes:
        for row in rows(backend, f"MATCH (n:{schema.check_label(label)}) RETURN n"):
            node = row["n"]
            keys = set(node) - {"_labels"}
            assert keys <= {p.name for p in schema.node(label).properties}
            if label in allowed:
                assert keys <= allowed[label], (label, keys - allowed[label])
            strings += [v for v in node.values() if isinstance(v, str)]
    haystack = "\x00".join(strings)
    assert "gva:92512/v1" in haystack and SHOT_DEAD in haystack  # the search does see stored text
    sample = csv_frame.sample(n=2000, random_state=7)
    addresses = [a for a in sample["address"] if re.search(r"\d", a) and len(a) >= 8][:50]
    notes = [n for n in sample["notes"] if len(n) >= 20][:50]
    coordinates = [c for c in pd.concat([sample["latitude"], sample["longitude"]]) if "." in c][:50]
    urls = list(sample["incident_url"][:20]) + [u for u in sample["source_url"] if u][:20]
    assert len(addresses) == 50 and len(notes) == 50 and len(coordinates) == 50
    for needle in [*addresses, *notes, *coordinates, *urls]:
        assert needle not in haystack, needle


def totals(backend: EmbeddedBackend) -> tuple[int, int]:
    return (scalar(backend, "MATCH (n) RETURN count(n) AS n"),
            scalar(backend, "MATCH ()-[r]->() RETURN count(r) AS n"))


@pytest.mark.slow
def test_reload_is_idempotent(loaded):
    backend, _, _ = loaded
    before = totals(backend)
    _, report = load("gva", DATA, backend)
    assert (report.records_new, report.records_changed, report.records_unchanged) == (0, 0, 23_187)
    assert (report.nodes_written, report.rels_written) == (0, 0)
    assert totals(backend) == before


@pytest.mark.slow
def test_generator_reproduces_committed_vocabulary(tmp_path):
    out = tmp_path / "gva.ttl"
    script = REPO / "ontology" / "build_gva_vocab.py"
    subprocess.run([sys.executable, str(script), str(DATA), "--out", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == GVA_TTL.read_bytes()
    head = GVA_TTL.read_text(encoding="utf-8").splitlines()[0]
    assert head == ("# GENERATED by ontology/build_gva_vocab.py from gva_fatal_incidents_2014_2015.csv "
                    "— do not edit by hand.")


# ---- small constructed files ---------------------------------------------------------------------
HEADER = ["incident_id", "date", "state", "city_or_county", "address", "n_killed",
          "incident_characteristics", "notes", "participant_age", "participant_age_group",
          "participant_gender", "participant_relationship", "participant_type"]


def good_row(incident_id: str = "1") -> dict[str, str]:
    return {
        "incident_id": incident_id, "date": "2015-03-04", "state": "Ohio", "city_or_county": "Testville",
        "address": "1 Fictional Street", "n_killed": "1",
        "incident_characteristics": "Shot - Wounded/Injured|Shot - Dead (murder, accidental, suicide)",
        "notes": "Invented note naming Nobody", "participant_age": "0:30|1:41",
        "participant_age_group": "0::Adult 18+||1::Adult 18+", "participant_gender": "0::Male||1::Female",
        "participant_relationship": "1::Friends", "participant_type": "0::Victim||1::Subject-Suspect",
    }


def write(tmp_path: Path, records: list[dict[str, str]], name: str = "gva_small.csv",
          header: list[str] | None = None) -> Path:
    path = tmp_path / name
    header = header or list(records[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    return path


@pytest.fixture
def empty_graph(tmp_path):
    backend = EmbeddedBackend(tmp_path / "small.lbdb", read_only=False)
    backend.ensure_schema()
    yield backend
    backend.close()


def failed(path: Path, backend: EmbeddedBackend) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        load("gva", path, backend)
    assert scalar(backend, "MATCH (n) RETURN count(n) AS n") == 0  # nothing written
    return info.value


def test_small_good_file(tmp_path, empty_graph):
    record = good_row()
    record["victim_name"] = "Jane Example"  # a column the loader does not map: stripped, not stored
    result, report = load("gva", write(tmp_path, [record]), empty_graph)
    assert report.records_new == 1
    assert result.stripped["victim_name"] == "a person's name"
    assert result.stripped["address"] == "an address"
    people = rows(empty_graph, "MATCH (i:Incident)-[:HAS_VICTIM|HAS_SUSPECT]->(p) "
                               "RETURN p.uid AS uid, p.age AS age, p.sex AS sex ORDER BY uid")
    assert people == [{"uid": "gva:1/s2", "age": 41, "sex": "Female"},
                      {"uid": "gva:1/v1", "age": 30, "sex": "Male"}]
    tags = rows(empty_graph, "MATCH (:Incident)-[:HAS_FACTOR]->(f:Factor) RETURN f.label AS t ORDER BY t")
    assert [t["t"] for t in tags] == [SHOT_DEAD, "Shot - Wounded/Injured"]
    every = "\x00".join(str(v) for r in rows(empty_graph, "MATCH (n) RETURN n") for v in r["n"].values())
    for secret in ["Jane Example", "1 Fictional Street", "Invented note", "Testville"]:
        assert secret not in every


def test_unknown_tag(tmp_path, empty_graph):
    record = good_row()
    record["incident_characteristics"] = "Shot - Dead (murder, accidental, suicide)||Alien abduction"
    error = failed(write(tmp_path, [record]), empty_graph)
    message = str(error)
    assert "gva_small.csv, row 2, column 'incident_characteristics': value 'Alien abduction'" in message
    assert "a tag listed in ontology/vocab/gva.ttl" in message and "build_gva_vocab.py" in message


def test_bad_date_and_values(tmp_path, empty_graph):
    records = [good_row("1"), good_row("2"), good_row("3"), good_row("4")]
    records[1]["date"] = "2015-13-45"
    records[2]["date"] = "04/03/2015"
    records[3]["state"] = "Gondor"
    records[0]["n_killed"] = "0"
    error = failed(write(tmp_path, records), empty_graph)
    message = str(error)
    assert ("gva_small.csv, row 3, column 'date': value '2015-13-45' — error: expected a valid date "
            "as YYYY-MM-DD") in message
    assert "row 4, column 'date': value '04/03/2015'" in message
    assert "row 5, column 'state': value 'Gondor'" in message
    assert "row 2, column 'n_killed': value '0' — error: expected a whole number of at least 1" in message
    assert error.problems.total == 4


def test_duplicate_incident_id(tmp_path, empty_graph):
    error = failed(write(tmp_path, [good_row("7"), good_row("8"), good_row("7")]), empty_graph)
    (problem,) = error.problems.items
    assert (problem.file, problem.row, problem.column, problem.value) \
        == ("gva_small.csv", 4, "incident_id", "7")
    assert "unique incident_id (also on line 2)" in str(error)


def test_missing_column(tmp_path, empty_graph):
    header = [c for c in HEADER if c != "state"]
    error = failed(write(tmp_path, [good_row()], header=header), empty_graph)
    assert "gva_small.csv, row 1, column 'state' — error: expected a column named 'state' in the header" \
        in str(error)


def test_malformed_participant_fields(tmp_path, empty_graph):
    records = [good_row("1"), good_row("2"), good_row("3"), good_row("4")]
    records[0]["participant_type"] = "0::Victim||Subject-Suspect"  # the only problem of row 2
    records[1]["participant_gender"] = "0::Male||0::Female"
    records[2]["participant_age"] = "0::30||5::41"
    records[3]["participant_age_group"] = "0::Adult 18+||1::Elderly"
    error = failed(write(tmp_path, records), empty_graph)
    message = str(error)
    assert ("gva_small.csv, row 2, column 'participant_type': value 'Subject-Suspect' — error: expected "
            "'index::value' pairs") in message
    assert "row 3, column 'participant_gender': value '0::Female'" in message
    assert ("row 4, column 'participant_age': value '5::41' — error: expected an index that participant_type "
            "lists") in message
    assert "row 5, column 'participant_age_group': value '1::Elderly'" in message
    assert [p.row for p in error.problems.items].count(2) == 1
