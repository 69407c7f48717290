"""Cypher injection is inert: through every parameter of every saved query (runner, CLI ``-p``, dashboard
workbench form), and through labels and relationship types (schema.check_label / check_rel_type).

Values always travel as query parameters, never as query text, so an injection attempt must end in one of
two ways: a typed-parameter error (SavedQueryError: the value does not fit the declared type or choices),
or a normal result that is exactly the result of a harmless value that matches nothing (the payload was
compared as data). Any other exception fails the test, and a full snapshot of the graph (count and content
hash per label and relationship type) must be the same after every attempt. Runs on both engines
(``backend`` fixture) over the hand-made fixture graph (tests/graph_fixtures.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from dashboard import services
from dashboard.app import create_app
from dashboard.pages import workbench
from graph_model.backend import GraphBackend, QueryResult
from graph_model.embedded import EmbeddedBackend
from graph_model.schema import get_schema
from queries.registry import Parameter, SavedQuery, SavedQueryError, default_registry
from queries.runner import run_saved_query
from tests.graph_fixtures import build_fixture_graph, write_fixture
from tests.test_fuzz_loaders import snapshot

REPO = Path(__file__).resolve().parents[1]
INERT = "zz-matches-nothing"
PAYLOADS = [
    "' OR 1=1 //", "\" OR 1=1 //", "' OR '1'='1", "\"}) MATCH (n) DETACH DELETE n //",
    "'}) MATCH (n) DETACH DELETE n //", "x') WITH 1 AS x MATCH (n) DETACH DELETE n //",
    "fx-coded' OR d.name <> '", "`", "x` DETACH DELETE n //", "`Homicide`", "$dataset", "${dataset}", "$1",
    "\\u0027 OR 1=1 //", "\u0027) RETURN 1 //", "*/ MATCH (n) DETACH DELETE n /*", "; MATCH (n) DETACH DELETE n",
    "CALL db.clearQueryCaches()", "CREATE (:Homicide {uid: 'injected'})", "'; DROP TABLE Homicide; --",
    "1 OR 1=1", "0x10", "1e3", "nan", "inf", "-1e308", "99999999999999999999", "true; MATCH (n) DELETE n",
    "\x00", "ünïcødé ✓ 🙂", "a,b' OR 1=1 //,c", "x" * 100_000,
]
# the form gets a representative subset (the runner test above takes every payload)
WORKBENCH_PAYLOADS = ["' OR 1=1 //", "\"}) MATCH (n) DETACH DELETE n //", "x` DETACH DELETE n //", "$dataset",
                      "\\u0027 OR 1=1 //", "1 OR 1=1", "99999999999999999999", "nan", "ünïcødé ✓ 🙂", "x" * 5_000]
STATS: Counter[str] = Counter()


def attempts(query: SavedQuery) -> Iterator[tuple[Parameter, str]]:
    for param in query.parameters:
        for payload in PAYLOADS:
            yield param, payload


def inert_value(param: Parameter) -> Any:
    """A harmless value of the parameter's type that matches nothing (or its default, if it has choices)."""
    if param.choices:
        return param.default
    return {"string": INERT, "string_list": [INERT]}.get(param.type, param.default)


def run(backend: GraphBackend, name: str, params: dict[str, Any]) -> QueryResult | SavedQueryError:
    try:
        return run_saved_query(backend, name, params)
    except SavedQueryError as exc:
        return exc


def rows_of(result: QueryResult) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in result.rows)


# ---- the runner, on both engines ----------------------------------------------------------------------
@pytest.fixture
def fixture_graph(backend: GraphBackend) -> GraphBackend:
    write_fixture(backend)
    return backend


def test_every_parameter_of_every_saved_query_is_inert(fixture_graph: GraphBackend) -> None:
    backend = fixture_graph
    before = snapshot(backend)
    outcomes: Counter[str] = Counter()
    baseline: dict[tuple[str, str, str], list[str]] = {}
    for query in default_registry():
        for param, payload in attempts(query):
            result = run(backend, query.name, {param.name: payload})
            if isinstance(result, SavedQueryError):
                assert param.name in str(result) and query.name in str(result), str(result)
                assert param.type != "string" or param.choices, f"a string was refused: {result}"
                outcomes["typed-parameter error"] += 1
                continue
            # the payload was compared as data: same rows as a value that matches nothing
            inert = coerce_like(param, payload)
            key = (query.name, param.name, repr(inert))
            if key not in baseline:
                expected = run(backend, query.name, {param.name: inert})
                assert isinstance(expected, QueryResult)
                baseline[key] = rows_of(expected)
            assert rows_of(result) == baseline[key], (query.name, param.name, payload[:40])
            outcomes["normal result"] += 1
        assert snapshot(backend) == before, f"the graph changed while running {query.name}"
    STATS.update(outcomes)
    assert outcomes["normal result"] > 100 and outcomes["typed-parameter error"] > 100, outcomes
    print(f"\nsaved-query injection attempts: {dict(outcomes)}")


def coerce_like(param: Parameter, payload: str) -> Any:
    """What the payload must behave like: a string that matches nothing; a number it parses to stays."""
    if param.type == "string":
        return INERT
    if param.type == "string_list":
        return [INERT]
    return payload  # integer/float/boolean that parsed: the same value (it is a plain number)


