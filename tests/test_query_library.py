"""The saved-query library as a whole: it loads, every parameter is declared and used, every query runs
with its defaults on the fixture graph and on the real London file on both engines (LadybugDB and
Neo4j), charts return their declared columns, graph results follow the edge-row convention, queries
avoid the constructs the two engines disagree on, every dialect difference docs/dialects.md claims is
true on the engines, and docs/queries.md is up to date.

Regenerate docs/queries.md with ``.venv/bin/python -m tests.test_query_library``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from graph_model.backend import GraphBackend
from graph_model.errors import MicropathError
from graph_model.readonly import _TOKEN
from queries.registry import Registry, SavedQuery, SavedQueryError, default_registry, parse_saved_query, used_parameters
from queries.runner import run_saved_query
from tests.graph_fixtures import CONFLICT_CODES, Graphs

ENGINES = ("embedded", "neo4j")
REPO = Path(__file__).resolve().parents[1]
QUERIES_DOC = REPO / "docs" / "queries.md"
DIALECTS_DOC = REPO / "docs" / "dialects.md"
GENERATED_MARK = "<!-- Generated from queries/library by `.venv/bin/python -m tests.test_query_library`; " \
                 "do not edit below this line. -->"
REGISTRY = default_registry()
NAMES = [q.name for q in REGISTRY]
MISSION_QUERIES = {
    "factor_prevalence", "factor_cooccurrence", "factors_by_motive", "factors_by_method", "similar_homicides",
    "pathway_transitions", "escalation_times", "escalation_summary", "pathway_of_homicide", "homicides_by_year",
    "homicides_by_area", "homicides_by_method", "homicides_by_motive", "victim_suspect_relationships",
    "dataset_summary", "homicide_card", "incidents_by_kind",
}
GRAPH_COLUMNS = ["source", "source_label", "source_caption", "rel", "target", "target_label", "target_caption"]


@pytest.fixture(scope="module", params=ENGINES)
def graphs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Graphs]:
    holder = Graphs(request.param, tmp_path_factory.mktemp(f"library-{request.param}"),
                    lambda: request.getfixturevalue("neo4j_uri"))
    yield holder
    holder.close()


# ---- the registry and the file format ------------------------------------------------------------
def test_library_answers_the_mission_questions() -> None:
    assert len(REGISTRY) >= 12
    assert set(NAMES) >= MISSION_QUERIES


@pytest.mark.parametrize("name", NAMES)
def test_parameters_are_declared_used_and_typed(name: str) -> None:
    query = REGISTRY.get(name)
    assert {p.name for p in query.parameters} == used_parameters(query.text)
    for p in query.parameters:
        assert p.default is not None and p.description, p.name
        assert p.coerce(p.default, name) == p.default  # the default already has the declared type
    assert query.title and query.description and query.max_rows > 0 and query.timeout_s > 0
    assert query.result in ("table", "graph", "chart")


HEADER = """// name = "probe"
// title = "Probe"
// description = "A crafted query."
"""


@pytest.mark.parametrize(("header", "body", "message"), [
    ('// [parameters.year]\n// type = "integer"\n// default = 2020\n', "MATCH (h:Homicide) RETURN h.uid AS uid",
     r"declared but unused \['year'\], used but undeclared \[\]"),
    ("", "MATCH (h:Homicide) WHERE h.year = $year RETURN h.uid AS uid",
     r"declared but unused \[\], used but undeclared \['year'\]"),
    ('// [parameters.year]\n// type = "integer"\n', "MATCH (h:Homicide) WHERE h.year = $year RETURN h.uid AS uid",
     "needs a default"),
    ('// [parameters.year]\n// type = "date"\n// default = 0\n',
     "MATCH (h:Homicide) WHERE h.year = $year RETURN h.uid AS uid", "needs type in"),
    ('// [parameters.year]\n// type = "integer"\n// default = "soon"\n',
     "MATCH (h:Homicide) WHERE h.year = $year RETURN h.uid AS uid", "expects integer"),
    ('// result = "map"\n', "MATCH (h:Homicide) RETURN h.uid AS uid", "result must be one of"),
])
def test_parser_refuses_a_bad_file(header: str, body: str, message: str) -> None:
    with pytest.raises(SavedQueryError, match=message):
        parse_saved_query(HEADER + header + body, Path("probe.cypher"))


def test_a_bad_file_stops_the_whole_folder(tmp_path: Path) -> None:
    (tmp_path / "good.cypher").write_text(HEADER.replace("probe", "good") + "MATCH (h:Homicide) RETURN h.uid AS uid")
    (tmp_path / "bad.cypher").write_text(HEADER + "MATCH (h:Homicide) WHERE h.year = $year RETURN h.uid AS uid")
    with pytest.raises(SavedQueryError, match=r"bad\.cypher.*undeclared \['year'\]"):
        Registry([tmp_path])


def test_parameter_in_a_string_or_comment_is_not_a_use() -> None:
    text = "MATCH (h:Homicide) // $year\nWHERE h.offence_type = '$year' RETURN h.uid AS uid"
    assert used_parameters(text) == set()


def test_conflict_codes_default_is_the_ontology_flag() -> None:
    for name in ("escalation_times", "escalation_summary"):
        param = next(p for p in REGISTRY.get(name).parameters if p.name == "conflict_codes")
        assert sorted(param.default) == sorted(CONFLICT_CODES)


# ---- every query runs, on both engines ----------------------------------------------------------
def check_shape(query: SavedQuery, columns: list[str], rows: list[dict[str, Any]]) -> None:
    assert len(columns) == len(set(columns))
    assert all(list(row) == columns for row in rows)
    if query.result == "chart":
        assert {"type", "x", "y"} <= set(query.chart)
        assert {query.chart["x"], query.chart["y"], query.chart.get("series", query.chart["x"])} <= set(columns)
    if query.result == "graph":
        assert columns[:len(GRAPH_COLUMNS) + 1][1:] == GRAPH_COLUMNS or columns[:len(GRAPH_COLUMNS)] == GRAPH_COLUMNS


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("content", ["fixture", "london"])
def test_every_query_runs_with_defaults(graphs: Graphs, content: str, name: str) -> None:
    query = REGISTRY.get(name)
    result = run_saved_query(graphs.get(content), name)
    check_shape(query, result.columns, result.rows)
    assert not result.truncated


@pytest.mark.parametrize("name", [q.name for q in REGISTRY if any(p.name == "dataset" for p in q.parameters)])
def test_an_unknown_dataset_gives_no_rows(graphs: Graphs, name: str) -> None:
    assert run_saved_query(graphs.get("fixture"), name, {"dataset": "no-such-dataset"}).rows == []


EXAMPLES: dict[str, dict[str, Any]] = {
    "similar_homicides": {"uid": "fx-coded:1", "k": 1}, "homicide_card": {"uid": "fx-coded:1"},
    "pathway_of_homicide": {"uid": "fx-coded:2"}}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_queries_about_one_homicide_return_rows(graphs: Graphs, name: str) -> None:
    result = run_saved_query(graphs.get("fixture"), name, EXAMPLES[name])
    assert result.rows
    check_shape(REGISTRY.get(name), result.columns, result.rows)


def test_graph_rows_name_nodes_that_exist(graphs: Graphs) -> None:
    """Every source/target of a graph result is a node uid of the stated label (the edge-row convention)."""
    backend = graphs.get("fixture")
    for query in (q for q in REGISTRY if q.result == "graph"):
        rows = run_saved_query(backend, query.name, EXAMPLES[query.name]).rows
        for row in rows:
            for end in ("source", "target"):
                if row[end] is None:
                    continue
                found = backend.run_read(f"MATCH (n:{row[f'{end}_label']}) WHERE n.uid = $u RETURN count(n) AS n",
                                         {"u": row[end]}).rows
                assert found == [{"n": 1}], (query.name, row)


# ---- portability: constructs the engines disagree on are not used ---------------------------------
NON_PORTABLE_FUNCTIONS = {  # see docs/dialects.md
    "tointeger", "tofloat", "tostring", "toboolean", "cast", "round", "substring", "labels", "label", "type",
    "reduce", "split", "stdev", "stdevp", "list_extract", "string_split",
}


def code_only(text: str) -> str:
    """The query with string literals and comments blanked (as the read-only check tokenises it)."""
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        out.append(" " if kind in ("string", "comment") else match.group(0))
    return " ".join(out)


@pytest.mark.parametrize("name", NAMES)
def test_query_uses_only_portable_cypher(name: str) -> None:
    text = code_only(REGISTRY.get(name).text)
    called = {m.group(1).lower() for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", text)}
    assert not called & NON_PORTABLE_FUNCTIONS, called & NON_PORTABLE_FUNCTIONS
    assert not re.search(r"[\w)\]]\s*\[", text), "list indexing or slicing (0- vs 1-based)"
    assert not re.search(r"\bUNION\b", text, re.I), "UNION: row order and column typing differ"
    assert not re.search(r"\bCALL\b", text, re.I), "CALL subqueries: LadybugDB has none"
    for _low, high in re.findall(r"\*\s*(\d*)\s*\.\.\s*(\d*)", text):
        assert high and int(high) <= 30, "variable-length patterns need an explicit upper bound <= 30"
    assert not re.search(r"\*\s*\]", text), "an unbounded variable-length pattern"
    assert not re.search(r"\([a-z_]+:[A-Za-z]+:[A-Za-z]+", text), "multi-label pattern: OR vs AND"
    projected = re.findall(r"\bAS\s+([A-Za-z_]\w*)", re.sub(r"\bUNWIND\s+\w+\s+AS\b", "", text))
    node_vars = set(re.findall(r"\(\s*([a-z_]\w*)\s*:", text))  # (x:Label
    node_vars |= set(re.findall(r"\(\s*([a-z_]\w*)\s*\)\s*[-<]", text))  # (x)-[ or (x)<-[
    node_vars |= set(re.findall(r"[->]\s*\(\s*([a-z_]\w*)\s*\)", text))  # ]->(x) or -(x)
    assert not set(projected) & node_vars, "an alias that is also a node variable (ORDER BY binds the node)"


# ---- every claimed dialect difference is real ------------------------------------------------------
@dataclass(frozen=True)
class Dialect:
    feature: str
    query: str
    ladybug: Any  # rows, or "error: <text in the message>"
    neo4j: Any
    params: dict[str, Any] = field(default_factory=dict)
    columns: bool = False  # compare column names instead of rows
    count: bool = False  # compare the number of rows
    unordered: bool = False


H1 = "MATCH (h:Homicide) WHERE h.uid = 'fx-coded:1' "
CODED, SRC = [f"fx-coded:{i}" for i in range(1, 7)], ["fx-src:1", "fx-src:2"]  # homicide uids in storage order
DIALECTS = [
    Dialect("toInteger", "RETURN toInteger(2.7) AS a", "error: TOINTEGER does not exist", [{"a": 2}]),
    Dialect("toFloat", "RETURN toFloat(3) AS a", "error: TOFLOAT does not exist", [{"a": 3.0}]),
    Dialect("1.0 * x", "RETURN 1.0 * 7 / 2 AS a, 7 / 2 AS b, -7 / 2 AS c", [{"a": 3.5, "b": 3, "c": -3}],
            [{"a": 3.5, "b": 3, "c": -3}]),
    Dialect("CAST", "RETURN CAST(2.7 AS INT64) AS a", [{"a": 3}], "error: syntax error"),
    Dialect("null parameter", "MATCH (h:Homicide) WHERE $p IS NULL OR h.dataset = $p RETURN count(h) AS n",
            "error: not a valid boolean", [{"n": 8}], params={"p": None}),
    Dialect("'' for any", "MATCH (h:Homicide) WHERE $p = '' OR h.dataset = $p RETURN count(h) AS n",
            [{"n": 8}], [{"n": 8}], params={"p": ""}),
    Dialect("empty list parameter", "MATCH (h)-[:FROM_DATASET]->(:Dataset) WHERE h.kind IS NULL OR h.kind IN $k "
            "RETURN count(h) AS n", [{"n": 8}], [{"n": 8}], params={"k": []}),
    Dialect("list index", "RETURN [10, 20, 30][1] AS a", [{"a": 10}], [{"a": 20}]),
    Dialect("substring", "RETURN substring('abcdef', 1, 2) AS a", [{"a": "ab"}], [{"a": "bc"}]),
    Dialect("alias shadows node", "MATCH (h:Homicide) RETURN h.uid AS h ORDER BY h LIMIT 1",
            "error: Order by NODE is not supported", [{"h": "fx-coded:1"}]),
    Dialect("multi-label pattern", "MATCH (h:Homicide:Incident) RETURN count(h) AS n", [{"n": 12}], [{"n": 0}]),
    Dialect("unlabelled node", "MATCH (h)-[:FROM_DATASET]->(:Dataset) RETURN count(h) AS n", [{"n": 12}],
            [{"n": 12}]),
    Dialect("label predicate", "MATCH (h) WHERE h:Homicide RETURN count(h) AS n", "error: Parser exception",
            [{"n": 8}]),
    Dialect("kind IS NULL", "MATCH (h)-[:FROM_DATASET]->(:Dataset) WHERE h.kind IS NULL RETURN count(h) AS n",
            [{"n": 8}], [{"n": 8}]),
    Dialect("labels()", H1 + "RETURN labels(h) AS l", [{"l": "Homicide"}], [{"l": ["Homicide"]}]),
    Dialect("type()", "MATCH (:Event)-[r:NEXT]->(:Event) RETURN type(r) AS t LIMIT 1",
            "error: TYPE does not exist", [{"t": "NEXT"}]),
    Dialect("missing property", H1 + "RETURN h.kind AS k", "error: Cannot find property kind", [{"k": None}]),
    Dialect("WITH ORDER BY", "MATCH (h:Homicide) WITH h ORDER BY h.uid WITH collect(h.uid) AS l RETURN size(l) AS n",
            "error: ORDER BY must be followed by SKIP or LIMIT", [{"n": 8}]),
    Dialect("ORDER BY SKIP 0", "MATCH (h:Homicide) WITH h ORDER BY h.uid DESC SKIP 0 "
            "WITH h.dataset AS d, collect(h.uid) AS l RETURN d, l ORDER BY d",
            [{"d": "fx-coded", "l": CODED[::-1]}, {"d": "fx-src", "l": SRC[::-1]}],
            [{"d": "fx-coded", "l": CODED[::-1]}, {"d": "fx-src", "l": SRC[::-1]}]),
    Dialect("ORDER BY before a global aggregate", "MATCH (h:Homicide) WITH h ORDER BY h.uid DESC SKIP 0 "
            "WITH collect(h.uid) AS l RETURN l", [{"l": CODED + SRC}], [{"l": (CODED + SRC)[::-1]}]),
    Dialect("top-k before a global aggregate", "MATCH (h:Homicide) WITH h ORDER BY h.uid DESC LIMIT 2 "
            "RETURN count(h) AS n, min(h.uid) AS lowest", [{"n": 2, "lowest": "fx-coded:1"}],
            [{"n": 2, "lowest": "fx-src:1"}]),
    Dialect("EXISTS subquery", "MATCH (h:Homicide) WHERE EXISTS { MATCH (h)-[:FIRST_EVENT]->(:Event) } "
            "RETURN count(h) AS n", [{"n": 7}], [{"n": 7}]),
    Dialect("CALL subquery", "MATCH (h:Homicide) CALL { WITH h MATCH (h)-[:HAS_VICTIM]->(v) RETURN count(v) AS nv } "
            "RETURN sum(nv) AS n", "error: refused", "error: refused"),
    Dialect("reduce()", "RETURN reduce(s = 0, x IN [1, 2, 3] | s + x) AS r", "error: REDUCE does not exist",
            [{"r": 6}]),
    Dialect("list comprehension", "RETURN [x IN [1, 2, 3] | x * 2] AS l", "error: not in scope",
            [{"l": [2, 4, 6]}]),
    Dialect("any()", "RETURN any(x IN [1, 2] WHERE x = 2) AS a", [{"a": True}], [{"a": True}]),
    Dialect("toString", "RETURN toString(3) AS s", "error: TOSTRING does not exist", [{"s": "3"}]),
    Dialect("stDev", "UNWIND [1.0, 2.0] AS x RETURN stDev(x) AS s", "error: STDEV does not exist",
            [{"s": 0.7071067811865476}]),
    Dialect("percentileCont", "UNWIND [1.0, null, 3.0, 2.0, 4.0] AS x RETURN percentileCont(x, 0.25) AS p, "
            "percentileCont(x, 0.5) AS m", [{"p": 1.75, "m": 2.5}], [{"p": 1.75, "m": 2.5}]),
    Dialect("round(x)", "RETURN round(2.5) AS r", "error: ROUND did not receive correct arguments", [{"r": 3.0}]),
    Dialect("round ties", "RETURN round(0.285, 2) AS a, round(-2.5, 0) AS b", [{"a": 0.28, "b": -3.0}],
            [{"a": 0.29, "b": -2.0}]),
    Dialect("sum of nothing", "MATCH (h:Homicide) WHERE h.year > 3000 RETURN sum(h.year) AS s, count(h) AS n",
            [{"s": None, "n": 0}], [{"s": 0, "n": 0}]),
    Dialect("sum of CASE", "MATCH (h:Homicide) RETURN sum(CASE WHEN h.year > 3000 THEN 1 ELSE 0 END) AS s",
            [{"s": 0}], [{"s": 0}]),
    Dialect("string + null", "MATCH (h:Homicide) WHERE h.uid = 'fx-coded:5' OPTIONAL MATCH (h)-[:IN_AREA]->(a:Area) "
            "RETURN a.label + ' (' + a.code + ')' AS s", [{"s": " ()"}], [{"s": None}]),
    Dialect("string + null literal", "RETURN 'x' + null AS s", "error: Cannot match a built-in function",
            [{"s": None}]),
    Dialect("CASE guard", "MATCH (h:Homicide) WHERE h.uid = 'fx-coded:5' OPTIONAL MATCH (h)-[:IN_AREA]->(a:Area) "
            "RETURN CASE WHEN a IS NULL THEN NULL ELSE a.label + ' (' + a.code + ')' END AS s",
            [{"s": None}], [{"s": None}]),
    Dialect("UNION column types", H1 + "RETURN h.year AS v UNION ALL MATCH (e:Event) WHERE e.uid = 'fx-coded:1/e1' "
            "RETURN e.minutes_before AS v", "error: v has data type DOUBLE but INT64 was expected",
            [{"v": 2019}, {"v": 1500.0}], unordered=True),
    Dialect("UNION nodes", H1 + "RETURN h AS n UNION ALL MATCH (e:Event) WHERE e.uid = 'fx-coded:1/e1' RETURN e AS n",
            "error: NODE was expected", 2, count=True),
    Dialect("typed null", H1 + "RETURN 1.0 * h.year AS v UNION ALL MATCH (e:Event) WHERE e.uid = 'fx-coded:1/e1' "
            "RETURN CASE WHEN 1 = 0 THEN 0.0 END AS v", [{"v": 2019.0}, {"v": None}], [{"v": 2019.0}, {"v": None}],
            unordered=True),
    Dialect("UNION row order", H1 + "RETURN 1.0 * h.year AS v UNION ALL MATCH (e:Event) WHERE e.uid = 'fx-coded:1/e1' "
            "RETURN CASE WHEN 1 = 0 THEN 0.0 END AS v", [{"v": None}, {"v": 2019.0}], [{"v": 2019.0}, {"v": None}],
            unordered=True),  # LadybugDB's row order varies from run to run: only the rows can be asserted
    Dialect("variable-length bound", "MATCH (h:Homicide)-[:FIRST_EVENT]->(:Event)-[:NEXT*0..31]->(x:Event) "
            "WHERE h.uid = 'fx-coded:2' RETURN count(x) AS n", "error: exceeds maximum: 30", [{"n": 5}]),
    Dialect("zero-length path", "MATCH p = (h:Homicide)-[:FIRST_EVENT]->(:Event)-[:NEXT*0..1]->(:Event) "
            "WHERE h.uid = 'fx-coded:3' RETURN size(nodes(p)) AS n ORDER BY n", [{"n": 3}, {"n": 3}],
            [{"n": 2}, {"n": 3}]),
    Dialect("unaliased column", "MATCH (h:Homicide) RETURN count(*)", ["COUNT_STAR()"], ["count(*)"], columns=True),
    Dialect("null ordering", "MATCH (h:Homicide) WHERE h.dataset = 'fx-coded' RETURN h.solved AS s ORDER BY s DESC "
            "LIMIT 3", [{"s": None}, {"s": None}, {"s": True}], [{"s": None}, {"s": None}, {"s": True}]),
    Dialect("collect and null", "MATCH (h:Homicide) WHERE h.uid = 'fx-coded:5' OPTIONAL MATCH (h)-[:IN_AREA]->(a:Area) "
            "RETURN collect(a.code) AS c, collect({code: a.code}) AS m", [{"c": [], "m": [{"code": None}]}],
            [{"c": [], "m": [{"code": None}]}]),
]


def dialect_answer(backend: GraphBackend, case: Dialect) -> Any:
    try:
        result = backend.run_read(case.query, case.params, timeout_s=20)
    except MicropathError as exc:
        return str(exc)
    if case.columns:
        return result.columns
    if case.count:
        return len(result.rows)
    return sorted(result.rows, key=repr) if case.unordered else result.rows


@pytest.mark.parametrize("case", DIALECTS, ids=[d.feature for d in DIALECTS])
def test_dialect_difference_is_real(graphs: Graphs, case: Dialect) -> None:
    expected = case.ladybug if graphs.engine == "embedded" else case.neo4j
    got = dialect_answer(graphs.get("fixture"), case)
    if isinstance(expected, str) and expected.startswith("error: "):
        assert isinstance(got, str) and expected.removeprefix("error: ") in got, got
    else:
        assert got == (sorted(expected, key=repr) if case.unordered else expected)


def test_dialects_doc_lists_every_checked_feature() -> None:
    doc = DIALECTS_DOC.read_text(encoding="utf-8")
    missing = [d.feature for d in DIALECTS if f"`{d.feature}`" not in doc]
    assert not missing, f"docs/dialects.md does not mention {missing}"


# ---- docs/queries.md -------------------------------------------------------------------------------
def columns_on_fixture(folder: Path) -> dict[str, list[str]]:
    holder = Graphs("embedded", folder, lambda: "")
    try:
        backend = holder.get("fixture")
        return {q.name: run_saved_query(backend, q.name).columns for q in REGISTRY}
    finally:
        holder.close()


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(f"`{v}`" for v in value) if value else "(empty list)"
    return f"`{value!r}`" if value == "" else f"`{value}`"


def render_queries_doc(columns: dict[str, list[str]]) -> str:
    out = [GENERATED_MARK, "", "| query | title | result |", "|---|---|---|"]
    out += [f"| [`{q.name}`](#{q.name}) | {q.title} | {q.result} |" for q in REGISTRY]
    for q in REGISTRY:
        out += ["", f"## {q.name}", "", f"**{q.title}** — result: {q.result}"
                + (f" ({q.chart['type']} chart: x = `{q.chart['x']}`, y = `{q.chart['y']}`"
                   + (f", series = `{q.chart['series']}`" if "series" in q.chart else "") + ")"
                   if q.result == "chart" else "")
                + f"; at most {q.max_rows} rows, {q.timeout_s:g} s.", ""]
        out += [" ".join(q.description.split()), ""]
        if q.parameters:
            out += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
            out += [f"| `{p.name}` | {p.type} | {_cell(p.default)} | {p.description} |" for p in q.parameters]
        else:
            out += ["No parameters."]
        out += ["", "Columns: " + ", ".join(f"`{c}`" for c in columns[q.name])]
    return "\n".join(out) + "\n"


def test_queries_doc_is_up_to_date(tmp_path: Path) -> None:
    doc = QUERIES_DOC.read_text(encoding="utf-8")
    assert GENERATED_MARK in doc, "docs/queries.md lost its generated-section marker"
    generated = doc[doc.index(GENERATED_MARK):]
    assert generated == render_queries_doc(columns_on_fixture(tmp_path)), \
        "docs/queries.md is out of date: run `.venv/bin/python -m tests.test_query_library`"


def write_queries_doc() -> None:
    with tempfile.TemporaryDirectory() as folder:
        generated = render_queries_doc(columns_on_fixture(Path(folder)))
    doc = QUERIES_DOC.read_text(encoding="utf-8") if QUERIES_DOC.exists() else ""
    head = doc[:doc.index(GENERATED_MARK)] if GENERATED_MARK in doc else doc
    QUERIES_DOC.write_text(head + generated, encoding="utf-8")
    print(f"wrote {QUERIES_DOC}", file=sys.stderr)


if __name__ == "__main__":
    write_queries_doc()
