"""The coded bundle: the platform's primary input, as police coders deliver it.

A folder with ``bundle.toml`` and five CSV files (``cases``, ``victims``, ``suspects``, ``factors``,
``events``), and optionally ``reliability.csv`` (independent second codings of a sample of cases, to
measure agreement between coders); docs/coded-format.md describes every column. Cell rules come from
``ontology/shapes/coded.ttl`` and are applied by :mod:`loaders.shapes`; the rules that span rows
(unique keys, case ids that exist, contiguous steps, minutes that count down to the fatal incident,
coding-frame versions, a narrower factor present while its broader one is coded absent, a second
coding by the coder of the value it checks) are checked here. Every problem in every file is collected
before the bundle is refused, and nothing is written unless the whole bundle is valid.

Personal data is refused, never stripped: a column whose name denotes personal data, or a value that
looks like a phone number, an e-mail address or a postcode, fails the load (the value is redacted in
the report, so the report does not spread it).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rdflib import SKOS, URIRef

from graph_model.bundle import GraphBundle
from graph_model.ontology import load_ontology
from graph_model.vocab import Vocabulary
from loaders.base import SOURCES, Source, SourceResult, dataset_frame, link, register
from loaders.csvfile import bom_offset, read_csv
from loaders.pii import personal_column, refuse_personal_values
from loaders.problems import Problem, Problems, ValidationFailed
from loaders.shapes import FileShape, FormatShapes, clean, load_shapes

FORMAT = "coded"
BUNDLE_FILE = "bundle.toml"
CASES, VICTIMS, SUSPECTS, FACTORS, EVENTS = "cases.csv", "victims.csv", "suspects.csv", "factors.csv", "events.csv"
TABLES = (CASES, VICTIMS, SUSPECTS, FACTORS, EVENTS)
RELIABILITY = "reliability.csv"  # optional: independent second codings (agreement between coders)
MAY_BE_EMPTY = (VICTIMS, SUSPECTS, EVENTS, RELIABILITY)  # a header line alone: no rows (docs/coded-format.md)
PEOPLE = {VICTIMS: ("Victim", "HAS_VICTIM", "v"), SUSPECTS: ("Suspect", "HAS_SUSPECT", "s")}
CODED = {"present": True, "absent": False}  # "not_recorded" (or no row) means not coded: no edge
FATAL = "fatal_incident"
ICCS_INTENTIONAL_HOMICIDE = "0101"
# cases.csv columns that link the Homicide to a concept: (column, relationship, graph label, has coder)
CONCEPT_LINKS = (("area_code", "IN_AREA", "Area", False), ("method", "BY_METHOD", "Method", True),
                 ("motive", "HAS_MOTIVE", "Motive", True),
                 ("relationship", "HAS_RELATIONSHIP", "Relationship", True))
# Variables of cases.csv that reliability.csv may double-code (the coded ones), and their graph labels;
# every factor code is a variable too.
CASE_VARIABLES = {column: label for column, _, label, with_coder in CONCEPT_LINKS if with_coder}
SECOND_CODING = "CODED_AS"


@dataclass
class Table:
    """A file of the bundle as the shapes see it, and which of its cells passed them."""

    file: str
    frame: pd.DataFrame  # declared columns (cleaned text; all-missing when absent) and _line
    cell_ok: dict[str, pd.Series]

    def ok(self, *columns: str) -> pd.Series:
        """Rows whose cells in ``columns`` all passed the shapes."""
        mask = pd.Series(True, index=self.frame.index)
        for column in columns:
            mask &= self.cell_ok[column]
        return mask

    def numbers(self, shape: FileShape, column: str) -> pd.Series:
        return shape.column(column).numbers(self.frame[column])


@register
class Coded(Source):
    name = "coded"
    description = ("a coded homicide bundle: a folder with bundle.toml, cases.csv, victims.csv, "
                   "suspects.csv, factors.csv and events.csv, and optionally reliability.csv "
                   "(docs/coded-format.md)")

    def read(self, path: Path, vocab: Vocabulary) -> SourceResult:
        shapes = load_shapes(FORMAT)
        problems = Problems()
        what = f"{path} is not a valid coded bundle"
        if not path.is_dir():
            problems.add(Problem(path.name or str(path), None, None, str(path),
                                 f"a folder holding {BUNDLE_FILE} and {', '.join(TABLES)} "
                                 "(see docs/coded-format.md)"))
            problems.raise_if_any(what)
        meta = read_meta(path / BUNDLE_FILE, shapes[BUNDLE_FILE], problems)
        tables = {file: read_table(path / file, shapes[file], problems) for file in TABLES}
        if (path / RELIABILITY).is_file():  # optional: no file, no double coding
            tables[RELIABILITY] = read_table(path / RELIABILITY, shapes[RELIABILITY], problems)
        _Checks(meta, tables, shapes, vocab, problems).run()
        problems.raise_if_any(what)
        assert meta is not None and all(t is not None for t in tables.values())
        bundle, notes = _Mapper(meta, tables, shapes).bundle()  # type: ignore[arg-type]
        return SourceResult(bundle, notes=notes)


# ---- reading ----------------------------------------------------------------------------------------
def read_meta(path: Path, shape: FileShape, problems: Problems) -> dict[str, str | None] | None:
    """bundle.toml as text values keyed like columns, checked against its shape."""
    file = path.name
    keys = ", ".join(shape.column_names)
    if not path.is_file():
        problems.add(Problem(file, None, None, None, f"an existing file {file} with the keys {keys}"))
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = bom_offset(raw, exc)
        problems.add(Problem(file, raw[:start].count(b"\n") + 1, None,
                             repr(raw[start: start + 8]), "UTF-8 text (re-save the file as UTF-8)"))
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        problems.add(Problem(file, int(found.group(1)) if found else None, None, None,
                             f"valid TOML ({exc}), e.g. name = \"vru-phase-2\""))
        return None
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"\s*\"?([^\"=\s]+)\"?\s*=", line)
        if match:
            lines.setdefault(match.group(1), number)
    values: dict[str, str | None] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            values[key] = str(value)
        else:
            problems.add(Problem(file, lines.get(key), key, f"a TOML {type(value).__name__}",
                                 "a plain value: text in quotes, a whole number or true/false"))
            values[key] = None
    personal = _refuse_personal_columns(file, [k for k in values if k not in shape.column_names],
                                        problems, {k: lines.get(k) for k in values})
    extra = [k for k in values if k not in shape.column_names and k not in personal]
    frame = clean(pd.DataFrame([{**{c: values.get(c) for c in shape.column_names},
                                 **{k: values[k] for k in extra}}]))
    frame["_line"] = 0
    _refuse_personal_values(file, frame, [c for c in frame.columns if c != "_line"], problems, lines=lines)
    for key in extra:
        value = frame[key].iloc[0]
        problems.add(Problem(file, lines.get(key), key, None if pd.isna(value) else str(value),
                             f"only the keys of the format ({keys}); remove this one"))
    valid = True
    for rule, bad in shape.violations(frame):
        if bad.iloc[0]:
            value = frame[rule.column].iloc[0]
            problems.add(Problem(file, lines.get(rule.column), rule.column,
                                 None if pd.isna(value) else str(value), rule.expected()))
            valid = False
    if not valid:
        return None
    return {c: (None if pd.isna(frame[c].iloc[0]) else str(frame[c].iloc[0])) for c in shape.column_names}


def read_table(path: Path, shape: FileShape, problems: Problems) -> Table | None:
    """Read one CSV file of the bundle: header, personal data, then every cell against the shape."""
    file = path.name
    if not path.is_file():
        problems.add(Problem(file, None, None, str(path.name),
                             f"an existing file {file} in the bundle folder, with the columns "
                             f"{', '.join(shape.column_names)} (a header line alone when there are no rows)"))
        return None
    try:
        frame = read_csv(path, problems=problems, allow_empty=file in MAY_BE_EMPTY)
    except ValidationFailed:  # read_csv stops at an unreadable file even when given a collector
        return None
    header = [c for c in frame.columns if c != "_line"]
    duplicated = pd.Index(header).duplicated()
    for column in pd.Index(header)[duplicated]:
        problems.add(Problem(file, 1, column, column, "each column once in the header"))
    frame = frame.loc[:, ~frame.columns.duplicated()]
    header = list(dict.fromkeys(header))
    personal = _refuse_personal_columns(file, [c for c in header if c not in shape.column_names], problems)
    shape.check_header(header, problems, ignore=personal)
    kept = [c for c in header if c not in personal]
    frame = clean(frame[[*kept, "_line"]])
    _refuse_personal_values(file, frame, kept, problems)
    for column in shape.column_names:
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame = frame[[*shape.column_names, "_line"]]
    cell_ok = {}
    for rule, bad in shape.violations(frame):
        if rule.column not in header:  # already reported once, as a missing column
            cell_ok[rule.column] = pd.Series(False, index=frame.index)
            continue
        problems.flag(file, frame, bad, rule.column, rule.expected())
        cell_ok[rule.column] = ~bad
    return Table(file, frame, cell_ok)


def _refuse_personal_columns(file: str, columns: list[str], problems: Problems,
                             lines: dict[str, int | None] | None = None) -> set[str]:
    refused = set()
    for column in columns:
        reason = personal_column(column)
        if reason:
            refused.add(column)
            row = lines.get(column) if lines is not None else 1
            problems.add(Problem(file, row, column, column,
                                 f"no personal data: the column {column!r} looks like {reason}; remove "
                                 "it from the file (the graph never stores it)", "personal-data"))
    return refused


def _refuse_personal_values(file: str, frame: pd.DataFrame, columns: list[str], problems: Problems,
                            lines: dict[str, int] | None = None) -> None:
    """loaders.pii's value check; for bundle.toml, rows are the lines of each key."""
    found = Problems()
    refuse_personal_values(file, frame, columns, found)
    for item in found.items:
        row = lines.get(item.column or "") if lines is not None else item.row
        problems.add(replace(item, row=row))
    problems.total += found.total - len(found.items)  # counted, not kept (as Problems does)


