"""RDF export (Turtle, JSON-LD) under the ontology: SHACL-valid, and a round trip through a fresh backend gives an
isomorphic graph, on both engines, for the hand-made fixture plus the Met's London rows.

Expected figures come from the fixture's plain-Python cases and from the London CSV read with pandas, never
from the export code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from exports.rdf import serialize, to_rdf
from exports.shapes import SHAPES_FILE, build_shapes, load_shapes, validate
from exports.subgraph import Scope, read_subgraph
from graph_model.backend import GraphBackend
from loaders.base import load
from loaders.problems import ValidationFailed
from loaders.sources.rdf import prepare_bundles
from tests.conftest import LONDON_CSV, open_fresh
from tests.graph_fixtures import CASES, write_fixture

MP = Namespace("https://w3id.org/micropathways/ontology#")
ID = "https://w3id.org/micropathways/id/"


def _reparsed(graph: Graph, fmt: str = "turtle") -> Graph:
    text = serialize(graph, fmt)
    return Graph().parse(data=text, format="json-ld" if fmt == "jsonld" else "turtle")


def _without_load_times(graph: Graph) -> Graph:
    """loaded_at is the time of the load that wrote a dataset, so a re-import stamps its own."""
    out = Graph()
    for triple in graph:
        if triple[1] != MP.loaded_at:
            out.add(triple)
    return out


def assert_isomorphic(a: Graph, b: Graph) -> None:
    if isomorphic(a, b):
        return
    _, only_a, only_b = graph_diff(to_isomorphic(a), to_isomorphic(b))
    lines = ["only in A:", *sorted(f"  {t}" for t in only_a)[:30],
             "only in B:", *sorted(f"  {t}" for t in only_b)[:30]]
    pytest.fail(f"graphs differ ({len(only_a)} triples only in A, {len(only_b)} only in B)\n" + "\n".join(lines))


def _export(backend: GraphBackend, scope: Scope | None = None) -> Graph:
    return _reparsed(to_rdf(read_subgraph(backend, scope)))


def _fresh_like(backend: GraphBackend, tmp_path: Path, request: pytest.FixtureRequest) -> GraphBackend:
    """An empty writable backend of the same engine (Neo4j: the one server, emptied)."""
    if backend.name == "neo4j":
        backend.delete_all()  # type: ignore[attr-defined]
        return backend
    return open_fresh("embedded", tmp_path / "b", request)


def test_shapes_file_is_generated_from_the_schema() -> None:
    """ontology/shapes/export.ttl cannot drift from core.ttl: regenerate with `python -m exports.shapes`."""
    assert_isomorphic(build_shapes(), load_shapes(SHAPES_FILE))


def test_round_trip_is_isomorphic(backend: GraphBackend, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    write_fixture(backend)
    load("london-mps", LONDON_CSV, backend)
    exported = _export(backend)
    london = pd.read_csv(LONDON_CSV, dtype=str)
    homicides = {str(s) for s in exported.subjects(RDF.type, MP.Homicide)}
    assert len(homicides) == len(london) + sum(c.label == "Homicide" for c in CASES)
    absent = {(str(exported.value(st, RDF.subject)), str(exported.value(st, RDF.object)))
              for st in exported.subjects(MP.present, Literal(False))}
    expected_absent = (london["Domestic Abuse"] == "Not Domestic Abuse").sum() + sum(
        not present for c in CASES for present in c.factors.values())
    assert len(absent) == expected_absent
    assert_isomorphic(exported, _reparsed(exported, "jsonld"))  # JSON-LD says the same as Turtle

    path = tmp_path / "graph.ttl"
    path.write_text(serialize(exported, "turtle"), encoding="utf-8")
    bundles, notes = prepare_bundles(path)
    assert sorted(b.dataset for b in bundles) == ["fx-coded", "fx-empty", "fx-src", "fx-tags", "london-mps"]
    assert notes == []
    target = _fresh_like(backend, tmp_path, request)
    try:
        for bundle in bundles:
            target.write_bundle(bundle)
        assert_isomorphic(_without_load_times(exported), _without_load_times(_export(target)))
    finally:
        if target is not backend:
            target.close()


def test_one_dataset_exports_its_records_and_what_they_reach(backend: GraphBackend, tmp_path: Path,
                                                            request: pytest.FixtureRequest) -> None:
    write_fixture(backend)
    exported = _export(backend, Scope(dataset="fx-src"))
    cases = [c for c in CASES if c.dataset == "fx-src"]
    assert {str(s) for s in exported.subjects(RDF.type, MP.Homicide)} == {ID + "Homicide/" + c.uid for c in cases}
    assert {str(s) for s in exported.subjects(RDF.type, MP.Dataset)} == {ID + "Dataset/fx-src"}
    assert len(set(exported.subjects(RDF.type, MP.Event))) == sum(len(c.events) for c in cases)
    # the Met's knife concept is exported with the common concept it MAPS_TO
    knife = URIRef("https://w3id.org/micropathways/vocab/mps/method-knife")
    common = set(exported.objects(knife, MP.MAPS_TO))
    assert common and all((c, RDF.type, MP.Method) in exported for c in common)
    conforms, report = validate(exported)
    assert conforms, report

    path = tmp_path / "fx-src.jsonld"
    path.write_text(serialize(exported, "jsonld"), encoding="utf-8")
    target = _fresh_like(backend, tmp_path, request)
    try:
        load("rdf", path, target)  # the loader pipeline: validation, vocabulary, one transaction
        assert_isomorphic(_without_load_times(exported),
                          _without_load_times(_export(target, Scope(dataset="fx-src"))))
    finally:
        if target is not backend:
            target.close()


def test_fixture_export_conforms_to_the_shapes(tmp_path: Path) -> None:
    from graph_model.embedded import EmbeddedBackend

    with EmbeddedBackend(tmp_path / "fx.lbdb", read_only=False) as backend:
        write_fixture(backend)
        exported = _export(backend)
    conforms, report = validate(exported)
    assert conforms, report
    # two parallel CODED_AS or a HAS_FACTOR coded absent keep their own statements
    assert len(set(exported.subjects(MP.present, None))) == sum(len(c.factors) for c in CASES)


def _tampered(graph: Graph) -> Graph:
    out = Graph()
    for triple in graph:
        out.add(triple)
    homicide = URIRef(ID + "Homicide/fx-coded:1")
    out.remove((homicide, MP.year, None))
    out.add((homicide, MP.year, Literal("2019", datatype=XSD.string)))  # wrong datatype
    out.add((homicide, MP.favourite_colour, Literal("blue")))  # not in the ontology
    statement = next(out.subjects(MP.present, Literal(False)))
    out.remove((statement, MP.present, None))  # HAS_FACTOR without its required 'present'
    return out


def test_bad_rdf_is_refused_with_every_problem_by_the_loader_and_by_shacl(tmp_path: Path) -> None:
    from graph_model.embedded import EmbeddedBackend

    with EmbeddedBackend(tmp_path / "fx.lbdb", read_only=False) as backend:
        write_fixture(backend)
        exported = _export(backend)
    bad = _tampered(exported)
    path = tmp_path / "bad.ttl"
    path.write_text(serialize(bad, "turtle"), encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        prepare_bundles(path)
    message = str(caught.value)
    assert "nothing was written" in message
    assert "mp:year" in message and str(XSD.integer) in message
    assert "favourite_colour" in message
    assert "mp:present" in message
    conforms, report = validate(bad)
    assert not conforms
    for shape in ("mpx:Homicide-year", "mpx:Statement", "mpx:Homicide"):
        assert shape in report


def test_london_sample_from_a_query_conforms(tmp_path: Path) -> None:
    """SHACL on a saved query's records (pyshacl on the whole London export takes minutes, see docs)."""
    from exports.subgraph import record_uids_of
    from graph_model.embedded import EmbeddedBackend
    from queries.runner import run_saved_query

    london = pd.read_csv(LONDON_CSV, dtype=str)
    with EmbeddedBackend(tmp_path / "l.lbdb", read_only=False) as backend:
        load("london-mps", LONDON_CSV, backend)
        result = run_saved_query(backend, "slice_records", {"dataset": "london-mps", "year_from": 2003,
                                                            "year_to": 2003})
        exported = _export(backend, Scope(uids=tuple(record_uids_of(result.rows, result.columns))))
    assert len(set(exported.subjects(RDF.type, MP.Homicide))) == (london["Recorded Year"] == "2003").sum()
    conforms, report = validate(exported)
    assert conforms, report
