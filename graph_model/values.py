"""Convert engine values to plain Python: nodes become property maps with ``_labels``."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from neo4j.graph import Node, Path, Relationship

_INTERNAL_KEYS = {"_ID", "_LABEL", "_SRC", "_DST"}


def plain(value: Any) -> Any:
    """Recursively turn LadybugDB/Neo4j result values into JSON-friendly Python values."""
    if isinstance(value, dict):
        if "_LABEL" in value and "_ID" in value:
            out = {k: plain(value[k]) for k in sorted(value)
                   if k not in _INTERNAL_KEYS and value[k] is not None}
            if "_SRC" in value:
                out["_type"] = value["_LABEL"]
            else:
                out["_labels"] = [value["_LABEL"]]
            return out
        for nodes_key, rels_key in (("_NODES", "_RELS"), ("_nodes", "_rels")):  # a LadybugDB path
            if nodes_key in value and rels_key in value:
                return {"nodes": [plain(n) for n in value[nodes_key]],
                        "relationships": [plain(r) for r in value[rels_key]]}
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Decimal):  # LadybugDB returns sum() of integers as DECIMAL; Neo4j as int
        return int(value) if value == value.to_integral_value() else float(value)
    return neo4j_plain(value)


def neo4j_plain(value: Any) -> Any:
    """Neo4j driver graph types to the same shapes as LadybugDB's."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Node):
        return {**{k: plain(value[k]) for k in sorted(value.keys())}, "_labels": sorted(value.labels)}
    if isinstance(value, Relationship):
        return {**{k: plain(value[k]) for k in sorted(value.keys())}, "_type": value.type}
    if isinstance(value, Path):
        return {"nodes": [plain(n) for n in value.nodes],
                "relationships": [plain(r) for r in value.relationships]}
    return value
