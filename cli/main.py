"""`micropath`: load, query and serve the Micropathways homicide graph.

Every command takes ``--db`` (see graph_model.connect). Errors print one clear message and exit 1;
usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph_model.connect import default_db_uri, open_backend
from graph_model.errors import MicropathError
from loaders.problems import ValidationFailed
from queries.formatting import FORMATS, render

EPILOG = """examples:
  micropath load london-mps ../shared/data/london_mps_homicide_victims_2003_2024.csv
  micropath synth --cases 1000 --seed 7 ./synthetic-bundle && micropath load coded ./synthetic-bundle
  micropath queries
  micropath query factor_prevalence -p dataset=london-mps --format csv
  micropath cypher "MATCH (h:Homicide) RETURN h.year AS year, count(*) AS n ORDER BY year"
  micropath serve
"""


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, metavar="URI",
                        help=f"embedded:PATH, bolt://HOST:PORT or neo4j://HOST:PORT "
                             f"(default: $MICROPATH_DB or {default_db_uri()})")


def _format_arg(parser: argparse.ArgumentParser, default: str = "table") -> None:
    parser.add_argument("--format", choices=FORMATS, default=default, help="output format")


def build_parser() -> argparse.ArgumentParser:
    from loaders.base import SOURCES, get_source

    get_source("london-mps")  # import the built-in sources so SOURCES is complete
    parser = argparse.ArgumentParser(
        prog="micropath", description="Micropathways: a knowledge graph of homicides, their "
        "situational factors and the micropathways that lead up to them.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    load = sub.add_parser("load", help="validate a source file and load it into the graph",
                          description="Validate SOURCE's file (every problem is reported with file, "
                          "row, column, value and what was expected) and load it in one transaction. "
                          "Reloading unchanged data changes nothing.")
    load.add_argument("source", choices=sorted(SOURCES),
                      help="; ".join(f"{n}: {c.description}" for n, c in sorted(SOURCES.items())))
    load.add_argument("path", type=Path, help="the file (or coded bundle folder) to load")
    load.add_argument("--dry-run", action="store_true", help="validate and map only; write nothing")
    load.add_argument("--problems", type=Path, metavar="FILE", help="write all problems to FILE as CSV")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    _db_arg(load)

    synth = sub.add_parser("synth", help="write a seeded SYNTHETIC coded bundle for demos and benchmarks")
    synth.add_argument("out", type=Path, help="folder to write the bundle to")
    synth.add_argument("--cases", type=int, default=1000, help="number of homicides (default 1000)")
    synth.add_argument("--seed", type=int, default=1, help="random seed (same seed, same bundle)")
    synth.add_argument("--name", default=None, help="dataset name (default synthetic-s<SEED>)")

    lst = sub.add_parser("queries", help="list the saved queries")
    _format_arg(lst)

    query = sub.add_parser("query", help="run a saved query read-only")
    query.add_argument("name", help="saved query name (see `micropath queries`)")
    query.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                       help="parameter value, repeatable; lists are comma-separated")
    query.add_argument("--max-rows", type=int, default=None, help="row cap (default: the query's own)")
    _db_arg(query)
    _format_arg(query)

    cypher = sub.add_parser("cypher", help="run ad-hoc Cypher read-only (writes are refused)")
    cypher.add_argument("text", help="the Cypher statement")
    cypher.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="string parameter, repeatable (use $KEY in the statement)")
    cypher.add_argument("--timeout", type=float, default=30.0, help="time limit in seconds (default 30)")
    cypher.add_argument("--max-rows", type=int, default=1000, help="row cap (default 1000)")
    _db_arg(cypher)
    _format_arg(cypher)

    serve = sub.add_parser("serve", help="serve the dashboard on 127.0.0.1")
    serve.add_argument("--host", default="127.0.0.1",
                       help="interface to listen on (default 127.0.0.1; anything else exposes the data)")
    serve.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    serve.add_argument("--threads", type=int, default=16,
                       help="requests served at once (default 16; more wait their turn)")
    serve.add_argument("--debug", action="store_true",
                       help="Flask's development server with Dash's debugger (never on a shared machine)")
    serve.add_argument("--secure-cookies", action="store_true",
                       help="mark cookies Secure: set when users reach the dashboard over HTTPS (e.g. a TLS proxy)")
    _db_arg(serve)

    schema = sub.add_parser("schema", help="print the schema derived from the ontology")
    schema.add_argument("--engine", choices=["ladybug", "neo4j", "json"], default="ladybug")

    neo = sub.add_parser("neo4j", help="start, stop or check a local Neo4j 5.26 LTS Community server",
                         description="Runs Neo4j from Maven Central (resolved once into the user cache) on "
                         "127.0.0.1 with only the Bolt connector. The password of user neo4j is taken from "
                         "NEO4J_PASSWORD (never the command line). Then use --db bolt://127.0.0.1:PORT.")
    neo.add_argument("action", choices=["start", "stop", "status"])
    neo.add_argument("--port", type=int, default=7687, help="Bolt port (default 7687)")
    neo.add_argument("--data", type=Path, default=None,
                     help="data directory (default ~/.local/share/micropathways/neo4j)")
    neo.add_argument("--heap", default="2g", help="JVM heap (default 2g; one load is one transaction)")
    neo.add_argument("--page-cache", default="512m", help="page cache (default 512m)")

    for module in _command_modules():
        module.add_parser(sub, _db_arg)

    info = sub.add_parser("datasets", help="list the datasets loaded in the graph")
    _db_arg(info)
    _format_arg(info)
    return parser


def _command_modules() -> list[Any]:
    """The command modules ``cli/*_cmd.py`` (each defines ``add_parser(sub, db_arg)`` and sets ``func``),
    in name order, so a new command is one new module."""
    import importlib
    import pkgutil

    import cli

    names = sorted(m.name for m in pkgutil.iter_modules(cli.__path__) if m.name.endswith("_cmd"))
    return [importlib.import_module(f"cli.{name}") for name in names]


def _params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise MicropathError(f"parameter {pair!r} must look like KEY=VALUE")
        out[key.strip()] = value
    return out


def cmd_load(args: argparse.Namespace) -> int:
    from access.audit import record_load
    from cli.progress import LoadProgress
    from loaders.base import prepare

    try:
        result = prepare(args.source, args.path)
    except ValidationFailed as exc:
        if args.problems:
            exc.to_frame().to_csv(args.problems, index=False)
        record_load("load-refused", args.source, args.path, args.db, problems=len(exc.to_frame()))
        raise
    for column, reason in sorted(result.stripped.items()):
        print(f"stripped column {column!r}: {reason} (never stored in the graph)", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    bundle = result.bundle
    print(f"validated {args.path}: {bundle.count_nodes()} nodes, {bundle.count_rels()} relationships",
          file=sys.stderr)
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    record_load("load-started", args.source, args.path, args.db)  # audit log (access/audit.py)
    try:
        with open_backend(args.db, write=True) as backend, LoadProgress(disable=args.quiet) as progress:
            report = backend.write_bundle(bundle, progress)
    except Exception as exc:
        record_load("load-failed", args.source, args.path, args.db, error=str(exc) or type(exc).__name__)
        raise
    record_load("load", args.source, args.path, args.db, report)
    print(report.summary())
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from loaders.synthetic import write_bundle

    path = write_bundle(args.out, cases=args.cases, seed=args.seed, name=args.name)
    print(f"wrote SYNTHETIC coded bundle of {args.cases} homicides to {path}")
    return 0


def cmd_queries(args: argparse.Namespace) -> int:
    from queries.registry import default_registry

    registry = default_registry()
    if args.format == "json":
        print(json.dumps([q.summary() for q in registry], indent=2))
        return 0
    for q in registry:
        params = ", ".join(f"{p.name}:{p.type}={p.default!r}" for p in q.parameters)
        print(f"{q.name:32} {q.title}" + (f"  [{params}]" if params else ""))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from queries.runner import run_saved_query

    with open_backend(args.db) as backend:
        result = run_saved_query(backend, args.name, _params(args.param), max_rows=args.max_rows)
    print(render(result, args.format))
    _warn_truncated(result.truncated)
    return 0


def cmd_cypher(args: argparse.Namespace) -> int:
    from queries.runner import run_adhoc

    with open_backend(args.db) as backend:
        result = run_adhoc(backend, args.text, _params(args.param), timeout_s=args.timeout,
                           max_rows=args.max_rows)
    print(render(result, args.format))
    _warn_truncated(result.truncated)
    return 0


def _warn_truncated(truncated: bool) -> None:
    if truncated:
        print("warning: the result was truncated at the row cap; raise --max-rows to see more",
              file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    from dashboard.app import serve

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"WARNING: listening on {args.host} exposes the dashboard (and the data) beyond this "
              "machine.", file=sys.stderr)
    serve(args.db, host=args.host, port=args.port, debug=args.debug, secure_cookies=args.secure_cookies,
          threads=args.threads)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from graph_model.ddl import ladybug_ddl, neo4j_ddl
    from graph_model.schema import get_schema

    schema = get_schema()
    if args.engine == "json":
        print(json.dumps({"nodes": {k: [p.__dict__ for p in v.properties] for k, v in schema.nodes.items()},
                          "relationships": {k: {"pairs": v.pairs, "properties": [p.__dict__ for p in v.properties]}
                                            for k, v in schema.rels.items()}}, indent=2))
        return 0
    statements = ladybug_ddl(schema) if args.engine == "ladybug" else neo4j_ddl(schema)
    print(";\n".join(statements) + ";")
    return 0


def cmd_neo4j(args: argparse.Namespace) -> int:
    from graph_model import neo4j_service

    if args.action == "start":
        print(f"starting Neo4j {neo4j_service.neo4j_version()} (first start resolves it from Maven Central) …",
              file=sys.stderr)
        uri = neo4j_service.start(args.data, args.port, heap=args.heap, page_cache=args.page_cache)
        print(f"Neo4j is running: use --db {uri}")
    elif args.action == "stop":
        stopped = neo4j_service.stop(args.data)
        print("Neo4j stopped" if stopped else "Neo4j was not running")
    else:
        print(neo4j_service.status(args.data, args.port))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    with open_backend(args.db) as backend:
        result = backend.run_read(
            "MATCH (d:Dataset) RETURN d.name AS name, d.record_count AS records, d.synthetic AS synthetic, "
            "d.factor_recording AS factor_recording, d.loaded_at AS loaded_at, d.source AS source "
            "ORDER BY name", tag="datasets")
    print(render(result, args.format))
    return 0


COMMANDS: dict[str, Any] = {
    "load": cmd_load, "synth": cmd_synth, "queries": cmd_queries, "query": cmd_query,
    "cypher": cmd_cypher, "serve": cmd_serve, "schema": cmd_schema, "datasets": cmd_datasets,
    "neo4j": cmd_neo4j,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        handler = getattr(args, "func", None) or COMMANDS[args.command]
        return int(handler(args))
    except MicropathError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
