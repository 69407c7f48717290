"""Read the part of the graph an export needs, through read-only queries generated from the schema.

Every statement here is built from ``graph_model.schema`` (labels and types checked with
``check_label``/``check_rel_type``, property names from the ontology); values (dataset names, uids) go in
parameters. Reads run through ``GraphBackend.run_read``, so they pass the same read-only layers, time
limit and row cap as saved queries; a capped read is an error, never a silently partial export.

A *scope* says which records: the whole graph, one dataset, or the records a saved query's result names.
A scoped subgraph holds those records, the nodes they own, the relationships that start at them, and the
shared nodes (vocabulary, areas, datasets) those relationships reach, closed under the relationships
that start at shared nodes (``MAPS_TO``), so a consumer can follow a source concept to the common one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graph_model.backend import GraphBackend
from graph_model.errors import MicropathError
from graph_model.schema import GraphSchema, get_schema

RelKey = tuple[str, str, str]  # (type, from label, to label)
EXPORT_MAX_ROWS = 20_000_000
EXPORT_TIMEOUT_S = 600.0


class ExportError(MicropathError):
    """An export cannot be made as asked (unknown dataset, a query result with no records, ...)."""


@dataclass
class Subgraph:
    """Nodes per label (property maps, nulls dropped) and relationships per (type, from, to) as rows with
    ``src``/``dst`` uids and the relationship's non-null properties in ``props``."""

    nodes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rels: dict[RelKey, list[dict[str, Any]]] = field(default_factory=dict)

    def count_nodes(self) -> int:
        return sum(len(rows) for rows in self.nodes.values())

    def count_rels(self) -> int:
        return sum(len(rows) for rows in self.rels.values())


@dataclass(frozen=True)
class Scope:
    """Which records to export: all (``dataset`` and ``uids`` None), one dataset, or given record uids."""

    dataset: str | None = None
    uids: tuple[str, ...] | None = None

    @property
    def whole(self) -> bool:
        return self.dataset is None and self.uids is None


