"""The Met's published homicide victims file (London, 2003-2024): one Homicide per row.

The file has no case id, so a row's case_id is its data-row number (line - 1); re-ordering the
published file would change ids, and a reload would then replace records rather than skip them.

Every mapped column is checked against the values the Met publishes, so no free text reaches the
graph. A column the file does not normally have is refused when its name looks like personal data
(loaders/pii.py) and otherwise stripped (``SourceResult.stripped`` says why).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from graph_model.bundle import GraphBundle
from graph_model.vocab import Vocabulary
from loaders.base import Source, SourceResult, dataset_frame, link, register
from loaders.csvfile import read_csv
from loaders.pii import refuse_personal_columns
from loaders.problems import Problems

DATASET = "london-mps"
COLUMNS = ["Count of Victims", "Age Group", "Sex", "MethodofKilling", "Domestic Abuse", "Recorded Year",
           "Recorded Month", "Homicide Offence Type", "Solved Status", "Borough",
           "Officer Observed Ethnicity"]
MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}
SOLVED = {"Solved": True, "Unsolved": False}
DOMESTIC = {"Domestic Abuse": True, "Not Domestic Abuse": False}
SEXES = {"Male", "Female", "Unknown"}
AGE_GROUPS = ["0 to 12", "13 to 19", "20 to 24", "25 to 34", "35 to 44", "45 to 54", "55 to 64", "65 and over"]
ETHNICITIES = ["White", "Black", "Asian", "Other", "Unrecorded / Unknown", ""]  # "" = not given
NOT_LOADED = "not a column of the Met's file: not part of the graph contract"
# ICCS: murder and infanticide are intentional homicide; the Met does not say which manslaughters
# were voluntary, so manslaughter is counted with intentional homicide as the Homicide Index does,
# and corporate manslaughter (no intent) is non-intentional homicide.
ICCS = {"Murder": "0101", "Manslaughter": "0101", "Infanticide": "0101", "Corporate Manslaughter": "0103"}
UNMAPPED_BOROUGH = "Unmapped"
LONDON_REGION = "gss:E12000007"


def borough_key(name: str) -> str:
    return name.lower().replace("&", "and").replace(" ", "")


@register
class LondonMps(Source):
    name = "london-mps"
    description = "Metropolitan Police homicide victims, London 2003-2024 (one Homicide per row)"

    def read(self, path: Path, vocab: Vocabulary) -> SourceResult:
        problems = Problems()
        file = path.name
        frame = read_csv(path, required=COLUMNS, problems=problems)
        extra = [c for c in frame.columns if c not in (*COLUMNS, "_line")]
        refuse_personal_columns(file, extra, problems)
        problems.raise_if_any(f"{file} is not the Met's homicide victims file")
        methods = vocab.by_label("Method", "mps")
        boroughs = {borough_key(c.label): c.uid for c in vocab.scheme_concepts("Area", "gss")
                    if c.get("level") == "borough"}

        year = pd.to_numeric(frame["Recorded Year"].where(frame["Recorded Year"].str.fullmatch(r"[0-9]{4}")),
                             errors="coerce")
        problems.flag(file, frame, year.isna() | (year < 1900) | (year > 2100), "Recorded Year",
                      "a four-digit year")
        checks = {
            "Count of Victims": (frame["Count of Victims"] != "1", "1 (one victim per row)"),
            "Recorded Month": (~frame["Recorded Month"].isin(MONTHS), f"one of {list(MONTHS)}"),
            "Solved Status": (~frame["Solved Status"].isin(SOLVED), f"one of {list(SOLVED)}"),
            "Domestic Abuse": (~frame["Domestic Abuse"].isin(DOMESTIC), f"one of {list(DOMESTIC)}"),
            "MethodofKilling": (~frame["MethodofKilling"].isin(methods), f"one of {sorted(methods)}"),
            "Homicide Offence Type": (~frame["Homicide Offence Type"].isin(ICCS), f"one of {list(ICCS)}"),
            "Sex": (~frame["Sex"].isin(SEXES), f"one of {sorted(SEXES)}"),
            "Age Group": (~frame["Age Group"].isin(AGE_GROUPS), f"one of {AGE_GROUPS}"),
            "Officer Observed Ethnicity": (~frame["Officer Observed Ethnicity"].isin(ETHNICITIES),
                                           f"one of {ETHNICITIES[:-1]} or empty"),
        }
        area = frame["Borough"].map(lambda b: LONDON_REGION if b == UNMAPPED_BOROUGH
                                    else boroughs.get(borough_key(b)))
        checks["Borough"] = (area.isna(), "a London borough name or 'Unmapped'")
        for column, (bad, expected) in checks.items():
            problems.flag(file, frame, bad, column, expected)
        problems.raise_if_any(f"{file} has invalid values")
        return SourceResult(self._bundle(frame, year, area, methods, vocab),
                            stripped={c: NOT_LOADED for c in extra},
                            notes=["case_id is the data-row number: the Met's file has no case id"])

    def _bundle(self, frame: pd.DataFrame, year: pd.Series, area: pd.Series,
                methods: dict, vocab: Vocabulary) -> GraphBundle:
        case_id = (frame["_line"] - 1).astype(str)
        uid = DATASET + ":" + case_id
        bundle = GraphBundle(DATASET)
        bundle.add_nodes("Dataset", dataset_frame(
            DATASET, source="Metropolitan Police Service published homicide data, via "
            "Mazedaa/London-Homicide-Project @ 9ba35d5", licence="none stated", synthetic=False,
            factor_recording="explicit"))
        bundle.add_nodes("Homicide", pd.DataFrame({
            "uid": uid, "case_id": case_id, "dataset": DATASET, "year": year.astype(int),
            "month": frame["Recorded Month"].map(MONTHS), "solved": frame["Solved Status"].map(SOLVED),
            "synthetic": False, "offence_type": frame["Homicide Offence Type"],
            "iccs": frame["Homicide Offence Type"].map(ICCS), "victim_count": 1,
        }))
        victim = uid + "/v1"
        bundle.add_nodes("Victim", pd.DataFrame({
            "uid": victim, "record_uid": uid, "position": 1, "age_group": frame["Age Group"],
            "sex": frame["Sex"], "ethnicity": frame["Officer Observed Ethnicity"].replace("", None),
        }))
        link(bundle, "HAS_VICTIM", "Homicide", "Victim", uid, victim)
        link(bundle, "FROM_DATASET", "Homicide", "Dataset", uid, pd.Series(DATASET, index=uid.index))
        link(bundle, "IN_AREA", "Homicide", "Area", uid, area)
        link(bundle, "BY_METHOD", "Homicide", "Method", uid,
             frame["MethodofKilling"].map(lambda m: methods[m].uid))
        domestic = vocab.lookup("Factor", "mps", "domestic_abuse").uid
        link(bundle, "HAS_FACTOR", "Homicide", "Factor", uid, pd.Series(domestic, index=uid.index),
             present=frame["Domestic Abuse"].map(DOMESTIC))
        return bundle
