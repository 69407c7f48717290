"""The synthetic generator: seeded and deterministic, calibrated to the published figures, labelled
synthetic everywhere, and loadable by the coded loader into the real embedded engine.

Targets are the published figures (the VRU's first phase, in /work/shared/docs/mission.md) written out
here, and the Met's real file read with pandas; measured figures are computed from the generated CSVs
with pandas, never with the generator's own code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli.main import main as micropath
from graph_model.embedded import EmbeddedBackend
from graph_model.errors import MicropathError
from graph_model.vocab import get_vocabulary
from loaders.base import load
from loaders.synthetic import write_bundle
from tests.conftest import LONDON_CSV

FILES = ("bundle.toml", "README.txt", "cases.csv", "victims.csv", "suspects.csv", "factors.csv", "events.csv",
         "reliability.csv")
# The VRU's first phase: cases of 50 with each factor.
PUBLISHED = {"mental_health": 29, "drugs": 26, "drug_addiction_history": 22, "drugs_in_lead_up": 10,
             "alcohol": 16, "gang_involvement": 14, "social_media": 14}
TOLERANCE = 0.03  # about four standard errors at 5,000 cases
CONFRONTATION = {"chance_encounter", "verbal_argument", "threat", "robbery_attempt", "physical_altercation",
                 "weapon_retrieved", "pursuit", "intervention_attempt"}


def read(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
            for name in ("cases", "victims", "suspects", "factors", "events")}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(tmp_path_factory.mktemp("synth") / "b", cases=5000, seed=11)


@pytest.fixture(scope="module")
def data(bundle: Path) -> dict[str, pd.DataFrame]:
    return read(bundle)


@pytest.fixture(scope="module")
def coded(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """cases x factors: True present, False absent, NaN not coded."""
    factors = data["factors"]
    table = factors.pivot(index="case_id", columns="factor", values="value")
    return table.replace({"present": True, "absent": False, "not_recorded": np.nan}).astype("boolean")


def lift(coded: pd.DataFrame, a: str, b: str) -> float:
    both = coded[[a, b]].dropna()
    pa, pb = both[a].astype(bool), both[b].astype(bool)
    return float((pa & pb).mean() / (pa.mean() * pb.mean()))


# ---- determinism and labelling ------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    one = write_bundle(tmp_path / "one", cases=400, seed=3)
    two = write_bundle(tmp_path / "two", cases=400, seed=3)
    other = write_bundle(tmp_path / "other", cases=400, seed=4, name="synthetic-s3")
    for file in FILES:
        assert (one / file).read_bytes() == (two / file).read_bytes(), file
    for file in ("cases.csv", "victims.csv", "factors.csv", "events.csv", "reliability.csv"):
        assert (one / file).read_bytes() != (other / file).read_bytes(), file


def test_everything_says_synthetic(bundle: Path) -> None:
    meta = tomllib.loads((bundle / "bundle.toml").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True
    assert meta["name"] == "synthetic-s11"
    assert "SYNTHETIC" in meta["description"]
    readme = (bundle / "README.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "NOT REAL" in readme


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MicropathError, match="at least 1"):
        write_bundle(tmp_path / "x", cases=0, seed=1)
    with pytest.raises(MicropathError, match="lower-kebab-case"):
        write_bundle(tmp_path / "x", cases=5, seed=1, name="My Data")


def test_cli_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert micropath(["synth", "--cases", "30", "--seed", "9", str(tmp_path / "cli")]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "cli" / "cases.csv")) == 30


# ---- calibration ------------------------------------------------------------------------------------------
def test_factor_prevalences_match_the_published_figures(coded: pd.DataFrame) -> None:
    for factor, of_50 in PUBLISHED.items():
        values = coded[factor].dropna().astype(bool)
        assert len(values) > 3000, factor
        assert abs(values.mean() - of_50 / 50) < TOLERANCE, (factor, values.mean(), of_50 / 50)


def test_domestic_abuse_and_method_like_london(coded: pd.DataFrame, data: dict[str, pd.DataFrame]) -> None:
    london = pd.read_csv(LONDON_CSV)
    domestic = (london["Domestic Abuse"] == "Domestic Abuse").mean()
    knife = (london["MethodofKilling"] == "Knife or Sharp Implement").mean()
    assert abs(coded["domestic_abuse"].dropna().astype(bool).mean() - domestic) < TOLERANCE
    assert abs((data["cases"]["method"] == "sharp_instrument").mean() - knife) < 0.05


def test_coding_frames_and_not_recorded(data: dict[str, pd.DataFrame]) -> None:
    cases, factors = data["cases"], data["factors"]
    frame = cases.set_index("case_id")["coding_frame_version"].astype(int)
    assert 0.1 < (frame == 1).mean() < 0.5
    assert set(frame) == {1, 2}
    factors = factors.assign(frame=factors["case_id"].map(frame))
    added_later = factors["factor"].isin(["social_media", "night_time_economy"])
    assert (factors.loc[added_later & (factors["frame"] == 1), "value"] == "not_recorded").all()
    codable = factors[~(added_later & (factors["frame"] == 1))]
    assert abs((codable["value"] == "not_recorded").mean() - 0.05) < 0.015
    assert len(factors) == len(cases) * len(set(factors["factor"]))


def test_patterns_to_find(coded: pd.DataFrame, data: dict[str, pd.DataFrame]) -> None:
    assert lift(coded, "gang_involvement", "social_media") > 1.4
    assert lift(coded, "gang_involvement", "weapon_carrying") > 1.4
    assert lift(coded, "social_media", "weapon_carrying") > 1.2
    assert lift(coded, "alcohol", "night_time_economy") > 1.4
    assert lift(coded, "domestic_abuse", "gang_involvement") < 0.7
    relationship = data["cases"].set_index("case_id")["relationship"]
    abuse = coded["domestic_abuse"].dropna().astype(bool)
    partner = relationship.loc[abuse.index] == "partner_ex_partner"
    assert partner[abuse].mean() > 0.5
    assert partner[~abuse].mean() < 0.05
    # drugs is addiction history or drugs in the lead-up: never absent when either is present
    subs = coded[["drugs", "drug_addiction_history", "drugs_in_lead_up"]].dropna().astype(bool)
    assert (subs["drugs"] == (subs["drug_addiction_history"] | subs["drugs_in_lead_up"])).all()
    # social media rises over the years
    years = data["cases"].set_index("case_id")["year"].astype(int)
    social = coded["social_media"].dropna().astype(bool)
    by_year = social.groupby(years.loc[social.index]).mean()
    assert by_year.loc[2023:2024].mean() > by_year.loc[2018:2019].mean()


def test_places_years_coders(data: dict[str, pd.DataFrame]) -> None:
    cases = data["cases"]
    gss = {c.code for c in get_vocabulary().scheme_concepts("Area", "gss")}
    assert set(cases["area_code"]) <= gss
    assert cases["area_code"].nunique() > 30
    assert set(cases["year"].astype(int)) == set(range(2015, 2025))
    coders = {f"C{i:02d}" for i in range(1, 13)}
    assert set(cases["coder"]) == coders
    assert set(data["factors"]["coder"]) == coders and set(data["events"]["coder"]) <= coders
    assert set(data["victims"]["age_group"]) - {""} <= {"0 to 12", "13 to 19", "20 to 24", "25 to 34",
                                                         "35 to 44", "45 to 54", "55 to 64", "65 and over"}


def test_micropathways(data: dict[str, pd.DataFrame]) -> None:
    events = data["events"].assign(step=lambda f: f["step"].astype(int),
                                   minutes=lambda f: pd.to_numeric(f["minutes_before"].replace("", np.nan)))
    events = events.sort_values(["case_id", "step"])
    per_case = events.groupby("case_id")
    assert per_case.size().between(2, 8).all()
    assert per_case.size().nunique() == 7  # every length from 2 to 8 occurs
    assert (per_case["step"].apply(lambda s: list(s) == list(range(1, len(s) + 1)))).all()
    last = per_case.tail(1)
    assert (last["event_type"] == "fatal_incident").all() and (last["minutes"] == 0).all()
    assert (events.loc[~events.index.isin(last.index), "event_type"] != "fatal_incident").all()
    known = events.dropna(subset=["minutes"])
    assert (known.groupby("case_id")["minutes"].diff().dropna() <= 0).all()
    assert 0.005 < events["minutes"].isna().mean() < 0.04
    # escalation: how long before the fatal incident the confrontation began
    window = events[events["event_type"].isin(CONFRONTATION)].groupby("case_id")["minutes"].max()
    assert (window < 5).mean() > 0.35  # many quick outbursts
    assert (window.between(4.5, 7.5)).mean() > 0.08  # a group around five minutes
    whole = per_case["minutes"].max()  # from the first event
    assert (whole < 5).mean() > 0.3 and whole.between(4.5, 7.5).mean() > 0.1
    assert (whole > 60).mean() > 0.15 and (whole > 24 * 60).mean() > 0.05  # some long build-ups
    # online provocation belongs to social-media cases
    social = data["factors"].query("factor == 'social_media' and value == 'present'")["case_id"]
    provoked = events.loc[events["event_type"] == "online_provocation", "case_id"]
    assert provoked.isin(social).mean() > 0.6


# ---- loading -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def loaded(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBackend]:
    db = EmbeddedBackend(tmp_path_factory.mktemp("synthdb") / "graph.lbdb", read_only=False)
    load("coded", bundle, db)
    try:
        yield db
    finally:
        db.close()


def test_loads_cleanly_and_labelled_synthetic(loaded: EmbeddedBackend, data: dict[str, pd.DataFrame]) -> None:
    cases, factors, events = data["cases"], data["factors"], data["events"]
    one = loaded.run_read("MATCH (h:Homicide) RETURN count(h) AS n, sum(CASE WHEN h.synthetic THEN 1 ELSE 0 END) "
                          "AS synthetic").rows[0]
    assert one == {"n": len(cases), "synthetic": len(cases)}
    assert loaded.run_read("MATCH (d:Dataset {name: 'synthetic-s11'}) RETURN d.synthetic AS s, "
                           "d.record_count AS n").rows == [{"s": True, "n": len(cases)}]
    coded_rows = factors[factors["value"] != "not_recorded"]
    got = loaded.run_read("MATCH (:Homicide)-[r:HAS_FACTOR]->(:Factor) RETURN count(r) AS n, "
                          "sum(CASE WHEN r.present THEN 1 ELSE 0 END) AS present").rows[0]
    assert got == {"n": len(coded_rows), "present": int((coded_rows["value"] == "present").sum())}
    assert loaded.run_read("MATCH (e:Event) RETURN count(e) AS n").rows == [{"n": len(events)}]
    assert loaded.run_read("MATCH (:Event)-[r:NEXT]->(:Event) RETURN count(r) AS n").rows == [
        {"n": len(events) - events["case_id"].nunique()}]
    assert loaded.run_read("MATCH (:Homicide)-[r:FIRST_EVENT]->(:Event) RETURN count(r) AS n").rows == [
        {"n": events["case_id"].nunique()}]
    assert loaded.run_read("MATCH (v:Victim) RETURN count(v) AS n").rows == [{"n": len(data["victims"])}]
    assert loaded.run_read("MATCH (s:Suspect) RETURN count(s) AS n").rows == [{"n": len(data["suspects"])}]


@pytest.mark.slow
def test_100k_cases_generate_and_load(tmp_path: Path) -> None:
    """The generator and the coded loader at full scale: every case and coded factor value arrives.
    (How long it takes is measured by bench/patterns.py, not asserted here.)"""
    folder = write_bundle(tmp_path / "big", cases=100_000, seed=2)
    factors = pd.read_csv(folder / "factors.csv", usecols=["value"], dtype=str)
    with EmbeddedBackend(tmp_path / "big.lbdb", read_only=False) as db:
        _, report = load("coded", folder, db)
        got = db.run_read("MATCH (h:Homicide) RETURN count(h) AS n").rows[0]["n"]
        edges = db.run_read("MATCH (:Homicide)-[r:HAS_FACTOR]->(:Factor) RETURN count(r) AS n").rows[0]["n"]
    assert report.records_new == got == 100_000
    assert edges == int((factors["value"] != "not_recorded").sum())


# ---- coding frame 3: thirty factors, the earlier frames leave the new ones not coded ---------------------
def test_coding_frame_3_codes_thirty_factors_and_earlier_frames_leave_the_new_ones_not_coded(
        tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "f3", cases=4000, seed=11, coding_frame=3)
    assert tomllib.loads((folder / "bundle.toml").read_text(encoding="utf-8"))["coding_frame_version"] == 3
    default = read(write_bundle(tmp_path / "f2", cases=4000, seed=11))
    data = read(folder)
    for name in ("victims", "suspects", "events"):  # the frame-2 draws of the seed are unchanged
        pd.testing.assert_frame_equal(data[name], default[name], obj=name)
    pd.testing.assert_frame_equal(data["cases"].drop(columns="coding_frame_version"),
                                  default["cases"].drop(columns="coding_frame_version"))
    moved = data["cases"]["coding_frame_version"] != default["cases"]["coding_frame_version"]
    assert set(data["cases"].loc[moved, "coding_frame_version"]) == {"3"}
    assert set(default["cases"].loc[moved, "coding_frame_version"]) == {"2"}
    data = read(folder)
    vocab = get_vocabulary()
    frames = {c.code: int(c.get("added_in_frame") or 1)  # type: ignore[call-overload]
              for c in vocab.scheme_concepts("Factor", "micropathways")}
    assert len(frames) == 30 and sum(f == 3 for f in frames.values()) == 18
    factors = data["factors"].merge(data["cases"][["case_id", "coding_frame_version"]], on="case_id")
    assert set(factors["factor"]) == set(frames) and len(factors) == 30 * 4000
    case_frame = factors["coding_frame_version"].astype(int)
    added = factors["factor"].map(frames)
    assert (factors.loc[added > case_frame, "value"] == "not_recorded").all()
    counts = data["cases"]["coding_frame_version"].value_counts()
    assert counts["3"] > 2000 and counts["2"] > 100 and counts["1"] > 500  # every frame is exercised
    coded = factors[(factors["value"] != "not_recorded")]
    per_case = coded.groupby("case_id").size()
    frame_3_cases = data["cases"].loc[data["cases"]["coding_frame_version"] == "3", "case_id"]
    assert per_case[frame_3_cases].mean() > 27  # about 30 coded factors per frame-3 case
    shares = coded.assign(p=coded["value"] == "present").groupby("factor")["p"].mean()
    assert abs(shares["online_threats"] - 0.12) < 0.03 and abs(shares["public_place"] - 0.45) < 0.04
    both = coded.pivot(index="case_id", columns="factor", values="value").dropna(subset=["coercive_control",
                                                                                        "domestic_abuse"])
    control, abuse = both["coercive_control"] == "present", both["domestic_abuse"] == "present"
    assert (control & abuse).mean() / (control.mean() * abuse.mean()) > 2  # follows domestic abuse
    with EmbeddedBackend(tmp_path / "graph.lbdb", read_only=False) as db:
        load("coded", folder, db)  # the coded loader accepts it (frames checked against the ontology)
        edges = db.run_read("MATCH (:Homicide)-[r:HAS_FACTOR]->(f:Factor {code: 'county_lines'}) "
                            "RETURN count(r) AS n").rows[0]["n"]
    assert edges == int((coded["factor"] == "county_lines").sum()) > 0
    with pytest.raises(MicropathError, match="coding_frame"):
        write_bundle(tmp_path / "x", cases=5, seed=1, coding_frame=4)
