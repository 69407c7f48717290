"""Benchmark the pattern computation on a large SYNTHETIC bundle, embedded engine.

    python bench/patterns.py [--cases 100000] [--seed 11] [--coding-frame 3] [--db PATH]

Writes a seeded synthetic coded bundle (coding frame 3 by default: 30 factors in the frame, the 18 added in
frame 3 not coded for cases coded under frames 1 and 2), loads it into a fresh embedded database (or reuses
``--db`` when it already holds that dataset), opens it read-only as the CLI and the dashboard do, and times
every measure in two parts: *pull* (the saved-Cypher slices it needs, as DataFrames through the backend's
columnar read path ``run_read_frame``) and *compute* (pandas,
numpy, scipy, mlxtend, networkx, prefixspan, krippendorff). Slices several measures share are pulled once,
as the dashboard does (pull ``factor_matrix`` / ``features`` / the pathway slice once per filter setting,
then call the ``*_of`` functions), and charged to the first measure that needs them.

Figures are printed, never asserted: the target (the whole pattern computation under 30 s for 100,000
homicides) is checked by reading them. Writing and loading the bundle are reported but not counted.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from graph_model.embedded import EmbeddedBackend
from loaders.base import load
from loaders.synthetic import write_bundle
from patterns import factors, pathways, reliability, similarity, slices
from patterns.slices import Filters

TARGET_S = 30.0


class Timer:
    """Rows of (measure, part, seconds, what)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __call__(self, measure: str, part: str, func: Callable[[], Any], what: Callable[[Any], str] = str) -> Any:
        start = time.perf_counter()
        value = func()
        seconds = time.perf_counter() - start
        note = what(value)
        self.rows.append({"measure": measure, "part": part, "seconds": seconds, "what": note})
        print(f"  {measure:<22} {part:<8} {seconds:7.2f} s  {note}", flush=True)
        return value


def shape(frame: pd.DataFrame) -> str:
    return f"{len(frame):,} rows"


