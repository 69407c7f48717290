"""`micropath partner …`: the partner role's view — only partner-safe saved queries, every output
suppressed (disclosure/, docs/disclosure.md)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from queries.formatting import FORMATS

EXAMPLES = """examples:
  micropath partner queries
  micropath partner query partner_homicides_by_area_year_band -p dataset=london-mps
  micropath partner query partner_homicides_by_year_band_method -p dataset=london-mps --format csv
  micropath partner query partner_factor_status -p dataset=london-mps --threshold 20 --format json

Suppressed counts are shown as [c] (the ONS/GSS symbol for a confidential value); totals are rows
labelled 'Total'.
"""


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `partner query` and `partner queries` on sub; db_arg adds the shared --db option."""
    partner = sub.add_parser(
        "partner", help="the partner role: aggregate tables only, small counts suppressed",
        description="Run saved queries as a partner sees them: only queries marked safe for partners, "
        "filtered only by whole datasets, every count under the threshold suppressed together with the "
        "cells that would let it be worked out from totals or other partner tables. See docs/disclosure.md.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = partner.add_subparsers(dest="partner_command", required=True, metavar="ACTION")
    query = commands.add_parser("query", help="run a partner-safe saved query; output is suppressed")
    query.add_argument("name", help="partner-safe query name (see `micropath partner queries`)")
    query.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                       help="parameter value, repeatable (partner queries take dataset=NAME only)")
    query.add_argument("--threshold", type=int, default=None, metavar="N",
                       help="suppress counts under N (default and minimum: $MICROPATH_DISCLOSURE_THRESHOLD, else 10)")
    db_arg(query)
    query.add_argument("--format", choices=FORMATS, default="table", help="output format")
    query.set_defaults(func=cmd_query)
    listing = commands.add_parser("queries", help="list the saved queries partners may run")
    listing.add_argument("--format", choices=FORMATS, default="table", help="output format")
    listing.set_defaults(func=cmd_queries)


def cmd_query(args: argparse.Namespace) -> int:
    from cli.main import _params
    from disclosure.release import run_partner_query
    from graph_model.connect import open_backend

    with open_backend(args.db) as backend:
        release = run_partner_query(backend, args.name, _params(args.param), threshold=args.threshold)
    print(release.render(args.format))
    print(release.note(), file=sys.stderr)
    return 0


def cmd_queries(args: argparse.Namespace) -> int:
    from disclosure.policy import allowed_queries
    from graph_model.backend import QueryResult
    from queries.formatting import render

    queries = allowed_queries("partner")
    if args.format == "json":
        print(json.dumps([q.summary() for q in queries], indent=2))
        return 0
    rows = [{"name": q.name, "title": q.title,
             "dimensions": ", ".join(q.partner.dimensions) if q.partner else "",
             "parameters": ", ".join(f"{p.name}={p.default!r}" for p in q.parameters)} for q in queries]
    print(render(QueryResult(["name", "title", "dimensions", "parameters"], rows), args.format))
    return 0
