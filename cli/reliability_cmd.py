"""`micropath reliability`: agreement between coders on double-coded cases, per variable.

Runs :func:`patterns.reliability.reliability` read-only and prints one row per variable (every factor,
the method, motive and relationship): double-coded cases, percent agreement, Cohen's kappa, Krippendorff's
alpha, and whether the variable is below the threshold. In table output flagged variables are marked
``<< BELOW 0.6`` and listed under the table; csv and json give the full-precision figures and the boolean
``below_threshold``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from cli.slice_options import add_slice_options
from graph_model.backend import QueryResult
from queries.formatting import FORMATS, render

FLAG = "<< BELOW"


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the subcommand on sub; db_arg adds the shared --db option."""
    from patterns.reliability import THRESHOLD

    parser = sub.add_parser(
        "reliability", help="agreement between coders on double-coded cases, per variable",
        description="Per variable (factors, method, motive, relationship) of the cases coded by two or "
        "more coders (a coded bundle's reliability.csv): double-coded cases, percent agreement, Cohen's "
        "kappa (two coders), Krippendorff's alpha (nominal; any number of coders, not_recorded = missing). "
        "Variables added in a later coding frame leave out cases coded under an earlier one. Variables "
        f"whose alpha or kappa is below the threshold (default {THRESHOLD}) are flagged.")
    add_slice_options(parser, full=False)
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"flag variables whose alpha or kappa is below this (default {THRESHOLD})")
    db_arg(parser)
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.set_defaults(func=cmd_reliability)


def cmd_reliability(args: argparse.Namespace) -> int:
    from graph_model.connect import open_backend
    from patterns.reliability import COLUMNS, Selection, records, reliability

    selection = Selection(args.dataset, 0 if args.year_from is None else args.year_from,
                          9999 if args.year_to is None else args.year_to)
    with open_backend(args.db) as backend:
        table = reliability(backend, selection, threshold=args.threshold)
    rows = records(table)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if args.format == "csv":
        print(render(QueryResult(list(COLUMNS), rows), "csv"), end="")
        return 0
    print(_table(rows, args.threshold))
    return 0


def _table(rows: list[dict[str, Any]], threshold: float) -> str:
    if not rows:
        return "no double-coded cases in the selection (a coded bundle's reliability.csv holds them)"
    columns = ["variable", "kind", "cases", "coders", "agreement", "kappa", "alpha", "flag"]
    shown = []
    for row in rows:
        flag = {True: f"{FLAG} {threshold:g}", False: "", None: "n/a"}[row["below_threshold"]]
        shown.append({**{c: row.get(c) for c in columns[:-1]}, "flag": flag,
                      **{m: _fixed(row[m]) for m in ("agreement", "kappa", "alpha")}})
    text = render(QueryResult(columns, shown), "table")
    flagged = [r["variable"] for r in rows if r["below_threshold"]]
    notes = [f"{r['variable']}: {r['note']}" for r in rows if r["note"]]
    lines = [text, "",
             f"{len(flagged)} variable(s) below {threshold:g}: {', '.join(flagged)}" if flagged
             else f"no variable below {threshold:g}"]
    lines += [f"note: {n}" for n in notes]
    lines.append("agreement: share of double-coded cases with identical codings; kappa: Cohen's (own value vs "
                 "second coding); alpha: Krippendorff's, nominal; not_recorded is missing, never a disagreement")
    return "\n".join(lines)


def _fixed(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"
