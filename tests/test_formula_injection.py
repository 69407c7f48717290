"""Formula injection (CSV injection): text that reaches the graph must not reach a CSV export as a formula.

What text reaches the graph from an input file (everything else is checked against a closed list of codes,
a pattern or a number, so a formula is refused at load — tests/test_fuzz_loaders.py):

* coded bundle, bundle.toml: ``source``, ``licence``, ``description`` -> Dataset properties
  (``dataset_summary`` returns source and licence); cells are trimmed, so leading white space is dropped;
* SHR: ``cnty_name`` -> the county Area's ``label`` (``homicides_by_area`` returns it), verbatim, leading
  tabs and CRs included.

Those values are loaded here through the real loaders, then exported with ``micropath query ... --format
csv`` (the real CLI, embedded engine) and with ``queries.formatting.to_csv`` over ``run_saved_query`` on both
engines. Every exported cell is parsed back with the csv module and judged by an independent rule: a cell
is dangerous if, after leading white space, it starts with = + - or @, or it starts with a tab or CR,
unless it is a plain number. No exported cell may be dangerous, and every injected value must come back
whole, behind one quote. The problems CSV of a refused load (``micropath load --problems``) is held to the
same rule.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graph_model.backend import GraphBackend
from graph_model.csv_safety import csv_safe
from graph_model.embedded import EmbeddedBackend
from loaders.base import load
from queries.formatting import to_csv
from queries.runner import run_saved_query
from tests.conftest import SHR_CSV

REPO = Path(__file__).resolve().parents[1]
CODED_FIXTURE = REPO / "tests" / "fixtures" / "coded_small"
INJECTIONS = ["=cmd|' /C calc'!A0", "=1+1", "+SUM(A1:A2)", "-1+1", "@A1", "@SUM(1+1)*cmd|' /C calc'!A0",
              "=HYPERLINK(\"http://example.org\",\"click\")", "-2+3+cmd|' /C calc'!A0", "+1-1", "-inf"]
# SHR keeps cells verbatim: leading white space and control characters reach the graph too
SHR_INJECTIONS = [*INJECTIONS, "\t=1+1", "\r=1+1", " =1+1", "  @A1", "\n-1+1", "\u00a0=1+1",
                  # a line break inside a value must not start a new row whose first cell is a formula
                  "Apache\r=cmd|' /C calc'!A0", "Apache\n=1+1", "Apache\r\n@A1"]
PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def dangerous(cell: str) -> bool:
    """Would a spreadsheet read this cell as a formula? (The rule, written independently of csv_safe.)"""
    if PLAIN_NUMBER.fullmatch(cell):
        return False
    if cell[:1] in ("\t", "\r", "\n"):
        return True
    return cell.lstrip()[:1] in ("=", "+", "-", "@")


# ---- csv_safe, case by case -----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-1+1", "'-1+1"), ("@A1", "'@A1"),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"),
    ("\n=1", "'\n=1"), (" =1+1", "' =1+1"), ("   @A1", "'   @A1"), ("\u00a0=1", "'\u00a0=1"),
    ("\u3000+1+1", "'\u3000+1+1"), ("\tplain", "'\tplain"), ("-inf", "'-inf"), ("-nan", "'-nan"),
    ("-1_000", "'-1_000"), ("-١", "'-١"), ("- 1", "'- 1"), ("-", "'-"), ("+", "'+"),
    # plain numbers stay numbers; ordinary text is untouched
    ("-1", "-1"), ("+2", "+2"), ("-1.5", "-1.5"), ("-.5", "-.5"), ("+2.5e3", "+2.5e3"), ("-1E-7", "-1E-7"),
    ("0", "0"), ("", ""), ("Greenwich", "Greenwich"), ("a=b", "a=b"), ("x-1", "x-1"), ("'=1", "'=1"),
    ("＝1+1", "＝1+1"),  # a full-width equals sign is text to spreadsheets
])
def test_csv_safe(text: str, expected: str) -> None:
    assert csv_safe(text) == expected
    assert not dangerous(csv_safe(text)) or csv_safe(text).startswith("'")


def test_csv_safe_never_leaves_a_formula() -> None:
    """Every short string over the characters that matter: escaped exactly when dangerous."""
    alphabet = ["=", "+", "-", "@", " ", "\t", "\r", "\n", "1", ".", "e", "A", "'", "\u00a0"]
    for a in alphabet:
        for b in alphabet:
            for c in alphabet:
                text = a + b + c
                out = csv_safe(text)
                assert out == ("'" + text if dangerous(text) else text), repr(text)


# ---- the graph holding injected text --------------------------------------------------------------------
def write_coded(folder: Path, index: int, source: str, licence: str, description: str) -> Path:
    target = folder / f"bundle{index}"
    shutil.copytree(CODED_FIXTURE, target)
    toml = (f'name = "inject-{index}"\nsource = {_toml(source)}\nlicence = {_toml(licence)}\n'
            f"synthetic = true\ncoding_frame_version = 2\ndescription = {_toml(description)}\n")
    (target / "bundle.toml").write_text(toml, encoding="utf-8")
    return target


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_shr(folder: Path, names: list[str]) -> tuple[Path, dict[str, str]]:
    """The head of the real SHR file with each county renamed to an injection string (fip -> name)."""
    with SHR_CSV.open(encoding="utf-8", newline="") as handle:
        first: dict[str, dict[str, str]] = {}  # the first row of each of the first counties
        for row in csv.DictReader(handle):
            first.setdefault(row["fip"], row)
            if len(first) == len(names):
                break
    assert len(first) == len(names), "the SHR file has too few counties"
    renamed = dict(zip(first, names, strict=True))
    rows = list(first.values())
    for row in rows:
        row["cnty_name"] = renamed[row["fip"]]
    path = folder / "shr.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)
    return path, renamed


def load_injections(backend: GraphBackend, folder: Path) -> dict[str, list[str]]:
    """Load the injected text; returns which values each export column must show."""
    values = list(INJECTIONS)
    triples = [values[i:i + 3] for i in range(0, len(values), 3)]
    triples[-1] += ["ok text"] * (3 - len(triples[-1]))
    for index, (source, licence, description) in enumerate(triples):
        load("coded", write_coded(folder, index, source, licence, description), backend)
    shr, renamed = write_shr(folder, SHR_INJECTIONS)
    load("shr", shr, backend)
    return {"source": [t[0] for t in triples], "licence": [t[1] for t in triples],
            "area": list(renamed.values())}


def check_export(text: str, expected: dict[str, list[str]], column: str) -> None:
    table = list(csv.DictReader(io.StringIO(text, newline="")))
    assert table, text
    for row in table:
        for name, cell in row.items():
            assert not dangerous(cell) or cell.startswith("'"), f"{name}: {cell!r} exported as a formula"
    cells = [row[column] for row in table]
    for value in expected[column]:
        assert csv_safe(value) in cells, f"{value!r} did not come back as {csv_safe(value)!r}: {cells}"
        if dangerous(value):
            assert "'" + value in cells  # whole, behind one quote


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    folder = tmp_path_factory.mktemp("inject")
    with EmbeddedBackend(folder / "graph.lbdb", read_only=False) as backend:
        expected = load_injections(backend, folder)
    return folder / "graph.lbdb", expected


def micropath(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI; output decoded without newline translation (a CR in a cell must stay a CR)."""
    done = subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def test_the_injected_text_is_in_the_graph_verbatim(embedded: tuple[Path, dict[str, list[str]]]) -> None:
    db, expected = embedded
    with EmbeddedBackend(db) as backend:
        sources = {r["s"] for r in backend.run_read("MATCH (d:Dataset) RETURN d.source AS s").rows}
        areas = {r["l"] for r in backend.run_read("MATCH (a:Area) WHERE a.scheme = 'us-county' "
                                                  "RETURN a.label AS l").rows}
    assert set(expected["source"]) <= sources
    assert set(expected["area"]) == areas  # stored as given: the export, not the loader, neutralises


