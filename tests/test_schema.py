"""The schema the engine holds is exactly what the ontology declares.

Expected tables and columns are read from the Turtle files here with SPARQL, independently of
graph_model.schema, and compared with what the engine reports after ensure_schema().
"""

from __future__ import annotations

import pytest
from rdflib import Graph

from graph_model.ddl import LADYBUG_TYPES, neo4j_ddl
from graph_model.embedded import EmbeddedBackend
from graph_model.ontology import load_ontology
from graph_model.schema import get_schema
from graph_model.vocab import get_vocabulary

PREFIXES = """
PREFIX mp: <https://w3id.org/micropathways/ontology#>
PREFIX schema: <https://schema.org/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
XSD_TO_ENGINE = {"string": "STRING", "integer": "INT64", "boolean": "BOOL", "double": "DOUBLE"}


def _local(uri: object) -> str:
    return str(uri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def expected_node_tables(graph: Graph) -> dict[str, dict[str, str]]:
    rows = graph.query(PREFIXES + """
        SELECT ?label ?prop ?range WHERE {
            ?cls mp:graphLabel ?label . ?prop schema:domainIncludes ?cls ; rdfs:range ?range .
        }""")
    tables: dict[str, dict[str, str]] = {}
    for label, prop, range_ in rows:
        tables.setdefault(str(label), {})[_local(prop)] = XSD_TO_ENGINE[_local(range_)]
    return tables


def expected_rel_tables(graph: Graph) -> dict[str, dict[str, str]]:
    types = {str(t) for (t,) in graph.query(PREFIXES + """
        SELECT ?type WHERE { ?p a <http://www.w3.org/2002/07/owl#ObjectProperty> ; mp:graphLabel ?type }""")}
    tables: dict[str, dict[str, str]] = {t: {} for t in types}
    rows = graph.query(PREFIXES + """
        SELECT ?type ?prop ?range WHERE {
            ?prop mp:onRelationship ?rel ; rdfs:range ?range . ?rel mp:graphLabel ?type }""")
    for rel_type, prop, range_ in rows:
        tables[str(rel_type)][_local(prop)] = XSD_TO_ENGINE[_local(range_)]
    return tables


def test_engine_tables_match_the_ontology(writable_db: EmbeddedBackend) -> None:
    graph = load_ontology()
    writable_db.ensure_schema()
    actual = writable_db.table_columns()
    nodes = expected_node_tables(graph)
    rels = expected_rel_tables(graph)
    assert set(actual) == set(nodes) | set(rels)
    for label, columns in nodes.items():
        assert actual[label] == columns, label
    for rel_type, columns in rels.items():
        # relationship tables also carry the engine's internal _ID column
        assert {k: v for k, v in actual[rel_type].items() if not k.startswith("_")} == columns, rel_type


def test_graph_contract_v1_labels_and_relationships() -> None:
    schema = get_schema()
    assert set(schema.nodes) == {"Homicide", "Incident", "Victim", "Suspect", "Factor", "Motive", "Method",
                                 "Relationship", "Area", "Event", "EventType", "Dataset", "LinkRun",
                                 "FactorTally", "GraphState"}
    assert {p.name for p in schema.node("GraphState").properties} == {"uid", "revision", "loaded_at"}
    assert schema.node("GraphState").role == "derived"  # written by every changing load, never loaded
    assert set(schema.rels) == {"HAS_VICTIM", "HAS_SUSPECT", "HAS_FACTOR", "HAS_MOTIVE", "BY_METHOD",
                                "HAS_RELATIONSHIP", "IN_AREA", "FROM_DATASET", "FIRST_EVENT", "NEXT",
                                "OF_TYPE", "MAPS_TO", "CODED_AS", "LINKED_TO"}
    assert {p.name for p in schema.rel("CODED_AS").properties} == {"coder", "present"}  # second codings
    for label in ("Factor", "Motive", "Method", "Relationship", "EventType", "Area"):
        names = {p.name for p in schema.node(label).properties}
        assert {"scheme", "code", "label"} <= names, label
    homicide = {p.name for p in schema.node("Homicide").properties}
    assert {"uid", "case_id", "year", "month", "solved", "synthetic"} <= homicide
    incident = {p.name for p in schema.node("Incident").properties}
    assert homicide | {"kind"} <= incident
    assert {"name", "source", "licence", "coding_frame_version", "loaded_at"} <= {
        p.name for p in schema.node("Dataset").properties}


def test_unknown_labels_are_refused_before_reaching_query_text() -> None:
    schema = get_schema()
    assert schema.check_label("Homicide") == "Homicide"
    with pytest.raises(ValueError, match="unknown node label 'Homicide\\) DETACH DELETE"):
        schema.check_label("Homicide) DETACH DELETE (x")
    with pytest.raises(ValueError, match="unknown relationship type"):
        schema.check_rel_type("KNOWS")


def test_neo4j_constraints_cover_every_key() -> None:
    statements = neo4j_ddl(get_schema())
    for label in get_schema().nodes:
        assert any(f"FOR (n:{label}) REQUIRE n.uid IS UNIQUE" in s for s in statements), label


def test_vocabulary_nodes_reach_the_graph(writable_db: EmbeddedBackend) -> None:
    from graph_model.bundle import GraphBundle
    from loaders.base import add_vocabulary

    bundle = GraphBundle("vocab-only")
    add_vocabulary(bundle, get_vocabulary())
    writable_db.write_bundle(bundle.conform(get_schema()))
    graph = load_ontology()
    expected = graph.query(PREFIXES + """
        SELECT ?label (COUNT(?c) AS ?n) WHERE {
            ?c skos:inScheme ?s . ?s mp:conceptClass ?cls . ?cls mp:graphLabel ?label } GROUP BY ?label""")
    for label, count in expected:
        result = writable_db.run_read(f"MATCH (n:{get_schema().check_label(str(label))}) RETURN count(n) AS n")
        assert result.rows[0]["n"] == int(count), label
    mappings = graph.query(PREFIXES + """
        SELECT (COUNT(*) AS ?n) WHERE { ?a skos:closeMatch|skos:exactMatch|skos:broadMatch ?b .
            ?a skos:inScheme/mp:conceptClass ?x . ?b skos:inScheme/mp:conceptClass ?y }""")
    assert writable_db.run_read("MATCH ()-[r:MAPS_TO]->() RETURN count(r) AS n").rows[0]["n"] == int(
        next(iter(mappings))[0])


def test_ladybug_types_cover_every_ontology_range() -> None:
    for spec in get_schema().nodes.values():
        for prop in spec.properties:
            assert prop.type in LADYBUG_TYPES
