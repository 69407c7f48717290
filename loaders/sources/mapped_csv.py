"""A partner's own CSV, mapped onto the graph contract by a small TOML mapping file.

``micropath load mapped-csv MAPPING.toml``: the mapping names the CSV (relative to itself), the
dataset, whether rows are Homicides or Incidents, which CSV column feeds which ontology property,
and which columns hold codes of which vocabulary scheme. One record per CSV row, with at most one
victim and one suspect (position 1). Example (docs/linkage.md explains every key)::

    dataset = "partner-ae"
    file = "ae_assaults.csv"
    record = "Incident"            # or "Homicide"
    kind = "homicide"              # Incidents: a code of the incident-kind scheme (sets iccs)
    source = "Example NHS trust, A&E assault attendances"
    licence = "data-sharing agreement DSA-42"

    [properties]                   # ontology property = CSV column
    case_id = "attendance_ref"
    pseudonymous_ref = "linkage_key"
    year = "yr"
    month = "mon"
    "victim.age" = "patient_age"
    "victim.sex" = "patient_sex"

    [concepts]                     # graph label = column and scheme of its codes
    Method = { column = "mechanism", scheme = "micropathways" }
    Area = { column = "borough_gss", scheme = "gss" }

The same rules as every source: all problems are collected (mapping, header, every row) and
reported together with file, row, column, value and what was expected; nothing is written if there
is one. Personal data is refused: a column whose name looks personal (anywhere in the file, mapped
or not) or a mapped value that looks like contact details, a postcode or a date of birth. Columns
the mapping does not name never reach the graph (``SourceResult.stripped``). Loads are atomic and
idempotent like any other (the bundle writer); ``content_hash`` makes a reload skip unchanged rows.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from graph_model.bundle import GraphBundle
from graph_model.schema import get_schema
from graph_model.vocab import Vocabulary
from loaders.base import Source, SourceResult, dataset_frame, link, register
from loaders.csvfile import read_csv
from loaders.pii import refuse_personal_columns, refuse_personal_values
from loaders.problems import Problem, Problems

RECORDS = ("Homicide", "Incident")
PEOPLE = {"victim": ("Victim", "HAS_VICTIM", "v"), "suspect": ("Suspect", "HAS_SUSPECT", "s")}
CONCEPTS = {"Method": "BY_METHOD", "Motive": "HAS_MOTIVE", "Relationship": "HAS_RELATIONSHIP", "Area": "IN_AREA"}
# Properties the loader sets itself; a mapping may not feed them.
MANAGED = {"uid", "dataset", "content_hash", "synthetic", "record_uid", "position", "kind",
           "coding_frame_version"}
TOP_KEYS = {"dataset", "file", "record", "kind", "source", "licence", "description", "synthetic",
            "properties", "concepts"}
SEXES = ("Male", "Female", "Unknown")
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
RANGES = {"year": (1900, 2100), "month": (1, 12), "age": (0, 120), "victim_count": (0, 10_000)}
DATASET_NAME = r"[a-z0-9][a-z0-9_-]{0,39}"


@dataclass
class Mapping:
    dataset: str
    csv: Path
    record: str
    kind: str | None
    meta: dict[str, Any]
    properties: dict[str, str]          # "prop" or "victim.prop" -> CSV column
    concepts: dict[str, tuple[str, str]]  # graph label -> (CSV column, scheme)


@register
class MappedCsv(Source):
    name = "mapped-csv"
    description = ("A partner's own CSV mapped onto the graph contract by a TOML mapping file "
                   "(PATH is the mapping file; see docs/linkage.md)")

    def read(self, path: Path, vocab: Vocabulary) -> SourceResult:
        problems = Problems()
        mapping = read_mapping(path, vocab, problems)
        problems.raise_if_any(f"mapping file {path.name} is not a valid mapping")
        assert mapping is not None
        file = mapping.csv.name
        frame = read_csv(mapping.csv, required=sorted({*mapping.properties.values(),
                                                       *(c for c, _ in mapping.concepts.values())}),
                         problems=problems)
        refuse_personal_columns(file, [c for c in frame.columns if c != "_line"], problems)
        problems.raise_if_any(f"{file} cannot be read with mapping {path.name}")
        mapped = sorted({*mapping.properties.values(), *(c for c, _ in mapping.concepts.values())})
        refuse_personal_values(file, frame, mapped, problems)
        values = _validate(frame, file, mapping, vocab, problems)
        problems.raise_if_any(f"{file} has invalid values")
        stripped = {c: f"not named in the mapping {path.name}" for c in frame.columns
                    if c not in mapped and c != "_line"}
        return SourceResult(_bundle(mapping, frame, values, vocab), stripped=stripped,
                            notes=[f"{len(frame)} rows → {len(frame)} {mapping.record} records of "
                                   f"dataset {mapping.dataset}"])


# ---- the mapping file ------------------------------------------------------------------------------
def read_mapping(path: Path, vocab: Vocabulary, problems: Problems) -> Mapping | None:
    """Parse and check a mapping file; every problem goes to ``problems`` (None when unusable)."""
    file = path.name
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.add(Problem(file, None, None, str(path), "an existing mapping file (TOML)"))
        return None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.add(Problem(file, None, None, None, f"valid TOML: {exc}"))
        return None

    def bad(key: str, value: object, expected: str) -> None:
        problems.add(Problem(file, None, key, None if value is None else str(value), expected))

    for key in sorted(set(meta) - TOP_KEYS):
        bad(key, None, f"only the keys {sorted(TOP_KEYS)}")
    dataset = str(meta.get("dataset", ""))
    if not re.fullmatch(DATASET_NAME, dataset):
        bad("dataset", dataset, "a dataset name: lower-case letters, digits, '-' or '_', at most 40")
    record = str(meta.get("record", ""))
    if record not in RECORDS:
        bad("record", record, f"one of {list(RECORDS)}")
    kind = meta.get("kind")
    if kind is not None and (record != "Incident" or not _kind_known(vocab, str(kind))):
        bad("kind", kind, "for record = 'Incident' only: a code of the incident-kind scheme "
                          "(homicide, murder_suicide, suicide, accidental, legal_intervention, ...)")
    if not isinstance(meta.get("file"), str) or not meta["file"]:
        bad("file", meta.get("file"), "the CSV file name, relative to the mapping file")
    if not isinstance(meta.get("synthetic", False), bool):
        bad("synthetic", meta.get("synthetic"), "true or false")
    properties = _mapped_properties(meta.get("properties", {}), record, bad)
    concepts = _mapped_concepts(meta.get("concepts", {}), vocab, bad)
    if not problems:
        return Mapping(dataset, (path.parent / meta["file"]).resolve(), record,
                       None if kind is None else str(kind), meta, properties, concepts)
    return None


def _kind_known(vocab: Vocabulary, kind: str) -> bool:
    try:
        vocab.lookup("", "incident-kind", kind)
    except (KeyError, ValueError):
        return False
    return True


def _mapped_properties(table: object, record: str, bad: Any) -> dict[str, str]:
    if not isinstance(table, dict):
        bad("properties", table, "a table: ontology property = CSV column")
        return {}
    schema = get_schema()
    out: dict[str, str] = {}
    for key, column in table.items():
        owner, _, prop = key.rpartition(".")
        label = PEOPLE[owner][0] if owner in PEOPLE else (record if not owner and record in RECORDS else None)
        allowed = set() if label is None else {p.name for p in schema.node(label).properties} - MANAGED
        if prop not in allowed:
            bad(f"properties.{key}", column, f"a property of {label or 'the record'}: one of {sorted(allowed)}, "
                                             "or victim.<property> / suspect.<property>")
        elif not isinstance(column, str) or not column:
            bad(f"properties.{key}", column, "the name of a CSV column")
        else:
            out[key] = column
    if "case_id" not in out:
        bad("properties.case_id", None, "a column for case_id (unique per row: the record's id)")
    return out


def _mapped_concepts(table: object, vocab: Vocabulary, bad: Any) -> dict[str, tuple[str, str]]:
    if not isinstance(table, dict):
        bad("concepts", table, "a table: graph label = { column = ..., scheme = ... }")
        return {}
    out: dict[str, tuple[str, str]] = {}
    for label, spec in table.items():
        if label not in CONCEPTS:
            bad(f"concepts.{label}", None, f"one of {sorted(CONCEPTS)}")
            continue
        if not isinstance(spec, dict) or set(spec) != {"column", "scheme"}:
            bad(f"concepts.{label}", spec, "{ column = \"CSV column\", scheme = \"scheme name\" }")
            continue
        if not vocab.scheme_concepts(label, str(spec["scheme"])):
            bad(f"concepts.{label}.scheme", spec["scheme"], f"a scheme of {label} concepts in the ontology "
                                                            "(micropathways, gss, us-state, mps, shr, gva, ...)")
            continue
        out[label] = (str(spec["column"]), str(spec["scheme"]))
    return out


# ---- the rows ---------------------------------------------------------------------------------------
def _validate(frame: pd.DataFrame, file: str, mapping: Mapping, vocab: Vocabulary,
              problems: Problems) -> dict[str, pd.Series]:
    """Typed values of every mapped property (key as in the mapping); flags every bad cell."""
    schema = get_schema()
    values: dict[str, pd.Series] = {}
    for key, column in mapping.properties.items():
        owner, _, prop = key.rpartition(".")
        label = PEOPLE[owner][0] if owner else mapping.record
        spec = schema.node(label).property(prop)
        text = frame[column].str.strip()
        empty = text.isna() | (text == "")
        if spec.type == "integer":
            number = pd.to_numeric(text.where(text.str.fullmatch(r"-?\d+").fillna(False)), errors="coerce")
            low, high = RANGES.get(prop, (-(2**62), 2**62))
            bad = ~empty & (number.isna() | (number < low) | (number > high))
            problems.flag(file, frame, bad, column, f"a whole number {low}-{high} for {key} (or empty)")
            values[key] = number.astype("Int64")
        elif spec.type == "boolean":
            flag = text.str.lower().map(BOOLEANS)
            problems.flag(file, frame, ~empty & flag.isna(), column, f"one of {sorted(BOOLEANS)} (or empty)")
            values[key] = flag
        elif spec.type == "double":
            number = pd.to_numeric(text, errors="coerce")
            problems.flag(file, frame, ~empty & number.isna(), column, "a number (or empty)")
            values[key] = number
        else:
            values[key] = text.where(~empty)
            if prop == "sex":
                problems.flag(file, frame, ~empty & ~text.isin(SEXES), column, f"one of {list(SEXES)} (or empty)")
            if prop == "iccs":
                problems.flag(file, frame, ~empty & ~text.str.fullmatch(r"\d{4}(\d{2})?").fillna(False),
                              column, "an ICCS code of four or six digits, e.g. 0101 (or empty)")
    case_id = values["case_id"]
    problems.flag(file, frame, case_id.isna(), mapping.properties["case_id"], "a case id on every row")
    problems.flag(file, frame, case_id.notna() & case_id.duplicated(keep=False), mapping.properties["case_id"],
                  "a case id that no other row has")
    for label, (column, scheme) in mapping.concepts.items():
        known = {c.code: c for c in vocab.scheme_concepts(label, scheme)}
        text = frame[column].str.strip()
        bad = text.notna() & (text != "") & ~text.isin(list(known))
        problems.flag(file, frame, bad, column, f"a code of the {scheme} scheme ({label}), e.g. "
                                                f"{sorted(known)[:5]} (or empty)")
        values[f"concept.{label}"] = text.map({code: c.uid for code, c in known.items()})
    return values


def _bundle(mapping: Mapping, frame: pd.DataFrame, values: dict[str, pd.Series],
            vocab: Vocabulary) -> GraphBundle:
    dataset, record = mapping.dataset, mapping.record
    uid = dataset + ":" + values["case_id"]
    bundle = GraphBundle(dataset)
    synthetic = bool(mapping.meta.get("synthetic", False))
    bundle.add_nodes("Dataset", dataset_frame(
        dataset, source=str(mapping.meta.get("source", mapping.csv.name)),
        licence=str(mapping.meta.get("licence", "none stated")), synthetic=synthetic,
        factor_recording="explicit", description=mapping.meta.get("description")))
    records = pd.DataFrame({"uid": uid, "case_id": values["case_id"], "dataset": dataset, "synthetic": synthetic})
    for key, series in values.items():
        if "." not in key and key != "case_id":
            records[key] = series
    if mapping.kind is not None:
        records["kind"] = mapping.kind
        if "iccs" not in mapping.properties:
            records["iccs"] = vocab.lookup("", "incident-kind", mapping.kind).get("iccs")
    bundle.add_nodes(record, records)
    link(bundle, "FROM_DATASET", record, "Dataset", uid, pd.Series(dataset, index=uid.index))
    for owner, (label, rel, letter) in PEOPLE.items():
        props = {k.split(".", 1)[1]: s for k, s in values.items() if k.startswith(owner + ".")}
        if not props:
            continue
        given = pd.concat(props.values(), axis=1).notna().any(axis=1)
        people = pd.DataFrame({"uid": uid + f"/{letter}1", "record_uid": uid, "position": 1, **props})[given]
        bundle.add_nodes(label, people.reset_index(drop=True))
        link(bundle, rel, record, label, uid[given], people["uid"])
    for label, rel in CONCEPTS.items():
        if f"concept.{label}" in values:
            link(bundle, rel, record, label, uid, values[f"concept.{label}"])
    return bundle
