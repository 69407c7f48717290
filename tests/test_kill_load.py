"""SIGKILL a running `micropath load` at seeded-random points, on each backend: the graph is always either
the state before the load or the complete new state, never in between, and a rerun finishes.

Each case is one backend mode (embedded LadybugDB; Neo4j with the load in one transaction; Neo4j with the
load staged in committed batches, MICROPATH_NEO4J_STAGE_ABOVE=0) and one scenario:

* ``new-dataset``: a small dataset is live; the load adds a large synthetic dataset;
* ``changed-reload``: the small dataset and the large one are live; the load reloads the large one from
  another seed (same dataset name, so every record changes and is replaced).

Both reference states come from real loads: "before" is the graph after the set-up loads, "after" is the
graph after an uninterrupted subprocess load (whose timing also places the kill points). Then, KILLS times:
restore "before", start the load as a subprocess, SIGKILL it at a seeded-random time spread over the
measured write phase (from the CLI's ``validated …`` line to its exit), open the graph as a reader would and
compare it with both references, then rerun the load to completion and compare with "after". On the
embedded engine two more kills per case land inside the engine's last two checkpoints of the load (triggered
by its checkpoint files appearing), when the committed load is being copied into the database file.

"The graph" is compared as contracted (docs/graph-contract.md): nodes per label, relationships per
(source label, type, target label), every record's uid and content_hash, and every saved query's answer with
its default parameters (rows compared as a multiset; ``loaded_at`` stamps masked, since a rerun stamps
its own time). On Neo4j, staged nodes carry no ontology label, so they are outside this view; the test also
checks that a rerun leaves no staging behind.

Sizes: MICROPATH_KILL_CASES (embedded, default 3000) and MICROPATH_KILL_CASES_NEO4J (default 1500)
homicides in the large load, MICROPATH_KILL_POINTS kills per embedded case (default 2) and
MICROPATH_KILL_POINTS_NEO4J per Neo4j case (default 1), plus MICROPATH_KILL_CHECKPOINTS
kills in the engine's last checkpoints on embedded (default 1). The defaults keep the suite within its time
budget; the campaign in docs/security-faults.md used 6000 / 1500 / 5 / 2. A summary line per kill is printed
(run with -s to see it).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from graph_model.backend import GraphBackend
from graph_model.embedded import EmbeddedBackend
from graph_model.schema import get_schema
from loaders.base import prepare
from loaders.synthetic import write_bundle
from queries.registry import default_registry
from queries.runner import run_saved_query

MICROPATH = Path(sys.executable).with_name("micropath")
CASES = int(os.environ.get("MICROPATH_KILL_CASES", "3000"))
CASES_NEO4J = int(os.environ.get("MICROPATH_KILL_CASES_NEO4J", "1500"))
BASE_CASES = 300
KILLS = int(os.environ.get("MICROPATH_KILL_POINTS", "2"))  # per embedded case
KILLS_NEO4J = int(os.environ.get("MICROPATH_KILL_POINTS_NEO4J", "1"))  # per Neo4j case (4 cases, each its own point)
# embedded: one extra kill in each of the load's last N engine checkpoints
CHECKPOINT_KILLS = int(os.environ.get("MICROPATH_KILL_CHECKPOINTS", "1"))
SEED = 20261127
SPREAD = 0.5  # kill points fall in the first half of the measured write phase (a run may be faster)
MODES = ("embedded", "neo4j", "neo4j-staged")
SCENARIOS = ("new-dataset", "changed-reload")
CHECKPOINT_FILES = (".wal.checkpoint", ".shadow")  # LadybugDB writes these while checkpointing a commit
MASKED = frozenset({"loaded_at"})


# ---- the graph as contracted ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GraphState:
    counts: dict[str, int]
    records: dict[str, list[tuple[str, str]]]
    answers: dict[str, list[str]]

    def differences(self, other: GraphState) -> list[str]:
        out = [f"{k}: {v} vs {other.counts.get(k)}" for k, v in self.counts.items() if other.counts.get(k) != v]
        for label, recs in self.records.items():
            if recs != other.records.get(label):
                out.append(f"{label} records: {len(recs)} vs {len(other.records.get(label, []))} "
                           f"({len(set(recs) ^ set(other.records.get(label, [])))} uid/hash pairs differ)")
        out += [f"saved query {name}" for name, rows in self.answers.items() if other.answers.get(name) != rows]
        return out


def _rows(backend: GraphBackend, query: str) -> list[dict[str, Any]]:
    result = backend.run_read(query, max_rows=1_000_000, timeout_s=300, tag="test:kill-load")
    assert not result.truncated
    return result.rows


def graph_state(backend: GraphBackend) -> GraphState:
    schema = get_schema()
    counts: dict[str, int] = {}
    records: dict[str, list[tuple[str, str]]] = {}
    for label, spec in schema.nodes.items():
        counts[f":{label}"] = int(_rows(backend, f"MATCH (n:{schema.check_label(label)}) RETURN count(n) AS n")[0]["n"])
        if spec.role == "record":
            rows = _rows(backend, f"MATCH (n:{label}) RETURN n.uid AS uid, n.content_hash AS h ORDER BY uid")
            records[label] = [(str(r["uid"]), str(r["h"])) for r in rows]
    for rel_type, rel in schema.rels.items():
        for src, dst in rel.pairs:
            query = (f"MATCH (:{schema.check_label(src)})-[r:{schema.check_rel_type(rel_type)}]->"
                     f"(:{schema.check_label(dst)}) RETURN count(r) AS n")
            counts[f"(:{src})-[:{rel_type}]->(:{dst})"] = int(_rows(backend, query)[0]["n"])
    answers = {}
    for query in default_registry():
        result = run_saved_query(backend, query.name, {})
        lines = (json.dumps({k: ("<time>" if k in MASKED else v) for k, v in row.items()}, sort_keys=True,
                            default=str) for row in result.rows)
        answers[query.name] = [*sorted(lines), f"truncated={result.truncated}"]
    return GraphState(counts, records, answers)


# ---- one load as a subprocess, killed or not ------------------------------------------------------------
@dataclass
class Run:
    returncode: int | None = None
    validated_at: float | None = None
    checkpoint_at: float | None = None  # when LadybugDB's checkpoint files last appeared
    checkpoints: int = 0  # how many times they appeared
    windows: list[float] = field(default_factory=list)  # how long each appearance lasted
    ended_at: float = 0.0
    killed_at: float | None = None  # seconds after the validated line (or the checkpoint files appeared)
    killed_in: str = ""  # "write" or "checkpoint"
    recovery_files: list[str] = field(default_factory=list)  # engine files a kill left behind
    stderr: list[str] = field(default_factory=list)

    @property
    def write_s(self) -> float:
        assert self.validated_at is not None, "\n".join(self.stderr)
        return self.ended_at - self.validated_at


def run_load(folder: Path, db: str, env: dict[str, str], *, kill_after_validated: float | None = None,
             kill_after_checkpoint: tuple[int, float] | None = None, db_path: Path | None = None) -> Run:
    """`micropath load coded FOLDER --db DB`; SIGKILL it ``kill_after_validated`` seconds after it printed
    ``validated``, or ``kill_after_checkpoint = (n, s)``: s seconds after LadybugDB's checkpoint files
    appear at ``db_path`` for the n-th time."""
    run = Run()
    process = subprocess.Popen([str(MICROPATH), "load", "coded", str(folder), "--db", db, "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    stream = process.stderr

    def read() -> None:
        for line in stream:
            run.stderr.append(line.rstrip())
            if line.startswith("validated ") and run.validated_at is None:
                run.validated_at = time.monotonic()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 900
    in_checkpoint = False
    while process.poll() is None and time.monotonic() < deadline:
        now = time.monotonic()
        if db_path is not None:
            present = bool(_checkpoint_files(db_path))
            if present and not in_checkpoint:
                run.checkpoint_at, run.checkpoints = now, run.checkpoints + 1
            if in_checkpoint and not present and run.checkpoint_at is not None:
                run.windows.append(now - run.checkpoint_at)
            in_checkpoint = present
        if kill_after_validated is not None and run.validated_at is not None \
                and now >= run.validated_at + kill_after_validated:
            _kill(process, run, "write", kill_after_validated, db_path)
            break
        if kill_after_checkpoint is not None and run.checkpoints == kill_after_checkpoint[0] \
                and run.checkpoint_at is not None and now >= run.checkpoint_at + kill_after_checkpoint[1]:
            _kill(process, run, "checkpoint", kill_after_checkpoint[1], db_path)
            break
        time.sleep(0.005)
    else:
        if process.poll() is None:
            process.kill()
            pytest.fail(f"the load of {folder} did not finish in 900 s")
    process.wait()
    run.ended_at = time.monotonic()
    reader.join(timeout=10)
    run.returncode = process.returncode
    return run


def _checkpoint_files(db_path: Path) -> list[str]:
    return [s for s in CHECKPOINT_FILES if db_path.with_name(db_path.name + s).exists()]


def _kill(process: subprocess.Popen[str], run: Run, where: str, after: float, db_path: Path | None) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    run.killed_at, run.killed_in = after, where
    if db_path is not None:
        run.recovery_files = [p.name.removeprefix(db_path.name) for p in db_path.parent.glob(db_path.name + ".*")
                              if p.name != db_path.name + ".lock"]


# ---- backends: set-up, restore, read -----------------------------------------------------------------------
class Target:
    """One backend mode: how to put the graph in its "before" state and read it."""

    def __init__(self, mode: str, tmp: Path, request: pytest.FixtureRequest) -> None:
        self.mode = mode
        if mode != "embedded":  # first: starting the session's server sets NEO4J_USER / NEO4J_PASSWORD
            self.db = request.getfixturevalue("neo4j_uri")
        self.env = {**os.environ, "MICROPATH_AUDIT_LOG": str(tmp / "audit.jsonl")}
        self.env.pop("MICROPATH_NEO4J_STAGE_ABOVE", None)
        if mode == "neo4j-staged":
            self.env["MICROPATH_NEO4J_STAGE_ABOVE"] = "0"
        if mode == "embedded":
            self.path = tmp / "graph.lbdb"
            self.saved = tmp / "before"
            self.db = f"embedded:{self.path}"

    def set_up(self, bundles: list[Path]) -> None:
        """Load ``bundles`` (in-process) into an empty graph; this is the "before" state."""
        if self.mode == "embedded":
            with EmbeddedBackend(self.path, read_only=False) as backend:
                for folder in bundles:
                    backend.write_bundle(prepare("coded", folder).bundle)
            self.saved.mkdir()
            for file in self._files(self.path.parent):
                shutil.copy2(file, self.saved / file.name)
            self.bundles = bundles
            return
        from graph_model.neo4j_backend import Neo4jBackend

        with Neo4jBackend(self.db) as backend:
            backend.delete_all()
            for folder in bundles:
                backend.write_bundle(prepare("coded", folder).bundle)
        self.bundles = bundles

    def restore(self) -> None:
        if self.mode == "embedded":
            for file in self._files(self.path.parent):
                shutil.rmtree(file) if file.is_dir() else file.unlink()  # a set-aside checkpoint is a folder
            for file in self._files(self.saved):
                shutil.copy2(file, self.path.parent / file.name)
        else:
            self.set_up(self.bundles)

    def _files(self, folder: Path) -> list[Path]:
        """The engine's files of the database (the lock file stays: it is the platform's, and always free)."""
        return [p for p in folder.glob(self.path.name + "*") if p.name != self.path.name + ".lock"]

    def state(self) -> GraphState:
        """The graph as a reader opening it now sees it (embedded: a fresh read-only open, as `serve` does)."""
        if self.mode == "embedded":
            with EmbeddedBackend(self.path, read_only=True) as backend:
                return graph_state(backend)
        from graph_model.neo4j_backend import Neo4jBackend

        with Neo4jBackend(self.db) as backend:
            return graph_state(backend)

    def staged_nodes(self) -> int:
        if self.mode == "embedded":
            return 0
        from graph_model.neo4j_backend import Neo4jBackend

        backend = Neo4jBackend(self.db)
        try:
            with backend.driver.session() as session:
                record = session.run("MATCH (n:MpStaging) RETURN count(n) AS n").single()
            return int(record["n"]) if record is not None else 0
        finally:
            backend.close()


# ---- bundles -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("kill-bundles")
    out = {"base": write_bundle(root / "base", cases=BASE_CASES, seed=5, name="kill-base")}
    for key, cases in (("embedded", CASES), ("neo4j", CASES_NEO4J)):
        out[f"{key}-a"] = write_bundle(root / f"{key}-a", cases=cases, seed=7, name="kill-big")
        out[f"{key}-b"] = write_bundle(root / f"{key}-b", cases=cases, seed=8, name="kill-big")
    return out


def kill_points(mode: str, scenario: str, write_s: float) -> list[float]:
    """Seeded-random times, one in each of ``kills`` equal slices of the first SPREAD of the write phase."""
    rng = random.Random(SEED + zlib.crc32(f"{mode}/{scenario}".encode()))
    kills = KILLS if mode == "embedded" else KILLS_NEO4J
    return [write_s * SPREAD * (i + rng.random()) / kills for i in range(kills)]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("mode", MODES)
def test_a_killed_load_leaves_the_old_or_the_new_graph(mode: str, scenario: str, bundles: dict[str, Path],
                                                       tmp_path: Path, request: pytest.FixtureRequest) -> None:
    target = Target(mode, tmp_path, request)
    size = "embedded" if mode == "embedded" else "neo4j"
    before_loads = [bundles["base"]] + ([bundles[f"{size}-a"]] if scenario == "changed-reload" else [])
    load = bundles[f"{size}-b" if scenario == "changed-reload" else f"{size}-a"]
    db_path = target.path if mode == "embedded" else None

    target.set_up(before_loads)
    before = target.state()
    reference = run_load(load, target.db, target.env, db_path=db_path)
    assert reference.returncode == 0, "\n".join(reference.stderr)
    after = target.state()
    assert before.differences(after), "the load must change the graph"
    print(f"\n[{mode}/{scenario}] reference load: write phase {reference.write_s:.1f} s; engine checkpoints "
          f"{[round(w, 2) for w in reference.windows]} s")
    write_s = reference.write_s

    plan: list[tuple[str, float, int]] = [("write", t, 0) for t in kill_points(mode, scenario, write_s)]
    if reference.windows:  # the engine copying the committed load into the database file: the last two
        rng = random.Random(SEED + zlib.crc32(f"{mode}/{scenario}/checkpoint".encode()))
        for number in range(max(1, len(reference.windows) - CHECKPOINT_KILLS + 1), len(reference.windows) + 1):
            plan.append(("checkpoint", rng.random() * reference.windows[number - 1] * SPREAD, number))
    outcomes: Counter[str] = Counter()
    for where, at, number in plan:
        if where == "write":  # a busy machine can make one run slow: place the kill in the fastest run seen
            at = at * min(1.0, write_s / reference.write_s)
        target.restore()
        run = run_load(load, target.db, target.env, db_path=db_path,
                       kill_after_validated=at if where == "write" else None,
                       kill_after_checkpoint=(number, at) if where == "checkpoint" else None)
        if run.killed_at is None:
            outcomes["finished before the kill"] += 1
            assert run.returncode == 0, "\n".join(run.stderr)
            continue
        staged = target.staged_nodes()
        state = target.state()
        outcome = "before" if state == before else "after" if state == after else None
        assert outcome is not None, (
            f"killed {at:.2f} s into the {where} phase, the graph is neither the old nor the new one:\n"
            f"vs before: {state.differences(before)[:20]}\nvs after: {state.differences(after)[:20]}")
        outcomes[outcome] += 1
        rerun = run_load(load, target.db, target.env)
        assert rerun.returncode == 0, "the rerun after a kill failed:\n" + "\n".join(rerun.stderr)
        write_s = min(write_s, rerun.write_s)
        assert target.state() == after, "the rerun did not give the complete new graph"
        assert target.staged_nodes() == 0
        phase = where + (f" {number}" if number else "")
        print(f"[{mode}/{scenario}] SIGKILL {at:6.2f} s into {phase:<12} -> graph {outcome:<6} "
              f"(engine files left: {','.join(run.recovery_files) or '-'}; staged nodes left: {staged}); "
              f"rerun complete")
    print(f"[{mode}/{scenario}] outcomes: {dict(outcomes)}")
    killed = sum(n for k, n in outcomes.items() if k != "finished before the kill")
    assert killed > len(plan) // 2, f"too few kills landed while the load ran: {dict(outcomes)}"
