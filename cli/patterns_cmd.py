"""`micropath patterns …`: factor patterns (prevalence, pairs, rules, itemsets, contrasts) and similar
homicides / clusters, computed by patterns.factors and patterns.similarity (see docs/patterns.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, Literal

import pandas as pd

from cli.slice_options import add_format_option, add_slice_options, filters_from, note_synthetic, print_frame

EXAMPLES = """examples:
  micropath patterns prevalence --dataset synthetic-s42
  micropath patterns pairs --dataset gva --format json
  micropath patterns rules --min-confidence 0.5 --min-count 10
  micropath patterns itemsets --min-support 0.05 --max-len 4
  micropath patterns contrasts --by relationship
  micropath patterns contrasts --dataset shr --by relationship --items motive --source-groups
  micropath patterns similar synthetic-s42:SYN-000017 -k 10
  micropath patterns clusters --threshold 0.5 --max-records 5000
"""


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `patterns` and its subcommands on sub; db_arg adds the shared --db option."""
    patterns = sub.add_parser(
        "patterns", help="factor patterns: prevalence, pairs, rules, itemsets, contrasts, similar, clusters",
        description="Statistics over situational factors, computed from slices pulled with saved Cypher "
        "(same answers on both engines). Not coded is not absent: each measure's denominator is the "
        "records where the factor was coded (presence-only datasets such as GVA: every record). "
        "See docs/patterns.md.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = patterns.add_subparsers(dest="patterns_command", required=True, metavar="MEASURE")

    def command(name: str, help_text: str, func: Callable[[argparse.Namespace], int],
                level: bool = True) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text, description=help_text)
        add_slice_options(parser)
        if level:
            parser.add_argument("--common", action="store_true",
                                help="use common (micropathways) factors: source factors through MAPS_TO")
        db_arg(parser)
        add_format_option(parser)
        parser.set_defaults(func=func)
        return parser

    command("prevalence", "prevalence of every factor (present / coded) with a Wilson interval", cmd_prevalence)
    pairs = command("pairs", "co-occurring factor pairs: support, confidence, lift, Fisher p, BH q", cmd_pairs)
    pairs.add_argument("--min-count", type=int, default=1, help="list pairs present together at least this often "
                       "(the BH correction still covers every pair tested; default 1)")
    _alternative(pairs)
    rules = command("rules", "association rules A -> B (both directions of each pair)", cmd_rules)
    rules.add_argument("--min-count", type=int, default=1, help="minimum records with both (default 1)")
    rules.add_argument("--min-support", type=float, default=0.0, help="minimum support (default 0)")
    rules.add_argument("--min-confidence", type=float, default=0.0, help="minimum confidence (default 0)")
    _alternative(rules)
    items = command("itemsets", "frequent factor sets (FP-growth), support among records coding every factor",
                    cmd_itemsets)
    items.add_argument("--min-support", type=float, default=0.05, help="minimum support (default 0.05)")
    items.add_argument("--min-count", type=int, default=5, help="minimum records with the whole set (default 5)")
    items.add_argument("--min-len", type=int, default=2, help="smallest set size listed (default 2)")
    items.add_argument("--max-len", type=int, default=4, help="largest set size (default 4; 0: no limit)")
    contrasts = command("contrasts", "factors over- or under-represented in a motive / method / relationship "
                        "group against the rest (Fisher, BH)", cmd_contrasts)
    contrasts.add_argument("--by", choices=["motive", "method", "relationship"], default="motive",
                           help="grouping dimension (default motive)")
    contrasts.add_argument("--items", choices=["factor", "motive", "method", "relationship"], default="factor",
                           help="what is compared between groups (default factor)")
    contrasts.add_argument("--source-groups", action="store_true",
                           help="groups (and concept items) as the source coded them, not common codes")
    contrasts.add_argument("--min-group", type=int, default=1, help="skip groups with fewer records (default 1)")
    _alternative(contrasts)
    similar = command("similar", "the records most similar to one (coding-aware Jaccard over factors, "
                      "motive, method and event types)", cmd_similar, level=False)
    similar.add_argument("uid", help="record uid, e.g. synthetic-s42:SYN-000017")
    similar.add_argument("-k", type=int, default=10, help="how many (default 10)")
    similar.add_argument("--min-jaccard", type=float, default=0.0, help="lowest similarity listed (default 0)")
    clusters = command("clusters", "clusters of similar records (Louvain on the similarity graph) and "
                       "the features that define them", cmd_clusters, level=False)
    clusters.add_argument("--threshold", type=float, default=0.5, help="edge when Jaccard >= this (default 0.5)")
    clusters.add_argument("--neighbours", type=int, default=15,
                          help="link each record to its N most similar records above the threshold "
                          "(default 15; 0: every pair above it)")
    clusters.add_argument("--max-records", type=int, default=5000,
                          help="cluster a seeded random sample of this many records when the slice is larger "
                          "(default 5000)")
    clusters.add_argument("--seed", type=int, default=42, help="seed of the sample and of Louvain (default 42)")
    clusters.add_argument("--resolution", type=float, default=1.0, help="Louvain resolution (default 1)")
    clusters.add_argument("--min-size", type=int, default=5, help="describe clusters of at least this size")
    clusters.add_argument("--top", type=int, default=5, help="defining features listed per cluster (default 5)")
    clusters.add_argument("--members", action="store_true", help="print each record's cluster instead")


