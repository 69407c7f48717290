"""The property-graph schema, derived from the OWL part of the ontology.

Node labels come from classes with ``mp:graphLabel``; their properties from datatype properties
whose ``schema:domainIncludes`` names the class; relationship types and the class pairs they
connect from object properties with ``mp:connects``; relationship properties from
``mp:onRelationship``. Nothing here is written by hand: change ``ontology/core.ttl`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rdflib import OWL, RDF, RDFS, XSD, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.collection import Collection
from rdflib.term import Node

from graph_model.ontology import MP, SCHEMA, load_ontology

ValueType = Literal["string", "integer", "boolean", "double"]
Role = Literal["record", "owned", "shared", "derived"]

_XSD_TYPES: dict[URIRef, ValueType] = {
    XSD.string: "string",
    XSD.integer: "integer",
    XSD.boolean: "boolean",
    XSD.double: "double",
}


@dataclass(frozen=True)
class PropertySpec:
    name: str
    type: ValueType
    required: bool = False
    key: bool = False
    comment: str = ""


@dataclass(frozen=True)
class NodeSpec:
    label: str
    role: Role
    colour: str
    title: str
    comment: str
    vocabulary: bool
    properties: tuple[PropertySpec, ...]

    @property
    def key(self) -> PropertySpec:
        return next(p for p in self.properties if p.key)

    def property(self, name: str) -> PropertySpec:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(f"{self.label} has no property {name!r} in the ontology")


@dataclass(frozen=True)
class RelSpec:
    type: str
    pairs: tuple[tuple[str, str], ...]
    properties: tuple[PropertySpec, ...]
    comment: str = ""


@dataclass(frozen=True)
class GraphSchema:
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    rels: dict[str, RelSpec] = field(default_factory=dict)
    contract_version: int = 1

    def node(self, label: str) -> NodeSpec:
        """The node spec for ``label``; raises a ValueError naming the known labels otherwise."""
        try:
            return self.nodes[label]
        except KeyError:
            raise ValueError(
                f"unknown node label {label!r}; the ontology defines {sorted(self.nodes)}"
            ) from None

    def rel(self, rel_type: str) -> RelSpec:
        try:
            return self.rels[rel_type]
        except KeyError:
            raise ValueError(
                f"unknown relationship type {rel_type!r}; the ontology defines {sorted(self.rels)}"
            ) from None

    def check_label(self, label: str) -> str:
        """Return ``label`` if the ontology defines it; use before placing a label in query text."""
        self.node(label)
        return label

    def check_rel_type(self, rel_type: str) -> str:
        self.rel(rel_type)
        return rel_type

    def labels_with_role(self, role: Role) -> list[str]:
        return [label for label, spec in self.nodes.items() if spec.role == role]

    @property
    def vocabulary_labels(self) -> list[str]:
        return [label for label, spec in self.nodes.items() if spec.vocabulary]


def _text(graph: Graph, subject: URIRef, predicate: URIRef, default: str = "") -> str:
    value = graph.value(subject, predicate)
    return str(value) if value is not None else default


def _flag(graph: Graph, subject: URIRef, predicate: URIRef) -> bool:
    value = graph.value(subject, predicate)
    return isinstance(value, RdfLiteral) and bool(value.toPython())


def _property_spec(graph: Graph, prop: URIRef) -> PropertySpec:
    name = str(prop).rsplit("#", 1)[-1]
    range_ = graph.value(prop, RDFS.range)
    if range_ not in _XSD_TYPES:
        raise ValueError(f"ontology property mp:{name} has unsupported range {range_}")
    return PropertySpec(
        name=name,
        type=_XSD_TYPES[range_],  # type: ignore[index]
        required=_flag(graph, prop, MP.required) or _flag(graph, prop, MP.isKey),
        key=_flag(graph, prop, MP.isKey),
        comment=_text(graph, prop, RDFS.comment),
    )


def _sorted_props(props: list[PropertySpec]) -> tuple[PropertySpec, ...]:
    """Key first, then the rest by name, so derived DDL is stable."""
    return tuple(sorted(props, key=lambda p: (not p.key, p.name)))


def _uris(nodes: Iterable[Node]) -> list[URIRef]:
    """The URI nodes among ``nodes``, sorted (blank nodes are skipped)."""
    return sorted(n for n in nodes if isinstance(n, URIRef))


def derive_schema(graph: Graph) -> GraphSchema:
    """Derive the property-graph schema from an ontology graph."""
    class_labels: dict[URIRef, str] = {}
    nodes: dict[str, NodeSpec] = {}
    for cls in _uris(graph.subjects(RDF.type, OWL.Class)):
        graph_label = graph.value(cls, MP.graphLabel)
        if graph_label is not None:
            class_labels[cls] = str(graph_label)
    for cls, label in class_labels.items():
        props = [
            _property_spec(graph, prop)
            for prop in graph.subjects(SCHEMA.domainIncludes, cls)
            if isinstance(prop, URIRef)
        ]
        keys = [p for p in props if p.key]
        if len(keys) != 1:
            raise ValueError(f"class {label} must have exactly one key property, found {keys}")
        nodes[label] = NodeSpec(
            label=label,
            role=_text(graph, cls, MP.role, "shared"),  # type: ignore[arg-type]
            colour=_text(graph, cls, MP.legendColour, "#777777"),
            title=_text(graph, cls, RDFS.label, label),
            comment=_text(graph, cls, RDFS.comment),
            vocabulary=_flag(graph, cls, MP.vocabularyClass),
            properties=_sorted_props(props),
        )
    rels: dict[str, RelSpec] = {}
    for prop in _uris(graph.subjects(RDF.type, OWL.ObjectProperty)):
        rel_type = graph.value(prop, MP.graphLabel)
        if rel_type is None:
            continue
        pairs = []
        for pair_node in graph.objects(prop, MP.connects):
            members = list(Collection(graph, pair_node))  # type: ignore[arg-type]
            pairs.append((class_labels[members[0]], class_labels[members[1]]))  # type: ignore[index]
        rel_props = [
            _property_spec(graph, p)
            for p in graph.subjects(MP.onRelationship, prop)
            if isinstance(p, URIRef)
        ]
        rels[str(rel_type)] = RelSpec(
            type=str(rel_type),
            pairs=tuple(sorted(pairs)),
            properties=_sorted_props(rel_props),
            comment=_text(graph, prop, RDFS.comment),
        )
    version_value = graph.value(None, MP.graphContractVersion)
    version = int(version_value.toPython()) if isinstance(version_value, RdfLiteral) else 1
    return GraphSchema(nodes=nodes, rels=rels, contract_version=version)


@lru_cache(maxsize=1)
def get_schema() -> GraphSchema:
    """The schema of the shipped ontology (cached)."""
    return derive_schema(load_ontology())
