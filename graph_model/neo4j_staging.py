"""Large Neo4j loads that stay all-or-nothing: stage in committed batches, publish in one transaction.

A Neo4j transaction keeps its changes in the server heap, so one transaction cannot hold a very large
load (100,000 synthetic homicides are 3.5 M nodes and relationships). Above a size threshold
(:attr:`Neo4jBackend.stage_above_rows`) a load runs in two phases instead:

1. **Staging.** The records this load writes, the nodes they own and any new shared node (a vocabulary
   concept, an area, the dataset) are created in batches, each batch its own transaction (the driver's
   managed transactions retry transient errors), under the labels ``MpStaging`` and ``MpStaging<Label>``
   (e.g. ``MpStagingEvent``) — no label of the ontology. Their relationships
   are created too, except ``FROM_DATASET`` and relationships between two existing nodes. Every saved
   query reaches records through a labelled node or through ``(h)-[:FROM_DATASET]->(:Dataset)``, so
   nothing staged is reachable from them. Statements that change existing nodes (deleting the records
   this load replaces, updating vocabulary nodes) are held back.
2. **Publishing**, in one transaction: check that the staging is complete, run the held-back
   statements, give every staged node its real label (removing the staging labels), create the held-back
   relationships, stamp the datasets and recompute their factor tallies. This transaction changes labels;
   it does not create the nodes, so it fits a heap the whole load would not.

A failure before publishing removes this load's staging and re-raises: the graph is as it was. A killed
process leaves staging behind, which no saved query sees and which the next load removes first. A
failure while publishing rolls the publishing transaction back: the graph is as it was.

One load at a time writes to a server (on the embedded engine a lock file enforces it): each staged load
claims the ``(:MpLoadLock)`` node; a second load takes it over and removes the first one's staging, and the
first then fails its check before publishing and publishes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from neo4j import exceptions as neo4j_errors

from graph_model.backend import Progress
from graph_model.errors import QueryError
from graph_model.writer import ROWS_SO_FAR, BundleWriter, records

if TYPE_CHECKING:
    from graph_model.neo4j_backend import Neo4jBackend

STAGING_LABEL = "MpStaging"
STAGING_DDL = ("DROP INDEX mp_staging_uid IF EXISTS",)  # staged nodes are found by element id
# Relationship types never created before publishing: the edge every query uses to reach records.
HELD_TYPES = frozenset({"FROM_DATASET"})
CLEAR_STAGING = "MATCH (n:MpStaging) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS"
CLAIM = "MERGE (l:MpLoadLock {uid: 'load'}) SET l.load = $load, l.started = datetime()"
HOLDER = "OPTIONAL MATCH (l:MpLoadLock {uid: 'load'}) RETURN l.load AS load"
RELEASE = "MATCH (l:MpLoadLock {uid: 'load'}) WHERE l.load = $load DELETE l"

PUBLISH_ATTEMPTS = 6  # a restarting server gets about a minute (2 + 4 + 8 + 16 + 30 s)
Hook = Callable[["StagedLoad"], None]


class StagedLoad:
    """The WriteTarget of the staging phase; :meth:`publish` finishes the load."""

    def __init__(self, backend: Neo4jBackend, batch_rows: int, progress: Progress | None = None) -> None:
        self.backend = backend
        self.schema = backend.schema
        self.batch_rows = batch_rows
        self.progress = progress or (lambda step, n: None)
        self.committed = 0  # rows committed in batches so far (reported as writer.ROWS_SO_FAR)
        self.load_id = uuid.uuid4().hex
        self.staged: dict[str, set[str]] = {}
        self.ids: dict[str, dict[str, str]] = {}
        self.held_statements: list[tuple[str, dict[str, Any]]] = []
        self.held_rels: list[tuple[str, tuple[str, str], pd.DataFrame]] = []
        self._session = backend._session()

    def close(self) -> None:
        self._session.close()

    # ---- WriteTarget ---------------------------------------------------------------------------
    def fetch(self, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        result = self._session.run(cast(Any, query), params or {})
        keys = result.keys()
        return pd.DataFrame([r.values() for r in result], columns=keys)

    def execute(self, query: str, params: dict[str, Any] | None = None) -> None:
        """Statements that change existing nodes wait for the publishing transaction."""
        self.held_statements.append((query, dict(params or {})))

    def insert_nodes(self, label: str, frame: pd.DataFrame) -> int:
        label = self.schema.check_label(label)
        statement = (f"UNWIND $rows AS row CREATE (n:{STAGING_LABEL}:{staging_label(label)}) SET n = row "
                     "RETURN row.uid AS uid, elementId(n) AS id")
        ids = self.ids.setdefault(label, {})
        for start in range(0, len(frame), self.batch_rows):
            batch = frame.iloc[start: start + self.batch_rows]
            ids.update(self._write(statement, {"rows": records(batch)}))
            self._committed(len(batch))
        self.staged.setdefault(label, set()).update(frame["uid"])
        return len(frame)

    def insert_rels(self, rel_type: str, pair: tuple[str, str], frame: pd.DataFrame) -> int:
        rel_type = self.schema.check_rel_type(rel_type)
        src, dst = (self.schema.check_label(label) for label in pair)
        from_staged = frame["from"].isin(self.staged.get(src, set()))
        to_staged = frame["to"].isin(self.staged.get(dst, set()))
        held = ~(from_staged | to_staged) | (rel_type in HELD_TYPES)
        if held.any():
            self.held_rels.append((rel_type, (src, dst), frame[held]))
        for a_staged in (True, False):
            for b_staged in (True, False):
                part = frame[~held & (from_staged == a_staged) & (to_staged == b_staged)]
                if len(part):
                    self._create_rels(rel_type, (src, a_staged), (dst, b_staged), part)
        return len(frame)

    def _create_rels(self, rel_type: str, a: tuple[str, bool], b: tuple[str, bool], frame: pd.DataFrame) -> None:
        """Relationships found by the element ids of their ends (no index lookups per row)."""
        props = [c for c in frame.columns if c not in ("from", "to")]
        assignments = ", ".join(f"{p}: row.{p}" for p in props)  # names conformed to the ontology
        statement = (f"UNWIND $rows AS row MATCH {_end('a', 'f', *a)} MATCH {_end('b', 't', *b)} "
                     f"CREATE (a)-[r:{rel_type} {{{assignments}}}]->(b) RETURN count(r) AS n")
        frame = frame.assign(f=frame["from"].map(self._ids(*a)), t=frame["to"].map(self._ids(*b)))[["f", "t", *props]]
        for start in range(0, len(frame), self.batch_rows):
            rows = records(frame.iloc[start: start + self.batch_rows])
            written = self._write(statement, {"rows": rows})
            if written != len(rows):
                raise QueryError(f"{len(rows) - written} {rel_type} relationship(s) from {a[0]} to {b[0]} "
                                 "point at nodes that are neither in the graph nor in this load")
            self._committed(written)

    def _committed(self, rows: int) -> None:
        self.committed += rows
        self.progress(ROWS_SO_FAR, self.committed)

    def _ids(self, label: str, staged: bool) -> dict[str, str]:
        """uid -> element id for the nodes of ``label`` staged by this load, or existing in the graph."""
        key = label if staged else f"live:{label}"
        if key not in self.ids:
            found = self.fetch(f"MATCH (n:{self.schema.check_label(label)}) RETURN n.uid AS uid, elementId(n) AS id")
            self.ids[key] = dict(zip(found["uid"], found["id"], strict=True)) if len(found) else {}
        return self.ids[key]

    def _write(self, statement: str, params: dict[str, Any]) -> Any:
        """One batch in its own managed transaction (retried on transient errors): the count a statement
        returns as ``n``, or the ``uid -> id`` pairs it returns."""
        def work(tx: Any) -> Any:
            result = tx.run(statement, params)
            if "id" in list(result.keys()):
                return {record["uid"]: record["id"] for record in result}
            record = result.single()
            return int(record["n"]) if record is not None else 0

        return self._session.execute_write(work)

    # ---- phases -----------------------------------------------------------------------------------
    def claim(self) -> None:
        """Take the load lock and remove any staging left behind (by a killed or displaced load)."""
        self._session.run(CLAIM, {"load": self.load_id}).consume()
        self._session.run(CLEAR_STAGING).consume()

    def abandon(self) -> None:
        """After a failure: remove the staging if this load still holds the lock, and release it."""
        if self._holder() == self.load_id:
            self._session.run(CLEAR_STAGING).consume()
            self._session.run(RELEASE, {"load": self.load_id}).consume()

    def _holder(self) -> str | None:
        record = self._session.run(HOLDER).single()
        return record["load"] if record is not None else None

    def publish(self, writer: BundleWriter) -> None:
        """One transaction: held statements, relabel, held relationships, dataset stamps. Retried on
        transient errors (not on running out of transaction memory, which would fail the same way)."""
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                with self._session.begin_transaction() as tx:
                    self._publish(tx, writer)
                    tx.commit()
                return
            except (neo4j_errors.TransientError, neo4j_errors.ServiceUnavailable,
                    neo4j_errors.SessionExpired) as exc:
                if "MemoryPoolOutOfMemory" in (getattr(exc, "code", "") or "") or attempt == PUBLISH_ATTEMPTS:
                    raise
                time.sleep(min(30.0, 2.0 ** attempt))

    def _publish(self, tx: Any, writer: BundleWriter) -> None:
        self._check_complete(tx)
        for statement, params in self.held_statements:
            tx.run(statement, params).consume()
        for label in self.staged:
            tx.run(f"MATCH (n:{staging_label(label)}) SET n:{label} REMOVE n:{STAGING_LABEL}:{staging_label(label)}"
                   ).consume()
        self.backend._tx = tx
        try:
            for rel_type, pair, frame in self.held_rels:
                self.backend.insert_rels(rel_type, pair, frame)
            writer.db = self.backend
            writer.update_datasets()
        finally:
            self.backend._tx = None
        tx.run(RELEASE, {"load": self.load_id}).consume()

    def _check_complete(self, tx: Any) -> None:
        holder = tx.run(HOLDER).single()["load"]
        expected = {label: len(uids) for label, uids in self.staged.items() if uids}
        found = {label: tx.run(f"MATCH (n:{staging_label(label)}) RETURN count(n) AS n").single()["n"]
                 for label in expected}
        if holder != self.load_id or found != expected:
            raise QueryError(
                "the staged part of this load is incomplete (another load or a clean-up removed it while this "
                f"one ran: expected {expected}, found {found}); nothing was published. Run one load at a time "
                "and load again")


def _end(var: str, key: str, label: str, staged: bool) -> str:
    if staged:
        return f"({var}:{staging_label(label)}) WHERE elementId({var}) = row.{key}"
    return f"({var}:{label}) WHERE elementId({var}) = row.{key}"


def staging_label(label: str) -> str:
    """The label a node of ``label`` (already checked against the ontology) carries while staged."""
    return f"{STAGING_LABEL}{label}"


def rel_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Relationship rows as the load statements take them: ``{f: from uid, t: to uid, p: {props}}``."""
    props = [c for c in frame.columns if c not in ("from", "to")]
    return [{"f": r["from"], "t": r["to"], "p": {k: r[k] for k in props}} for r in records(frame)]
