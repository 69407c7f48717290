"""`micropath pathways …`: micropathway analytics (patterns/pathways.py) on the command line.

    micropath pathways transitions --db URI [--dataset NAME] [--by motive|method] --format json
    micropath pathways sequences   --db URI [--kind contiguous|gapped|both] [--min-support 0.05] [--max-length 4]
    micropath pathways divergence  --db URI [--min-support 0.01] [--max-depth D]
    micropath pathways escalation  --db URI [--times | --five-minute-test [--window 3 7]]

Every subcommand takes the slice options of `micropath patterns` (--dataset, --year-from, --year-to, --area,
--motive, --method, --relationship, --incident-kinds; patterns.slices.Filters), --by and --format
table|csv|json. A note on stderr says when SYNTHETIC records are in the slice.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from cli.slice_options import add_format_option, add_slice_options, filters_from, note_synthetic, print_frame
from graph_model.connect import open_backend


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the subcommand on sub; db_arg adds the shared --db option."""
    pathways = sub.add_parser(
        "pathways", help="micropathway analytics: transitions, sub-sequences, divergence, escalation",
        description="Measures over the ordered prior events (micropathways) of the selected homicides, "
        "computed from the graph with saved Cypher (slice_pathway_steps, slice_pathway_records) and pandas. "
        "Definitions and formulas: docs/pathways.md.")
    kinds = pathways.add_subparsers(dest="pathways_command", required=True, metavar="MEASURE")

    def measure(name: str, help_text: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        parser = kinds.add_parser(name, help=help_text, description=help_text)
        add_slice_options(parser)
        parser.add_argument("--by", choices=["motive", "method"], default=None,
                            help="one result per common motive or method (default: all pathways together)")
        db_arg(parser)
        add_format_option(parser)
        parser.set_defaults(func=func)
        return parser

    trans = measure("transitions", "lag-1 transitions between event types: count, probability, prevalence "
                    "(share of pathways containing it) and adjusted standardised residuals", cmd_transitions)
    trans.add_argument("--alpha", type=float, default=0.05,
                       help="above_chance when residual > 0 and the BH q-value is below this (default 0.05)")
    trans.add_argument("--include-zero", action="store_true", help="also list transitions never observed")

    seqs = measure("sequences", "frequent sub-sequences: contiguous (n-grams) and gapped (PrefixSpan), "
                   "with support = share of pathways containing them", cmd_sequences)
    seqs.add_argument("--kind", choices=["contiguous", "gapped", "both"], default="both")
    seqs.add_argument("--min-support", type=float, default=0.05, help="minimum support (default 0.05)")
    seqs.add_argument("--max-length", type=int, default=4, help="longest pattern (default 4)")
    seqs.add_argument("--closed", action="store_true", help="gapped: closed patterns only")

    div = measure("divergence", "where pathways diverge: branch points of the prefix tree (from the first "
                  "step) with the share and entropy of each next step", cmd_divergence)
    div.add_argument("--min-support", type=float, default=0.01,
                     help="only prefixes shared by at least this share of pathways (default 0.01)")
    div.add_argument("--max-depth", type=int, default=None, help="deepest prefix reported")

    esc = measure("escalation", "escalation time (first conflict step to the fatal incident) as "
                  "distributions per group; --five-minute-test tests for a cluster around five minutes",
                  cmd_escalation)
    what = esc.add_mutually_exclusive_group()
    what.add_argument("--times", action="store_true", help="one row per homicide instead of the distribution")
    what.add_argument("--five-minute-test", action="store_true",
                      help="test for a cluster of escalation times in --window against its neighbours")
    esc.add_argument("--window", type=float, nargs=2, default=(3.0, 7.0), metavar=("LOW", "HIGH"),
                     help="minutes counted as 'around five' (default 3 7)")


def _run(args: argparse.Namespace, compute: Callable[[Any], Any]) -> int:
    from patterns.pathways import load_slice

    with open_backend(args.db) as backend:
        pathway_slice = load_slice(backend, filters_from(args))
    print_frame(compute(pathway_slice), args.format)
    note_synthetic(pathway_slice.records)
    if pathway_slice.records.empty:
        print("note: no record matching these filters has a micropathway", file=sys.stderr)
    return 0


def cmd_transitions(args: argparse.Namespace) -> int:
    from patterns.pathways import transitions

    return _run(args, lambda s: transitions(s, by=args.by, alpha=args.alpha, include_zero=args.include_zero))


def cmd_sequences(args: argparse.Namespace) -> int:
    from patterns.pathways import sequences

    return _run(args, lambda s: sequences(s, by=args.by, min_support=args.min_support, max_length=args.max_length,
                                          kind=args.kind, closed=args.closed))


def cmd_divergence(args: argparse.Namespace) -> int:
    from patterns.pathways import divergence

    return _run(args, lambda s: divergence(s, by=args.by, min_support=args.min_support, max_depth=args.max_depth))


def cmd_escalation(args: argparse.Namespace) -> int:
    from patterns.pathways import escalation, escalation_times, five_minute_test

    window = (float(args.window[0]), float(args.window[1]))
    if args.times:
        return _run(args, lambda s: escalation_times(s, by=args.by))
    if args.five_minute_test:
        return _run(args, lambda s: five_minute_test(s, by=args.by, window=window))
    return _run(args, lambda s: escalation(s, by=args.by, around=window))
