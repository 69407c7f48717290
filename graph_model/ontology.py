"""Read the Turtle ontology once and expose it as an rdflib graph."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rdflib import Graph, Namespace

from ontology import ONTOLOGY_DIR

MP = Namespace("https://w3id.org/micropathways/ontology#")
SCHEMA = Namespace("https://schema.org/")
VOCAB_BASE = "https://w3id.org/micropathways/vocab/"


def ontology_files(root: Path = ONTOLOGY_DIR) -> list[Path]:
    """Every Turtle file of the ontology, in a stable order."""
    return sorted(root.rglob("*.ttl"))


@lru_cache(maxsize=4)
def load_ontology(root: Path = ONTOLOGY_DIR) -> Graph:
    """Parse all Turtle files under ``root`` into one graph (cached: the files are read-only)."""
    graph = Graph()
    for path in ontology_files(root):
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises several parser exception types
            raise ValueError(f"ontology file {path} does not parse as Turtle: {exc}") from exc
    return graph