def test_a_payload_is_data_not_query_text(fixture_graph: GraphBackend) -> None:
    """The classic tautology finds nothing; the same text as a real dataset name finds that dataset."""
    everything = run_saved_query(fixture_graph, "dataset_summary", {"dataset": ""})
    assert len(everything.rows) >= 3
    assert run_saved_query(fixture_graph, "dataset_summary", {"dataset": "' OR 1=1 //"}).rows == []
    assert run_saved_query(fixture_graph, "dataset_summary", {"dataset": "fx-coded' OR d.name <> '"}).rows == []
    one = run_saved_query(fixture_graph, "dataset_summary", {"dataset": "fx-coded"})
    assert [r["dataset"] for r in one.rows] == ["fx-coded"]


# ---- the CLI's -p values ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture_graph(tmp_path_factory.mktemp("inject") / "graph.lbdb")


def micropath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)


@pytest.mark.parametrize(("param", "payload", "refused"), [
    ("dataset", "' OR 1=1 //", False),
    ("dataset", "\"}) MATCH (n) DETACH DELETE n //", False),
    ("dataset", "x` DETACH DELETE n //", False),
    ("dataset", "$dataset", False),
    ("year_from", "1 OR 1=1", True),
    ("year_to", "2020; MATCH (n) DETACH DELETE n", True),
])
def test_cli_parameters_are_inert(fixture_db: Path, param: str, payload: str, refused: bool) -> None:
    with EmbeddedBackend(fixture_db) as backend:
        before = snapshot(backend)
    done = micropath("query", "homicides_by_year", "-p", f"{param}={payload}", "--format", "json",
                     "--db", f"embedded:{fixture_db}")
    if refused:
        assert done.returncode == 1
        assert f"parameter {param!r} expects integer" in done.stderr, done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == []  # compared as a dataset name: matches nothing
    with EmbeddedBackend(fixture_db) as backend:
        assert snapshot(backend) == before


# ---- the dashboard's workbench form ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(fixture_db: Path) -> Iterator[Any]:
    dash_app = create_app(f"embedded:{fixture_db}")
    try:
        yield dash_app
    finally:
        services.installed(dash_app.server).close()


@pytest.fixture
def in_app(app: Any) -> Iterator[Flask]:
    with app.server.test_request_context("/"):
        yield app.server


def status_kind(status: Any) -> str:
    return str(status.to_plotly_json()["props"]["data-status"])


def test_workbench_form_fields_are_inert(in_app: Flask, fixture_db: Path) -> None:
    with EmbeddedBackend(fixture_db) as backend:
        before = snapshot(backend)
    outcomes: Counter[str] = Counter()
    for query in default_registry():
        names = [p.name for p in query.parameters]
        defaults = [workbench_default(p) for p in query.parameters]
        for index, param in enumerate(query.parameters):
            for payload in WORKBENCH_PAYLOADS:
                values = list(defaults)
                values[index] = [payload] if param.type == "boolean" and not param.choices else payload
                data, _columns, status = workbench.execute(query.name, names, values)
                kind = status_kind(status)
                text = json.dumps(status.to_plotly_json(), default=str)
                if kind == "error":
                    assert "bad parameter" in text, text[:300]
                    outcomes["typed-parameter error"] += 1
                    continue
                assert kind in ("done", "empty", "truncated"), text[:300]
                values[index] = workbench_inert(param, payload)
                same, _c, _s = workbench.execute(query.name, names, values)
                assert sorted(map(str, data)) == sorted(map(str, same)), (query.name, param.name, payload[:40])
                outcomes["normal result"] += 1
    with EmbeddedBackend(fixture_db) as backend:
        assert snapshot(backend) == before
    STATS.update({f"workbench {k}": n for k, n in outcomes.items()})
    assert outcomes["normal result"] > 100 and outcomes["typed-parameter error"] > 100, outcomes
    print(f"\nworkbench injection attempts: {dict(outcomes)}")


def workbench_default(param: Parameter) -> Any:
    if param.type == "boolean" and not param.choices:
        return [workbench.BOOLEAN_ON] if param.default else []
    if param.type == "string_list" and not param.choices:
        return ", ".join(param.default)
    return param.default


def workbench_inert(param: Parameter, payload: str) -> Any:
    if param.type in ("string", "string_list") and not param.choices:
        return INERT
    return payload


# ---- labels and relationship types -----------------------------------------------------------------------
INJECTED_NAMES = [
    "Homicide) DETACH DELETE n //", "Homicide`", "`Homicide`", "Homicide:Victim", "Homicide|Victim", "homicide",
    " Homicide", "Homicide ", "Homicide\x00", "Ηomicide", "Homicide\u200b", "Homicide {uid: 'x'}", "$label", "",
    "HAS_FACTOR]->() DETACH DELETE r //", "HAS_FACTOR|NEXT", "has_factor", "HAS_FACTOR*", "HAS_FACTOR`",
    "Homicide\nMATCH (n) DETACH DELETE n", "x" * 10_000,
]


@pytest.mark.parametrize("name", INJECTED_NAMES, ids=lambda n: repr(n[:30]))
def test_schema_refuses_injected_labels_and_types(name: str) -> None:
    schema = get_schema()
    with pytest.raises(ValueError, match="unknown node label"):
        schema.check_label(name)
    with pytest.raises(ValueError, match="unknown relationship type"):
        schema.check_rel_type(name)


def test_schema_accepts_exactly_the_ontology_names() -> None:
    schema = get_schema()
    for label in schema.nodes:
        assert schema.check_label(label) == label
        assert label.isidentifier() and label.isascii()  # safe to place in query text
    for rel_type in schema.rels:
        assert schema.check_rel_type(rel_type) == rel_type
        assert rel_type.replace("_", "").isalnum() and rel_type.isascii()