class _Reader:
    def __init__(self, backend: GraphBackend, schema: GraphSchema) -> None:
        self.backend, self.schema = backend, schema

    def rows(self, query: str, params: dict[str, Any], tag: str) -> list[dict[str, Any]]:
        result = self.backend.run_read(query, params, timeout_s=EXPORT_TIMEOUT_S, max_rows=EXPORT_MAX_ROWS,
                                       tag=f"export:{tag}")
        if result.truncated:
            raise ExportError(f"export read {tag!r} has more than {EXPORT_MAX_ROWS} rows; export one dataset "
                              "at a time (--dataset NAME)")
        return result.rows

    def nodes(self, label: str, where: str = "", params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        spec = self.schema.node(self.schema.check_label(label))
        returns = ", ".join(f"n.{p.name} AS {p.name}" for p in spec.properties)
        query = f"MATCH (n:{label}) {where} RETURN {returns} ORDER BY n.uid"
        return [_drop_nulls(row) for row in self.rows(query, params or {}, label)]

    def rels(self, key: RelKey, where: str = "", params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        rel_type, src, dst = key
        spec = self.schema.rel(self.schema.check_rel_type(rel_type))
        self.schema.check_label(src), self.schema.check_label(dst)
        returns = "".join(f", r.{p.name} AS {p.name}" for p in spec.properties)
        query = (f"MATCH (a:{src})-[r:{rel_type}]->(b:{dst}) {where} "
                 f"RETURN a.uid AS src_uid, b.uid AS dst_uid{returns}")
        out = []
        for row in self.rows(query, params or {}, f"{rel_type}({src}->{dst})"):
            props = _drop_nulls({p.name: row[p.name] for p in spec.properties})
            out.append({"src": row["src_uid"], "dst": row["dst_uid"], "props": props})
        out.sort(key=lambda r: (r["src"], r["dst"], sorted(r["props"].items())))
        return out


EXPORTED_ROLES = ("record", "owned", "shared")  # 'derived' nodes (tallies) are recomputed by every load


def exported_labels(schema: GraphSchema) -> list[str]:
    return [label for label, spec in schema.nodes.items() if spec.role in EXPORTED_ROLES]


def rel_keys(schema: GraphSchema) -> list[RelKey]:
    labels = set(exported_labels(schema))
    return [(spec.type, src, dst) for spec in schema.rels.values() for src, dst in spec.pairs
            if src in labels and dst in labels]


def read_subgraph(backend: GraphBackend, scope: Scope | None = None,
                  schema: GraphSchema | None = None) -> Subgraph:
    """The subgraph of ``scope`` (default: the whole graph)."""
    schema = schema or get_schema()
    scope = scope or Scope()
    reader = _Reader(backend, schema)
    if scope.whole:
        return Subgraph({label: reader.nodes(label) for label in exported_labels(schema)},
                        {key: reader.rels(key) for key in rel_keys(schema)})
    graph = Subgraph()
    record_uids = _read_records(reader, scope, graph)
    if scope.dataset is not None and not any(
            row["uid"] == scope.dataset for row in reader.nodes("Dataset", "WHERE n.uid = $d", {"d": scope.dataset})):
        raise ExportError(f"there is no dataset {scope.dataset!r} in the graph; `micropath datasets` lists them")
    if record_uids:
        for label in schema.labels_with_role("owned"):
            graph.nodes[label] = reader.nodes(label, "WHERE n.record_uid IN $r", {"r": record_uids})
    for key in rel_keys(schema):
        role = schema.node(key[1]).role
        if record_uids and role in ("record", "owned"):
            column = "uid" if role == "record" else "record_uid"
            graph.rels[key] = reader.rels(key, f"WHERE a.{column} IN $r", {"r": record_uids})
    _add_shared(reader, schema, graph, scope)
    return graph


def _read_records(reader: _Reader, scope: Scope, graph: Subgraph) -> list[str]:
    uids: list[str] = []
    for label in reader.schema.labels_with_role("record"):
        if scope.dataset is not None:
            rows = reader.nodes(label, "WHERE n.dataset = $d", {"d": scope.dataset})
        else:
            rows = reader.nodes(label, "WHERE n.uid IN $u", {"u": list(scope.uids or ())}) if scope.uids else []
        graph.nodes[label] = rows
        uids += [row["uid"] for row in rows]
    return uids


def _add_shared(reader: _Reader, schema: GraphSchema, graph: Subgraph, scope: Scope) -> None:
    """Shared nodes the scoped relationships reach, closed under relationships from shared nodes."""
    shared = set(schema.labels_with_role("shared"))
    wanted: dict[str, set[str]] = {label: set() for label in shared}
    if scope.dataset is not None:
        wanted["Dataset"].add(scope.dataset)
    for (_, _, dst), rows in graph.rels.items():
        if dst in shared:
            wanted[dst].update(row["dst"] for row in rows)
    shared_rels = {key: reader.rels(key) for key in rel_keys(schema) if key[1] in shared}
    _close(wanted, shared_rels)
    for key, rows in shared_rels.items():
        graph.rels[key] = [r for r in rows if r["src"] in wanted[key[1]] and r["dst"] in wanted[key[2]]]
    for label in sorted(shared):
        uids = sorted(wanted[label])
        graph.nodes[label] = reader.nodes(label, "WHERE n.uid IN $u", {"u": uids}) if uids else []


def _close(wanted: dict[str, set[str]], shared_rels: dict[RelKey, list[dict[str, Any]]]) -> None:
    changed = True
    while changed:
        changed = False
        for (_, src, dst), rows in shared_rels.items():
            reached = {r["dst"] for r in rows if r["src"] in wanted[src]} - wanted[dst]
            if reached:
                wanted[dst] |= reached
                changed = True


def _drop_nulls(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def record_uids_of(rows: Iterable[dict[str, Any]], columns: list[str]) -> list[str]:
    """Record uids a saved query's result names: its ``uid`` column, or the ends of a graph result."""
    names = [c for c in ("uid", "source", "target", "homicide") if c in columns]
    if not names:
        raise ExportError(f"the result has no uid column (columns: {columns}); RDF and GraphML of a query need "
                          "a query whose rows name records (a `uid` column, or a graph result). For an "
                          "aggregate table use `micropath export datacube --query NAME` or --format csv.")
    return sorted({str(row[c]) for row in rows for c in names if row.get(c) is not None})
