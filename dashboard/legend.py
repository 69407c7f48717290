"""Colours and names for the dashboard's legends, derived from the ontology.

Class colours are the ontology's ``mp:legendColour`` (``get_schema().nodes[label].colour``). Factor
*kinds* (``mp:factorKind`` on each factor concept) have no colour in the ontology, so each kind the
vocabulary knows gets one from a fixed colour-blind-aware palette, in sorted order of kind: the same
kind always has the same colour, on every page and in every view. Every palette colour has at least
3:1 contrast against the white page (WCAG 1.4.11), and nodes also carry a dark outline and a text
label, so colour is never the only cue.
"""

from __future__ import annotations

from functools import lru_cache

from graph_model.schema import get_schema
from graph_model.vocab import get_vocabulary

# Categorical palette (Okabe-Ito / Paul Tol colours, darkened where needed for 3:1 on white).
PALETTE: tuple[str, ...] = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#332288", "#997700",
    "#882255", "#6699CC", "#117733", "#AA4499", "#7F7F7F", "#EE3377",
)
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
def kind_colours() -> dict[str, str]:
    """Colour of each factor kind; a kind the vocabulary does not know uses the Factor class colour."""
    colours = {kind: PALETTE[i % len(PALETTE)] for i, kind in enumerate(factor_kinds())}
    colours[UNKNOWN_KIND] = class_colour("Factor")
    return colours


def kind_colour(kind: str | None) -> str:
    colours = kind_colours()
    return colours.get(kind or UNKNOWN_KIND, colours[UNKNOWN_KIND])


def kind_name(kind: str | None) -> str:
    """Human-readable name of a factor kind: ``self_harm`` -> ``Self harm``."""
    return (kind or UNKNOWN_KIND).replace("_", " ").capitalize()


def contrast_ratio(foreground: str, background: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio between two ``#rrggbb`` colours."""
    def luminance(colour: str) -> float:
        rgb = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)
