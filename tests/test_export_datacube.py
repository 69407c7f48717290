"""RDF Data Cube exports: observations equal figures computed with pandas from the London CSV and from the
fixture's cases, and the cube passes the integrity constraints of the W3C RDF Data Cube specification
(section 11.1, the SPARQL ASK form: a constraint is broken when its ASK is true) that apply to it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rdflib import RDF, Graph, URIRef

from exports.datacube import QB, build_cube
from graph_model.backend import GraphBackend
from graph_model.vocab import get_vocabulary
from loaders.base import load
from tests.conftest import LONDON_CSV
from tests.graph_fixtures import CASES, common, dataset, write_fixture

PREFIXES = """PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
INTEGRITY = {
    "IC-1 unique data set": """ASK { { ?obs a qb:Observation . FILTER NOT EXISTS { ?obs qb:dataSet ?dataset1 . } }
        UNION { ?obs a qb:Observation ; qb:dataSet ?dataset1, ?dataset2 . FILTER (?dataset1 != ?dataset2) } }""",
    "IC-2 unique DSD": """ASK { { ?dataset a qb:DataSet . FILTER NOT EXISTS { ?dataset qb:structure ?dsd . } }
        UNION { ?dataset a qb:DataSet ; qb:structure ?dsd1, ?dsd2 . FILTER (?dsd1 != ?dsd2) } }""",
    "IC-3 DSD includes measure": """ASK { ?dsd a qb:DataStructureDefinition .
        FILTER NOT EXISTS { ?dsd qb:component [qb:componentProperty [a qb:MeasureProperty]] } }""",
    "IC-4 dimensions have range": """ASK { ?dim a qb:DimensionProperty . FILTER NOT EXISTS { ?dim rdfs:range [] } }""",
    "IC-5 concept dimensions have code lists": """ASK { ?dim a qb:DimensionProperty ; rdfs:range skos:Concept .
        FILTER NOT EXISTS { ?dim qb:codeList [] } }""",
    "IC-11 all dimensions required": """ASK { ?obs qb:dataSet/qb:structure/qb:component/qb:componentProperty ?dim .
        ?dim a qb:DimensionProperty; FILTER NOT EXISTS { ?obs ?dim [] } }""",
    "IC-14 all measures present": """ASK { ?obs qb:dataSet/qb:structure ?dsd .
        FILTER NOT EXISTS { ?dsd qb:component/qb:componentProperty qb:measureType }
        ?dsd qb:component/qb:componentProperty ?measure . ?measure a qb:MeasureProperty;
        FILTER NOT EXISTS { ?obs ?measure [] } }""",
    "IC-19 codes from code list": """ASK { ?obs qb:dataSet/qb:structure/qb:component/qb:componentProperty ?dim .
        ?dim a qb:DimensionProperty ; qb:codeList ?list . ?list a skos:Collection . ?obs ?dim ?v .
        FILTER NOT EXISTS { ?v a skos:Concept . ?list skos:member+ ?v } }""",
}
IC_12 = """ASK { FILTER( ?allEqual ) { SELECT (MIN(?equal) AS ?allEqual) WHERE {
    ?obs1 qb:dataSet ?dataset . ?obs2 qb:dataSet ?dataset . FILTER (?obs1 != ?obs2)
    ?dataset qb:structure/qb:component/qb:componentProperty ?dim . ?dim a qb:DimensionProperty .
    ?obs1 ?dim ?value1 . ?obs2 ?dim ?value2 . BIND( ?value1 = ?value2 AS ?equal) } GROUP BY ?obs1 ?obs2 } }"""


def broken_constraints(cube: Graph, *, pairwise: bool = False) -> list[str]:
    checks = dict(INTEGRITY, **({"IC-12 no duplicate observations": IC_12} if pairwise else {}))
    return [name for name, ask in checks.items() if cube.query(PREFIXES + ask).askAnswer]


def observations(cube: Graph, name: str) -> dict[tuple[str, ...], dict[str, object]]:
    """{dimension values (as text): {measure: value}} read back from the cube with rdflib."""
    base = f"https://w3id.org/micropathways/cube/{name}"
    dims = sorted((int(cube.value(c, QB.order)), cube.value(c, QB.dimension))
                  for c in cube.subjects(QB.dimension, None))
    measures = [m for m in cube.objects(None, QB.measure)]
    out = {}
    for obs in cube.subjects(RDF.type, QB.Observation):
        assert str(obs).startswith(base)
        key = tuple(str(cube.value(obs, d)) for _, d in dims)
        out[key] = {str(m).rsplit("/", 1)[-1]: cube.value(obs, m).toPython() for m in measures}
    return out


