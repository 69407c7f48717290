"""The IRIs of exported things: one stable base plus the node's uid (never a personal value).

* Vocabulary nodes (Factor, Method, ...) are the SKOS concepts of ``ontology/vocab/*.ttl``: their IRI is the
  concept's own IRI there. A vocabulary node that no shipped scheme holds (a partner's own concept) gets
  ``<BASE>concept/<Label>/<uid>``.
* Every other node is ``<BASE>id/<Label>/<uid>`` (e.g. ``.../id/Homicide/london-mps:17``, its victim
  ``.../id/Victim/london-mps:17/v1``).
* A relationship that carries properties is also a reified ``rdf:Statement`` named
  ``<BASE>id/rel/<TYPE>/<hash of its ends and properties>``.

uids are percent-encoded except for ``: / - . _ ~``, so the mapping is one-to-one.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from rdflib import URIRef

from graph_model.ontology import MP
from graph_model.vocab import get_vocabulary

BASE = "https://w3id.org/micropathways/"
ID_BASE = BASE + "id/"
CONCEPT_BASE = BASE + "concept/"
CUBE_BASE = BASE + "cube/"
_SAFE = ":/-._~"

__all__ = ["BASE", "CONCEPT_BASE", "CUBE_BASE", "ID_BASE", "MP", "class_iri", "node_iri", "prop_iri",
           "statement_iri"]


def _segment(uid: str) -> str:
    encoded = quote(uid, safe=_SAFE)
    # "." and ".." segments would be removed by IRI normalisation; encode their dots.
    return "/".join(s.replace(".", "%2E") if s in {".", ".."} else s for s in encoded.split("/"))


@lru_cache(maxsize=1)
def _concept_iris() -> dict[tuple[str, str], str]:
    return {key: concept.uri for key, concept in get_vocabulary().concepts.items() if concept.label_class}


def node_iri(label: str, uid: str, *, vocabulary: bool) -> URIRef:
    """The IRI of the node ``(label, uid)``; ``vocabulary`` for SKOS-concept classes."""
    if vocabulary:
        known = _concept_iris().get((label, uid))
        return URIRef(known if known else f"{CONCEPT_BASE}{label}/{_segment(uid)}")
    return URIRef(f"{ID_BASE}{label}/{_segment(uid)}")


def class_iri(label: str) -> URIRef:
    return MP[label]


def prop_iri(name: str) -> URIRef:
    return MP[name]


def statement_iri(rel_type: str, source: URIRef, target: URIRef, props: dict[str, Any]) -> URIRef:
    """A name for the reified relationship: the same ends and properties give the same IRI."""
    text = json.dumps([str(source), str(target), sorted(props.items())], default=str, ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    return URIRef(f"{ID_BASE}rel/{rel_type}/{digest}")