# ---- rules across rows ------------------------------------------------------------------------------
class _Checks:
    def __init__(self, meta: dict[str, str | None] | None, tables: dict[str, Table | None],
                 shapes: FormatShapes, vocab: Vocabulary, problems: Problems) -> None:
        self.meta = meta
        self.tables = tables
        self.shapes = shapes
        self.problems = problems
        factor_rule = shapes[FACTORS].column("factor")
        concepts = vocab.scheme_concepts("Factor", factor_rule.scheme_code or "")
        self.added_in_frame = {c.code: int(c.get("added_in_frame") or 1) for c in concepts}  # type: ignore[call-overload]
        self.newest_frame = max(self.added_in_frame.values(), default=1)
        self.broader = _broader_factors(factor_rule.scheme or "")
        self.case_ids: pd.Series | None = None
        self.case_frames: pd.Series | None = None  # case_id -> coding frame (valid cases only)

    def run(self) -> None:
        self._bundle_meta()
        self._cases()
        for file in (VICTIMS, SUSPECTS, FACTORS, EVENTS, RELIABILITY):
            table = self.tables.get(file)
            if table is not None:
                self._orphans(table)
        for file in PEOPLE:
            table = self.tables[file]
            if table is not None:
                self._numbered(table, "position")
        if self.tables[FACTORS] is not None:
            self._factors(self.tables[FACTORS])  # type: ignore[arg-type]
        if self.tables[EVENTS] is not None:
            self._events(self.tables[EVENTS])  # type: ignore[arg-type]
        if self.tables.get(RELIABILITY) is not None:
            self._reliability(self.tables[RELIABILITY])  # type: ignore[arg-type]

    def flag_each(self, table: Table, bad: pd.Series, column: str, expected: pd.Series | str) -> None:
        """One problem per bad row, with a per-row expectation."""
        bad = bad.fillna(False).astype(bool)
        if not bad.any():
            return
        rows = table.frame.loc[bad]
        texts = expected.loc[bad] if isinstance(expected, pd.Series) else pd.Series(expected, index=rows.index)
        for line, value, text in zip(rows["_line"], rows[column], texts, strict=True):
            self.problems.add(Problem(table.file, int(line), column, None if pd.isna(value) else str(value),
                                      str(text)))

    def _bundle_meta(self) -> None:
        if self.meta is None:
            return
        name = self.meta.get("name")
        if name in SOURCES and name != Coded.name:
            self.problems.add(Problem(BUNDLE_FILE, None, "name", name,
                                      f"a dataset name that no other source uses (taken: {sorted(SOURCES)})"))
        if self.meta.get("coding_frame_version") is None:
            return
        version = int(self.meta["coding_frame_version"] or 0)
        if version > self.newest_frame:
            self.problems.add(Problem(BUNDLE_FILE, None, "coding_frame_version", str(version),
                                      f"at most {self.newest_frame}, the newest coding frame the ontology "
                                      "knows (a newer frame needs its factors added to the ontology first)"))

    def _cases(self) -> None:
        table = self.tables[CASES]
        if table is None:
            return
        frame = table.frame
        self.case_ids = frame["case_id"].dropna()
        repeated = self._duplicates(table, ["case_id"], "case_id", "a case_id used once in cases.csv")
        version = table.numbers(self.shapes[CASES], "coding_frame_version")
        limit = self.newest_frame
        self.flag_each(table, table.ok("coding_frame_version") & (version > limit), "coding_frame_version",
                       f"at most {limit}, the newest coding frame the ontology knows")
        if self.meta is not None and self.meta.get("coding_frame_version") is not None:
            bundle_version = int(self.meta["coding_frame_version"] or 0)
            self.flag_each(table, table.ok("coding_frame_version") & (version > bundle_version),
                           "coding_frame_version",
                           f"at most {bundle_version}, the coding_frame_version of {BUNDLE_FILE}")
        valid = table.ok("case_id", "coding_frame_version") & ~repeated
        self.case_frames = pd.Series(version[valid].to_numpy(), index=frame.loc[valid, "case_id"].to_numpy())

    def _duplicates(self, table: Table, keys: list[str], column: str, expected: str) -> pd.Series:
        """Flag repeats of ``keys`` (after the first); returns the repeated rows."""
        frame = table.frame
        complete = frame[keys].notna().all(axis=1)
        repeated = complete & frame.duplicated(keys, keep="first")
        if repeated.any():
            first = frame[complete].groupby(keys, sort=False)["_line"].transform("first")
            texts = expected + " (already on line " + first.reindex(frame.index).astype("Int64").astype("string") + ")"
            self.flag_each(table, repeated, column, texts)
        return repeated

    def _orphans(self, table: Table) -> None:
        if self.case_ids is None:
            return
        ids = table.frame["case_id"]
        self.flag_each(table, ids.notna() & ~_member(ids, self.case_ids), "case_id", "a case_id listed in cases.csv")

    def _numbered(self, table: Table, column: str) -> pd.Series:
        """Numbers 1..n per case without gaps or repeats; returns the rows fit for order checks."""
        repeated = self._duplicates(table, ["case_id", column], column,
                                    f"a {column} used once per case")
        shape = self.shapes[table.file]
        number = table.numbers(shape, column)
        usable = table.ok("case_id", column) & ~repeated
        # a case with any unusable row is left out of the order checks (its rows are already flagged)
        spoilt = table.frame.loc[~usable & table.frame["case_id"].notna(), "case_id"]
        usable &= ~_member(table.frame["case_id"], spoilt)
        frame = pd.DataFrame({"case_id": table.frame["case_id"], "n": number})[usable]
        frame = frame.sort_values(["case_id", "n"], kind="stable")
        expected = frame.groupby("case_id", sort=False).cumcount() + 1
        gap = frame["n"] != expected
        first_gap = gap & (gap.astype(int).groupby(frame["case_id"], sort=False).cumsum() == 1)
        texts = (f"{column} " + expected.astype("string") + f": the {column}s of a case run 1, 2, 3, … "
                 "without gaps")
        self.flag_each(table, first_gap.reindex(table.frame.index, fill_value=False), column,
                       texts.reindex(table.frame.index))
        return usable & ~_member(table.frame["case_id"], frame.loc[gap, "case_id"])

    def _factors(self, table: Table) -> None:
        self._duplicates(table, ["case_id", "factor"], "factor", "a factor coded once per case")
        if self.case_frames is None:
            return
        self._factor_values(table, table.ok("case_id", "factor", "value"), table.frame["factor"],
                            table.frame["case_id"])

    def _factor_values(self, table: Table, usable: pd.Series, factor: pd.Series, owner: pd.Series,
                       by_coder: str = "") -> None:
        """Coding frames and narrower/broader factors for the rows ``usable`` of ``table``.

        ``owner`` groups the values one coder gave one case (the case id; with ``by_coder``, case and coder).
        """
        assert self.case_frames is not None
        frame = table.frame
        coded = frame["value"].isin(list(CODED)) & usable
        case_frame = frame["case_id"].map(self.case_frames).astype("float64")
        added = factor.map(self.added_in_frame).astype("float64")
        late = coded & case_frame.notna() & (added > case_frame)
        if late.any():
            texts = ("not_recorded: " + factor + " was added in coding frame "
                     + added.astype("Int64").astype("string") + "; case " + frame["case_id"]
                     + " was coded under frame " + case_frame.astype("Int64").astype("string")
                     + " — it must be not_recorded")
            self.flag_each(table, late, "value", texts)
        for narrower, broader in self.broader:
            with_narrower = owner[coded & _equals(factor, narrower) & _equals(frame["value"], "present")]
            clash = coded & _equals(factor, broader) & _equals(frame["value"], "absent") & \
                _member(owner, with_narrower)
            self.flag_each(table, clash, "value",
                           f"present or not_recorded: {narrower} is present for this case{by_coder} and is a "
                           f"kind of {broader}")

    def _reliability(self, table: Table) -> None:
        """reliability.csv: a known variable, a value that fits it, an independent coder, frames, no repeats."""
        frame = table.frame
        factor_codes = self.shapes[FACTORS].column("factor").codes or ()
        is_factor = frame["variable"].isin(list(factor_codes))
        is_case = frame["variable"].isin(list(CASE_VARIABLES))
        variable_ok = table.ok("variable") & (is_factor | is_case)
        self.flag_each(table, table.ok("variable") & ~(is_factor | is_case), "variable",
                       f"a variable of the coding frame: {', '.join(CASE_VARIABLES)} or a factor code "
                       f"({', '.join(factor_codes)})")
        value_ok = table.ok("value") & variable_ok
        factor_values = self.shapes[FACTORS].column("value").allowed or ()
        self.flag_each(table, value_ok & is_factor & ~frame["value"].isin(list(factor_values)), "value",
                       "one of " + ", ".join(repr(v) for v in factor_values) + " (the variable is a factor)")
        value_ok &= ~(is_factor & ~frame["value"].isin(list(factor_values)))
        for column in CASE_VARIABLES:
            rule = self.shapes[CASES].column(column)
            wrong = value_ok & _equals(frame["variable"], column) & ~frame["value"].isin(list(rule.codes or ()))
            self.flag_each(table, wrong, "value", f"a code of the scheme {rule.scheme_label!r} (the variable is "
                           f"{column}): " + ", ".join(rule.codes or ()))
            value_ok &= ~wrong
        self._duplicates(table, ["case_id", "variable", "coder"], "coder",
                         "each coder codes a variable of a case once")
        self._independent(table, variable_ok & table.ok("case_id", "coder"), is_factor, is_case)
        if self.case_frames is None:
            return
        usable = table.ok("case_id", "coder") & value_ok & is_factor
        self._factor_values(table, usable, frame["variable"], frame["case_id"] + "\x1f" + frame["coder"],
                            by_coder=" by this coder")

    def _independent(self, table: Table, usable: pd.Series, is_factor: pd.Series, is_case: pd.Series) -> None:
        """A second coding is by another coder than the one who coded the case's own value."""
        frame = table.frame
        primary = pd.Series(pd.NA, index=frame.index, dtype="string")
        where = pd.Series(pd.NA, index=frame.index, dtype="string")
        cases = self.tables[CASES]
        if cases is not None:
            ok = cases.ok("case_id", "coder")
            first = cases.frame[ok].drop_duplicates("case_id")
            coder = pd.Series(first["coder"].to_numpy(), index=first["case_id"].to_numpy())
            line = pd.Series(first["_line"].to_numpy(), index=first["case_id"].to_numpy())
            primary = primary.mask(is_case, frame["case_id"].map(coder).astype("string"))
            where = where.mask(is_case, CASES + " line " + frame["case_id"].map(line).astype("Int64").astype("string"))
        factors = self.tables[FACTORS]
        if factors is not None:
            ok = factors.ok("case_id", "factor", "coder")
            first = factors.frame[ok].drop_duplicates(["case_id", "factor"])
            keys = first["case_id"] + "\x1f" + first["factor"]
            coder = pd.Series(first["coder"].to_numpy(), index=keys.to_numpy())
            line = pd.Series(first["_line"].to_numpy(), index=keys.to_numpy())
            key = frame["case_id"] + "\x1f" + frame["variable"]
            primary = primary.mask(is_factor, key.map(coder).astype("string"))
            where = where.mask(is_factor, FACTORS + " line " + key.map(line).astype("Int64").astype("string"))
        same = usable & _equals(frame["coder"], primary)
        if same.any():
            texts = ("a coder other than " + primary + ", who coded the case's own " + frame["variable"]
                     + " (" + where + "): a second coding must be independent")
            self.flag_each(table, same, "coder", texts)

    def _events(self, table: Table) -> None:
        frame = table.frame
        usable = self._numbered(table, "step") & table.ok("event_type", "minutes_before")
        spoilt = frame.loc[~usable & frame["case_id"].notna(), "case_id"]
        usable &= ~_member(frame["case_id"], spoilt)
        minutes = table.numbers(self.shapes[EVENTS], "minutes_before")
        work = pd.DataFrame({"case_id": frame["case_id"], "step": table.numbers(self.shapes[EVENTS], "step"),
                             "type": frame["event_type"], "minutes": minutes})[usable]
        work = work.sort_values(["case_id", "step"], kind="stable")
        by_case = work.groupby("case_id", sort=False)
        last = work["step"] == by_case["step"].transform("max")
        index = frame.index
        self.flag_each(table, (last & (work["type"] != FATAL)).reindex(index, fill_value=False), "event_type",
                       f"{FATAL}: the last step of a micropathway is the fatal incident")
        self.flag_each(table, (~last & (work["type"] == FATAL)).reindex(index, fill_value=False),
                       "event_type", f"an event before the fatal incident: {FATAL} is only the last step")
        self.flag_each(table, (last & ~(work["minutes"] == 0)).reindex(index, fill_value=False),
                       "minutes_before", "0: the last step is the fatal incident itself")
        earlier = work["minutes"].groupby(work["case_id"]).cummin()
        earlier = earlier.groupby(work["case_id"]).ffill().groupby(work["case_id"]).shift()
        rising = work["minutes"] > earlier
        if rising.any():
            texts = ("at most " + earlier[rising].map(_number_text) + ", the minutes_before of an earlier "
                     "step (events get closer to the fatal incident as the steps go on)")
            self.flag_each(table, rising.reindex(index, fill_value=False), "minutes_before",
                           texts.reindex(index))


