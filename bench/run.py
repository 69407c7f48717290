"""Benchmark both engines: load throughput, reload, raw/naive baselines, query latency, peak memory.

    python bench/run.py [--sizes 1000 10000 100000] [--repeat 10] [--no-neo4j]

Each size runs in its own subprocess (so peak memory is that size's own) on a SYNTHETIC bundle:
1. the loader's full path: validate + map (`prepare`) and the atomic, idempotent write;
2. the engine's raw `COPY FROM` of the very same prepared rows into a fresh database, so the
   loader's overhead shows as a ratio;
3. a reload of the same data (must write nothing);
4. saved-query latency (median and p95 over --repeat runs, after one warm-up run).
Then the same bundle goes into Neo4j 5.26 (a server this script starts, or $NEO4J_URI): the batched
load (one transaction, or staged batches + one publishing transaction above MICROPATH_NEO4J_STAGE_ABOVE
rows), query latency, and a naive one-statement-per-row load measured on a sample of the
same rows, so the batching gain shows as a ratio.
Figures are printed, never asserted: speed targets live here, not in tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUERIES = [
    ("factor_prevalence", {}),
    ("factor_cooccurrence", {}),
    ("pathway_transitions", {}),
    ("escalation_summary", {}),
    ("homicides_by_year", {}),
]


def _raw_copy(bundle, path: Path) -> float:  # type: ignore[no-untyped-def]
    from graph_model.embedded import EmbeddedBackend

    with EmbeddedBackend(path, read_only=False) as db:
        db.ensure_schema()
        start = time.perf_counter()
        for label, frame in bundle.nodes.items():
            db.copy(label, frame)
        for (rel_type, src, dst), frame in bundle.rels.items():
            db.copy(rel_type, frame, (src, dst))
        return time.perf_counter() - start


NAIVE_SAMPLE_CASES = 200


def _naive_rows_per_s(backend, bundle) -> float:  # type: ignore[no-untyped-def]
    """One Cypher statement per row, in one transaction, for the rows of the first few records."""
    from graph_model.schema import get_schema

    schema = get_schema()
    owners = set(bundle.nodes["Homicide"]["uid"].iloc[:NAIVE_SAMPLE_CASES])
    rows = 0
    start = time.perf_counter()
    with backend.driver.session() as session, session.begin_transaction() as tx:
        for label in ("Homicide", "Victim", "Suspect", "Event"):
            frame = bundle.nodes.get(label)
            if frame is None:
                continue
            column = "uid" if schema.node(label).role == "record" else "record_uid"
            for row in frame[frame[column].isin(owners)].astype(object).to_dict("records"):
                tx.run(f"CREATE (n:{label}_naive) SET n = $row",
                       row={k: v for k, v in row.items() if v is not None and v == v}).consume()
                rows += 1
        for (rel_type, src, dst), frame in bundle.rels.items():
            if schema.node(src).role == "shared":
                continue
            owner = frame["from"].str.rsplit("/", n=1).str[0] if schema.node(src).role == "owned" else frame["from"]
            for row in frame[owner.isin(owners)].astype(object).to_dict("records"):
                tx.run(f"MATCH (a:{src} {{uid: $f}}) MATCH (b:{dst} {{uid: $t}}) CREATE (a)-[:{rel_type}_NAIVE]->(b)",
                       f=row["from"], t=row["to"]).consume()
                rows += 1
        tx.rollback()  # a measurement only: leave the graph as the batched load left it
    return rows / (time.perf_counter() - start)


def _latencies(backend, repeat: int) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    from queries.registry import default_registry
    from queries.runner import run_saved_query

    names = {q.name for q in default_registry()}
    out = {}
    for name, params in QUERIES:
        if name not in names:
            continue
        run_saved_query(backend, name, params, max_rows=100_000)  # warm-up
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            run_saved_query(backend, name, params, max_rows=100_000)
            times.append(time.perf_counter() - start)
        out[name] = {"median_ms": statistics.median(times) * 1000, "p95_ms": _percentile(times, 0.95) * 1000}
    return out


def _neo4j(bundle, repeat: int, uri: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from graph_model.neo4j_backend import Neo4jBackend, bundle_rows

    out: dict[str, object] = {}
    with Neo4jBackend(uri) as backend:
        out["mode"] = "staged" if bundle_rows(bundle) > backend.stage_above_rows else "one tx"
        backend.delete_all()
        backend.ensure_schema()
        start = time.perf_counter()
        report = backend.write_bundle(bundle)
        out["write_s"] = time.perf_counter() - start
        out["rows_written"] = report.nodes_written + report.rels_written
        out["queries"] = _latencies(backend, repeat)
        out["naive_rows_per_s"] = _naive_rows_per_s(backend, bundle)
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_size(cases: int, repeat: int) -> dict[str, object]:
    from graph_model.embedded import EmbeddedBackend
    from loaders.base import prepare
    from loaders.synthetic import write_bundle
    out: dict[str, object] = {"cases": cases}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bundle"
        start = time.perf_counter()
        write_bundle(folder, cases=cases, seed=11)
        out["synth_s"] = time.perf_counter() - start

        start = time.perf_counter()
        result = prepare("coded", folder)
        out["prepare_s"] = time.perf_counter() - start
        bundle = result.bundle
        out["nodes"], out["rels"] = bundle.count_nodes(), bundle.count_rels()

        db_path = Path(tmp) / "graph.lbdb"
        with EmbeddedBackend(db_path, read_only=False) as db:
            start = time.perf_counter()
            report = db.write_bundle(bundle)
            out["write_s"] = time.perf_counter() - start
            out["rels_written"] = report.rels_written
            start = time.perf_counter()
            again = db.write_bundle(prepare("coded", folder).bundle)
            out["reload_s"] = time.perf_counter() - start
            out["reload_written"] = again.nodes_written + again.rels_written

        out["raw_copy_s"] = _raw_copy(bundle, Path(tmp) / "raw.lbdb")

        with EmbeddedBackend(db_path) as db:
            out["queries"] = _latencies(db, repeat)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        uri = os.environ.get("MICROPATH_BENCH_NEO4J")
        if uri:
            from graph_model.errors import MicropathError

            try:
                out["neo4j"] = _neo4j(bundle, repeat, uri)
            except MicropathError as exc:  # reported beside the embedded figures, not instead of them
                out["neo4j_error"] = str(exc).split(". Server said")[0]
    return out


def print_report(results: list[dict]) -> None:  # type: ignore[type-arg]
    print("\nEmbedded engine (LadybugDB) — SYNTHETIC coded homicides")
    header = (f"{'cases':>8} {'nodes':>9} {'links':>9} {'prepare s':>9} {'write s':>8} {'homicides/s':>11} "
              f"{'links/s':>10} {'raw COPY s':>10} {'write/raw':>9} {'reload s':>8} {'peak MB':>8}")
    print(header)
    print("-" * len(header))
    for r in results:
        total = r["prepare_s"] + r["write_s"]
        print(f"{r['cases']:>8,} {r['nodes']:>9,} {r['rels']:>9,} {r['prepare_s']:>9.2f} {r['write_s']:>8.2f} "
              f"{r['cases'] / total:>11,.0f} {r['rels_written'] / r['write_s']:>10,.0f} "
              f"{r['raw_copy_s']:>10.2f} {r['write_s'] / r['raw_copy_s']:>9.2f} {r['reload_s']:>8.2f} "
              f"{r['peak_rss_mb']:>8.0f}")
    print("\nhomicides/s = cases / (prepare + write); links/s = relationships written / write time;")
    print("write/raw = the loader's transactional, diffing write over a bare COPY of the same rows.")
    neo = [r for r in results if "neo4j" in r]
    if neo:
        print("\nNeo4j 5.26 Community — the same prepared rows in batched UNWIND statements (one transaction, or "
              "staged batches + one publishing transaction)")
        header = (f"{'cases':>8} {'mode':>7} {'rows':>10} {'write s':>8} {'homicides/s':>11} {'rows/s':>9} "
                  f"{'naive rows/s':>12} {'batched/naive':>13} {'vs embedded write':>17}")
        print(header)
        print("-" * len(header))
        for r in neo:
            n = r["neo4j"]
            rate = n["rows_written"] / n["write_s"]
            print(f"{r['cases']:>8,} {n['mode']:>7} {n['rows_written']:>10,} {n['write_s']:>8.2f} "
                  f"{r['cases'] / n['write_s']:>11,.0f} "
                  f"{rate:>9,.0f} {n['naive_rows_per_s']:>12,.0f} {rate / n['naive_rows_per_s']:>12.1f}x "
                  f"{n['write_s'] / r['write_s']:>16.1f}x")
    for r in results:
        if "neo4j_error" in r:
            print(f"{r['cases']:>8,} cases on Neo4j: FAILED — {r['neo4j_error']}")
    if neo:
        print(f"naive = one CREATE per node/relationship row, measured on the rows of {NAIVE_SAMPLE_CASES} homicides "
              "(rolled back).")
    print("\nSaved-query latency, warm (ms, median / p95)")
    for r in results:
        for engine, queries in (("embedded", r["queries"]), ("neo4j", r.get("neo4j", {}).get("queries"))):
            if queries:
                cells = ", ".join(f"{n} {v['median_ms']:.0f}/{v['p95_ms']:.0f}" for n, v in queries.items())
                print(f"{r['cases']:>8,} {engine:>8}: {cells}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=10, help="runs per query for latency figures")
    parser.add_argument("--no-neo4j", action="store_true", help="embedded engine only")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_size(args.one, args.repeat)))
        return 0
    with _neo4j_server(not args.no_neo4j) as uri:
        env = {**os.environ, **({"MICROPATH_BENCH_NEO4J": uri} if uri else {})}
        results = []
        for size in args.sizes:
            print(f"running {size:,} cases …", file=sys.stderr, flush=True)
            done = subprocess.run([sys.executable, __file__, "--one", str(size), "--repeat", str(args.repeat)],
                                  capture_output=True, text=True, env=env)
            if done.returncode != 0:
                print(f"{size:,} cases failed:\n{done.stderr[-3000:]}", file=sys.stderr)
                continue
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print_report(results)
    return 0


@contextlib.contextmanager
def _neo4j_server(wanted: bool):  # type: ignore[no-untyped-def]
    """$NEO4J_URI if set, else a server of our own for the run (8 GB heap: publishing a staged
    100,000-homicide load holds about 5 GB of transaction state), stopped afterwards."""
    if not wanted:
        yield None
        return
    if os.environ.get("NEO4J_URI"):
        yield os.environ["NEO4J_URI"]
        return
    from graph_model import neo4j_service

    os.environ.setdefault("NEO4J_PASSWORD", "micropathways-bench")
    with tempfile.TemporaryDirectory() as data:
        print("starting Neo4j for the benchmark …", file=sys.stderr, flush=True)
        uri = neo4j_service.start(Path(data), 7697, heap="8g", page_cache="1g")
        try:
            yield uri
        finally:
            neo4j_service.stop(Path(data))


if __name__ == "__main__":
    sys.exit(main())
