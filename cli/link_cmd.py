"""`micropath link …`: link the records of two loaded datasets and review the links (docs/linkage.md).

`link run`, `link accept` and `link reject` write to the graph: each appends one audit entry (``link-run``,
``link-review``; access/audit.py `audited`), ok or failed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from queries.formatting import FORMATS, render

EXAMPLES = """examples:
  micropath link run --left shr --right gva --method splink --block year,area_state \\
      --fields month,victim_age,victim_sex,suspect_age,suspect_sex,victim_count --threshold 0.5 \\
      --filter year_from=2014 --filter year_to=2015 --filter method=shooting --right-filter kind=homicide
  micropath link run --left london-mps --right partner-ae --method deterministic --keys pseudonymous_ref
  micropath link summary --left shr --right gva
  micropath link list --left shr --right gva --min-probability 0.95 --format csv
  micropath link review --run linkrun:2a14015d763c0f3a --limit 10
  micropath link accept --run linkrun:2a14015d763c0f3a --pair shr:201401001AZ00725 gva:96805 --reviewer r01
  micropath link reject --run linkrun:2a14015d763c0f3a --min-probability 0 --max-probability 0.6 --reviewer r01
"""


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `link` and its subcommands on ``sub``; ``db_arg`` adds the shared --db option."""
    link = sub.add_parser(
        "link", help="link records of two datasets (deterministic keys or Splink) and review the links",
        description="Link the records of two loaded datasets: deterministically on shared keys, or "
        "probabilistically with Splink. Links are LINKED_TO relationships carrying the run, method, match "
        "probability and weight, the fields that agreed and the threshold; re-running with the same "
        "parameters changes nothing and keeps review decisions. See docs/linkage.md.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = link.add_subparsers(dest="link_command", required=True, metavar="ACTION")

    def command(name: str, help_text: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text, description=help_text)
        db_arg(parser)
        parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
        parser.set_defaults(func=func)
        return parser

    run = command("run", "make (or remake) a link run and write its links", cmd_run)
    run.add_argument("--left", required=True, help="dataset whose records the links start from")
    run.add_argument("--right", required=True, help="dataset whose records the links point to")
    run.add_argument("--method", choices=["deterministic", "splink"], required=True)
    run.add_argument("--keys", default="", help="deterministic: fields that must all agree, e.g. "
                     "pseudonymous_ref or area_borough,year,month or iccs")
    run.add_argument("--block", default="", help="splink: blocking fields (pairs must agree on them; they are "
                     "compared too), e.g. year,area_state")
    run.add_argument("--fields", default="", help="splink: other fields to compare, e.g. "
                     "month,victim_age,victim_sex,method")
    run.add_argument("--threshold", type=float, help="splink: keep pairs with match probability at least this")
    run.add_argument("--seed", type=int, default=1, help="splink: seed of the u sampling (default 1)")
    run.add_argument("--recall", type=float, default=0.7, help="splink: share of true matches expected to "
                     "agree exactly on every field, for the prior (default 0.7)")
    run.add_argument("--max-pairs", type=float, default=5e6, help="splink: random pairs for u (default 5e6)")
    for flag, where in (("--filter", "both datasets"), ("--left-filter", "the left dataset"),
                        ("--right-filter", "the right dataset")):
        run.add_argument(flag, action="append", default=[], metavar="FIELD=VALUE",
                         help=f"keep records of {where} whose field equals VALUE (year_from / year_to bound "
                         "the year); repeatable")
    listing = command("list", "list links (highest probability first)", cmd_list)
    _selection(listing)
    listing.add_argument("--status", choices=["", "proposed", "accepted", "rejected"], default="")
    review = command("review", "proposed links of a run with both records' fields side by side", cmd_review)
    review.add_argument("--run", required=True, help="link run uid (see `micropath link summary`)")
    review.add_argument("--limit", type=int, default=20, help="how many links (default 20)")
    for name, verb in (("accept", "accept"), ("reject", "reject")):
        decide = command(name, f"{verb} links of a run (one transaction)", cmd_decide)
        decide.add_argument("--run", required=True, help="link run uid")
        decide.add_argument("--pair", nargs=2, action="append", default=[], metavar=("LEFT_UID", "RIGHT_UID"),
                            help="one link; repeatable")
        decide.add_argument("--min-probability", type=float, help="every proposed link of the run at or above")
        decide.add_argument("--max-probability", type=float, default=1.0, help="... and at or below (default 1)")
        decide.add_argument("--reviewer", required=True, help="your pseudonymous reviewer id (never a name)")
        decide.set_defaults(decision="accepted" if name == "accept" else "rejected")
    summary = command("summary", "link runs with link counts at 0.5, 0.8, 0.95 and 0.99", cmd_summary)
    summary.add_argument("--left", default="", help="left dataset (default: any)")
    summary.add_argument("--right", default="", help="right dataset (default: any)")


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--left", default="", help="left dataset (default: any)")
    parser.add_argument("--right", default="", help="right dataset (default: any)")
    parser.add_argument("--run", default="", help="link run uid (default: any)")
    parser.add_argument("--min-probability", type=float, default=0.0, help="lowest match probability (default 0)")


def _open(args: argparse.Namespace, write: bool = False) -> Any:
    from graph_model.connect import open_backend

    return open_backend(args.db, write=write)


def _print(frame: pd.DataFrame, fmt: str) -> int:
    from patterns.results import to_result

    print(render(to_result(frame), fmt))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from access.audit import audited
    from linkage.fields import parse_fields, parse_filters
    from linkage.runs import RunSpec, run_links

    keys = tuple(parse_fields(args.keys)) if args.method == "deterministic" else ()
    spec = RunSpec(args.left, args.right, args.method, keys=keys,
                   block=tuple(parse_fields(args.block)) if args.method == "splink" else (),
                   compare=tuple(parse_fields(args.fields)) if args.method == "splink" else (),
                   threshold=args.threshold if args.method == "splink" else None, seed=args.seed,
                   recall=args.recall, max_pairs=args.max_pairs, filters=parse_filters(args.filter),
                   left_filters=parse_filters(args.left_filter), right_filters=parse_filters(args.right_filter))
    with audited("link-run", args.db, run=spec.uid, left=spec.left, right=spec.right, method=spec.method,
                 keys=list(spec.keys), block=list(spec.block), compare=list(spec.compare),
                 threshold=spec.threshold, seed=args.seed, filters=args.filter, left_filters=args.left_filter,
                 right_filters=args.right_filter) as results, _open(args, write=True) as backend:
        outcome = run_links(backend, spec)
        p = outcome.links["match_probability"].astype(float)
        row = {"run": spec.uid, "left": spec.left, "right": spec.right, "method": spec.method,
               "left_records": outcome.left_records, "right_records": outcome.right_records, "links": len(p),
               **{f"at_{t}": int((p >= t).sum()) for t in (0.5, 0.8, 0.95, 0.99)},
               "relationships_written": outcome.report.rels_written}
        results.update({k: v for k, v in row.items() if k not in ("run", "left", "right", "method")})
    print(outcome.report.summary(), file=sys.stderr)
    return _print(pd.DataFrame([row]), args.format)


def cmd_list(args: argparse.Namespace) -> int:
    from linkage.api import list_links

    with _open(args) as backend:
        links = list_links(backend, args.left, args.right, args.min_probability, args.status, args.run)
    return _print(links, args.format)


def cmd_review(args: argparse.Namespace) -> int:
    from linkage.api import linked_records, list_links

    with _open(args) as backend:
        links = list_links(backend, run=args.run, status="proposed").head(args.limit)
        left, right = linked_records(backend, links)
    return _print(side_by_side(links, left, right), args.format)


def side_by_side(links: pd.DataFrame, left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Each link with the linkage fields of both records (``left_<field>``, ``right_<field>``)."""
    fields = ["case_id", "year", "month", "area", "victim_age", "victim_sex", "suspect_age", "suspect_sex",
              "victim_count", "method"]
    keep = ["left_uid", "right_uid", "match_probability", "match_weight", "agreed_fields"]
    out = links[keep]
    for side, records in (("left", left), ("right", right)):
        present = [f for f in fields if f in records.columns]
        renamed = records[["uid", *present]].rename(columns={f: f"{side}_{f}" for f in present})
        out = out.merge(renamed.rename(columns={"uid": f"{side}_uid"}), on=f"{side}_uid", how="left")
    return out


def cmd_decide(args: argparse.Namespace) -> int:
    from access.audit import audited
    from linkage.api import list_links
    from linkage.records import LinkageError
    from linkage.runs import review_links

    pairs = [tuple(p) for p in args.pair]
    with audited("link-review", args.db, run=args.run, decision=args.decision, reviewer=args.reviewer,
                 pairs_given=[list(p) for p in args.pair], min_probability=args.min_probability,
                 max_probability=args.max_probability) as results, _open(args, write=True) as backend:
        if args.min_probability is not None:
            links = list_links(backend, run=args.run, status="proposed", min_probability=args.min_probability)
            links = links[links["match_probability"] <= args.max_probability]
            pairs += list(zip(links["left_uid"], links["right_uid"], strict=True))
        if not pairs:
            raise LinkageError("no links chosen: give --pair LEFT_UID RIGHT_UID or --min-probability")
        report = review_links(backend, args.run, sorted(set(pairs)), args.decision, args.reviewer)
        results.update(links_decided=len(set(pairs)), rels_written=report.rels_written)
    print(f"{args.decision} {len(set(pairs))} link(s) of {args.run}: {report.rels_written} written", file=sys.stderr)
    return _print(pd.DataFrame({"left_uid": [p[0] for p in sorted(set(pairs))],
                                "right_uid": [p[1] for p in sorted(set(pairs))], "status": args.decision}),
                  args.format)


def cmd_summary(args: argparse.Namespace) -> int:
    from linkage.api import link_summary

    with _open(args) as backend:
        return _print(link_summary(backend, args.left, args.right), args.format)