def test_cli_csv_export_escapes_every_formula(embedded: tuple[Path, dict[str, list[str]]]) -> None:
    db, expected = embedded
    summary = micropath("query", "dataset_summary", "--format", "csv", "--db", f"embedded:{db}")
    assert summary.returncode == 0, summary.stderr
    check_export(summary.stdout, expected, "source")
    check_export(summary.stdout, expected, "licence")
    areas = micropath("query", "homicides_by_area", "-p", "dataset=shr", "--format", "csv", "--db", f"embedded:{db}")
    assert areas.returncode == 0, areas.stderr
    check_export(areas.stdout, expected, "area")
    # ad-hoc Cypher goes through the same writer
    adhoc = micropath("cypher", "MATCH (a:Area) WHERE a.scheme = 'us-county' RETURN a.label AS area",
                      "--format", "csv", "--db", f"embedded:{db}")
    assert adhoc.returncode == 0, adhoc.stderr
    check_export(adhoc.stdout, expected, "area")


def test_csv_export_on_both_engines(backend: GraphBackend, tmp_path: Path) -> None:
    expected = load_injections(backend, tmp_path)
    check_export(to_csv(run_saved_query(backend, "dataset_summary")), expected, "source")
    check_export(to_csv(run_saved_query(backend, "homicides_by_area", {"dataset": "shr"})), expected, "area")


def test_the_problems_csv_of_a_refused_load_escapes_formulas(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(CODED_FIXTURE, bundle)
    cases = (bundle / "cases.csv").read_text(encoding="utf-8")
    cases = cases.replace("K2,2016,", "K2,\"=cmd|' /C calc'!A0\",").replace(",C01\n", ",@A1\n", 1)
    (bundle / "cases.csv").write_text(cases, encoding="utf-8")
    out = tmp_path / "problems.csv"
    result = micropath("load", "coded", str(bundle), "--problems", str(out), "--db", f"embedded:{tmp_path / 'g.lbdb'}")
    assert result.returncode == 1 and "nothing was written" in result.stderr
    table = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    values = {(row["row"], row["column"]): row["value"] for row in table}
    assert values[("3", "year")] == "'=cmd|' /C calc'!A0"
    assert values[("2", "coder")] == "'@A1"
    for row in table:
        for cell in row.values():
            assert not dangerous(cell) or cell.startswith("'"), cell
