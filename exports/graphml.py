"""GraphML for Gephi (and yEd, Cytoscape): the graph, one dataset, or a graph-shaped query result.

Nodes are keyed by their RDF IRI (exports/iris.py), so a node has the same identity in every export.
Node attributes: ``label`` (what Gephi shows: the concept or dataset label, else the uid), ``class`` (the
graph label, e.g. Homicide, for Gephi's partition colouring) and the node's properties. Edge attributes:
``label`` (the relationship type) and the relationship's properties. Missing values are left out; list
values are written as JSON text.

A graph-shaped saved query (``result = "graph"``: columns source, source_label, source_caption, rel, target,
target_label, target_caption, then attributes) becomes its nodes and edges; the other columns go on the
edge, or on the source node when the row has no edge.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx

from exports.iris import node_iri
from exports.subgraph import ExportError, Subgraph
from graph_model.backend import QueryResult
from graph_model.schema import GraphSchema, get_schema

GRAPH_COLUMNS = ("source", "source_label", "source_caption", "rel", "target", "target_label", "target_caption")


def _attr(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (list, dict)) else value


def from_subgraph(subgraph: Subgraph, schema: GraphSchema | None = None) -> nx.MultiDiGraph:
    schema = schema or get_schema()
    graph = nx.MultiDiGraph()
    for label, rows in subgraph.nodes.items():
        vocabulary = schema.node(label).vocabulary
        for row in rows:
            caption = row.get("label") or row.get("name") or row["uid"]
            attrs = {k: _attr(v) for k, v in row.items() if k != "label"}
            graph.add_node(str(node_iri(label, row["uid"], vocabulary=vocabulary)),
                           **attrs, label=str(caption), **{"class": label})
    for (rel_type, src, dst), rows in subgraph.rels.items():
        for row in rows:
            source = str(node_iri(src, row["src"], vocabulary=schema.node(src).vocabulary))
            target = str(node_iri(dst, row["dst"], vocabulary=schema.node(dst).vocabulary))
            graph.add_edge(source, target, label=rel_type, **{k: _attr(v) for k, v in row["props"].items()})
    return graph


def from_query_result(name: str, result: QueryResult, schema: GraphSchema | None = None) -> nx.MultiDiGraph:
    """Nodes and edges of a graph-shaped saved query result."""
    schema = schema or get_schema()
    missing = [c for c in GRAPH_COLUMNS if c not in result.columns]
    if missing:
        raise ExportError(f"query {name!r} is not graph-shaped (no column(s) {missing}); GraphML of a query needs "
                          "a result = \"graph\" query such as pathway_of_homicide. For a table use "
                          f"`micropath query {name} --format csv`, or `micropath export datacube --query {name}`.")
    extra = [c for c in result.columns if c not in GRAPH_COLUMNS]
    graph = nx.MultiDiGraph()

    def node(uid: Any, label: Any, caption: Any) -> str:
        label = schema.check_label(str(label))
        key = str(node_iri(label, str(uid), vocabulary=schema.node(label).vocabulary))
        if key not in graph:
            graph.add_node(key, uid=str(uid), label=str(caption if caption is not None else uid), **{"class": label})
        return key

    for row in result.rows:
        source = node(row["source"], row["source_label"], row["source_caption"])
        attrs = {c: _attr(row[c]) for c in extra if row[c] is not None}
        if row["target"] is None:
            graph.nodes[source].update(attrs)
            continue
        target = node(row["target"], row["target_label"], row["target_caption"])
        graph.add_edge(source, target, label=str(row["rel"]), **attrs)
    return graph


def write_graphml(graph: nx.MultiDiGraph, path: Path) -> None:
    nx.write_graphml(graph, str(path), encoding="utf-8", prettyprint=True, named_key_ids=True)