def _equals(values: pd.Series, other: pd.Series | str) -> pd.Series:
    """``values == other`` as plain booleans (a missing cell is never equal)."""
    return (values == other).fillna(False).astype(bool)


def _member(values: pd.Series, allowed: pd.Series) -> pd.Series:
    """``values.isin(allowed)`` for text columns, with Arrow's hash lookup (fast on millions of rows)."""
    value_set = pa.array(allowed.dropna().astype("string").unique().astype(object), type=pa.string())
    found = pc.is_in(pa.array(values.astype("string").astype(object), type=pa.string()), value_set=value_set)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def _number_text(value: float) -> str:
    return "" if pd.isna(value) else (str(int(value)) if float(value).is_integer() else str(value))


def _broader_factors(scheme: str) -> list[tuple[str, str]]:
    """(narrower code, broader code) pairs of the factor scheme, from skos:broader."""
    graph = load_ontology()
    in_scheme = set(graph.subjects(SKOS.inScheme, URIRef(scheme)))
    pairs = []
    for narrower, broader in graph.subject_objects(SKOS.broader):
        if narrower in in_scheme and broader in in_scheme:
            pairs.append((str(graph.value(narrower, SKOS.notation)), str(graph.value(broader, SKOS.notation))))
    return sorted(pairs)


