"""The gva loader against the real Gun Violence Archive file and small constructed files, on both engines.

Expected figures are computed here from the CSV with pandas/re, independently of the loader. Every test
that touches a graph runs on both engines: the real file is loaded once per backend (a module-scoped,
backend-parametrised fixture on a fresh graph), and a test that writes restores that graph before it
ends, so the tests do not depend on their order.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from rdflib import Graph, Namespace
from rdflib.namespace import SKOS

from graph_model.schema import get_schema
from loaders.base import load
from loaders.problems import ValidationFailed
from tests.conftest import BACKENDS, GVA_CSV
from tests.graph_checks import Loaded, graph_counts, load_once, rows, scalar

REPO = Path(__file__).resolve().parents[1]
DATA = GVA_CSV
INCIDENTS = 23_187
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


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    yield from load_once(request, tmp_path_factory, "gva", DATA)


# ---- the full real file ------------------------------------------------------------------------
@pytest.mark.slow
def test_one_incident_per_row(loaded, csv_frame):
    backend, report = loaded.backend, loaded.report
    assert len(csv_frame) == INCIDENTS
    assert (report.records_new, report.records_changed, report.records_unchanged) == (INCIDENTS, 0, 0)
    assert scalar(backend, "MATCH (i:Incident) WHERE i.dataset = 'gva' RETURN count(i) AS n") == INCIDENTS
    assert scalar(backend, "MATCH (h:Homicide) RETURN count(h) AS n") == 0
    ids = {r["id"] for r in rows(backend, "MATCH (i:Incident) RETURN i.case_id AS id, i.uid AS uid")}
    assert ids == set(csv_frame["incident_id"])
    one = rows(backend, "MATCH (i:Incident {uid: 'gva:92512'}) RETURN i.year AS y, i.month AS m, "
                        "i.victim_count AS v, i.synthetic AS s, i.solved AS solved")[0]
    assert one == {"y": 2014, "m": 1, "v": 1, "s": False, "solved": None}


@pytest.mark.slow
def test_year_month_and_victim_count(loaded, csv_frame):
    backend = loaded.backend
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
    backend = loaded.backend
    got = {r["state"]: r["n"] for r in rows(
        backend, "MATCH (i:Incident)-[:IN_AREA]->(a:Area) WHERE a.scheme = 'us-state' "
                 "RETURN a.label AS state, count(DISTINCT i) AS n")}
    assert got == csv_frame["state"].value_counts().to_dict()
    assert got["District of Columbia"] > 0
    levels = rows(backend, "MATCH (:Incident)-[:IN_AREA]->(a:Area) RETURN DISTINCT a.level AS level")
    assert levels == [{"level": "state"}]  # no city or finer areas


@pytest.mark.slow
def test_factor_counts_per_tag(loaded, csv_frame):
    backend = loaded.backend
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
    backend = loaded.backend
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
    backend = loaded.backend
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
    backend = loaded.backend
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
    backend = loaded.backend
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
    backend, result = loaded.backend, loaded.result
    (dataset,) = rows(backend, "MATCH (d:Dataset {uid: 'gva'}) RETURN d.name AS name, d.source AS source, "
                               "d.licence AS licence, d.synthetic AS synthetic, "
                               "d.factor_recording AS fr, d.record_count AS n")
    assert dataset == {
        "name": "gva", "source": "Gun Violence Archive via jamesqo/gun-violence-data @ 17dc307 "
        "(credit: Gun Violence Archive)", "licence": "none stated; GVA asks to be credited",
        "synthetic": False, "fr": "presence_only", "n": INCIDENTS}
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
    backend = loaded.backend
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


@pytest.mark.slow
def test_reload_is_idempotent(loaded):
    backend = loaded.backend
    _, report = load("gva", DATA, backend)
    assert (report.records_new, report.records_changed, report.records_unchanged) == (0, 0, INCIDENTS)
    assert (report.nodes_written, report.rels_written) == (0, 0)
    assert graph_counts(backend) == loaded.counts


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


# ---- small constructed files (loaded into the real graph, which must stay as it was) -------------
REAL_ID = "92512"  # a real incident: a good constructed file replaces it (and it is put back)
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


def failed(path: Path, loaded: Loaded) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        load("gva", path, loaded.backend)
    assert "nothing was written to the graph" in str(info.value)
    assert graph_counts(loaded.backend) == loaded.counts  # nothing written
    return info.value


@pytest.mark.slow
def test_small_good_file(tmp_path, loaded):
    backend = loaded.backend
    record = good_row(REAL_ID)
    record["victim_name"] = "Jane Example"  # a column the loader does not map: stripped, not stored
    try:
        result, report = load("gva", write(tmp_path, [record]), backend)
        assert (report.records_new, report.records_changed, report.records_unchanged) == (0, 1, 0)
        assert result.stripped["victim_name"] == "a person's name"
        assert result.stripped["address"] == "an address"
        incident = {"u": f"gva:{REAL_ID}"}
        people = rows(backend, "MATCH (i:Incident {uid: $u})-[:HAS_VICTIM|HAS_SUSPECT]->(p) "
                               "RETURN p.uid AS uid, p.age AS age, p.sex AS sex ORDER BY uid", **incident)
        assert people == [{"uid": f"gva:{REAL_ID}/s2", "age": 41, "sex": "Female"},
                          {"uid": f"gva:{REAL_ID}/v1", "age": 30, "sex": "Male"}]
        tags = rows(backend, "MATCH (:Incident {uid: $u})-[:HAS_FACTOR]->(f:Factor) RETURN f.label AS t "
                             "ORDER BY t", **incident)
        assert [t["t"] for t in tags] == [SHOT_DEAD, "Shot - Wounded/Injured"]
        stored = rows(backend, "MATCH (i:Incident {uid: $u}) OPTIONAL MATCH (i)-->(n) RETURN i, n", **incident)
        assert len(stored) > 3
        every = "\x00".join(str(v) for r in stored for node in (r["i"], r["n"]) for v in node.values())
        for secret in ["Jane Example", "1 Fictional Street", "Invented note", "Testville"]:
            assert secret not in every
        assert scalar(backend, "MATCH (i:Incident) RETURN count(i) AS n") == INCIDENTS  # replaced, not added
    finally:
        restored = loaded.restore()
    assert (restored.records_new, restored.records_changed) == (0, 1)
    assert graph_counts(backend) == loaded.counts


@pytest.mark.slow
def test_unknown_tag(tmp_path, loaded):
    record = good_row()
    record["incident_characteristics"] = "Shot - Dead (murder, accidental, suicide)||Alien abduction"
    error = failed(write(tmp_path, [record]), loaded)
    message = str(error)
    assert "gva_small.csv, row 2, column 'incident_characteristics': value 'Alien abduction'" in message
    assert "a tag listed in ontology/vocab/gva.ttl" in message and "build_gva_vocab.py" in message


@pytest.mark.slow
def test_bad_date_and_values(tmp_path, loaded):
    records = [good_row("1"), good_row("2"), good_row("3"), good_row("4")]
    records[1]["date"] = "2015-13-45"
    records[2]["date"] = "04/03/2015"
    records[3]["state"] = "Gondor"
    records[0]["n_killed"] = "0"
    error = failed(write(tmp_path, records), loaded)
    message = str(error)
    assert ("gva_small.csv, row 3, column 'date': value '2015-13-45' — error: expected a valid date "
            "as YYYY-MM-DD") in message
    assert "row 4, column 'date': value '04/03/2015'" in message
    assert "row 5, column 'state': value 'Gondor'" in message
    assert "row 2, column 'n_killed': value '0' — error: expected a whole number of at least 1" in message
    assert error.problems.total == 4


@pytest.mark.slow
def test_duplicate_incident_id(tmp_path, loaded):
    error = failed(write(tmp_path, [good_row("7"), good_row("8"), good_row("7")]), loaded)
    (problem,) = error.problems.items
    assert (problem.file, problem.row, problem.column, problem.value) \
        == ("gva_small.csv", 4, "incident_id", "7")
    assert "unique incident_id (also on line 2)" in str(error)


@pytest.mark.slow
def test_missing_column(tmp_path, loaded):
    header = [c for c in HEADER if c != "state"]
    error = failed(write(tmp_path, [good_row()], header=header), loaded)
    assert "gva_small.csv, row 1, column 'state' — error: expected a column named 'state' in the header" \
        in str(error)


@pytest.mark.slow
def test_malformed_participant_fields(tmp_path, loaded):
    records = [good_row("1"), good_row("2"), good_row("3"), good_row("4")]
    records[0]["participant_type"] = "0::Victim||Subject-Suspect"  # the only problem of row 2
    records[1]["participant_gender"] = "0::Male||0::Female"
    records[2]["participant_age"] = "0::30||5::41"
    records[3]["participant_age_group"] = "0::Adult 18+||1::Elderly"
    error = failed(write(tmp_path, records), loaded)
    message = str(error)
    assert ("gva_small.csv, row 2, column 'participant_type': value 'Subject-Suspect' — error: expected "
            "'index::value' pairs") in message
    assert "row 3, column 'participant_gender': value '0::Female'" in message
    assert ("row 4, column 'participant_age': value '5::41' — error: expected an index that participant_type "
            "lists") in message
    assert "row 5, column 'participant_age_group': value '1::Elderly'" in message
    assert [p.row for p in error.problems.items].count(2) == 1
