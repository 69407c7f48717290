"""A GraphBundle: everything one load will write, as DataFrames shaped by the schema.

Loaders build a bundle; :meth:`GraphBundle.conform` checks it against the ontology-derived schema
and casts every column to its declared type; backends write it. Ownership follows the ontology's
``mp:role``: a *record* (Homicide, Incident) owns the nodes whose ``record_uid`` names it and the
relationships that start at it or at its owned nodes. ``content_hash`` summarises a record and
everything it owns, so a reload can skip unchanged records and replace changed ones whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from graph_model.schema import GraphSchema, PropertySpec

RelKey = tuple[str, str, str]  # (type, from label, to label)

_ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "boolean": pa.bool_(),
    "double": pa.float64(),
}
_PANDAS_TYPES = {
    "string": "string[pyarrow]",
    "integer": "int64[pyarrow]",
    "boolean": "bool[pyarrow]",
    "double": "double[pyarrow]",
}


class BundleError(ValueError):
    """The bundle does not fit the schema (a programming error in a loader, not bad input)."""


@dataclass
class GraphBundle:
    dataset: str
    nodes: dict[str, pd.DataFrame] = field(default_factory=dict)
    rels: dict[RelKey, pd.DataFrame] = field(default_factory=dict)

    def add_nodes(self, label: str, frame: pd.DataFrame) -> None:
        if label in self.nodes:
            frame = pd.concat([self.nodes[label], frame], ignore_index=True)
        self.nodes[label] = frame

    def add_rels(self, rel_type: str, from_label: str, to_label: str, frame: pd.DataFrame) -> None:
        key = (rel_type, from_label, to_label)
        if key in self.rels:
            frame = pd.concat([self.rels[key], frame], ignore_index=True)
        self.rels[key] = frame

    def count_nodes(self) -> int:
        return sum(len(f) for f in self.nodes.values())

    def count_rels(self) -> int:
        return sum(len(f) for f in self.rels.values())

    # ---- schema conformance ----------------------------------------------------------------
    def conform(self, schema: GraphSchema) -> GraphBundle:
        """Check labels, types and properties against ``schema``; cast columns; add content hashes."""
        nodes = {label: _conform_frame(frame, schema.node(label).properties, label)
                 for label, frame in self.nodes.items() if label != "_"}
        rels: dict[RelKey, pd.DataFrame] = {}
        for (rel_type, src, dst), frame in self.rels.items():
            spec = schema.rel(rel_type)
            if (src, dst) not in spec.pairs:
                raise BundleError(f"{rel_type} may not connect {src} to {dst}; allowed: {spec.pairs}")
            endpoints = (PropertySpec("from", "string", True), PropertySpec("to", "string", True))
            rels[(rel_type, src, dst)] = _conform_frame(frame, endpoints + spec.properties,
                                                         f"{rel_type}({src}->{dst})")
        for label, frame in nodes.items():
            duplicated = frame["uid"][frame["uid"].duplicated()]
            if len(duplicated):
                raise BundleError(f"{label} has duplicate uids, e.g. {duplicated.iloc[:3].tolist()}")
        bundle = GraphBundle(self.dataset, nodes, rels)
        bundle._add_content_hashes(schema)
        return bundle

    def _add_content_hashes(self, schema: GraphSchema) -> None:
        record_labels = [lb for lb in schema.labels_with_role("record") if lb in self.nodes]
        if not record_labels:
            return
        owned_labels = set(schema.labels_with_role("owned"))
        parts: list[pd.Series] = []
        for label in record_labels:
            frame = self.nodes[label].drop(columns=["content_hash"], errors="ignore")
            parts.append(_row_hashes(frame, frame["uid"], label))
        for label in owned_labels & set(self.nodes):
            frame = self.nodes[label]
            parts.append(_row_hashes(frame, frame["record_uid"], label))
        for (rel_type, src, dst), frame in self.rels.items():
            role = schema.node(src).role
            if role == "record":
                owner = frame["from"]
            elif role == "owned":
                owner = frame["from"].str.rsplit("/", n=1).str[0]
            else:
                continue
            parts.append(_row_hashes(frame, owner, f"{rel_type}:{src}:{dst}"))
        combined = pd.concat(parts)
        # Sum of 64-bit row hashes (wrapping) is order-insensitive, so row order does not matter.
        totals = combined.groupby(level=0).sum()
        for label in record_labels:
            frame = self.nodes[label]
            hashes = frame["uid"].map(totals).astype("uint64")
            frame["content_hash"] = hashes.map(lambda h: f"{int(h):016x}").astype("string[pyarrow]")

    @staticmethod
    def arrow_table(frame: pd.DataFrame) -> pa.Table:
        """An Arrow table of ``frame`` (engines bulk-copy from Arrow, which keeps nulls typed)."""
        return pa.Table.from_pandas(frame, preserve_index=False)


def _row_hashes(frame: pd.DataFrame, owner: pd.Series, salt: str) -> pd.Series:
    values = pd.util.hash_pandas_object(frame.astype("string").fillna("\0null"), index=False,
                                        hash_key=(salt + "0" * 16)[:16])
    return pd.Series(values.to_numpy(dtype=np.uint64), index=owner.to_numpy())


def conform_nodes(schema: GraphSchema, label: str, frame: pd.DataFrame) -> pd.DataFrame:
    """One label's node frame with the ontology's columns, in its order and types (for derived nodes)."""
    return _conform_frame(frame, schema.node(label).properties, label)


def _conform_frame(frame: pd.DataFrame, props: tuple[PropertySpec, ...], where: str) -> pd.DataFrame:
    known = {p.name for p in props}
    extra = [c for c in frame.columns if c not in known]
    if extra:
        raise BundleError(f"{where}: columns {extra} are not properties in the ontology")
    out = {}
    for prop in props:
        if prop.name in frame.columns:
            column = frame[prop.name]
        elif prop.name == "content_hash":
            column = pd.Series([""] * len(frame), index=frame.index)
        else:
            column = pd.Series([None] * len(frame), index=frame.index, dtype="object")
        try:
            column = column.astype(_PANDAS_TYPES[prop.type])
        except (TypeError, ValueError) as exc:
            raise BundleError(f"{where}.{prop.name}: cannot hold values as {prop.type}: {exc}") from exc
        if prop.required and prop.name != "content_hash" and column.isna().any():
            raise BundleError(f"{where}.{prop.name} is required but has {int(column.isna().sum())} nulls")
        out[prop.name] = column
    return pd.DataFrame(out).reset_index(drop=True)


def arrow_type(value_type: str) -> pa.DataType:
    return _ARROW_TYPES[value_type]

