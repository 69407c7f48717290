"""The Neo4j backend, through the official ``neo4j`` Python driver (py2neo is end-of-life).

Writes: one explicit transaction per load, fed in batches of ``UNWIND $rows …`` statements generated
from the schema (nodes are MERGEd on their key; relationships of records written in this load are
CREATEd, since those records were just created or re-created; shared relationships are diffed first).
If anything fails the transaction rolls back, so the graph is as it was; transient errors retry the
whole load, which is safe because the diff makes it idempotent. Managed transactions (staged batches,
publishing) are retried by the driver on transient errors for ``$MICROPATH_NEO4J_RETRY_S`` seconds (a
positive number; default 120): lower it to fail faster when the server is gone for good.

Reads, in layers: the lexical statement check (GraphBackend.run_read); ``EXPLAIN`` and refusal of any
plan whose query type is not read-only ('r'); a read transaction (``execute_read``) with a server-side
time limit and a metadata tag naming the query; a row cap fetching ``max_rows + 1``. The driver's read
access mode alone is only a routing hint, not a guarantee.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import time
from collections.abc import Mapping
from typing import Any, cast

import pandas as pd
from neo4j import READ_ACCESS, GraphDatabase, unit_of_work
from neo4j import exceptions as neo4j_errors

from graph_model.backend import GraphBackend, LoadReport, Progress
from graph_model.bundle import GraphBundle
from graph_model.ddl import neo4j_ddl
from graph_model.errors import (
    BackendUnavailableError,
    MicropathError,
    QueryError,
    QueryTimeoutError,
    WriteRefusedError,
)
from graph_model.neo4j_staging import STAGING_DDL, Hook, StagedLoad, rel_rows
from graph_model.schema import GraphSchema, get_schema
from graph_model.values import plain
from graph_model.writer import BundleWriter, records

BATCH_ROWS = 10_000
RETRIES = 3
RETRY_ENV = "MICROPATH_NEO4J_RETRY_S"
RETRY_SECONDS = 120.0  # default: how long managed transactions (staged batches, publishing) retry transient errors
# Loads with more rows than this (nodes + relationships in the bundle) are staged, not one transaction.
STAGE_ABOVE_ROWS = 250_000
START_HINT = ("start one with `micropath neo4j start` (NEO4J_PASSWORD set), or point --db at a running "
              "server and set NEO4J_USER / NEO4J_PASSWORD")


def retry_seconds() -> float:
    """How long the driver retries a managed transaction: ``$MICROPATH_NEO4J_RETRY_S`` seconds (a positive
    number), else :data:`RETRY_SECONDS`."""
    raw = os.environ.get(RETRY_ENV, "").strip()
    if not raw:
        return RETRY_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise MicropathError(f"{RETRY_ENV}={raw!r} is not a positive number of seconds: set it to e.g. 120 "
                             f"(how long Neo4j transactions retry transient errors) or unset it for the default "
                             f"{RETRY_SECONDS:g}")
    return value


class Neo4jBackend(GraphBackend):
    name = "neo4j"

    def __init__(self, uri: str, *, user: str | None = None, password: str | None = None,
                 database: str | None = None, schema: GraphSchema | None = None) -> None:
        self.uri = uri
        self.schema = schema or get_schema()
        self.database = database or os.environ.get("NEO4J_DATABASE") or None
        auth = (user or os.environ.get("NEO4J_USER", "neo4j"), password or os.environ.get("NEO4J_PASSWORD", ""))
        self.driver = GraphDatabase.driver(uri, auth=auth, user_agent="micropathways",
                                           notifications_min_severity="OFF",
                                           max_transaction_retry_time=retry_seconds())
        self._tx: Any = None
        self.stage_above_rows = int(os.environ.get("MICROPATH_NEO4J_STAGE_ABOVE", STAGE_ABOVE_ROWS))
        self.before_publish: Hook | None = None  # tests pause or break a staged load here
        try:
            self.driver.verify_connectivity()
        except neo4j_errors.AuthError as exc:
            self.driver.close()
            raise BackendUnavailableError(
                f"Neo4j at {uri} refused the credentials of user {auth[0]!r}: set NEO4J_USER and "
                "NEO4J_PASSWORD to a valid account") from exc
        except (neo4j_errors.ServiceUnavailable, OSError) as exc:
            self.driver.close()
            raise BackendUnavailableError(f"no Neo4j server answers at {uri}: {START_HINT}") from exc

    def close(self) -> None:
        self.driver.close()

    def _session(self, **kwargs: Any) -> Any:
        return self.driver.session(database=self.database, **kwargs)

    # ---- schema --------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        with self._session() as session:
            for statement in (*neo4j_ddl(self.schema), *STAGING_DDL):
                session.run(statement).consume()

    # ---- writing -------------------------------------------------------------------------
    def write_bundle(self, bundle: GraphBundle, progress: Progress | None = None) -> LoadReport:
        self.ensure_schema()
        staged = bundle_rows(bundle) > self.stage_above_rows
        for attempt in range(1, RETRIES + 1):
            report = LoadReport(dataset=bundle.dataset)
            start = time.perf_counter()
            try:
                if staged:
                    self._write_staged(bundle, report, progress)
                else:
                    self._write_one_transaction(bundle, report, progress)
            except (neo4j_errors.TransientError, neo4j_errors.SessionExpired) as exc:
                if "MemoryPoolOutOfMemory" in (getattr(exc, "code", "") or ""):
                    raise QueryError(
                        f"loading {bundle.dataset} into Neo4j needs more transaction memory than the server "
                        "allows; nothing was written. Give the server more heap (`micropath neo4j start --heap "
                        "8g`; the limit is dbms.memory.transaction.total.max, 70% of the heap by default) or "
                        "lower MICROPATH_NEO4J_STAGE_ABOVE so the load is staged in batches. "
                        f"Server said: {exc.message or exc}") from exc
                if attempt == RETRIES and "DatabaseUnavailable" in (getattr(exc, "code", "") or ""):
                    raise BackendUnavailableError(
                        f"the Neo4j database at {self.uri} became unavailable while loading {bundle.dataset} "
                        f"(tried {RETRIES} times); nothing was written. {START_HINT}; then load again") from exc
                if attempt == RETRIES:
                    raise QueryError(f"loading {bundle.dataset} into Neo4j failed {RETRIES} times on "
                                     f"transient errors; nothing was written: {exc}") from exc
                time.sleep(0.5 * 2 ** attempt)
                continue
            except neo4j_errors.Neo4jError as exc:
                raise QueryError(f"loading {bundle.dataset} into Neo4j failed and was rolled back; "
                                 f"nothing was written: {exc.message or exc}") from exc
            except neo4j_errors.ServiceUnavailable as exc:
                raise BackendUnavailableError(
                    f"the Neo4j server at {self.uri} went away while loading {bundle.dataset}; nothing was "
                    f"published (staged batches are removed by the next load). {START_HINT}; then load again"
                ) from exc
            report.elapsed_s = time.perf_counter() - start
            return report
        raise AssertionError("unreachable")

    def _write_one_transaction(self, bundle: GraphBundle, report: LoadReport, progress: Progress | None) -> None:
        try:
            with self._session() as session, session.begin_transaction() as tx:
                self._tx = tx
                BundleWriter(self, bundle, report, progress).write()
                tx.commit()
        finally:
            self._tx = None

    def _write_staged(self, bundle: GraphBundle, report: LoadReport, progress: Progress | None) -> None:
        """Stage in committed batches that no query sees, then publish in one transaction
        (graph_model/neo4j_staging.py explains the design)."""
        load = StagedLoad(self, BATCH_ROWS, progress)
        try:
            load.claim()
            writer = BundleWriter(load, bundle, report, progress)
            writer.write_content()
            if self.before_publish is not None:
                self.before_publish(load)
            load.publish(writer)
        except BaseException:
            _quietly(load.abandon)
            raise
        finally:
            load.close()

    # WriteTarget primitives: run inside the load transaction.
    def fetch(self, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        result = self._tx.run(query, params or {})
        keys = result.keys()
        return pd.DataFrame([r.values() for r in result], columns=keys)

    def execute(self, query: str, params: dict[str, Any] | None = None) -> None:
        self._tx.run(query, params or {}).consume()

    def insert_nodes(self, label: str, frame: pd.DataFrame) -> int:
        label = self.schema.check_label(label)
        key = self.schema.node(label).key.name
        statement = f"UNWIND $rows AS row MERGE (n:{label} {{{key}: row.{key}}}) SET n += row"
        for batch in _batches(frame):
            self._tx.run(statement, {"rows": records(batch)}).consume()
        return len(frame)

    def insert_rels(self, rel_type: str, pair: tuple[str, str], frame: pd.DataFrame) -> int:
        rel_type = self.schema.check_rel_type(rel_type)
        src, dst = (self.schema.check_label(label) for label in pair)
        verb = "MERGE" if self.schema.node(src).role == "shared" else "CREATE"
        statement = (f"UNWIND $rows AS row MATCH (a:{src} {{uid: row.f}}) MATCH (b:{dst} {{uid: row.t}}) "
                     f"{verb} (a)-[r:{rel_type}]->(b) SET r += row.p RETURN count(r) AS n")
        for batch in _batches(frame):
            rows = rel_rows(batch)
            written = self._tx.run(statement, {"rows": rows}).single()["n"]
            if written != len(rows):
                raise QueryError(f"{len(rows) - written} {rel_type} relationship(s) from {src} to {dst} "
                                 "point at nodes the graph does not hold; the load was rolled back")
        return len(frame)

    def delete_all(self) -> None:
        with self._session() as session:
            session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()

    # ---- reading -------------------------------------------------------------------------
    def _run_read(self, query: str, params: Mapping[str, Any], *, timeout_s: float,
                  max_rows: int, tag: str) -> tuple[list[str], list[dict[str, Any]], bool]:
        params = dict(params)
        try:
            with self._session(default_access_mode=READ_ACCESS) as session:
                plan = session.run(cast(Any, "EXPLAIN " + query), params).consume()
                if plan.query_type != "r":
                    raise WriteRefusedError(
                        f"query {tag!r} was refused: Neo4j plans it as a "
                        f"{_QUERY_TYPES.get(plan.query_type or '', plan.query_type)} query; only read-only "
                        "queries run here")
                work = unit_of_work(timeout=timeout_s, metadata={"app": "micropathways", "query": tag})(_fetch)
                columns, rows = session.execute_read(work, query, params, max_rows)
        except neo4j_errors.Neo4jError as exc:
            raise _translate(exc, query, tag, timeout_s) from exc
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as exc:
            raise BackendUnavailableError(f"the Neo4j server at {self.uri} went away while running "
                                          f"{tag!r}: {START_HINT}; then retry") from exc
        truncated = len(rows) > max_rows
        return columns, rows[:max_rows], truncated


_QUERY_TYPES = {"r": "read-only", "rw": "read-write", "w": "write-only", "s": "schema-write"}


def _fetch(tx: Any, query: str, params: dict[str, Any], max_rows: int) -> tuple[list[str], list[dict[str, Any]]]:
    result = tx.run(query, params)
    columns = list(result.keys())
    rows = []
    for record in result:
        rows.append({k: plain(v) for k, v in zip(columns, record.values(), strict=True)})
        if len(rows) > max_rows:
            break
    return columns, rows


def _without_explain(message: str) -> str:
    """Syntax errors found during EXPLAIN point into "EXPLAIN <query>": shift them back to the query."""
    shift = len("EXPLAIN ")

    def column(match: re.Match[str]) -> str:
        return f"line 1, column {int(match.group(1)) - shift} (offset: {int(match.group(2)) - shift})"

    if '"EXPLAIN ' not in message:
        return message
    message = re.sub(r"line 1, column (\d+) \(offset: (\d+)\)", column, message)
    message = message.replace('"EXPLAIN ', '"')
    lines = message.split("\n")
    return "\n".join(line[shift:] if set(line.strip()) == {"^"} else line for line in lines)


def bundle_rows(bundle: GraphBundle) -> int:
    """Nodes plus relationships in a bundle: what decides whether a load is staged."""
    return sum(len(f) for f in bundle.nodes.values()) + sum(len(f) for f in bundle.rels.values())


def _quietly(action: Any) -> None:
    """Clean up after a failure without hiding it (the original error is what the user needs)."""
    with contextlib.suppress(Exception):  # the server may be the thing that failed
        action()


def _batches(frame: pd.DataFrame) -> list[pd.DataFrame]:
    return [frame.iloc[i: i + BATCH_ROWS] for i in range(0, len(frame), BATCH_ROWS)]


def _translate(exc: Exception, query: str, tag: str, timeout_s: float) -> QueryError:
    code = getattr(exc, "code", "") or ""
    message = getattr(exc, "message", None) or str(exc)
    if "TransactionTimedOut" in code or "TransactionTimedOutClientConfiguration" in code:
        return QueryTimeoutError(
            f"query {tag!r} took longer than its time limit of {timeout_s:g}s and was stopped. Narrow it "
            "with parameters, or raise the limit (saved queries: `timeout_s` in the metadata; ad-hoc: "
            "--timeout; the server caps all transactions with db.transaction.timeout).",
            query_name=tag, query=query)
    if "SyntaxError" in code:
        return QueryError(f"query {tag!r} has a Cypher syntax error: {_without_explain(message)}",
                          query_name=tag, query=query)
    if "Forbidden" in code or "AccessMode" in code:
        return QueryError(f"query {tag!r} tried to write in a read-only transaction and was refused: {message}",
                          query_name=tag, query=query)
    return QueryError(f"query {tag!r} failed on Neo4j ({code}): {message}", query_name=tag, query=query)
