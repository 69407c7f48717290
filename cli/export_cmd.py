"""`micropath export …` (RDF, JSON-LD, GraphML, RDF Data Cube, CSV) and `micropath import rdf FILE`.

Exports read the graph read-only (schema-generated queries and saved queries through the read-only layers);
imports go through the loader pipeline (every problem reported, nothing written unless all is valid). Each
export and import (not a dry run) appends one entry to the audit log (access/audit.py `audited`). See
docs/exports.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph_model.errors import MicropathError

EXAMPLES = """examples:
  micropath export rdf -o graph.ttl                              # the whole graph, Turtle
  micropath export jsonld --dataset london-mps -o london.jsonld   # one dataset, JSON-LD
  micropath export rdf --query similar_homicides -p uid=london-mps:17 -o similar.ttl
  micropath export graphml --dataset london-mps -o london.graphml # open in Gephi: File > Open
  micropath export graphml --query pathway_of_homicide -p uid=synthetic-s7:SYN-000003 -o pathway.graphml
  micropath export datacube --cube homicides_by_year_method -o cube.ttl
  micropath export datacube --cube homicides_by_year_method --dataset london-mps --suppress -o partner.ttl
  micropath export datacube --query homicides_by_area -p dataset=london-mps -o areas.ttl
  micropath export csv --query factor_prevalence -p dataset=london-mps -o prevalence.csv
  micropath import rdf london.ttl --db embedded:./copy.lbdb
"""
FORMATS = ("rdf", "jsonld", "graphml", "datacube", "csv")


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register `export` and `import` on sub; db_arg adds the shared --db option."""
    from exports.datacube import BUILT_IN

    export = sub.add_parser(
        "export", help="export the graph, a dataset or a saved query's result (RDF, JSON-LD, GraphML, Data Cube, CSV)",
        description="Write an open export. rdf/jsonld: the graph under the ontology (SHACL shapes in "
        "ontology/shapes/export.ttl); graphml: for Gephi; datacube: aggregate statistics as W3C RDF Data Cube "
        "observations; csv: a saved query's table. Without --dataset or --query, rdf/jsonld/graphml export the "
        "whole graph. See docs/exports.md.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("format", choices=FORMATS, help="what to write")
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="file to write")
    scope = export.add_mutually_exclusive_group()
    scope.add_argument("--dataset", metavar="NAME", help="only this dataset (datacube: its parameter dataset)")
    scope.add_argument("--query", metavar="NAME", help="a saved query's result (see `micropath queries`)")
    export.add_argument("--cube", choices=sorted(BUILT_IN), help="datacube: a built-in cube "
                       "(default homicides_by_year_method)")
    export.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="parameter of the query or cube, repeatable; lists are comma-separated")
    export.add_argument("--suppress", nargs="?", type=int, const=0, default=None, metavar="THRESHOLD",
                        help="datacube: suppress small counts for partners (disclosure.suppress_table: primary "
                        "and secondary suppression); default threshold $MICROPATH_DISCLOSURE_THRESHOLD or 10, "
                        "a higher one may be given")
    export.add_argument("--shacl", action="store_true",
                        help="rdf/jsonld: validate the export against the SHACL shapes before writing it")
    db_arg(export)
    export.set_defaults(func=cmd_export)

    imp = sub.add_parser(
        "import", help="load an RDF export (Turtle or JSON-LD) back into a graph",
        description="Load a file written by `micropath export rdf|jsonld`: every dataset it holds is validated "
        "first (every problem reported, nothing written if any), then each dataset is written in its own "
        "transaction (re-running is idempotent). A one-dataset file can also be loaded with `micropath load rdf`.")
    imp.add_argument("kind", choices=["rdf"], help="what the file is")
    imp.add_argument("path", type=Path, help="the .ttl (or .jsonld) file")
    imp.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    db_arg(imp)
    imp.set_defaults(func=cmd_import)


def parse_params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise MicropathError(f"parameter {pair!r} must look like KEY=VALUE")
        out[key.strip()] = value
    return out


