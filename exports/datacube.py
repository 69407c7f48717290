"""Aggregate statistics as W3C RDF Data Cube (qb:) observations.

A cube is a saved query whose rows become ``qb:Observation``s: some columns are dimensions, the numeric
rest are measures. Two cubes are built in (their queries are in ``exports/cubes/``, in the saved-query format,
read-only and portable like the library's):

* ``homicides_by_year_method`` — dimensions dataset × year × common method of killing; measure homicides;
* ``factor_prevalence_by_dataset`` — dimensions dataset × factor; measures n_present, n_coded, prevalence.

Any saved query of the library can be published the same way (``export datacube --query NAME``): its text
columns (and ``year``/``month``) are dimensions with literal values, its numeric columns are measures.

The output is in the Data Cube *normalised* form (``qb:componentProperty`` beside ``qb:dimension``/``qb:measure``,
every observation linked by ``qb:dataSet``), so the integrity constraints of the specification apply to it
directly. Concept dimensions (method, factor) take the concepts' SKOS IRIs and have a ``skos:Collection`` as
``qb:codeList``; the dataset dimension takes the ``mp:Dataset`` IRI of the RDF export.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from rdflib import DCTERMS, RDF, RDFS, SKOS, XSD, Graph, Namespace, URIRef
from rdflib import Literal as RdfLiteral

from exports.iris import CUBE_BASE, class_iri, node_iri
from exports.subgraph import ExportError
from graph_model.backend import GraphBackend, QueryResult
from graph_model.ontology import MP
from graph_model.vocab import get_vocabulary
from queries.registry import Registry, SavedQuery, default_registry

QB = Namespace("http://purl.org/linked-data/cube#")
CUBES_DIR = Path(__file__).resolve().parent / "cubes"
NOT_CODED = URIRef(CUBE_BASE + "code/not-coded")
DimensionKind = Literal["dataset", "year", "concept", "text", "integer"]
TIME_COLUMNS = ("year", "month")


@dataclass(frozen=True)
class Dimension:
    column: str
    kind: DimensionKind
    label_class: str = ""  # graph label of a concept dimension


@dataclass(frozen=True)
class Measure:
    column: str
    type: Literal["integer", "double"]


@dataclass(frozen=True)
class CubeSpec:
    name: str
    dimensions: tuple[Dimension, ...]
    measures: tuple[Measure, ...]


BUILT_IN: dict[str, CubeSpec] = {
    "homicides_by_year_method": CubeSpec(
        "homicides_by_year_method",
        (Dimension("dataset", "dataset"), Dimension("year", "year"), Dimension("method", "concept", "Method")),
        (Measure("homicides", "integer"),)),
    "factor_prevalence_by_dataset": CubeSpec(
        "factor_prevalence_by_dataset",
        (Dimension("dataset", "dataset"), Dimension("factor", "concept", "Factor")),
        (Measure("n_present", "integer"), Measure("n_coded", "integer"), Measure("prevalence", "double"))),
}


def cube_registry() -> Registry:
    return Registry([CUBES_DIR])


def run_cube_query(backend: GraphBackend, query: SavedQuery, params: dict[str, Any]) -> QueryResult:
    result = backend.run_read(query.text, query.bind(params), timeout_s=query.timeout_s,
                              max_rows=query.max_rows, tag=query.name)
    if result.truncated:
        raise ExportError(f"query {query.name!r} has more than {query.max_rows} rows; a cube must be complete. "
                          "Narrow it with parameters (-p dataset=NAME).")
    return result


def infer_spec(name: str, result: QueryResult) -> CubeSpec:
    """Dimensions and measures of an arbitrary saved query's table: text and year/month columns are
    dimensions, numeric columns measures."""
    dims, measures = [], []
    for column in result.columns:
        values = [row[column] for row in result.rows if row[column] is not None]
        if column in TIME_COLUMNS and all(isinstance(v, int) for v in values):
            dims.append(Dimension(column, "year" if column == "year" else "integer"))
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and values:
            kind: Literal["integer", "double"] = "integer" if all(isinstance(v, int) for v in values) else "double"
            measures.append(Measure(column, kind))
        elif all(isinstance(v, (str, bool)) for v in values):
            dims.append(Dimension(column, "text"))
        else:
            raise ExportError(f"query {name!r}: column {column!r} holds lists or maps, which a Data Cube "
                              "observation cannot hold; choose a query with scalar columns")
    if not measures:
        raise ExportError(f"query {name!r} has no numeric column to publish as a measure (columns: {result.columns})")
    return CubeSpec(name, tuple(dims), tuple(measures))


def suppress_rows(spec: CubeSpec, result: QueryResult, threshold: int) -> tuple[list[dict[str, Any]], int]:
    """The rows a partner may see: each integer (count) measure goes through disclosure.suppress_table (small
    counts and the secondary suppressions that protect them against the totals); an observation with any
    suppressed count is left out whole (its ratios would disclose it too). Returns (rows kept, rows left out)."""
    import pandas as pd

    from disclosure import STATUS, suppress_table

    dims = [d.column for d in spec.dimensions]
    counts = [m.column for m in spec.measures if m.type == "integer"]
    if not counts:
        raise ExportError(f"cube {spec.name!r} has no count measure to suppress; ratios alone cannot be released")
    frame = pd.DataFrame(result.rows, columns=result.columns)
    frame[dims] = frame[dims].fillna("")
    hidden: set[tuple[Any, ...]] = set()
    for table in suppress_table(frame, dims, counts, threshold).values():
        cells = table.cells[~table.cells["_margin"]]
        hidden |= {tuple(row) for row in cells.loc[cells[STATUS] != "published", dims].itertuples(index=False)}
    kept = [row for row in result.rows if tuple("" if row[d] is None else row[d] for d in dims) not in hidden]
    return kept, len(result.rows) - len(kept)


def build_cube(backend: GraphBackend, name: str, params: dict[str, Any] | None = None, *,
               suppress: int | None = None) -> Graph:
    """The Data Cube of a built-in cube or of a saved query of the library, with ``params`` bound. With
    ``suppress`` (a threshold), small counts are suppressed for partners (:func:`suppress_rows`)."""
    params = params or {}
    if name in BUILT_IN:
        query = cube_registry().get(name)
        result = run_cube_query(backend, query, params)
        spec = BUILT_IN[name]
    else:
        query = default_registry().get(name)
        result = run_cube_query(backend, query, params)
        spec = infer_spec(name, result)
    note = ""
    if suppress is not None:
        rows, omitted = suppress_rows(spec, result, suppress)
        result = QueryResult(result.columns, rows, result.truncated, result.elapsed_s, result.backend)
        note = (f"Disclosure control: counts under {suppress}, and the further counts that would let them be "
                f"worked out from totals, are suppressed; {omitted} observation(s) are left out. A missing "
                "observation is not a zero.")
    return cube_graph(spec, query, query.bind(params), result, note)


class _Cube:
    def __init__(self, spec: CubeSpec, query: SavedQuery, params: dict[str, Any]) -> None:
        self.spec, self.query = spec, query
        suffix = ""
        if any(params[p.name] != p.default for p in query.parameters):
            canonical = json.dumps(params, sort_keys=True, default=str)
            suffix = "/" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
        self.base = f"{CUBE_BASE}{spec.name}{suffix}"
        self.dataset, self.dsd = URIRef(self.base), URIRef(self.base + "/structure")
        self.graph = Graph(bind_namespaces="core")
        for prefix, ns in (("qb", QB), ("mp", MP), ("skos", SKOS), ("xsd", XSD), ("dcterms", DCTERMS)):
            self.graph.bind(prefix, ns)
        self.params = params
        self.members: dict[str, set[URIRef]] = {d.column: set() for d in spec.dimensions if d.kind == "concept"}

    def prop(self, role: str, column: str) -> URIRef:
        return URIRef(f"{self.base}/{role}/{quote(column, safe='')}")

    def structure(self) -> None:
        g, q = self.graph, self.query
        g.add((self.dataset, RDF.type, QB.DataSet))
        g.add((self.dataset, RDFS.label, RdfLiteral(q.title)))
        g.add((self.dataset, RDFS.comment, RdfLiteral(q.description)))
        g.add((self.dataset, DCTERMS.source, RdfLiteral(f"saved query {q.name} with parameters "
                                                        f"{json.dumps(self.params, sort_keys=True, default=str)}")))
        g.add((self.dataset, QB.structure, self.dsd))
        g.add((self.dsd, RDF.type, QB.DataStructureDefinition))
        for order, dim in enumerate(self.spec.dimensions, 1):
            self.component(dim.column, QB.dimension, QB.DimensionProperty, order)
            g.add((self.prop("dimension", dim.column), RDFS.range, self.range_of(dim)))
            if dim.kind == "concept":
                g.add((self.prop("dimension", dim.column), QB.codeList, self.code_list(dim)))
        for order, measure in enumerate(self.spec.measures, len(self.spec.dimensions) + 1):
            self.component(measure.column, QB.measure, QB.MeasureProperty, order)
            g.add((self.prop("measure", measure.column), RDFS.range,
                   XSD.integer if measure.type == "integer" else XSD.double))

    def component(self, column: str, link: URIRef, kind: URIRef, order: int) -> None:
        role = "dimension" if kind == QB.DimensionProperty else "measure"
        prop, spec_node = self.prop(role, column), URIRef(f"{self.dsd}/component/{quote(column, safe='')}")
        g = self.graph
        g.add((self.dsd, QB.component, spec_node))
        g.add((spec_node, RDF.type, QB.ComponentSpecification))
        g.add((spec_node, link, prop))
        g.add((spec_node, QB.componentProperty, prop))
        g.add((spec_node, QB.order, RdfLiteral(order)))
        for cls in (kind, QB.ComponentProperty, RDF.Property):
            g.add((prop, RDF.type, cls))
        g.add((prop, RDFS.label, RdfLiteral(column.replace("_", " "))))

    @staticmethod
    def range_of(dim: Dimension) -> URIRef:
        # years are xsd:integer, not xsd:gYear: SPARQL '=' on two different gYear literals is a type error, so
        # the Data Cube integrity check IC-12 (no duplicate observations) could not be evaluated
        return {"dataset": class_iri("Dataset"), "year": XSD.integer, "concept": SKOS.Concept,
                "text": XSD.string, "integer": XSD.integer}[dim.kind]

    def code_list(self, dim: Dimension) -> URIRef:
        return URIRef(f"{self.base}/codelist/{quote(dim.column, safe='')}")

    def value(self, dim: Dimension, value: Any, row: int) -> Any:
        if value is None:
            raise ExportError(f"query {self.query.name!r}, result row {row}: column {dim.column!r} is empty; every "
                              "observation needs a value for each dimension (filter such rows out with parameters)")
        if dim.kind == "dataset":
            return node_iri("Dataset", str(value), vocabulary=False)
        if dim.kind in ("year", "integer"):
            return RdfLiteral(int(value))
        if dim.kind == "concept":
            concept = self.concept(dim.label_class, str(value))
            self.members[dim.column].add(concept)
            return concept
        return RdfLiteral(str(value))

    def concept(self, label_class: str, uid: str) -> URIRef:
        g = self.graph
        if uid == "":
            iri, label = NOT_CODED, "(not coded)"
        else:
            iri = node_iri(label_class, uid, vocabulary=True)
            known = get_vocabulary().concepts.get((label_class, uid))
            label = known.label if known else uid
            g.add((iri, RDF.type, class_iri(label_class)))
        g.add((iri, RDF.type, SKOS.Concept))
        g.add((iri, SKOS.prefLabel, RdfLiteral(label)))
        return iri

    def observations(self, rows: list[dict[str, Any]]) -> None:
        g = self.graph
        for number, row in enumerate(rows, 1):
            values = [self.value(d, row[d.column], number) for d in self.spec.dimensions]
            key = "/".join(quote(str(v), safe="") for v in values)
            obs = URIRef(f"{self.base}/obs/{key}")
            if (obs, RDF.type, QB.Observation) in g:
                raise ExportError(f"query {self.query.name!r}, result row {number}: two rows have the same "
                                  f"dimension values {[row[d.column] for d in self.spec.dimensions]}")
            g.add((obs, RDF.type, QB.Observation))
            g.add((obs, QB.dataSet, self.dataset))
            for dim, value in zip(self.spec.dimensions, values, strict=True):
                g.add((obs, self.prop("dimension", dim.column), value))
            for measure in self.spec.measures:
                value = row[measure.column]
                if value is None:
                    raise ExportError(f"query {self.query.name!r}, result row {number}: measure "
                                      f"{measure.column!r} is empty; every observation needs every measure")
                literal = RdfLiteral(int(value)) if measure.type == "integer" else \
                    RdfLiteral(float(value), datatype=XSD.double)
                g.add((obs, self.prop("measure", measure.column), literal))

    def code_lists(self) -> None:
        g = self.graph
        for dim in self.spec.dimensions:
            if dim.kind == "concept":
                codes = self.code_list(dim)
                g.add((codes, RDF.type, SKOS.Collection))
                g.add((codes, RDFS.label, RdfLiteral(f"{dim.column.replace('_', ' ')} codes of this cube")))
                for member in sorted(self.members[dim.column]):
                    g.add((codes, SKOS.member, member))


def cube_graph(spec: CubeSpec, query: SavedQuery, params: dict[str, Any], result: QueryResult,
               note: str = "") -> Graph:
    missing = [c for c in [d.column for d in spec.dimensions] + [m.column for m in spec.measures]
               if c not in result.columns]
    if missing:
        raise ExportError(f"query {query.name!r} returns no column(s) {missing} that cube {spec.name!r} needs")
    cube = _Cube(spec, query, params)
    cube.structure()
    cube.observations(result.rows)
    cube.code_lists()
    if note:
        cube.graph.add((cube.dataset, RDFS.comment, RdfLiteral(note)))
    return cube.graph
