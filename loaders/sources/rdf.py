"""Source ``rdf``: RDF written by ``micropath export rdf|jsonld`` (exports/rdf.py), back into the graph.

``micropath load rdf FILE`` loads a file holding one dataset (``export --dataset NAME``) in one transaction,
with the validation and atomic write every source has. A whole-graph export holds several datasets; the
writer compares records per dataset, so ``micropath import rdf FILE`` loads it as one bundle per dataset
(:func:`prepare_bundles`), every bundle validated before the first is written.

Every problem is collected before anything is built: a node with no or two ontology classes, a property
the class does not have, a value of the wrong datatype, two values for one property, a relationship between
classes the ontology does not connect, a reified statement without its triple (or the reverse). String
values pass the same personal-data value checks as CSV input (loaders/pii.py).

The writer diffs records per dataset, so the graph is split into one bundle per dataset (its Dataset node,
records, owned nodes and their relationships); vocabulary, areas and MAPS_TO travel in the first bundle.
Concepts the shipped ontology already defines are left to ``loaders.base.add_vocabulary`` (which every load
adds); a concept the RDF describes differently from the ontology is a problem, not silently replaced.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rdflib import RDF, Graph, Literal, URIRef

from exports.iris import class_iri, prop_iri
from exports.rdf import XSD_OF, parse_rdf
from graph_model.bundle import GraphBundle
from graph_model.schema import GraphSchema, NodeSpec, get_schema
from graph_model.vocab import Vocabulary, get_vocabulary
from loaders.base import Source, SourceResult, add_vocabulary, register
from loaders.pii import refuse_personal_values
from loaders.problems import Problem, Problems

RelKey = tuple[str, str, str]
IGNORED_NAMESPACES = ("http://www.w3.org/2004/02/skos/core#",)  # SKOS labels are repeated from mp:label/code


@dataclass
class RdfContent:
    nodes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # label -> property maps
    rels: dict[RelKey, list[dict[str, Any]]] = field(default_factory=dict)  # rows: from, to, properties
    notes: list[str] = field(default_factory=list)


LINK_RUN = "LinkRun"  # link runs and their record-to-record links are made by `micropath link`, not loads


def _not_imported(content: RdfContent, schema: GraphSchema) -> None:
    """Drop derived nodes (every load recomputes them) and link runs with their record-to-record links
    (a load writes one dataset's records; links are written by link runs), saying how many."""
    records = set(schema.labels_with_role("record"))
    for label, rows in list(content.nodes.items()):
        if rows and (schema.node(label).role == "derived" or label == LINK_RUN):
            content.notes.append(f"{len(rows)} mp:{label} node(s) not imported ("
                                 + ("derived: the load recomputes them)" if label != LINK_RUN else
                                    "link runs are made with `micropath link`; re-run them in this graph)"))
            content.nodes[label] = []
    for key, rows in list(content.rels.items()):
        if key[1] in records and key[2] in records:
            content.notes.append(f"{len(rows)} mp:{key[0]} link(s) between records not imported "
                                 "(re-run the link runs with `micropath link`)")
            del content.rels[key]


class _Parser:
    def __init__(self, graph: Graph, schema: GraphSchema, file: str, problems: Problems) -> None:
        self.graph, self.schema, self.file, self.problems = graph, schema, file, problems
        self.label_of: dict[URIRef, str] = {}
        self.uid_of: dict[URIRef, str] = {}

    def problem(self, subject: object, predicate: str | None, value: object, expected: str) -> None:
        self.problems.add(Problem(self.file, None, f"<{subject}> {predicate or ''}".strip(),
                                  None if value is None else str(value), expected))

    def classify(self) -> None:
        classes = {class_iri(label): label for label in self.schema.nodes}
        found: dict[URIRef, list[str]] = defaultdict(list)
        for subject, cls in self.graph.subject_objects(RDF.type):
            if cls in classes and isinstance(subject, URIRef):
                found[subject].append(classes[cls])  # type: ignore[index]
        for subject, labels in found.items():
            if len(labels) > 1:
                self.problem(subject, "rdf:type", ", ".join(sorted(labels)), "exactly one ontology class")
            else:
                self.label_of[subject] = labels[0]

    def node(self, subject: URIRef, spec: NodeSpec, allowed_rels: set[URIRef]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        props = {prop_iri(p.name): p for p in spec.properties}
        for predicate, obj in self.graph.predicate_objects(subject):
            if predicate in props:
                prop = props[predicate]  # type: ignore[index]
                value = self.value(subject, prop.name, prop.type, obj)
                if prop.name in row:
                    self.problem(subject, f"mp:{prop.name}", obj, "one value (the property is single-valued)")
                elif value is not None:
                    row[prop.name] = value
            elif predicate == RDF.type or predicate in allowed_rels or str(predicate).startswith(IGNORED_NAMESPACES):
                continue
            else:
                self.problem(subject, str(predicate), obj, f"a property or relationship of mp:{spec.label} "
                             "in ontology/core.ttl")
        for prop in spec.properties:
            if prop.required and prop.name not in row:
                self.problem(subject, f"mp:{prop.name}", None, f"a value: mp:{prop.name} is required on "
                             f"mp:{spec.label}")
        return row

    def value(self, subject: URIRef, name: str, value_type: str, obj: object) -> Any:
        expected = XSD_OF[value_type]
        datatype = XSD_OF["string"] if isinstance(obj, Literal) and obj.datatype is None and not obj.language \
            else getattr(obj, "datatype", None)
        if not isinstance(obj, Literal) or datatype != expected:
            self.problem(subject, f"mp:{name}", obj, f"a literal of type {expected}")
            return None
        value = obj.toPython()
        if not obj.ill_typed and isinstance(value, {"string": str, "integer": int, "boolean": bool,
                                                   "double": float}[value_type]):
            return value
        self.problem(subject, f"mp:{name}", obj, f"a valid {expected} lexical form")
        return None


def parse_content(graph: Graph, file: str, problems: Problems, schema: GraphSchema | None = None) -> RdfContent:
    """Nodes and relationships of an exported graph, checked against the schema (problems collected)."""
    schema = schema or get_schema()
    parser = _Parser(graph, schema, file, problems)
    parser.classify()
    content = RdfContent({label: [] for label in schema.nodes})
    for subject, label in sorted(parser.label_of.items()):
        spec = schema.node(label)
        allowed = {prop_iri(t) for t, s in schema.rels.items() if any(p[0] == label for p in s.pairs)}
        row = parser.node(subject, spec, allowed)
        if "uid" in row:
            parser.uid_of[subject] = row["uid"]
            content.nodes[label].append(row)
    for rel_type in schema.rels:
        _read_rels(parser, rel_type, content)
    _check_unclassified(parser)
    _not_imported(content, schema)
    return content


def _check_unclassified(parser: _Parser) -> None:
    """A subject using ontology predicates must be a node of one class (or a reified statement)."""
    ontology = str(prop_iri(""))
    statements = set(parser.graph.subjects(RDF.type, RDF.Statement))
    for subject in sorted({s for s, p in parser.graph.subject_predicates() if str(p).startswith(ontology)}, key=str):
        if subject not in parser.label_of and subject not in statements:
            parser.problem(subject, "rdf:type", None, "one class of ontology/core.ttl (mp:Homicide, mp:Victim, ...)")


def _read_rels(parser: _Parser, rel_type: str, content: RdfContent) -> None:
    spec = parser.schema.rel(rel_type)
    predicate = prop_iri(rel_type)
    triples = set()
    for s, o in parser.graph.subject_objects(predicate):
        pair = (parser.label_of.get(s), parser.label_of.get(o))  # type: ignore[call-overload]
        if pair not in spec.pairs:
            parser.problem(s, f"mp:{rel_type}", o, f"a relationship between one of {list(spec.pairs)}")
        elif s in parser.uid_of and o in parser.uid_of:
            triples.add((s, o))
    reified = set()
    for stmt in sorted(parser.graph.subjects(RDF.predicate, predicate), key=str):
        s, o = parser.graph.value(stmt, RDF.subject), parser.graph.value(stmt, RDF.object)  # type: ignore[assignment]
        if (s, o) not in triples:
            parser.problem(stmt, "rdf:subject/rdf:object", f"{s} {o}",
                           f"a statement of a triple <s> mp:{rel_type} <o> that the file also holds")
            continue
        reified.add((s, o))
        row = {"from": parser.uid_of[s], "to": parser.uid_of[o]}  # type: ignore[index]
        for prop in spec.properties:
            obj = parser.graph.value(stmt, prop_iri(prop.name))
            if obj is not None:
                value = parser.value(stmt, prop.name, prop.type, obj)  # type: ignore[arg-type]
                if value is not None:
                    row[prop.name] = value
            elif prop.required:
                parser.problem(stmt, f"mp:{prop.name}", None, f"a value: required on mp:{rel_type}")
        content.rels.setdefault((rel_type, parser.label_of[s], parser.label_of[o]), []).append(row)  # type: ignore[index]
    required = [p.name for p in spec.properties if p.required]
    for s, o in sorted(triples - reified):  # a plain triple: one relationship without properties
        if required:
            parser.problem(s, f"mp:{rel_type}", o, f"an rdf:Statement of this triple with {', '.join(required)}")
        else:
            content.rels.setdefault((rel_type, parser.label_of[s], parser.label_of[o]), []).append(  # type: ignore[index]
                {"from": parser.uid_of[s], "to": parser.uid_of[o]})  # type: ignore[index]


def to_bundles(content: RdfContent, vocab: Vocabulary, file: str, problems: Problems,
               schema: GraphSchema | None = None) -> list[GraphBundle]:
    """One bundle per dataset (unconformed; vocabulary not yet added). Shared nodes go in the first."""
    schema = schema or get_schema()
    nodes = {label: _frame(rows) for label, rows in content.nodes.items() if rows}
    _check_personal(nodes, schema, file, problems)
    _drop_known_concepts(nodes, content, vocab, schema, file, problems)
    datasets = sorted(set(nodes["Dataset"]["uid"]) if "Dataset" in nodes else set())
    owner: dict[str, str] = {}  # record uid -> dataset
    for label in schema.labels_with_role("record"):
        if label in nodes:
            owner.update(zip(nodes[label]["uid"], nodes[label]["dataset"], strict=True))
    for name in sorted(set(owner.values()) - set(datasets)):
        problems.add(Problem(file, None, "mp:dataset", name, "a mp:Dataset node of that name in the file"))
    bundles = {name: GraphBundle(name) for name in datasets} or {"rdf-import": GraphBundle("rdf-import")}
    first = next(iter(bundles.values()))
    for label, frame in nodes.items():
        role = schema.node(label).role
        if label == "Dataset":
            for name, part in frame.groupby("uid", sort=True):
                bundles[str(name)].add_nodes(label, part.reset_index(drop=True))
        elif role == "shared":
            first.add_nodes(label, frame)
        else:
            key = frame["uid"] if role == "record" else frame["record_uid"]
            _split(frame, key.map(owner), bundles, lambda b, part, lb=label: b.add_nodes(lb, part))
    for (rel_type, src, dst), rows in content.rels.items():
        frame = _frame(rows)
        role = schema.node(src).role
        if role == "shared":
            first.add_rels(rel_type, src, dst, frame)
            continue
        record = frame["from"] if role == "record" else frame["from"].map(_record_of(nodes, src))
        _split(frame, record.map(owner), bundles,
               lambda b, part, k=(rel_type, src, dst): b.add_rels(*k, part))
    return list(bundles.values())


def _split(frame: pd.DataFrame, datasets: pd.Series, bundles: dict[str, GraphBundle], add: Any) -> None:
    for name, part in frame.groupby(datasets.fillna(""), sort=True):
        if str(name) in bundles:
            add(bundles[str(name)], part.reset_index(drop=True))


def _record_of(nodes: dict[str, pd.DataFrame], label: str) -> dict[str, str]:
    frame = nodes.get(label)
    return {} if frame is None else dict(zip(frame["uid"], frame["record_uid"], strict=True))


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def _check_personal(nodes: dict[str, pd.DataFrame], schema: GraphSchema, file: str, problems: Problems) -> None:
    for label, frame in list(nodes.items()):
        # content_hash is recomputed by GraphBundle.conform, so the file's value is never kept (a round
        # trip that recomputes the same hash shows the record came back whole)
        frame = frame.drop(columns=["content_hash"], errors="ignore")
        columns = [p.name for p in schema.node(label).properties if p.type == "string" and p.name in frame]
        frame["_line"] = range(1, len(frame) + 1)
        refuse_personal_values(f"{file} (mp:{label} nodes in uid order)", frame, columns, problems)
        nodes[label] = frame.drop(columns="_line")


def _drop_known_concepts(nodes: dict[str, pd.DataFrame], content: RdfContent, vocab: Vocabulary,
                         schema: GraphSchema, file: str, problems: Problems) -> None:
    """Concepts and mappings the ontology ships are added by every load; keep only the others."""
    for label in schema.vocabulary_labels:
        frame = nodes.get(label)
        if frame is None:
            continue
        known = frame["uid"].map(lambda uid, lb=label: vocab.concepts.get((lb, uid)))
        for uid, concept, text in zip(frame["uid"], known, frame["label"], strict=True):
            if concept is not None and concept.label != text:
                problems.add(Problem(file, None, f"mp:{label} {uid} mp:label", text,
                                     f"the ontology's label {concept.label!r} (the file was exported under "
                                     "another version of the vocabulary)"))
        nodes[label] = frame[known.isna()].reset_index(drop=True)
        if nodes[label].empty:
            del nodes[label]
    mapped = {(s.label_class, s.uid, t.uid) for s, t in vocab.mappings}
    for (rel_type, src, dst), rows in list(content.rels.items()):
        if rel_type == "MAPS_TO":
            content.rels[(rel_type, src, dst)] = [r for r in rows if (src, r["from"], r["to"]) not in mapped]
            if not content.rels[(rel_type, src, dst)]:
                del content.rels[(rel_type, src, dst)]


def read_bundles(path: Path, vocab: Vocabulary) -> tuple[list[GraphBundle], list[str]]:
    """Parse and check ``path``: one unconformed bundle per dataset, and notes on what was not imported.
    Raises ValidationFailed with every problem."""
    problems = Problems()
    graph = parse_rdf(path)
    content = parse_content(graph, path.name, problems)
    bundles = to_bundles(content, vocab, path.name, problems)
    problems.raise_if_any(f"{path.name} is not an export of this ontology")
    return bundles, content.notes


def prepare_bundles(path: Path) -> tuple[list[GraphBundle], list[str]]:
    """Every dataset of ``path`` as a conformed bundle (the vocabulary travels with the first), and notes."""
    vocab, schema = get_vocabulary(), get_schema()
    bundles, notes = read_bundles(Path(path), vocab)
    add_vocabulary(bundles[0], vocab)
    return [bundle.conform(schema) for bundle in bundles], notes


@register
class RdfSource(Source):
    name = "rdf"
    description = ("an RDF export of one dataset (Turtle, or JSON-LD if named .jsonld), as "
                   "`micropath export rdf --dataset NAME` writes it")

    def read(self, path: Path, vocab: Vocabulary) -> SourceResult:
        bundles, notes = read_bundles(path, vocab)
        if len(bundles) > 1:
            problems = Problems()
            names = ", ".join(b.dataset for b in bundles)
            problems.add(Problem(path.name, None, "mp:Dataset", names,
                                 "one dataset: `micropath load rdf` loads one dataset in one transaction; load "
                                 f"this file with `micropath import rdf {path}` (one transaction per dataset) or "
                                 "export one dataset with `micropath export rdf --dataset NAME`"))
            problems.raise_if_any(f"{path.name} holds {len(bundles)} datasets")
        return SourceResult(bundles[0], notes=[*notes, "concepts the ontology defines come from the ontology, "
                                                        "not from the file"])