def cmd_export(args: argparse.Namespace) -> int:
    from access.audit import audited

    what = {"format": args.format, "output": str(args.output.resolve()), "dataset": args.dataset or "",
            "query": args.query or "", "cube": args.cube or "", "params": list(args.param),
            "suppress": args.suppress, "shacl": args.shacl}
    with audited("export", args.db, **what) as results:  # one audit entry, ok or failed (access/audit.py)
        results["result"] = message = _export(args)
    print(f"{message} to {args.output}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> str:
    from graph_model.connect import open_backend

    params = parse_params(args.param)
    if args.suppress is not None and args.format != "datacube":
        raise MicropathError("--suppress applies to `export datacube`; partners receive aggregates only")
    if args.cube and args.format != "datacube":
        raise MicropathError("--cube is for `export datacube`; use --dataset or --query for other formats")
    if args.format == "csv" and not args.query:
        raise MicropathError("`export csv` needs --query NAME (one CSV per saved query)")
    with open_backend(args.db) as backend:
        return EXPORTERS[args.format](backend, args, params)


def _subgraph(backend: Any, args: argparse.Namespace, params: dict[str, str]) -> Any:
    from exports.subgraph import ExportError, Scope, read_subgraph, record_uids_of
    from queries.runner import run_saved_query

    if args.query:
        result = run_saved_query(backend, args.query, params)
        if result.truncated:
            raise ExportError(f"query {args.query!r} was truncated at its row cap; narrow it with parameters")
        subgraph = read_subgraph(backend, Scope(uids=tuple(record_uids_of(result.rows, result.columns))))
        if not any(subgraph.nodes.get(label) for label in ("Homicide", "Incident")):
            raise ExportError(f"the result of query {args.query!r} names no homicide or incident records")
        return subgraph
    if params:
        raise MicropathError("-p parameters need --query NAME")
    return read_subgraph(backend, Scope(dataset=args.dataset) if args.dataset else None)


def _export_rdf(backend: Any, args: argparse.Namespace, params: dict[str, str]) -> str:
    from exports.rdf import to_rdf, write_rdf
    from exports.shapes import validate

    subgraph = _subgraph(backend, args, params)
    graph = to_rdf(subgraph)
    if args.shacl:
        conforms, report = validate(graph)
        if not conforms:
            raise MicropathError(f"the export does not conform to ontology/shapes/export.ttl; nothing written:\n"
                                 f"{report[:4000]}")
    write_rdf(graph, args.output, "turtle" if args.format == "rdf" else "jsonld")
    return (f"exported {subgraph.count_nodes()} nodes and {subgraph.count_rels()} relationships "
            f"({len(graph)} triples)")


def _export_graphml(backend: Any, args: argparse.Namespace, params: dict[str, str]) -> str:
    from exports.graphml import from_query_result, from_subgraph, write_graphml
    from queries.registry import default_registry
    from queries.runner import run_saved_query

    if args.query and default_registry().get(args.query).result == "graph":
        graph = from_query_result(args.query, run_saved_query(backend, args.query, params))
    else:
        graph = from_subgraph(_subgraph(backend, args, params))
    write_graphml(graph, args.output)
    return f"exported {graph.number_of_nodes()} nodes and {graph.number_of_edges()} edges as GraphML"


def _export_datacube(backend: Any, args: argparse.Namespace, params: dict[str, str]) -> str:
    from exports.datacube import QB, build_cube
    from exports.rdf import write_rdf

    if args.dataset:
        params = {**params, "dataset": args.dataset}
    name = args.query or args.cube or "homicides_by_year_method"
    threshold = None
    if args.suppress is not None:
        from disclosure.policy import check_threshold

        threshold = check_threshold(args.suppress or None)
    graph = build_cube(backend, name, params, suppress=threshold)
    fmt = "jsonld" if args.output.suffix.lower() in {".jsonld", ".json"} else "turtle"
    write_rdf(graph, args.output, fmt)
    observations = len(set(graph.subjects(predicate=QB.dataSet)))
    return f"exported Data Cube {name!r}: {observations} observations ({fmt})"


def _export_csv(backend: Any, args: argparse.Namespace, params: dict[str, str]) -> str:
    from queries.formatting import to_csv
    from queries.runner import run_saved_query

    result = run_saved_query(backend, args.query, params)
    args.output.write_text(to_csv(result), encoding="utf-8")
    if result.truncated:
        print("warning: the result was truncated at the query's row cap", file=sys.stderr)
    return f"exported {len(result.rows)} rows of {args.query!r} as CSV"


EXPORTERS: dict[str, Callable[[Any, argparse.Namespace, dict[str, str]], str]] = {
    "rdf": _export_rdf, "jsonld": _export_rdf, "graphml": _export_graphml, "datacube": _export_datacube,
    "csv": _export_csv,
}


def cmd_import(args: argparse.Namespace) -> int:
    from access.audit import audited, report_details
    from graph_model.connect import open_backend

    if args.dry_run:  # writes nothing, so not an action of record (like `load --dry-run`)
        _validate_import(args.path)
        print("dry run: nothing written")
        return 0
    with audited("import", args.db, kind=args.kind, path=str(args.path.resolve())) as results:
        bundles = _validate_import(args.path)
        written: list[dict[str, Any]] = []
        results["datasets"] = written
        with open_backend(args.db, write=True) as backend:
            for bundle in bundles:
                report = backend.write_bundle(bundle)
                written.append(report_details(report))
                print(report.summary())
    return 0


def _validate_import(path: Path) -> list[Any]:
    from loaders.sources.rdf import prepare_bundles

    bundles, notes = prepare_bundles(path)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for bundle in bundles:
        print(f"validated {bundle.dataset}: {bundle.count_nodes()} nodes, {bundle.count_rels()} relationships",
              file=sys.stderr)
    return list(bundles)
