"""The slice options shared by `micropath patterns`, `pathways` and `reliability`, and table output of pattern
frames: which records a measure uses (patterns.slices.Filters) and how its DataFrame is printed."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd

from graph_model.backend import QueryResult
from queries.formatting import FORMATS, render


def add_slice_options(parser: argparse.ArgumentParser, *, full: bool = True) -> None:
    """--dataset, --year-from, --year-to and (``full``) --area, --motive, --method, --relationship,
    --incident-kinds, in one argument group."""
    group = parser.add_argument_group("slice (which records)")
    group.add_argument("--dataset", default="", metavar="NAME", help="dataset name (default: every dataset)")
    group.add_argument("--year-from", type=int, default=None, metavar="Y", help="first year included")
    group.add_argument("--year-to", type=int, default=None, metavar="Y", help="last year included")
    if not full:
        return
    group.add_argument("--area", default="", metavar="CODE",
                       help="area code or uid; contained areas included (E12000007: London)")
    group.add_argument("--motive", default="", metavar="CODE",
                       help="common motive code, e.g. quarrel_revenge_temper (or a Motive uid)")
    group.add_argument("--method", default="", metavar="CODE",
                       help="common method code, e.g. sharp_instrument (or a Method uid)")
    group.add_argument("--relationship", default="", metavar="CODE",
                       help="common relationship code (or a Relationship uid)")
    group.add_argument("--incident-kinds", default="", metavar="KIND,KIND",
                       help="keep only Incidents of these kinds (Homicides always kept; default: every record)")


def add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="output format (table rounds to 4 significant digits; csv and json do not)")


def filters_from(args: argparse.Namespace) -> Any:
    """The patterns.slices.Filters of parsed slice options."""
    from patterns.slices import Filters

    kinds = tuple(k.strip() for k in getattr(args, "incident_kinds", "").split(",") if k.strip())
    return Filters(dataset=args.dataset, year_from=args.year_from, year_to=args.year_to,
                   area=getattr(args, "area", ""), motive=getattr(args, "motive", ""),
                   method=getattr(args, "method", ""), relationship=getattr(args, "relationship", ""),
                   incident_kinds=kinds)


def print_frame(frame: pd.DataFrame, fmt: str) -> None:
    """Print a pattern table: csv and json at full precision, the table with floats to 4 significant digits."""
    from patterns.results import to_result

    result = to_result(frame)
    if fmt == "table":
        rows = [{c: (f"{v:.4g}" if isinstance(v, float) else v) for c, v in row.items()} for row in result.rows]
        result = QueryResult(result.columns, rows, result.truncated, result.elapsed_s, result.backend)
    print(render(result, fmt))


def note_synthetic(records: pd.DataFrame, dataset_column: str = "dataset") -> None:
    """Say on stderr when SYNTHETIC records are in the slice (they are never findings)."""
    if "synthetic" not in records:
        return
    synthetic = records["synthetic"].fillna(False).astype(bool)
    if synthetic.any():
        names = sorted(records.loc[synthetic, dataset_column].unique())
        print(f"note: SYNTHETIC data in this slice ({', '.join(names)}): not findings", file=sys.stderr)
