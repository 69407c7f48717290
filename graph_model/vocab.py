"""Vocabularies (SKOS concept schemes) derived from the ontology.

Every concept of every scheme whose ``mp:conceptClass`` names a graph class becomes a vocabulary
node (``uid`` = ``<scheme>:<code>``); ``skos:closeMatch``/``exactMatch``/``broadMatch`` between
concepts become ``MAPS_TO`` relationships. Loaders look source values up here, so an unknown
code is an error that names the scheme and the codes it knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
from rdflib import RDF, SKOS, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.term import Node

from graph_model.ontology import MP, load_ontology

MAPPING_PREDICATES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch)


@dataclass(frozen=True)
class Concept:
    label_class: str  # graph label: Factor, Motive, ...
    scheme: str
    code: str
    label: str
    uri: str
    extra: tuple[tuple[str, object], ...] = ()
    alt_labels: tuple[str, ...] = ()

    @property
    def uid(self) -> str:
        return concept_uid(self.scheme, self.code)

    def get(self, name: str, default: object = None) -> object:
        return dict(self.extra).get(name, default)


def concept_uid(scheme: str, code: str) -> str:
    return f"{scheme}:{code}"


@dataclass
class Vocabulary:
    # Keyed by (graph label, uid): uids are unique per label ("micropathways:other" is both a
    # Method and a Motive), as node keys are unique per label in both engines.
    concepts: dict[tuple[str, str], Concept] = field(default_factory=dict)
    mappings: list[tuple[Concept, Concept]] = field(default_factory=list)
    schemes: dict[str, str] = field(default_factory=dict)  # scheme code -> graph label

    def scheme_concepts(self, label_class: str, scheme: str) -> list[Concept]:
        return [
            c for c in self.concepts.values() if c.label_class == label_class and c.scheme == scheme
        ]

    def lookup(self, label_class: str, scheme: str, code: str) -> Concept:
        """The concept with ``code`` in ``scheme``; KeyError naming the known codes otherwise."""
        concept = self.concepts.get((label_class, concept_uid(scheme, code)))
        if concept is None or concept.label_class != label_class:
            known = sorted(c.code for c in self.scheme_concepts(label_class, scheme))
            raise KeyError(f"{code!r} is not a {label_class} code of scheme {scheme!r}; known: {known}")
        return concept

    def by_label(self, label_class: str, scheme: str) -> dict[str, Concept]:
        """Map each verbatim source label of a scheme to its concept."""
        return {c.label: c for c in self.scheme_concepts(label_class, scheme)}

    def by_alt_label(self, label_class: str, scheme: str) -> dict[str, Concept]:
        """Map each alternative label (e.g. a state's postal abbreviation) to its concept."""
        return {alt: c for c in self.scheme_concepts(label_class, scheme) for alt in c.alt_labels}

    def common_for(self, label_class: str, uid: str) -> list[str]:
        """uids of the common concepts a source concept maps to."""
        return [t.uid for s, t in self.mappings if s.label_class == label_class and s.uid == uid]

    def node_frames(self) -> dict[str, pd.DataFrame]:
        """One DataFrame of vocabulary nodes per graph label."""
        rows: dict[str, list[dict[str, object]]] = {}
        for concept in self.concepts.values():
            if not concept.label_class:
                continue  # schemes that are not graph nodes (e.g. incident kinds)
            row: dict[str, object] = {
                "uid": concept.uid,
                "scheme": concept.scheme,
                "code": concept.code,
                "label": concept.label,
            }
            if concept.label_class == "Factor":
                row["kind"] = concept.get("kind")
            if concept.label_class == "Area":
                row["level"] = concept.get("level")
            rows.setdefault(concept.label_class, []).append(row)
        return {label: pd.DataFrame(r) for label, r in rows.items()}

    def mapping_frames(self) -> dict[tuple[str, str], pd.DataFrame]:
        """MAPS_TO rows grouped by (from label, to label)."""
        grouped: dict[tuple[str, str], list[dict[str, str]]] = {}
        for source, target in self.mappings:
            if source.label_class and target.label_class:
                pair = (source.label_class, target.label_class)
                grouped.setdefault(pair, []).append({"from": source.uid, "to": target.uid})
        return {pair: pd.DataFrame(rows) for pair, rows in grouped.items()}


_EXTRA_PREDICATES = {
    "kind": MP.factorKind,
    "level": MP.areaLevel,
    "added_in_frame": MP.addedInFrame,
    "conflict_event": MP.conflictEvent,
    "iccs": MP.iccsCode,
}


def _graph_label(graph: Graph, cls: Node) -> str | None:
    value = graph.value(cls, MP.graphLabel)
    return str(value) if value is not None else None


def derive_vocabulary(graph: Graph) -> Vocabulary:
    vocab = Vocabulary()
    scheme_info: dict[URIRef, tuple[str, str | None]] = {}
    for scheme in graph.subjects(RDF.type, SKOS.ConceptScheme):
        code = graph.value(scheme, MP.schemeCode)
        if code is None or not isinstance(scheme, URIRef):
            raise ValueError(f"concept scheme {scheme} has no mp:schemeCode")
        cls = graph.value(scheme, MP.conceptClass)
        label_class = _graph_label(graph, cls) if cls is not None else None
        scheme_info[scheme] = (str(code), label_class)
        if label_class:
            vocab.schemes[str(code)] = label_class
    for concept in sorted(c for c in graph.subjects(RDF.type, SKOS.Concept) if isinstance(c, URIRef)):
        scheme_uri = graph.value(concept, SKOS.inScheme)
        if scheme_uri not in scheme_info:
            raise ValueError(f"concept {concept} is in no declared concept scheme")
        scheme_code, label_class = scheme_info[scheme_uri]  # type: ignore[index]
        notation = graph.value(concept, SKOS.notation)
        pref = graph.value(concept, SKOS.prefLabel)
        if notation is None or pref is None:
            raise ValueError(f"concept {concept} needs skos:notation and skos:prefLabel")
        extra = []
        for name, predicate in _EXTRA_PREDICATES.items():
            value = graph.value(concept, predicate)
            if isinstance(value, RdfLiteral):
                extra.append((name, value.toPython()))
        item = Concept(
            label_class=label_class or "",
            scheme=scheme_code,
            code=str(notation),
            label=str(pref),
            uri=str(concept),
            extra=tuple(extra),
            alt_labels=tuple(sorted(str(a) for a in graph.objects(concept, SKOS.altLabel))),
        )
        key = (item.label_class, item.uid)
        if key in vocab.concepts:
            raise ValueError(f"two concepts share uid {item.uid}: {vocab.concepts[key].uri} and {concept}")
        vocab.concepts[key] = item
    by_uri = {c.uri: c for c in vocab.concepts.values()}
    for predicate in MAPPING_PREDICATES:
        for source, target in graph.subject_objects(predicate):
            if str(source) in by_uri and str(target) in by_uri:
                vocab.mappings.append((by_uri[str(source)], by_uri[str(target)]))
    vocab.mappings.sort(key=lambda pair: (pair[0].uri, pair[1].uri))
    return vocab


@lru_cache(maxsize=1)
def get_vocabulary() -> Vocabulary:
    return derive_vocabulary(load_ontology())