# ---- mapping to the graph -----------------------------------------------------------------------------
class _Mapper:
    def __init__(self, meta: dict[str, str | None], tables: dict[str, Table], shapes: FormatShapes) -> None:
        self.meta = meta
        self.tables = tables
        self.shapes = shapes
        self.name = str(meta["name"])
        self.synthetic = meta["synthetic"] == "true"

    def scheme_uid(self, file: str, column: str, codes: pd.Series) -> pd.Series:
        rule = self.shapes[file].column(column)
        return f"{rule.scheme_code}:" + codes.astype("string")

    def bundle(self) -> tuple[GraphBundle, list[str]]:
        name = self.name
        bundle = GraphBundle(name)
        bundle.add_nodes("Dataset", dataset_frame(
            name, source=str(self.meta["source"]), licence=str(self.meta["licence"]),
            synthetic=self.synthetic, factor_recording="explicit",
            coding_frame_version=int(self.meta["coding_frame_version"] or 1),
            description=self.meta.get("description") or None))
        cases = self.tables[CASES].frame
        uid = name + ":" + cases["case_id"]
        record_uid = pd.Series(uid.to_numpy(), index=cases["case_id"].to_numpy())
        victims = self.tables[VICTIMS].frame
        victim_count = victims.groupby("case_id").size()
        shape = self.shapes[CASES]
        bundle.add_nodes("Homicide", pd.DataFrame({
            "uid": uid, "case_id": cases["case_id"], "dataset": name,
            "year": shape.column("year").numbers(cases["year"]).astype("int64"),
            "month": shape.column("month").numbers(cases["month"]).astype("Int64"),
            "solved": cases["solved"].map({"true": True, "false": False}).astype("boolean"),
            "synthetic": self.synthetic,
            "coding_frame_version": shape.column("coding_frame_version").numbers(
                cases["coding_frame_version"]).astype("int64"),
            "iccs": ICCS_INTENTIONAL_HOMICIDE,
            "victim_count": cases["case_id"].map(victim_count).astype("Int64"),
        }))
        link(bundle, "FROM_DATASET", "Homicide", "Dataset", uid, pd.Series(name, index=uid.index))
        for column, rel_type, label, with_coder in CONCEPT_LINKS:
            props = {"coder": cases["coder"]} if with_coder else {}
            link(bundle, rel_type, "Homicide", label, uid, self.scheme_uid(CASES, column, cases[column]),
                 **props)
        for file, (label, rel_type, letter) in PEOPLE.items():
            self._people(bundle, file, label, rel_type, letter, record_uid)
        not_coded = self._factors(bundle, record_uid)
        self._events(bundle, record_uid)
        notes = [f"{len(cases)} cases; {not_coded} factor values coded not_recorded (not coded: no edge)"]
        if RELIABILITY in self.tables:
            notes.append(self._second_codings(bundle, record_uid))
        if self.synthetic:
            notes.insert(0, "SYNTHETIC data: every record is labelled synthetic")
        return bundle, notes

    def _people(self, bundle: GraphBundle, file: str, label: str, rel_type: str, letter: str,
                record_uid: pd.Series) -> None:
        frame = self.tables[file].frame
        owner = frame["case_id"].map(record_uid)
        position = self.shapes[file].column("position").numbers(frame["position"]).astype("int64")
        uid = owner + f"/{letter}" + position.astype("string")
        bundle.add_nodes(label, pd.DataFrame({
            "uid": uid, "record_uid": owner, "position": position,
            "age_group": frame["age_group"], "sex": frame["sex"],
        }))
        link(bundle, rel_type, "Homicide", label, owner, uid)

    def _factors(self, bundle: GraphBundle, record_uid: pd.Series) -> int:
        frame = self.tables[FACTORS].frame
        coded = frame["value"].isin(list(CODED))
        rows = frame[coded]
        link(bundle, "HAS_FACTOR", "Homicide", "Factor", rows["case_id"].map(record_uid),
             self.scheme_uid(FACTORS, "factor", rows["factor"]),
             present=rows["value"].map(CODED).astype("bool"), coder=rows["coder"])
        return int((~coded).sum())

    def _second_codings(self, bundle: GraphBundle, record_uid: pd.Series) -> str:
        """reliability.csv: one CODED_AS per coded value (not_recorded: no edge), with its coder."""
        frame = self.tables[RELIABILITY].frame
        owner = frame["case_id"].map(record_uid)
        factor_rows = frame[frame["variable"].isin(list(self.shapes[FACTORS].column("factor").codes or ()))]
        coded = factor_rows[factor_rows["value"].isin(list(CODED))]
        link(bundle, SECOND_CODING, "Homicide", "Factor", owner[coded.index],
             self.scheme_uid(FACTORS, "factor", coded["variable"]),
             present=coded["value"].map(CODED).astype("bool"), coder=coded["coder"])
        for column, label in CASE_VARIABLES.items():
            rows = frame[frame["variable"] == column]
            link(bundle, SECOND_CODING, "Homicide", label, owner[rows.index],
                 self.scheme_uid(CASES, column, rows["value"]), present=True, coder=rows["coder"])
        not_coded = len(factor_rows) - len(coded)
        return (f"{len(frame)} second codings of {frame['case_id'].nunique()} cases for agreement between "
                f"coders ({RELIABILITY}); {not_coded} coded not_recorded (no edge)")

    def _events(self, bundle: GraphBundle, record_uid: pd.Series) -> None:
        frame = self.tables[EVENTS].frame
        shape = self.shapes[EVENTS]
        work = pd.DataFrame({
            "owner": frame["case_id"].map(record_uid),
            "step": shape.column("step").numbers(frame["step"]).astype("int64"),
            "minutes": shape.column("minutes_before").numbers(frame["minutes_before"]),
            "type": self.scheme_uid(EVENTS, "event_type", frame["event_type"]),
            "coder": frame["coder"],
        }).sort_values(["owner", "step"], kind="stable").reset_index(drop=True)
        work["uid"] = work["owner"] + "/e" + work["step"].astype("string")
        bundle.add_nodes("Event", pd.DataFrame({
            "uid": work["uid"], "record_uid": work["owner"], "position": work["step"],
            "minutes_before": work["minutes"],
        }))
        first = work[work["step"] == 1]
        link(bundle, "FIRST_EVENT", "Homicide", "Event", first["owner"], first["uid"])
        same_case = work["owner"].shift(-1) == work["owner"]
        following = work.shift(-1)
        link(bundle, "NEXT", "Event", "Event", work.loc[same_case, "uid"], following.loc[same_case, "uid"],
             minutes=(work["minutes"] - following["minutes"])[same_case])
        link(bundle, "OF_TYPE", "Event", "EventType", work["uid"], work["type"], coder=work["coder"])
