"""Benchmark the embedded engine: load throughput, reload, raw COPY, query latency, peak memory.

    python bench/run.py [--sizes 1000 10000 100000] [--repeat 10]

Each size runs in its own subprocess (so peak memory is that size's own) on a SYNTHETIC bundle:
1. the loader's full path: validate + map (`prepare`) and the atomic, idempotent write;
2. the engine's raw `COPY FROM` of the very same prepared rows into a fresh database, so the
   loader's overhead shows as a ratio;
3. a reload of the same data (must write nothing);
4. saved-query latency (median and p95 over --repeat runs).
Figures are printed, never asserted: speed targets live here, not in tests.
"""

from __future__ import annotations

import argparse
import json
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


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_size(cases: int, repeat: int) -> dict[str, object]:
    from graph_model.embedded import EmbeddedBackend
    from loaders.base import prepare
    from loaders.synthetic import write_bundle
    from queries.registry import default_registry
    from queries.runner import run_saved_query

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

        latencies: dict[str, dict[str, float]] = {}
        names = {q.name for q in default_registry()}
        with EmbeddedBackend(db_path) as db:
            for name, params in QUERIES:
                if name not in names:
                    continue
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    run_saved_query(db, name, params, max_rows=100_000)
                    times.append(time.perf_counter() - start)
                latencies[name] = {"median_ms": statistics.median(times) * 1000,
                                   "p95_ms": _percentile(times, 0.95) * 1000}
        out["queries"] = latencies
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
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
    print("\nSaved-query latency (ms, median / p95)")
    for r in results:
        cells = ", ".join(f"{n} {v['median_ms']:.0f}/{v['p95_ms']:.0f}" for n, v in r["queries"].items())
        print(f"{r['cases']:>8,}: {cells}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=10, help="runs per query for latency figures")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_size(args.one, args.repeat)))
        return 0
    results = []
    for size in args.sizes:
        print(f"running {size:,} cases …", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, __file__, "--one", str(size), "--repeat", str(args.repeat)],
                              check=True, capture_output=True, text=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
