"""US Supplementary Homicide Reports (Murder Accountability Project), ten western states, 1976-2018.

One Homicide per incident: ``mapid`` (year, month, incident number and agency ORI) is the case id,
uid ``shr:<mapid>``. Rules this loader applies, all decided from the rows of one incident:

Rows. The published file has one row per *victim*, each carrying the first offender's age, sex and
race (it is not a victim x offender cross product: offender details differ between the rows of an
incident in only 8 of 52,727 incidents, and 5,806 of the 5,810 "single victim/multiple offenders"
incidents have a single row). The situation code (A-F) says whether there were one or several
victims and whether the offender is known.

Victims. In an incident whose situation says "Multiple victims" (D, E, F on any row) every row is a
victim, even when two rows describe victims alike (same age, sex, race and ethnic origin). In a
"Single victim" incident (A, B, C on every row) rows with the same victim age, sex, race and ethnic
origin are one victim reported more than once (exact duplicates, or an unsolved report followed by
a solved one); rows with different victims stay separate victims (a few 1977 New Mexico mapids
hold several unrelated killings). ``victim_count`` is the number of victims so derived.

Suspects. One Suspect per distinct offender (age, sex, race, ethnic origin) among the incident's
rows. A row whose offender is entirely unknown (age 999, sex Unknown, race Unknown) gives no
Suspect: that is every "unknown offender(s)" row (B, F) but six, and 177 unsolved A/C/D/E rows.
Only the first offender is in the file, so the other offenders of C and E situations are absent.

Solved. An incident is solved when any of its rows says "Yes" (two incidents have one unsolved and
one solved report: a clearance on any row counts).

Concepts. One BY_METHOD, HAS_MOTIVE and HAS_RELATIONSHIP edge per distinct SHR code of the incident
(an incident whose rows name two weapons gets two BY_METHOD edges). Codes and their mappings to the
common scheme are in ``ontology/vocab/shr.ttl``.

ICCS. "Murder and non-negligent manslaughter" is 0101 and "Manslaughter by negligence" 0103, except
that an incident whose every row is a justifiable homicide (circumstance 80 "Felon killed by private
citizen" or 81 "Felon killed by police", filed under murder and non-negligent manslaughter by the
SHR) has no ICCS code: ICCS intentional homicide counts unlawful killings only.

Areas. Homicides are IN_AREA their county: an Area ``us-county:<fip>`` (label ``cnty_name``
verbatim, level county) that MAPS_TO its state ``us-state:<state_fip>`` from the ontology.

Ages: 0-120 are kept (0 is under one year); 999 (unknown) and numbers above 120 become null; an age
that is not a whole number is refused. Race (one of the SHR's six labels, or empty) is stored verbatim
as ``ethnicity``; Hispanic origin (checked against the SHR's labels) is not stored. Agency identifiers and the
other columns the graph contract has no place for never reach the graph (``SourceResult.stripped``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from graph_model.bundle import GraphBundle
from graph_model.vocab import Concept, Vocabulary
from loaders.base import Source, SourceResult, dataset_frame, link, register
from loaders.csvfile import read_csv
from loaders.pii import refuse_personal_columns
from loaders.problems import Problem, Problems

DATASET = "shr"
SCHEME = "shr"
STATE_SCHEME = "us-state"
COUNTY_SCHEME = "us-county"

VICTIM = ["vic_age", "vic_sex", "vic_race", "vic_ethnic"]
OFFENDER = ["off_age", "off_sex", "off_race", "off_ethnic"]
CODED = {  # graph label -> (code column, label column, rel type, what the codes are)
    "Method": ("weapon_code", "weapon", "BY_METHOD", "SHR weapon codes"),
    "Motive": ("circumstance_code", "circumstance", "HAS_MOTIVE", "SHR circumstance codes"),
    "Relationship": ("relationship_code", "relationship", "HAS_RELATIONSHIP", "SHR relationship codes"),
}
COLUMNS = [  # required: the columns the loader reads
    "mapid", "year", "month", "fip", "state_fip", "cnty_name", "state_abbr", "solved", "homicide_type",
    *VICTIM, *OFFENDER, "situation_code", "situation",
    *(column for code, label, _, _ in CODED.values() for column in (code, label)),
]
CONTRACT = "not part of the graph contract"
STRIPPED = {  # columns that never reach the graph, and why
    "ori": CONTRACT,
    "agency": CONTRACT,
    "agency_type": CONTRACT,
    "rowid": f"{CONTRACT}: row number of the published file",
    "msa_code": f"{CONTRACT}: metropolitan area (homicides are placed in counties and states)",
    "msa_name": f"{CONTRACT}: metropolitan area (homicides are placed in counties and states)",
    "incident_num": f"{CONTRACT}: part of mapid",
    "use_date": f"{CONTRACT}: when the Murder Accountability Project processed the report",
    "vic_race_code": f"{CONTRACT}: code of vic_race, whose label is stored",
    "off_race_code": f"{CONTRACT}: code of off_race, whose label is stored",
    "vic_ethnic_code": f"{CONTRACT}: code of vic_ethnic",
    "off_ethnic_code": f"{CONTRACT}: code of off_ethnic",
    "vic_ethnic": f"{CONTRACT}: Hispanic origin, used only to tell victims apart",
    "off_ethnic": f"{CONTRACT}: Hispanic origin, used only to tell offenders apart",
    "situation_code": f"{CONTRACT}: used only to tell victims and offenders apart",
    "situation": f"{CONTRACT}: label of situation_code",
    "state_abbr": f"{CONTRACT}: checked against state_fip (the state Area has it as altLabel)",
}
SITUATIONS = {
    "A": "Single victim/single offender",
    "B": "Single victim/unknown offender(s)",
    "C": "Single victim/multiple offenders",
    "D": "Multiple victims/single offender",
    "E": "Multiple victims/multiple offenders",
    "F": "Multiple victims/unknown offender(s)",
}
MULTIPLE_VICTIMS = ["D", "E", "F"]
SOLVED = {"Yes": True, "No": False}
SEXES = ["Male", "Female", "Unknown"]
# Race (stored verbatim as ethnicity) and Hispanic origin: the SHR's labels; empty means not given.
RACES = ["White", "Black", "American Indian or Alaskan Native", "Asian", "Native Hawaiian or Pacific Islander",
         "Unknown", ""]
ORIGINS = ["Hispanic origin", "Not of Hispanic origin", "Unknown or not reported", ""]
AGE = r"[0-9]{1,3}"  # ages in whole years; 999 = unknown
ICCS = {"Murder and non-negligent manslaughter": "0101", "Manslaughter by negligence": "0103"}
JUSTIFIABLE = ["80", "81"]  # circumstance: felon killed by private citizen / by police
MAX_AGE = 120  # SHR ages are 0-99 (99 = 99 or older); 999 means unknown
MAPID = r"[0-9]{9}[A-Z0-9]{7}"
# Columns that describe the incident, not a victim: every row of a mapid must agree on them.
INCIDENT = ["year", "month", "state_fip", "fip", "cnty_name", "homicide_type"]


def code_order(code: str) -> tuple[int, str]:
    """Sort codes as numbers where they are numbers ("2" before "10")."""
    return (len(code), code)


def ages(values: pd.Series) -> pd.Series:
    """Integer ages; 999 (unknown) and ages above MAX_AGE become null (text is refused by validation)."""
    numeric = pd.to_numeric(values.where(values.str.fullmatch(AGE).fillna(False)), errors="coerce")
    return numeric.where(numeric <= MAX_AGE).astype("Int64")


@register
class Shr(Source):
    name = "shr"
    description = ("US Supplementary Homicide Reports (Murder Accountability Project), western states "
                   "1976-2018 (one Homicide per incident mapid)")

    def read(self, path: Path, vocab: Vocabulary) -> SourceResult:
        problems = Problems()
        file = path.name
        frame = read_csv(path, required=COLUMNS, problems=problems)
        unknown_columns = [c for c in frame.columns if c not in (*COLUMNS, *STRIPPED, "_line")]
        refuse_personal_columns(file, unknown_columns, problems)
        problems.raise_if_any(f"{file} cannot be read as the Murder Accountability Project's SHR file")
        concepts = {label: {c.code: c for c in vocab.scheme_concepts(label, SCHEME)} for label in CODED}
        states = {c.code: c for c in vocab.scheme_concepts("Area", STATE_SCHEME)}
        self._validate(frame, file, problems, concepts, states)
        problems.raise_if_any(f"{file} has invalid values")
        bundle, notes = self._bundle(frame, concepts)
        stripped = {c: STRIPPED.get(c, f"{CONTRACT}: not a column of the SHR file") for c in frame.columns
                    if c not in (*COLUMNS, "_line") or c in STRIPPED}
        return SourceResult(bundle, stripped=stripped, notes=notes)

    # ---- validation ------------------------------------------------------------------------
    def _validate(self, frame: pd.DataFrame, file: str, problems: Problems,
                  concepts: dict[str, dict[str, Concept]], states: dict[str, Concept]) -> None:
        year = pd.to_numeric(frame["year"].where(frame["year"].str.fullmatch(r"[0-9]{4}")), errors="coerce")
        month = pd.to_numeric(frame["month"].where(frame["month"].str.fullmatch(r"[0-9]{1,2}")),
                              errors="coerce")
        bad_year = year.isna() | (year < 1900) | (year > 2100)
        bad_month = month.isna() | (month < 1) | (month > 12)
        mapid_ok = frame["mapid"].str.fullmatch(MAPID).fillna(False).astype(bool)
        prefix = year.astype("Int64").astype("string") + month.astype("Int64").astype("string").str.zfill(2)
        prefix_bad = (frame["mapid"].str[:6] != prefix).fillna(False).astype(bool)
        checks: dict[str, list[tuple[pd.Series, str]]] = {
            "year": [(bad_year, "a four-digit year")],
            "month": [(bad_month, "a month number 1-12")],
            "mapid": [
                (~mapid_ok, "a 16-character mapid: year and month (YYYYMM), a 3-digit incident number "
                            "and the 7-character agency ORI, e.g. 197612001AZ00100"),
                (mapid_ok & ~bad_year & ~bad_month & prefix_bad,
                 "a mapid that starts with the row's year and month (YYYYMM)"),
            ],
            "solved": [(~frame["solved"].isin(list(SOLVED)), f"one of {list(SOLVED)}")],
            "homicide_type": [(~frame["homicide_type"].isin(list(ICCS)), f"one of {list(ICCS)}")],
            "situation_code": [(~frame["situation_code"].isin(list(SITUATIONS)),
                                f"one of the SHR situation codes {list(SITUATIONS)}")],
            "vic_sex": [(~frame["vic_sex"].isin(SEXES), f"one of {SEXES}")],
            "off_sex": [(~frame["off_sex"].isin(SEXES), f"one of {SEXES}")],
            **{f"{who}_race": [(~frame[f"{who}_race"].isin(RACES), f"one of the SHR race labels {RACES[:-1]} "
                                                                    "or empty")] for who in ("vic", "off")},
            **{f"{who}_ethnic": [(~frame[f"{who}_ethnic"].isin(ORIGINS), f"one of {ORIGINS[:-1]} or empty")]
               for who in ("vic", "off")},
            **{f"{who}_age": [(~frame[f"{who}_age"].str.fullmatch(AGE).fillna(False).astype(bool),
                               f"an age in whole years (0-{MAX_AGE}; 999 = unknown)")] for who in ("vic", "off")},
            "state_fip": [(~frame["state_fip"].isin(list(states)),
                           "the two-digit FIPS code of a US state (us-state scheme of the ontology)")],
            "fip": [(~frame["fip"].str.fullmatch(r"[0-9]{5}") | (frame["fip"].str[:2] != frame["state_fip"]),
                     "a five-digit county FIPS code starting with the row's state_fip")],
            "cnty_name": [(frame["cnty_name"].str.strip() == "", "a county name")],
        }
        for label, (code_column, _, _, what) in CODED.items():
            known = sorted(concepts[label], key=code_order)
            checks[code_column] = [(~frame[code_column].isin(known), f"one of the {what} {known}")]
        for column, items in checks.items():
            for bad, expected in items:
                problems.flag(file, frame, bad, column, expected)

        for label, (code_column, label_column, _, _) in CODED.items():
            labels = {code: c.label for code, c in concepts[label].items()}
            self._flag_labels(frame, file, problems, code_column, label_column, labels)
        self._flag_labels(frame, file, problems, "situation_code", "situation", SITUATIONS)
        abbreviations = {code: ", ".join(c.alt_labels) for code, c in states.items()}
        self._flag_labels(frame, file, problems, "state_fip", "state_abbr", abbreviations,
                          what="postal abbreviation")
        self._flag_disagreeing(frame, file, problems, "fip", ["cnty_name"], "county fip")
        self._flag_disagreeing(frame, file, problems, "mapid", INCIDENT, "incident (mapid)")

    @staticmethod
    def _flag_labels(frame: pd.DataFrame, file: str, problems: Problems, code_column: str,
                     label_column: str, labels: dict[str, str], what: str = "SHR label") -> None:
        """Flag rows whose label does not match the label of their (known) code."""
        expected = frame[code_column].map(labels)
        bad = expected.notna() & (frame[label_column] != expected)
        for code in frame.loc[bad, code_column].unique():
            problems.flag(file, frame, bad & (frame[code_column] == code), label_column,
                          f"{labels[code]!r}, the {what} of {code_column} {code!r}")

    @staticmethod
    def _flag_disagreeing(frame: pd.DataFrame, file: str, problems: Problems, key: str,
                          columns: list[str], what: str) -> None:
        """Flag rows that differ from the first row of their ``key`` group in any of ``columns``."""
        groups = frame.groupby(key, sort=False)
        first_line = groups["_line"].transform("first")
        for column in columns:
            first = groups[column].transform("first")
            bad = frame[column] != first
            if not bad.any():
                continue
            rows = pd.DataFrame({"key": frame.loc[bad, key], "value": frame.loc[bad, column],
                                 "line": frame.loc[bad, "_line"], "first": first[bad],
                                 "first_line": first_line[bad]})
            for k, value, line, first_value, line1 in rows.itertuples(index=False):
                problems.add(Problem(file, int(line), column, str(value),
                                     f"{first_value!r} as on line {line1}: every row of {what} {k!r} "
                                     f"must have the same {column}"))

    # ---- mapping -------------------------------------------------------------------------
    def _bundle(self, frame: pd.DataFrame, concepts: dict[str, dict[str, Concept]]
                ) -> tuple[GraphBundle, list[str]]:
        mapid = frame["mapid"]
        incident = frame.drop_duplicates("mapid")  # first row of each incident, in file order
        uid = DATASET + ":" + incident["mapid"]
        by_incident = frame.groupby("mapid", sort=False)

        solved_rows = frame["solved"].map(SOLVED).astype(bool)
        solved = solved_rows.groupby(mapid, sort=False).any()
        solved_disagree = int((solved_rows.groupby(mapid, sort=False).nunique() > 1).sum())
        justifiable = frame["circumstance_code"].isin(JUSTIFIABLE).groupby(mapid, sort=False).all()
        iccs = incident["homicide_type"].map(ICCS).where(~incident["mapid"].map(justifiable).astype(bool))

        multiple = frame["situation_code"].isin(MULTIPLE_VICTIMS).groupby(mapid, sort=False).transform("any")
        victims = frame[multiple.astype(bool) | ~frame.duplicated(["mapid", *VICTIM])]
        off_age = ages(frame["off_age"])
        unknown = off_age.isna() & (frame["off_sex"] == "Unknown") & frame["off_race"].isin(["Unknown", ""])
        suspects = frame[~unknown & ~frame.duplicated(["mapid", *OFFENDER])]
        victim_count = victims.groupby("mapid", sort=False).size()

        bundle = GraphBundle(DATASET)
        bundle.add_nodes("Dataset", dataset_frame(
            DATASET, source="Murder Accountability Project SHR, via cronkitedata/rstudyguide @ 639ed11",
            licence="none stated", synthetic=False, factor_recording="explicit"))
        bundle.add_nodes("Homicide", pd.DataFrame({
            "uid": uid, "case_id": incident["mapid"], "dataset": DATASET,
            "year": incident["year"].astype(int), "month": incident["month"].astype(int),
            "solved": incident["mapid"].map(solved).astype(bool), "synthetic": False,
            "offence_type": incident["homicide_type"], "iccs": iccs,
            "victim_count": incident["mapid"].map(victim_count).astype(int),
        }))
        self._people(bundle, "Victim", "HAS_VICTIM", "v", victims, "vic", ages(victims["vic_age"]))
        self._people(bundle, "Suspect", "HAS_SUSPECT", "s", suspects, "off", off_age[suspects.index])
        link(bundle, "FROM_DATASET", "Homicide", "Dataset", uid, pd.Series(DATASET, index=uid.index))

        counties = frame.drop_duplicates("fip")
        county_uid = COUNTY_SCHEME + ":" + counties["fip"]
        bundle.add_nodes("Area", pd.DataFrame({
            "uid": county_uid, "scheme": COUNTY_SCHEME, "code": counties["fip"],
            "label": counties["cnty_name"], "level": "county"}))
        link(bundle, "MAPS_TO", "Area", "Area", county_uid, STATE_SCHEME + ":" + counties["state_fip"])
        link(bundle, "IN_AREA", "Homicide", "Area", uid, COUNTY_SCHEME + ":" + incident["fip"])

        for label, (code_column, _, rel_type, _) in CODED.items():
            pairs = frame[["mapid", code_column]].drop_duplicates()
            uids = {code: c.uid for code, c in concepts[label].items()}
            link(bundle, rel_type, "Homicide", label, DATASET + ":" + pairs["mapid"],
                 pairs[code_column].map(uids))

        notes = [f"{len(frame)} rows → {len(uid)} incidents (one Homicide per mapid), {len(victims)} "
                 f"victims, {len(suspects)} suspects (see the rules in loaders/sources/shr.py)"]
        if solved_disagree:
            notes.append(f"{solved_disagree} incident(s) have rows that disagree on solved: counted as "
                         "solved (any row 'Yes')")
        multi_coded = {column: int((by_incident[column].nunique() > 1).sum())
                       for column, _, _, _ in CODED.values()}
        if any(multi_coded.values()):
            notes.append("incidents whose rows name more than one code (one edge per code): "
                         + ", ".join(f"{column} {n}" for column, n in multi_coded.items()))
        notes.append(f"{int(justifiable.sum())} incident(s) are justifiable homicides only "
                     "(circumstance 80/81): no ICCS code")
        return bundle, notes

    @staticmethod
    def _people(bundle: GraphBundle, label: str, rel_type: str, letter: str, rows: pd.DataFrame,
                prefix: str, age: pd.Series) -> None:
        record_uid = DATASET + ":" + rows["mapid"]
        position = rows.groupby("mapid", sort=False).cumcount() + 1
        uid = record_uid + f"/{letter}" + position.astype(str)
        bundle.add_nodes(label, pd.DataFrame({
            "uid": uid, "record_uid": record_uid, "position": position, "age": age,
            "sex": rows[f"{prefix}_sex"], "ethnicity": rows[f"{prefix}_race"].replace("", None),
        }))
        link(bundle, rel_type, "Homicide", label, record_uid, uid)
