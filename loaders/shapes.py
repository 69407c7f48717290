"""Validate tabular files against the SHACL shapes of a file format, vectorised with pandas.

A format's shapes live in ``ontology/shapes/<format>.ttl``: one ``sh:NodeShape`` per file
(``mp:file``), one property shape per column (``mp:column``). This module is a small interpreter of
those shapes: it reads each constraint once and applies it to a whole column at a time, so a file
of a million rows is checked in well under a second per column, and every problem names the file,
the row (the line number in the file), the column, the value and what was expected (text derived
from the constraints). The same shapes turn rows into RDF (:meth:`FileShape.to_rdf`) so pyshacl can
check them too; tests prove both give the same answer.

Understood constraints: ``sh:datatype`` (xsd:string, xsd:integer, xsd:decimal), ``sh:minCount``,
``sh:maxCount``, ``sh:minInclusive``, ``sh:maxInclusive``, ``sh:minLength``, ``sh:maxLength``,
``sh:pattern`` (with ``sh:flags``), ``sh:in`` (text values), ``sh:closed`` and the custom
``mp:inScheme`` (the value is the code of a concept of a SKOS scheme). Anything else in a shape is
refused when the shapes are read, so a constraint is never silently ignored.

A cell's value is its text with surrounding spaces removed; an empty cell has no value.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pandas as pd
from rdflib import RDF, RDFS, SKOS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from graph_model.ontology import MP, load_ontology
from loaders.problems import Problem, Problems
from ontology import ONTOLOGY_DIR

SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES_DIR = ONTOLOGY_DIR / "shapes"

# Lexical forms of the supported datatypes (XML Schema), checked strictly.
_DECIMAL = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$"
_LEXICAL: dict[URIRef, str | None] = {XSD.string: None, XSD.integer: r"^[+-]?[0-9]+$", XSD.decimal: _DECIMAL}
_DATATYPE_TEXT = {XSD.string: "text", XSD.integer: "a whole number", XSD.decimal: "a number"}
_PROPERTY_KEYS = {
    RDF.type, RDFS.comment, SH.path, SH.datatype, SH.minCount, SH.maxCount, SH.minInclusive,
    SH.maxInclusive, SH.minLength, SH.maxLength, SH.pattern, SH.flags, SH["in"], SH.name,
    SH.description, SH.order, MP.column, MP.inScheme,
}
_NODE_KEYS = {
    RDF.type, RDFS.comment, SH.name, SH.description, SH.targetClass, SH.property, SH.closed,
    SH.ignoredProperties, MP.file,
}
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def search(text: pd.Series, pattern: str, flags: int = 0) -> pd.Series:
    """Where ``pattern`` is found in each cell (regex search, as SPARQL's REGEX); NA stays NA."""
    with warnings.catch_warnings():  # pandas warns about capture groups, which do not matter here
        warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression")
        return text.str.contains(pattern, regex=True, flags=flags)


class ShapeError(ValueError):
    """The shapes use something this interpreter does not understand (a programming error)."""


@dataclass(frozen=True)
class ColumnRule:
    """The constraints of one column (a SHACL property shape)."""

    column: str
    path: str
    order: float = 0.0
    datatype: str | None = None  # full XSD IRI
    min_count: int = 0
    max_count: int | None = None
    min_inclusive: Decimal | None = None
    max_inclusive: Decimal | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    flags: str = ""
    allowed: tuple[str, ...] | None = None  # sh:in
    scheme: str | None = None  # mp:inScheme IRI
    scheme_code: str | None = None  # the scheme's mp:schemeCode (prefix of concept uids)
    scheme_label: str | None = None
    codes: tuple[str, ...] | None = None  # notations of the scheme's concepts
    description: str = ""

    @property
    def required(self) -> bool:
        return self.min_count >= 1

    def violations(self, values: pd.Series) -> pd.Series:
        """True where a cell breaks any constraint of the column (``values`` already cleaned)."""
        present = values.notna()
        bad = pd.Series(False, index=values.index)
        if self.required:
            bad |= ~present
        if self.max_count == 0:
            bad |= present
        if not present.any():
            return bad
        text = values.astype("string")
        lexical = _LEXICAL.get(URIRef(self.datatype)) if self.datatype else None
        if lexical:
            bad |= present & ~search(text, lexical).fillna(False)
        if self.pattern is not None:
            flags = 0
            for letter in self.flags:
                flags |= _FLAGS[letter]
            bad |= present & ~search(text, self.pattern, flags).fillna(False)
        if self.min_length is not None:
            bad |= present & (text.str.len() < self.min_length).fillna(False)
        if self.max_length is not None:
            bad |= present & (text.str.len() > self.max_length).fillna(False)
        if self.min_inclusive is not None or self.max_inclusive is not None:
            number = self.numbers(values)
            if self.min_inclusive is not None:
                bad |= present & ~(number >= float(self.min_inclusive)).fillna(False)
            if self.max_inclusive is not None:
                bad |= present & ~(number <= float(self.max_inclusive)).fillna(False)
        if self.allowed is not None:
            bad |= present & ~text.isin(self.allowed)
        if self.codes is not None:
            bad |= present & ~text.isin(self.codes)
        return bad

    def numbers(self, values: pd.Series) -> pd.Series:
        """The cells as floats where they are well-formed numbers (NaN elsewhere)."""
        text = values.astype("string")
        pattern = (_LEXICAL.get(URIRef(self.datatype)) if self.datatype else None) or _DECIMAL
        ok = search(text, pattern).fillna(False)
        return pd.to_numeric(text.where(ok), errors="coerce").astype("float64")

    def expected(self) -> str:
        """What a valid cell looks like, in words derived from the constraints."""
        parts: list[str] = []
        if self.allowed is not None:
            parts.append("one of " + ", ".join(repr(v) for v in self.allowed))
        elif self.codes is not None:
            parts.append(f"a code of the scheme {self.scheme_label!r}: " + ", ".join(self.codes))
        else:
            parts.append(_DATATYPE_TEXT.get(URIRef(self.datatype), "text") if self.datatype else "text")
        if self.pattern is not None:
            parts.append(f"matching {self.pattern}")
        if self.min_inclusive is not None and self.max_inclusive is not None:
            parts.append(f"from {self.min_inclusive} to {self.max_inclusive}")
        elif self.min_inclusive is not None:
            parts.append(f"at least {self.min_inclusive}")
        elif self.max_inclusive is not None:
            parts.append(f"at most {self.max_inclusive}")
        if self.min_length is not None:
            parts.append(f"of at least {self.min_length} characters")
        if self.max_length is not None:
            parts.append(f"of at most {self.max_length} characters")
        text = " ".join(parts)
        if self.max_count == 0:
            text = "no value"
        elif self.required:
            text = f"a value (required): {text}"
        else:
            text = f"empty or {text}"
        if self.description:
            text += f" — {self.description}"
        return text

    def literal(self, value: str) -> Literal:
        """The RDF literal of a cell: its text typed with the column's datatype (plain for text)."""
        if self.datatype and URIRef(self.datatype) != XSD.string:
            return Literal(value, datatype=URIRef(self.datatype), normalize=False)  # the lexical form as written
        return Literal(value)


@dataclass(frozen=True)
class FileShape:
    """The shape of one file of a format: its columns, and whether others are allowed."""

    file: str
    iri: str
    target_class: str
    closed: bool
    columns: tuple[ColumnRule, ...]
    comment: str = ""

    @property
    def column_names(self) -> list[str]:
        return [rule.column for rule in self.columns]

    def column(self, name: str) -> ColumnRule:
        for rule in self.columns:
            if rule.column == name:
                return rule
        raise KeyError(f"{self.file} has no column {name!r} in its shape")

    def check_header(self, header: list[str], problems: Problems, *, file: str | None = None,
                     ignore: set[str] | frozenset[str] = frozenset()) -> None:
        """Every declared column must be in the header; a closed shape allows no others."""
        name = file or self.file
        expected = ", ".join(self.column_names)
        for column in self.column_names:
            if column not in header:
                problems.add(Problem(name, 1, column, None,
                                     f"a column named {column!r} in the header (columns: {expected})"))
        if self.closed:
            for column in header:
                if column not in self.column_names and column not in ignore and not column.startswith("_"):
                    problems.add(Problem(name, 1, column, column,
                                         f"only the columns of the format ({expected}); remove this one"))

    def violations(self, frame: pd.DataFrame) -> Iterator[tuple[ColumnRule, pd.Series]]:
        """(rule, bad-row mask) for every declared column present in ``frame``."""
        for rule in self.columns:
            if rule.column in frame.columns:
                yield rule, rule.violations(frame[rule.column])

    def validate(self, frame: pd.DataFrame, problems: Problems, *, file: str | None = None) -> pd.Series:
        """Flag every bad cell (``frame`` has a ``_line`` column); returns the rows with no bad cell."""
        ok = pd.Series(True, index=frame.index)
        for rule, bad in self.violations(frame):
            problems.flag(file or self.file, frame, bad, rule.column, rule.expected())
            ok &= ~bad
        return ok

    def to_rdf(self, frame: pd.DataFrame, graph: Graph, *, base: str = "urn:row:") -> dict[Node, int]:
        """Add one focus node per row (typed with the target class), one triple per non-empty cell.

        Columns the shape does not declare become triples of ``<format namespace><column>`` so a
        closed shape sees them. Returns focus node -> line number.
        """
        namespace = self.target_class.rsplit("#", 1)[0] + "#"
        rules = {rule.column: rule for rule in self.columns}
        nodes: dict[Node, int] = {}
        for record in frame.to_dict("records"):
            line = int(record["_line"])
            node = URIRef(f"{base}{self.file}/{line}")
            nodes[node] = line
            graph.add((node, RDF.type, URIRef(self.target_class)))
            for column, value in record.items():
                if column.startswith("_") or value is None or pd.isna(value):
                    continue
                rule = rules.get(column)
                if rule is not None:
                    graph.add((node, URIRef(rule.path), rule.literal(str(value))))
                else:
                    graph.add((node, URIRef(namespace + re.sub(r"\W", "_", column)), Literal(str(value))))
        return nodes

    def path_columns(self) -> dict[str, str]:
        """sh:path IRI -> column name."""
        return {rule.path: rule.column for rule in self.columns}


@dataclass(frozen=True)
class FormatShapes:
    name: str
    source: Path
    files: dict[str, FileShape]

    def __getitem__(self, file: str) -> FileShape:
        return self.files[file]

    def graph(self) -> Graph:
        """The shapes as an rdflib graph (for pyshacl)."""
        return Graph().parse(self.source, format="turtle")


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as the shapes see them: surrounding spaces removed, empty cells missing."""
    out = frame.copy()
    for column in out.columns:
        if column.startswith("_"):
            continue
        text = out[column].astype("string").str.strip()
        out[column] = text.mask(text == "")
    return out


@lru_cache(maxsize=8)
def load_shapes(name: str, root: Path = SHAPES_DIR) -> FormatShapes:
    """The shapes of format ``name`` (``ontology/shapes/<name>.ttl``), with schemes resolved."""
    source = root / f"{name}.ttl"
    graph = Graph().parse(source, format="turtle")
    ontology = load_ontology()
    files: dict[str, FileShape] = {}
    for shape in sorted(graph.subjects(MP.file, None), key=str):
        _check_keys(graph, shape, _NODE_KEYS, "node shape")
        file = str(graph.value(shape, MP.file))
        target = graph.value(shape, SH.targetClass)
        if not isinstance(target, URIRef):
            raise ShapeError(f"shape for {file} needs an IRI sh:targetClass")
        rules = [_column_rule(graph, ontology, prop, file) for prop in graph.objects(shape, SH.property)]
        names = [r.column for r in rules]
        if len(set(names)) != len(names):
            raise ShapeError(f"shape for {file} declares a column twice: {names}")
        closed = graph.value(shape, SH.closed)
        files[file] = FileShape(
            file=file, iri=str(shape), target_class=str(target),
            closed=bool(closed.toPython()) if isinstance(closed, Literal) else False,
            columns=tuple(sorted(rules, key=lambda r: (r.order, r.column))),
            comment=str(graph.value(shape, RDFS.comment) or ""),
        )
    if not files:
        raise ShapeError(f"{source} has no node shape with mp:file")
    return FormatShapes(name, source, files)


def _check_keys(graph: Graph, subject: Node, allowed: set[URIRef], what: str) -> None:
    for predicate in set(graph.predicates(subject, None)):
        if predicate not in allowed:
            raise ShapeError(f"{what} {subject} uses {predicate}, which loaders/shapes.py does not "
                             "interpret; extend the interpreter (and its pyshacl agreement test) first")


def _one(graph: Graph, subject: Node, predicate: URIRef) -> Node | None:
    values = list(graph.objects(subject, predicate))
    if len(values) > 1:
        raise ShapeError(f"{subject} has {len(values)} values of {predicate}; expected at most one")
    return values[0] if values else None


def _int(node: Node | None) -> int | None:
    return int(node.toPython()) if isinstance(node, Literal) else None


def _decimal(node: Node | None) -> Decimal | None:
    return Decimal(str(node)) if isinstance(node, Literal) else None


def _column_rule(graph: Graph, ontology: Graph, prop: Node, file: str) -> ColumnRule:
    _check_keys(graph, prop, _PROPERTY_KEYS, f"property shape of {file}")
    column, path = _one(graph, prop, MP.column), _one(graph, prop, SH.path)
    if column is None or not isinstance(path, URIRef):
        raise ShapeError(f"a property shape of {file} needs mp:column and an IRI sh:path")
    datatype = _one(graph, prop, SH.datatype)
    if datatype is not None and datatype not in _LEXICAL:
        raise ShapeError(f"{file}.{column}: datatype {datatype} is not supported")
    allowed_node = _one(graph, prop, SH["in"])
    allowed = None
    if allowed_node is not None:
        members = list(Collection(graph, allowed_node))  # type: ignore[arg-type]
        if datatype not in (None, XSD.string) or any(
                not isinstance(m, Literal) or m.datatype not in (None, XSD.string) for m in members):
            raise ShapeError(f"{file}.{column}: sh:in is supported for text values only")
        allowed = tuple(str(m) for m in members)
    scheme = _one(graph, prop, MP.inScheme)
    codes = scheme_code = scheme_label = None
    if scheme is not None:
        concepts = list(ontology.subjects(SKOS.inScheme, scheme))
        if not concepts:
            raise ShapeError(f"{file}.{column}: scheme {scheme} has no concepts in the ontology")
        codes = tuple(sorted(str(ontology.value(c, SKOS.notation)) for c in concepts))
        scheme_code = str(ontology.value(scheme, MP.schemeCode))
        scheme_label = str(ontology.value(scheme, SKOS.prefLabel) or scheme)
    pattern = _one(graph, prop, SH.pattern)
    flags = str(_one(graph, prop, SH.flags) or "")
    if set(flags) - set(_FLAGS):
        raise ShapeError(f"{file}.{column}: sh:flags {flags!r} has letters other than {sorted(_FLAGS)}")
    order = _one(graph, prop, SH.order)
    return ColumnRule(
        column=str(column), path=str(path),
        order=float(order.toPython()) if isinstance(order, Literal) else 0.0,
        datatype=str(datatype) if datatype is not None else None,
        min_count=_int(_one(graph, prop, SH.minCount)) or 0,
        max_count=_int(_one(graph, prop, SH.maxCount)),
        min_inclusive=_decimal(_one(graph, prop, SH.minInclusive)),
        max_inclusive=_decimal(_one(graph, prop, SH.maxInclusive)),
        min_length=_int(_one(graph, prop, SH.minLength)),
        max_length=_int(_one(graph, prop, SH.maxLength)),
        pattern=str(pattern) if pattern is not None else None,
        flags=flags,
        allowed=allowed,
        scheme=str(scheme) if scheme is not None else None,
        scheme_code=scheme_code, scheme_label=scheme_label, codes=codes,
        description=str(_one(graph, prop, SH.description) or ""),
    )


__all__ = ["SH", "ColumnRule", "FileShape", "FormatShapes", "ShapeError", "clean", "load_shapes"]
