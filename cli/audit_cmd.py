"""`micropath audit …`: export and verify the append-only audit log (access/audit.py)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXAMPLES = """examples:
  micropath audit verify                 # exit 1 if a line was changed, removed or inserted
  micropath audit export --format csv > audit.csv
  micropath audit export --format json --event login

The log is $MICROPATH_AUDIT_LOG, else audit.jsonl in the data directory. `verify` prints the SHA-256 of
the last line: keep it somewhere else to detect lines cut off the end later.
"""


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    audit = sub.add_parser("audit", help="export or verify the audit log (logins, queries, exports, loads)",
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="print the entries as CSV or JSON")
    export.add_argument("--format", choices=["csv", "json"], default="json")
    export.add_argument("--event", default=None, help="only entries of this event (e.g. login, load)")
    export.add_argument("--log", type=Path, default=None, help="the log file (default: $MICROPATH_AUDIT_LOG)")
    export.set_defaults(func=cmd_export)
    verify = actions.add_parser("verify", help="check the hash chain; exit 1 if it is broken")
    verify.add_argument("--log", type=Path, default=None, help="the log file (default: $MICROPATH_AUDIT_LOG)")
    verify.set_defaults(func=cmd_verify)


def cmd_export(args: argparse.Namespace) -> int:
    from access.audit import AuditLog, to_csv

    entries = [e for e in AuditLog(args.log).entries() if args.event is None or e.get("event") == args.event]
    if args.format == "csv":
        sys.stdout.write(to_csv(entries))
    else:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from access.audit import AuditLog

    log = AuditLog(args.log)
    if not log.path.exists():
        print(f"no audit log at {log.path} yet")
        return 0
    count, last, problems = log.verify()
    if problems:
        print(f"{log.path}: the hash chain is BROKEN ({len(problems)} problem(s) in {count} lines):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"{log.path}: {count} entries, chain intact; last line SHA-256 {last}")
    return 0