def prepare(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    name = f"synthetic-s{args.seed}"
    db = Path(args.db) if args.db else work / "graph.lbdb"
    if db.exists():
        with EmbeddedBackend(db) as backend:
            held = backend.run_read("MATCH (d:Dataset {name: $name}) RETURN d.record_count AS n", {"name": name}).rows
        if held and held[0]["n"] == args.cases:
            print(f"reusing {db} ({args.cases:,} cases of {name})")
            return db, name
    start = time.perf_counter()
    folder = write_bundle(work / "bundle", cases=args.cases, seed=args.seed, coding_frame=args.coding_frame)
    written = time.perf_counter() - start
    coded = pd.read_csv(folder / "factors.csv", usecols=["case_id", "value"], dtype=str)
    coded = coded[coded["value"] != "not_recorded"]
    print(f"wrote {args.cases:,} cases in {written:.1f} s: {len(coded):,} coded factor values, "
          f"{len(coded) / args.cases:.1f} per case (frame 3 cases: about 28.5 of 30)")
    start = time.perf_counter()
    with EmbeddedBackend(db, read_only=False) as backend:
        load("coded", folder, backend)
    print(f"loaded in {time.perf_counter() - start:.1f} s (not counted below)")
    return db, name


def run(backend: EmbeddedBackend, name: str) -> Timer:
    t = Timer()
    f = Filters(dataset=name)
    recs = t("factor slices", "pull", lambda: slices.records(backend, f), shape)
    values = t("factor slices", "pull", lambda: slices.record_factors(backend, f), shape)
    universe = t("factor slices", "pull", lambda: slices.factor_universe(backend, f), shape)
    catalogue = t("factor slices", "pull", lambda: slices.factor_catalogue(backend), shape)
    matrix = t("factor matrix", "compute",
               lambda: factors.build_factor_matrix(recs, values, universe, catalogue),
               lambda m: f"{m.coded.shape[0]:,} x {m.coded.shape[1]} ({int(m.coded.sum()):,} coded)")
    t("prevalence", "compute", lambda: factors.prevalence_of(matrix), shape)
    t("pairs (Fisher, BH)", "compute", lambda: factors.pairs_of(matrix), shape)
    t("rules", "compute", lambda: factors.rules_of(matrix), shape)
    t("itemsets (FP-growth)", "compute", lambda: factors.itemsets_of(matrix), shape)
    links = t("contrasts", "pull", lambda: factors.group_links(backend, "motive", f), shape)
    t("contrasts", "compute", lambda: factors.contrasts_of(matrix, links, by="motive"), shape)

    extra = t("similarity", "pull", lambda: _other_features(backend, f, links), shape)
    feat = t("similarity", "compute", lambda: similarity.features_from(
        {"records": recs, "values": values, "universe": universe, "catalogue": catalogue, "others": extra}),
        lambda x: f"{x.present.shape[0]:,} x {x.present.shape[1]} features")
    t("similar (one uid)", "compute", lambda: similarity.similar_of(feat, feat.uids[17], k=10), shape)
    t("clusters (5,000)", "compute", lambda: similarity.clusters_of(feat, max_records=5000),
      lambda c: f"{c.summary['clusters_of_min_size']} clusters, {c.summary['edges']:,} edges")
    sl = t("pathways", "pull", lambda: pathways.load_slice(backend, f), lambda s: f"{len(s.steps):,} steps")
    t("transitions", "compute", lambda: pathways.transitions(sl), shape)
    t("n-grams", "compute", lambda: pathways.ngrams(sl), shape)
    t("gapped (PrefixSpan)", "compute", lambda: pathways.gapped(sl), shape)
    t("divergence", "compute", lambda: pathways.divergence(sl), shape)
    t("escalation", "compute", lambda: pathways.escalation(sl, by="motive"), shape)
    t("five-minute test", "compute", lambda: pathways.five_minute_test(sl), shape)
    selection = reliability.Selection(dataset=name)
    coded = t("reliability", "pull", lambda: reliability.codings(backend, selection), shape)
    t("reliability", "compute", lambda: reliability.agreement_table(coded), shape)
    return t


def _other_features(backend: EmbeddedBackend, f: Filters, motives: pd.DataFrame) -> pd.DataFrame:
    """Motive, method and event-type features (what similarity.slice_frames adds to the factor slices); the
    motive links are the ones contrasts pulled (the dashboard pulls each slice once per filter setting)."""
    parts = []
    for dimension in ("motive", "method"):
        links = motives if dimension == "motive" else factors.group_links(backend, dimension, f)
        parts.append(pd.DataFrame({"record_uid": links["record_uid"], "kind": dimension,
                                   "item_uid": links["group"], "label": links["group_label"]}))
    events = slices.record_event_types(backend, f)
    parts.append(pd.DataFrame({"record_uid": events["record_uid"], "kind": "event", "item_uid": events["event_type"],
                               "label": events["event_type_label"]}))
    return pd.concat(parts, ignore_index=True)


def report(t: Timer) -> None:
    table = pd.DataFrame(t.rows)
    per = table.pivot_table(index="measure", columns="part", values="seconds", aggfunc="sum", sort=False).fillna(0.0)
    per = per.reindex(columns=["pull", "compute"], fill_value=0.0)
    per["total"] = per.sum(axis=1)
    print("\nper measure (seconds):")
    print(per.round(2).to_string())
    pull, compute = float(table.loc[table["part"] == "pull", "seconds"].sum()), float(
        table.loc[table["part"] == "compute", "seconds"].sum())
    total = pull + compute
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npattern computation: {total:.1f} s (pull {pull:.1f} s, compute {compute:.1f} s); "
          f"target < {TARGET_S:.0f} s: {'met' if total < TARGET_S else 'NOT met'}; peak memory {peak:,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--coding-frame", type=int, default=3, choices=[2, 3])
    parser.add_argument("--db", default=None, help="embedded database to load into / reuse (default: a temp one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-patterns-") as work:
        db, name = prepare(args, Path(work))
        with EmbeddedBackend(db) as backend:
            print(f"\n{args.cases:,} SYNTHETIC homicides ({name}), embedded engine, read-only:")
            timer = run(backend, name)
    report(timer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