def _method_iri(uid: str) -> str:
    return get_vocabulary().concepts[("Method", uid)].uri


def test_london_homicides_by_year_and_method(backend: GraphBackend) -> None:
    load("london-mps", LONDON_CSV, backend)
    cube = build_cube(backend, "homicides_by_year_method")
    assert broken_constraints(cube) == []
    london = pd.read_csv(LONDON_CSV, dtype=str)
    by_label = get_vocabulary().by_label("Method", "mps")
    london["method"] = london["MethodofKilling"].map(
        lambda m: _method_iri(get_vocabulary().common_for("Method", by_label[m].uid)[0]))
    expected = london.groupby(["Recorded Year", "method"]).size()
    dataset_iri = "https://w3id.org/micropathways/id/Dataset/london-mps"
    got = observations(cube, "homicides_by_year_method")
    assert got == {(dataset_iri, year, method): {"homicides": int(n)} for (year, method), n in expected.items()}


def test_suppressed_cube_publishes_no_small_count(backend: GraphBackend) -> None:
    load("london-mps", LONDON_CSV, backend)
    cube = build_cube(backend, "homicides_by_year_method", suppress=10)
    assert broken_constraints(cube) == []
    london = pd.read_csv(LONDON_CSV, dtype=str)
    by_label = get_vocabulary().by_label("Method", "mps")
    london["method"] = london["MethodofKilling"].map(
        lambda m: get_vocabulary().common_for("Method", by_label[m].uid)[0])
    counts = london.groupby(["Recorded Year", "method"]).size()
    got = observations(cube, "homicides_by_year_method")
    assert got and all(v["homicides"] >= 10 for v in got.values())
    full = observations(build_cube(backend, "homicides_by_year_method"), "homicides_by_year_method")
    assert set(got) < set(full)  # published cells are real cells, with their true counts
    assert all(full[k] == v for k, v in got.items())
    assert len(full) == len(counts)
    assert len(full) - len(got) >= (counts < 10).sum()  # every small cell is withheld, and more (secondary)
    assert any("Disclosure control" in str(c) for c in cube.objects(None, URIRef(
        "http://www.w3.org/2000/01/rdf-schema#comment")))


def test_fixture_factor_prevalence_by_dataset(tmp_path: Path) -> None:
    from graph_model.embedded import EmbeddedBackend

    with EmbeddedBackend(tmp_path / "fx.lbdb", read_only=False) as backend:
        write_fixture(backend)
        cube = build_cube(backend, "factor_prevalence_by_dataset")
        year_cube = build_cube(backend, "homicides_by_year_method", {"dataset": "fx-coded"})
    assert broken_constraints(cube, pairwise=True) == []
    assert broken_constraints(year_cube, pairwise=True) == []
    expected: dict[tuple[str, ...], dict[str, object]] = {}
    for name in sorted({c.dataset for c in CASES}):
        cases = [c for c in CASES if c.dataset == name]
        for factor in sorted({f for c in cases for f in c.factors}):
            present = sum(c.factors.get(factor) is True for c in cases)
            coded = len(cases) if dataset(name).factor_recording == "presence_only" else \
                sum(factor in c.factors for c in cases)
            label = "Factor"
            concept = get_vocabulary().concepts.get((label, factor))
            iri = concept.uri if concept else f"https://w3id.org/micropathways/concept/Factor/{factor}"
            expected[(f"https://w3id.org/micropathways/id/Dataset/{name}", iri)] = {
                "n_present": present, "n_coded": coded, "prevalence": present / coded}
    assert observations(cube, "factor_prevalence_by_dataset") == expected
    # a broken cube is caught: drop one observation's dimension value
    obs = next(cube.subjects(RDF.type, QB.Observation))
    dim = next(cube.subjects(RDF.type, QB.DimensionProperty))
    cube.remove((obs, dim, None))
    assert "IC-11 all dimensions required" in broken_constraints(cube)
    # the fixture's year cube: common methods (not-coded records under the cube's own code)
    fx = [c for c in CASES if c.dataset == "fx-coded"]
    expected_years = pd.Series([(str(c.year), common("Method", c.method) or "") for c in fx]).value_counts()
    got = {(k[1], k[2]): v["homicides"] for k, v in observations(year_cube, "homicides_by_year_method").items()}
    assert len(got) == len(expected_years)
    assert sum(got.values()) == len(fx)