def _alternative(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--alternative", choices=["two-sided", "greater", "less"], default="two-sided",
                        help="Fisher's exact test: two-sided (default), greater (over-represented only), less")


def emit(frame: pd.DataFrame, fmt: str, records: pd.DataFrame | None = None) -> int:
    print_frame(frame, fmt)
    if records is not None:
        note_synthetic(records)
        if records.empty:
            print("note: no record matches these filters", file=sys.stderr)
    return 0


def _matrix(args: argparse.Namespace, backend: Any) -> Any:
    from patterns.factors import factor_matrix

    return factor_matrix(backend, filters_from(args), "common" if args.common else "recorded")


def _open(args: argparse.Namespace) -> Any:
    from graph_model.connect import open_backend

    return open_backend(args.db)


def cmd_prevalence(args: argparse.Namespace) -> int:
    from patterns.factors import prevalence_of

    with _open(args) as backend:
        matrix = _matrix(args, backend)
    return emit(prevalence_of(matrix), args.format, matrix.records)


def cmd_pairs(args: argparse.Namespace) -> int:
    from patterns.factors import pairs_of

    with _open(args) as backend:
        matrix = _matrix(args, backend)
    return emit(pairs_of(matrix, min_count=args.min_count, alternative=args.alternative), args.format,
                matrix.records)


def cmd_rules(args: argparse.Namespace) -> int:
    from patterns.factors import rules_of

    with _open(args) as backend:
        matrix = _matrix(args, backend)
    frame = rules_of(matrix, min_count=args.min_count, min_support=args.min_support,
                     min_confidence=args.min_confidence, alternative=args.alternative)
    return emit(frame, args.format, matrix.records)


def cmd_itemsets(args: argparse.Namespace) -> int:
    from patterns.factors import itemsets_of

    with _open(args) as backend:
        matrix = _matrix(args, backend)
    frame = itemsets_of(matrix, min_support=args.min_support, min_count=args.min_count, min_len=args.min_len,
                        max_len=args.max_len or None)
    if args.format == "table":
        frame = frame.drop(columns=["items", "item_uids"])
    return emit(frame, args.format, matrix.records)


def cmd_contrasts(args: argparse.Namespace) -> int:
    from graph_model.errors import MicropathError
    from patterns.factors import concept_matrix, contrasts_of, factor_matrix, group_links

    if args.items == args.by:
        raise MicropathError("--items and --by must differ")
    level: Literal["common", "source"] = "source" if args.source_groups else "common"
    filters = filters_from(args)
    with _open(args) as backend:
        if args.items == "factor":
            matrix = factor_matrix(backend, filters, "common" if args.common else "recorded")
        else:
            matrix = concept_matrix(backend, args.items, filters, level)
        links = group_links(backend, args.by, filters, level)
    frame = contrasts_of(matrix, links, by=args.by, alternative=args.alternative, min_group=args.min_group)
    return emit(frame, args.format, matrix.records)


def cmd_similar(args: argparse.Namespace) -> int:
    from patterns.similarity import similar

    with _open(args) as backend:
        frame = similar(backend, args.uid, filters_from(args), k=args.k, min_jaccard=args.min_jaccard)
    return emit(frame, args.format)


def cmd_clusters(args: argparse.Namespace) -> int:
    from patterns.similarity import clusters_of, features

    with _open(args) as backend:
        feat = features(backend, filters_from(args))
    found = clusters_of(feat, threshold=args.threshold, neighbours=args.neighbours, max_records=args.max_records,
                        seed=args.seed, resolution=args.resolution, min_size=args.min_size, top=args.top)
    s = found.summary
    print(f"{s['records_clustered']} of {s['records_in_slice']} records clustered"
          + (f" (seeded random sample, seed {s['seed']})" if s["sampled"] else "")
          + f"; {s['edges']} edges with Jaccard >= {s['threshold']}; {s['clusters']} clusters, "
          f"{s['clusters_of_min_size']} of at least {args.min_size} records, {s['singletons']} singletons",
          file=sys.stderr)
    return emit(found.members if args.members else found.description, args.format, feat.records)
