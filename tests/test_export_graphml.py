"""GraphML for Gephi and the `micropath export` / `micropath import` commands, on the hand-made fixture (embedded;
the RDF and Data Cube tests cover both engines). Expected counts come from the fixture's plain-Python cases."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from rdflib import RDF, Graph, Namespace

from cli.main import main
from tests.graph_fixtures import CASES, build_fixture_graph

MP = Namespace("https://w3id.org/micropathways/ontology#")


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"embedded:{build_fixture_graph(tmp_path_factory.mktemp('fx') / 'fx.lbdb')}"


def _classes(graph: nx.MultiDiGraph) -> pd.Series:
    return pd.Series([data["class"] for _, data in graph.nodes(data=True)]).value_counts()


def test_graphml_of_the_graph_opens_with_networkx(fixture_db: str, tmp_path: Path) -> None:
    out = tmp_path / "graph.graphml"
    assert main(["export", "graphml", "--db", fixture_db, "-o", str(out)]) == 0
    graph = nx.read_graphml(out)
    classes = _classes(graph)
    assert classes["Homicide"] == sum(c.label == "Homicide" for c in CASES)
    assert classes["Victim"] == sum(len(c.victims) for c in CASES)
    edges = pd.Series([d["label"] for _, _, d in graph.edges(data=True)]).value_counts()
    assert edges["NEXT"] == sum(max(len(c.events) - 1, 0) for c in CASES)
    assert edges["HAS_FACTOR"] == sum(len(c.factors) for c in CASES)
    absent = [d for _, _, d in graph.edges(data=True) if d["label"] == "HAS_FACTOR" and d["present"] is False]
    assert len(absent) == sum(not p for c in CASES for p in c.factors.values())


def test_graphml_of_a_graph_query_and_refusal_of_a_table(fixture_db: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    case = next(c for c in CASES if c.uid == "fx-coded:2")
    out = tmp_path / "pathway.graphml"
    assert main(["export", "graphml", "--query", "pathway_of_homicide", "-p", f"uid={case.uid}",
                 "--db", fixture_db, "-o", str(out)]) == 0
    graph = nx.read_graphml(out)
    assert graph.number_of_nodes() == len(case.events)
    assert graph.number_of_edges() == len(case.events) - 1
    assert main(["export", "graphml", "--query", "homicides_by_year", "--db", fixture_db,
                 "-o", str(tmp_path / "x.graphml")]) == 1
    assert "no uid column" in capsys.readouterr().err


def test_cli_rdf_import_round_trip_and_csv(fixture_db: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    ttl, copy = tmp_path / "graph.ttl", f"embedded:{tmp_path / 'copy.lbdb'}"
    assert main(["export", "rdf", "--db", fixture_db, "-o", str(ttl)]) == 0
    assert main(["load", "rdf", str(ttl), "--db", copy]) == 1  # several datasets: refused, with the way out
    assert "micropath import rdf" in capsys.readouterr().err
    assert main(["import", "rdf", str(ttl), "--db", copy]) == 0
    assert main(["import", "rdf", str(ttl), "--db", copy]) == 0  # idempotent
    assert "0 new, 0 changed" in capsys.readouterr().out
    again = tmp_path / "again.ttl"
    assert main(["export", "rdf", "--db", copy, "-o", str(again)]) == 0
    a, b = Graph().parse(ttl), Graph().parse(again)
    assert set(a.subjects(RDF.type, MP.Homicide)) == set(b.subjects(RDF.type, MP.Homicide))
    assert len(a) == len(b)
    csv = tmp_path / "prevalence.csv"
    assert main(["export", "csv", "--query", "homicides_by_year", "--db", fixture_db, "-o", str(csv)]) == 0
    frame = pd.read_csv(csv)
    homicides = [c for c in CASES if c.label == "Homicide" or c.kind in ("homicide", "murder_suicide")]
    assert frame["homicides"].sum() == len(homicides)


def test_cli_datacube_and_jsonld(fixture_db: str, tmp_path: Path) -> None:
    cube = tmp_path / "cube.jsonld"
    assert main(["export", "datacube", "--cube", "factor_prevalence_by_dataset", "--dataset", "fx-coded",
                 "--db", fixture_db, "-o", str(cube)]) == 0
    graph = Graph().parse(cube, format="json-ld")
    qb = Namespace("http://purl.org/linked-data/cube#")
    fx = [c for c in CASES if c.dataset == "fx-coded"]
    assert len(set(graph.subjects(RDF.type, qb.Observation))) == len({f for c in fx for f in c.factors})
    assert main(["export", "datacube", "--suppress", "--dataset", "fx-coded", "--db", fixture_db,
                 "-o", str(tmp_path / "s.ttl")]) == 0
    suppressed = Graph().parse(tmp_path / "s.ttl")
    assert not set(suppressed.subjects(RDF.type, qb.Observation))  # every fixture cell is under 10
    assert main(["export", "rdf", "--suppress", "--db", fixture_db, "-o", str(tmp_path / "x.ttl")]) == 1
