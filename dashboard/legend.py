"""Colours and names for the dashboard's legends, derived from the ontology.

Class colours are the ontology's ``mp:legendColour`` (``get_schema().nodes[label].colour``); factor
*kinds* (``mp:factorKind`` on each factor concept) are ``mp:FactorKind`` individuals in the common
vocabulary with a name and an ``mp:legendColour`` of their own (colour-blind-aware, at least 3:1 contrast
against the white page, WCAG 1.4.11). Nodes also carry a dark outline and a text label, so colour is never
the only cue. A kind the ontology does not describe falls back to the Factor class colour.
"""

from __future__ import annotations

from functools import lru_cache

from rdflib import RDF, RDFS, SKOS

from graph_model.ontology import MP, load_ontology
from graph_model.schema import get_schema
from graph_model.vocab import get_vocabulary

UNKNOWN_KIND = "other"


def class_colour(label: str) -> str:
    """The ontology's legend colour of graph label ``label`` (e.g. ``Factor``)."""
    return get_schema().node(label).colour


@lru_cache(maxsize=1)
def factor_kinds() -> tuple[str, ...]:
    """Every factor kind the vocabulary uses, sorted."""
    kinds = {c.get("kind") for c in get_vocabulary().concepts.values() if c.label_class == "Factor"}
    return tuple(sorted(str(k) for k in kinds if k))


@lru_cache(maxsize=1)
def _described_kinds() -> dict[str, tuple[str, str]]:
    """kind code -> (name, colour) from the ontology's mp:FactorKind individuals."""
    graph = load_ontology()
    out = {}
    for kind in graph.subjects(RDF.type, MP.FactorKind):
        out[str(graph.value(kind, SKOS.notation))] = (str(graph.value(kind, RDFS.label)),
                                                      str(graph.value(kind, MP.legendColour)))
    return out


def kind_colours() -> dict[str, str]:
    """Colour of each factor kind; a kind the ontology does not describe uses the Factor class colour."""
    described = _described_kinds()
    colours = {kind: described[kind][1] for kind in factor_kinds() if kind in described}
    colours[UNKNOWN_KIND] = class_colour("Factor")
    return colours


def kind_colour(kind: str | None) -> str:
    colours = kind_colours()
    return colours.get(kind or UNKNOWN_KIND, colours[UNKNOWN_KIND])


def kind_name(kind: str | None) -> str:
    """Human-readable name of a factor kind, as the ontology names it: ``self_harm`` -> ``Self harm``."""
    described = _described_kinds()
    if kind in described:
        return described[kind][0]
    return (kind or UNKNOWN_KIND).replace("_", " ").capitalize()


def contrast_ratio(foreground: str, background: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio between two ``#rrggbb`` colours."""
    def luminance(colour: str) -> float:
        rgb = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)
