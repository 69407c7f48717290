"""The engine-agnostic steps of one load: diff against the graph, delete changed, insert the rest.

Both backends run these steps inside one transaction they own; each supplies four primitives
(:class:`WriteTarget`). All Cypher here is portable between LadybugDB and Neo4j; labels and types
come from the ontology-derived schema, never from input.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import pandas as pd

from graph_model import revision, tallies
from graph_model.backend import LoadReport, Progress
from graph_model.bundle import GraphBundle, RelKey, conform_nodes
from graph_model.schema import GraphSchema

# Shared-node properties that change on every load and must not count as a change.
VOLATILE = frozenset({"loaded_at", "record_count", "tallies_version"})
STEPS = 7
# A progress call with this step name reports rows committed so far inside a step (a staged Neo4j load
# commits in batches); it is not a step of its own.
ROWS_SO_FAR = "rows committed so far"
# Relationships owned by a run (links): the status of an unreviewed one, and the columns a review sets.
UNREVIEWED = "proposed"
REVIEW_COLUMNS = ("status", "reviewer", "reviewed_at")


class WriteTarget(Protocol):
    schema: GraphSchema

    def fetch(self, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame: ...

    def execute(self, query: str, params: dict[str, Any] | None = None) -> None: ...

    def insert_nodes(self, label: str, frame: pd.DataFrame) -> int: ...

    def insert_rels(self, rel_type: str, pair: tuple[str, str], frame: pd.DataFrame) -> int: ...


class BundleWriter:
    """Write one conformed bundle through a WriteTarget; fills in a LoadReport."""

    def __init__(self, target: WriteTarget, bundle: GraphBundle, report: LoadReport,
                 progress: Progress | None = None) -> None:
        self.db = target
        self.schema = target.schema
        self.bundle = bundle
        self.report = report
        self.progress = progress or (lambda step, n: None)
        self.write_owners: set[str] = set()
        self.changed_uids: list[str] = []
        self.kept_links: dict[RelKey, pd.DataFrame] = {}  # reviewed links of changed records, written again

    def write(self) -> None:
        self.write_content()
        self.update_datasets()

    def write_content(self) -> None:
        """Everything but the dataset bookkeeping: diff, shared nodes, delete changed, insert."""
        self._diff_records()
        self._write_shared_nodes()
        self._delete_changed()
        self._insert_records_and_owned()
        self._insert_rels()

    def update_datasets(self) -> None:
        """Stamp each dataset written with the time and its record count, and recompute its derived
        factor tallies, and those of any dataset whose tallies are missing (run after the content is in);
        if anything changed, give the graph a new revision (graph_model/revision.py)."""
        self._update_datasets()
        refreshed = self._refresh_tallies()
        if self.report.changed_anything or refreshed:
            self.db.execute(revision.STAMP, revision.stamp_params())  # readers' caches see the change

    def _diff_records(self) -> None:
        for label in self.schema.labels_with_role("record"):
            frame = self.bundle.nodes.get(label)
            if frame is None or frame.empty:
                continue
            existing = self.db.fetch(
                f"MATCH (n:{label}) WHERE n.dataset = $d RETURN n.uid AS uid, n.content_hash AS h",
                {"d": self.bundle.dataset})
            known = dict(zip(existing["uid"], existing["h"], strict=True)) if len(existing) else {}
            old_hash = frame["uid"].map(known)
            new = old_hash.isna()
            changed = ~new & (old_hash != frame["content_hash"])
            self.report.records_new += int(new.sum())
            self.report.records_changed += int(changed.sum())
            self.report.records_unchanged += int((~new & ~changed).sum())
            self.changed_uids += frame.loc[changed, "uid"].tolist()
            self.write_owners.update(frame.loc[new | changed, "uid"])
        self.progress("compared records with the graph", len(self.write_owners))

    def _delete_changed(self) -> None:
        uids = self.changed_uids
        if uids:
            self._keep_reviewed_links(uids)
            for label in self.schema.labels_with_role("owned"):
                self.db.execute(f"MATCH (n:{label}) WHERE n.record_uid IN $u DETACH DELETE n", {"u": uids})
            for label in self.schema.labels_with_role("record"):
                self.db.execute(f"MATCH (n:{label}) WHERE n.uid IN $u DETACH DELETE n", {"u": uids})
        self.progress("removed changed records", len(uids))

    def _write_shared_nodes(self) -> None:
        for label in self.schema.labels_with_role("shared"):
            frame = self.bundle.nodes.get(label)
            if frame is None or frame.empty:
                continue
            columns = list(frame.columns)
            returns = ", ".join(f"n.{c} AS {c}" for c in columns)
            existing = self.db.fetch(f"MATCH (n:{label}) WHERE n.uid IN $u RETURN {returns}",
                                     {"u": frame["uid"].tolist()})
            known = set(existing["uid"]) if len(existing) else set()
            is_new = ~frame["uid"].isin(known)
            self.report.nodes_written += self.db.insert_nodes(label, frame[is_new])
            if len(existing):
                self._update_shared(label, frame[~is_new], existing)
        self.progress("wrote vocabulary, areas and datasets", self.report.nodes_written)

    def _update_shared(self, label: str, frame: pd.DataFrame, existing: pd.DataFrame) -> None:
        compare = [c for c in frame.columns if c not in VOLATILE and c != "uid"]
        merged = frame.merge(existing, on="uid", suffixes=("", "_old"), how="left")
        differs = pd.Series(False, index=merged.index)
        for column in compare:
            new, old = merged[column].astype("string"), merged[f"{column}_old"].astype("string")
            differs |= ~((new == old).fillna(False) | (new.isna() & old.isna()))
        rows = frame[differs.to_numpy()]
        if rows.empty:
            return
        assignments = ", ".join(f"n.{c} = r.{c}" for c in compare)
        self.db.execute(f"UNWIND $rows AS r MATCH (n:{label} {{uid: r.uid}}) SET {assignments}",
                        {"rows": records(rows[["uid", *compare]])})
        self.report.nodes_written += len(rows)

    def _insert_records_and_owned(self) -> None:
        owners = self.write_owners
        for label in self.schema.labels_with_role("record"):
            frame = self.bundle.nodes.get(label)
            if frame is not None:
                self.report.nodes_written += self.db.insert_nodes(label, frame[frame["uid"].isin(owners)])
        for label in self.schema.labels_with_role("owned"):
            frame = self.bundle.nodes.get(label)
            if frame is not None:
                self.report.nodes_written += self.db.insert_nodes(
                    label, frame[frame["record_uid"].isin(owners)])
        self.progress("inserted records", self.report.nodes_written)

    def _insert_rels(self) -> None:
        for key, frame in self.bundle.rels.items():
            rows = self._rels_to_write(key, frame)
            self.report.rels_written += self.db.insert_rels(key[0], (key[1], key[2]), rows)
        for (rel_type, src, dst), rows in self.kept_links.items():
            self.report.rels_written += self.db.insert_rels(rel_type, (src, dst), rows)
        self.progress("inserted relationships", self.report.rels_written)

    def _keep_reviewed_links(self, uids: list[str]) -> None:
        """Before changed records are replaced (detached and inserted again under the same uid), keep the
        run-owned relationships of theirs that a reviewer decided (status not ``proposed``): a reviewer's
        decision is never lost by a reload. Proposed ones go; re-running the link run proposes them again
        from the new content, and keeps these decisions (see :meth:`_run_rels_to_write`)."""
        for rel_type in (t for t in self.schema.rels if self._owned_by_run(t)):
            names = [p.name for p in self.schema.rel(rel_type).properties]
            if "status" not in names:
                continue
            returns = ", ".join(f"r.{n} AS {n}" for n in names)
            for src, dst in self.schema.rel(rel_type).pairs:
                found = self.db.fetch(
                    f"MATCH (a:{src})-[r:{rel_type}]->(b:{dst}) WHERE (a.uid IN $u OR b.uid IN $u) "
                    f"AND r.status <> $proposed RETURN a.uid AS `from`, b.uid AS `to`, {returns}",
                    {"u": uids, "proposed": UNREVIEWED})
                if len(found):
                    self.kept_links[(rel_type, src, dst)] = found.reset_index(drop=True)

    def _rels_to_write(self, key: RelKey, frame: pd.DataFrame) -> pd.DataFrame:
        rel_type, src, dst = key
        if self._owned_by_run(rel_type):
            return self._run_rels_to_write(key, frame)
        role = self.schema.node(src).role
        if role == "record":
            return frame[frame["from"].isin(self.write_owners)]
        if role == "owned":
            return frame[frame["from"].str.rsplit("/", n=1).str[0].isin(self.write_owners)]
        existing = self.db.fetch(
            f"MATCH (a:{src})-[:{rel_type}]->(b:{dst}) WHERE a.uid IN $u RETURN a.uid AS f, b.uid AS t",
            {"u": frame["from"].unique().tolist()})
        seen = set(zip(existing["f"], existing["t"], strict=True)) if len(existing) else set()
        keep = [(f, t) not in seen for f, t in zip(frame["from"], frame["to"], strict=True)]
        return frame[keep]

    # ---- relationships owned by a run (links between records of two other datasets) -----------
    def _owned_by_run(self, rel_type: str) -> bool:
        """A relationship type with a ``run`` property belongs to the run named there, not to its source."""
        return any(p.name == "run" for p in self.schema.rel(rel_type).properties)

    def _run_rels_to_write(self, key: RelKey, frame: pd.DataFrame) -> pd.DataFrame:
        """Diff a run's relationships with the graph, delete those the bundle replaces, return the rest.

        A bundle holding the run's node (a node whose uid is the run) restates the run: the run's
        relationships it no longer holds are deleted unless reviewed (``status`` not ``proposed``).
        A bundle without it (a review) touches only the relationships it holds. A proposed row never
        overwrites a review decision: it takes over the graph's review columns. Unchanged rows are
        left alone, so writing the same run twice changes nothing.
        """
        rel_type, src, dst = key
        names = [p.name for p in self.schema.rel(rel_type).properties]
        restated = {str(u) for f in self.bundle.nodes.values() for u in f["uid"]}
        runs = sorted(restated | set(frame["run"]))
        returns = ", ".join(f"r.{n} AS p_{n}" for n in names)
        old = self.db.fetch(f"MATCH (a:{src})-[r:{rel_type}]->(b:{dst}) WHERE r.run IN $runs "
                            f"RETURN a.uid AS f, b.uid AS t, {returns}", {"runs": runs})
        old = old.rename(columns={"f": "from", "t": "to", **{f"p_{n}": n for n in names}})
        keys = ["run", "from", "to"]
        merged = frame.merge(old, on=keys, how="outer", suffixes=("", "_old"), indicator=True)
        new_rows = merged["_merge"] != "right_only"
        reviewed = merged["status_old"].notna() & (merged["status_old"] != UNREVIEWED)
        keep_review = new_rows & reviewed & (merged["status"] == UNREVIEWED).fillna(False).astype(bool)
        for column in REVIEW_COLUMNS:
            merged.loc[keep_review, column] = merged.loc[keep_review, f"{column}_old"]
        same = pd.Series(True, index=merged.index)
        for n in (n for n in names if n != "run"):
            a, b = merged[n].astype("string"), merged[f"{n}_old"].astype("string")
            same &= ((a == b).fillna(False) | (a.isna() & b.isna())).astype(bool)
        stale = ~new_rows & merged["run"].isin(restated) & ~reviewed
        replaced = (merged["_merge"] == "both") & ~same
        gone = merged[stale | replaced]
        if len(gone):
            self.db.execute(f"UNWIND $rows AS x MATCH (a:{src} {{uid: x.f}})-[r:{rel_type}]->(b:{dst} {{uid: x.t}}) "
                            "WHERE r.run = x.run DELETE r",
                            {"rows": [{"f": f, "t": t, "run": r} for f, t, r
                                      in zip(gone["from"], gone["to"], gone["run"], strict=True)]})
        insert = merged[new_rows & ((merged["_merge"] == "left_only") | replaced)]
        return insert[list(frame.columns)].astype(frame.dtypes.to_dict()).reset_index(drop=True)

    def _update_datasets(self) -> None:
        frame = self.bundle.nodes.get("Dataset")
        if frame is not None and self.report.changed_anything:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for name in frame["uid"]:
                count = 0
                for label in self.schema.labels_with_role("record"):
                    result = self.db.fetch(
                        f"MATCH (n:{label}) WHERE n.dataset = $d RETURN count(n) AS c", {"d": name})
                    count += int(result["c"].iloc[0])
                self.db.execute("MATCH (d:Dataset {uid: $d}) SET d.loaded_at = $t, d.record_count = $c",
                                {"d": name, "t": stamp, "c": count})
        self.progress("updated datasets", 0)


    def _refresh_tallies(self) -> bool:
        """Recompute the tallies of the datasets written and of any whose tallies are stale; True if any."""
        frame = self.bundle.nodes.get("Dataset")
        written = set(frame["uid"]) if frame is not None and self.report.changed_anything else set()
        stale = self.db.fetch(tallies.STALE, {"version": tallies.TALLIES_VERSION})
        for name in sorted(written | set(stale["uid"] if len(stale) else ())):
            params = tallies.stale_params(name)
            self.db.execute(tallies.DELETE, {"dataset": name})
            rows = tallies.tally_frame(name, self.db.fetch(tallies.SINGLES, {"dataset": name}),
                                       self.db.fetch(tallies.PAIRS, {"dataset": name}))
            if len(rows):
                self.db.insert_nodes(tallies.TALLY_LABEL, conform_nodes(self.schema, tallies.TALLY_LABEL, rows))
            self.db.execute(tallies.STAMP, params)
        self.progress("recomputed factor tallies", 0)
        return bool(written) or bool(len(stale))


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for missing values (drivers and engines take these as parameters)."""
    return [{str(k): (None if _missing(v) else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
