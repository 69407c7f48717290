"""The Micropathways ontology: Turtle files shipped with the package.

The files here are the single source of truth for the graph schema, vocabularies, validation
shapes and provenance model. Code reads them through :mod:`graph_model`.
"""

from pathlib import Path

ONTOLOGY_DIR = Path(__file__).resolve().parent

__all__ = ["ONTOLOGY_DIR"]
