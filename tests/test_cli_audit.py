"""Every CLI action of record is audited: `export`, `import rdf`, `load rdf`, `link run`, `link accept|reject`.

The real `micropath` command runs as a subprocess on the embedded engine (a small fixture graph: the
hand-written coded bundle, and two constructed mapped-csv datasets for linkage) with MICROPATH_AUDIT_LOG in
tmp_path. After each scenario the log holds exactly the expected entries, in order, with the OS user, what
was done, the database and the outcome (``failed`` with the error for a failing export or link run), and
`micropath audit verify` passes. Expected figures come from the fixture files (pandas, rdflib, csv), not
from the commands. An action that cannot be audited does not run.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import rdflib

from tests.conftest import REPO
from tests.linkage_fixtures import write_source
from tests.test_linkage import LEFT, RIGHT, expected_pairs

CODED_SMALL = REPO / "tests" / "fixtures" / "coded_small"
OS_USER = pwd.getpwuid(os.getuid()).pw_name


def micropath(log: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MICROPATH_AUDIT_LOG": str(log)}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=300)


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stderr
    return done


def entries(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def check_common(found: list[dict[str, Any]]) -> None:
    """Every CLI entry names the OS user, role `os`, no ip and a database."""
    for entry in found:
        assert (entry["user"], entry["role"], entry["ip"]) == (OS_USER, "os", ""), entry
        assert entry["details"]["db"].startswith("embedded:"), entry


def verify_passes(log: Path) -> None:
    done = ok(micropath(log, "audit", "verify", "--log", str(log)))
    assert f"{len(entries(log))} entries, chain intact" in done.stdout


def test_exports_imports_and_rdf_loads_are_audited(tmp_path: Path) -> None:
    log, graph, copy, loaded = (tmp_path / "audit.jsonl", tmp_path / "g.lbdb", tmp_path / "copy.lbdb",
                                tmp_path / "loaded.lbdb")
    cases = len(pd.read_csv(CODED_SMALL / "cases.csv"))
    ok(micropath(log, "load", "coded", str(CODED_SMALL), "--db", f"embedded:{graph}", "--quiet"))
    ttl, table = tmp_path / "graph.ttl", tmp_path / "prevalence.csv"
    ok(micropath(log, "export", "rdf", "-o", str(ttl), "--db", f"embedded:{graph}"))
    ok(micropath(log, "export", "csv", "--query", "factor_prevalence", "-p", "dataset=coded-small", "-o", str(table),
                 "--db", f"embedded:{graph}"))
    unknown = micropath(log, "export", "csv", "--query", "no_such_query", "-o", str(tmp_path / "x.csv"),
                        "--db", f"embedded:{graph}")
    assert unknown.returncode == 1
    nowhere = tmp_path / "missing-folder" / "g.graphml"
    assert micropath(log, "export", "graphml", "-o", str(nowhere), "--db", f"embedded:{graph}").returncode == 1
    ok(micropath(log, "import", "rdf", str(ttl), "--dry-run", "--db", f"embedded:{copy}"))  # writes nothing: no entry
    ok(micropath(log, "import", "rdf", str(ttl), "--db", f"embedded:{copy}"))
    ok(micropath(log, "load", "rdf", str(ttl), "--db", f"embedded:{loaded}", "--quiet"))

    found = entries(log)
    assert [(e["event"], e["outcome"]) for e in found] == [
        ("load-started", "ok"), ("load", "ok"), ("export", "ok"), ("export", "ok"), ("export", "failed"),
        ("export", "failed"), ("import", "ok"), ("load-started", "ok"), ("load", "ok")]
    check_common(found)
    rdf, csv_export, unknown_export, unwritable, imported, _started, rdf_load = (e["details"] for e in found[2:])
    triples = len(rdflib.Graph().parse(ttl, format="turtle"))
    assert {k: rdf[k] for k in ("format", "output", "dataset", "query", "params", "db")} == {
        "format": "rdf", "output": str(ttl), "dataset": "", "query": "", "params": [], "db": f"embedded:{graph}"}
    assert rdf["result"].endswith(f"({triples} triples)") and "error" not in rdf
    with table.open(encoding="utf-8", newline="") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))
    assert (csv_export["format"], csv_export["query"], csv_export["params"]) == (
        "csv", "factor_prevalence", ["dataset=coded-small"])
    assert csv_export["result"] == f"exported {rows} rows of 'factor_prevalence' as CSV"
    assert unknown_export["query"] == "no_such_query"
    assert "no saved query named 'no_such_query'" in unknown_export["error"]
    assert unknown_export["error"] in unknown.stderr and "result" not in unknown_export
    assert unwritable["output"] == str(nowhere) and "missing-folder" in unwritable["error"] and not nowhere.exists()
    assert (imported["kind"], imported["path"], imported["db"]) == ("rdf", str(ttl), f"embedded:{copy}")
    assert [(d["dataset"], d["records_new"]) for d in imported["datasets"]] == [("coded-small", cases)]
    assert (rdf_load["source"], rdf_load["path"], rdf_load["records_new"]) == ("rdf", str(ttl), cases)
    verify_passes(log)


def test_link_runs_and_reviews_are_audited(tmp_path: Path) -> None:
    log, db = tmp_path / "audit.jsonl", tmp_path / "links.lbdb"
    uri = f"embedded:{db}"
    for dataset, record, rows, kind in (("police-x", "Homicide", LEFT, None), ("partner-y", "Incident", RIGHT,
                                                                               "homicide")):
        mapping = write_source(tmp_path / "sources", dataset, record, rows, kind=kind)
        ok(micropath(log, "load", "mapped-csv", str(mapping), "--db", uri, "--quiet"))
    run = ["link", "run", "--left", "police-x", "--right", "partner-y", "--method", "deterministic",
           "--keys", "area_borough,year,month", "--db", uri, "--format", "json"]
    (made,) = json.loads(ok(micropath(log, *run)).stdout)
    pairs = sorted(expected_pairs(["borough", "yr", "mon"]))
    left_uid, right_uid = pairs[0]
    ok(micropath(log, "link", "reject", "--run", made["run"], "--pair", left_uid, right_uid, "--reviewer", "rev-01",
                 "--db", uri))
    ok(micropath(log, "link", "accept", "--run", made["run"], "--min-probability", "0", "--reviewer", "rev-02",
                 "--db", uri))
    no_link = micropath(log, "link", "accept", "--run", made["run"], "--pair", "police-x:P9", "partner-y:A1",
                        "--reviewer", "rev-01", "--db", uri)
    assert no_link.returncode == 1
    missing = micropath(log, "link", "run", "--left", "nobody", "--right", "partner-y", "--method", "splink",
                        "--block", "year", "--fields", "month", "--threshold", "0.8", "--db", uri)
    assert missing.returncode == 1
    ok(micropath(log, "link", "list", "--db", uri))  # reads only: no entry

    found = entries(log)
    assert [(e["event"], e["outcome"]) for e in found] == [
        ("load-started", "ok"), ("load", "ok"), ("load-started", "ok"), ("load", "ok"), ("link-run", "ok"),
        ("link-review", "ok"), ("link-review", "ok"), ("link-review", "failed"), ("link-run", "failed")]
    check_common(found)
    linked, rejected, accepted, refused, failed_run = (e["details"] for e in found[4:])
    assert {k: linked[k] for k in ("run", "left", "right", "method", "keys", "threshold", "links", "db")} == {
        "run": made["run"], "left": "police-x", "right": "partner-y", "method": "deterministic",
        "keys": ["area_borough", "year", "month"], "threshold": None, "links": len(pairs), "db": uri}
    assert linked["relationships_written"] == len(pairs)
    assert {k: rejected[k] for k in ("run", "decision", "reviewer", "pairs_given", "links_decided")} == {
        "run": made["run"], "decision": "rejected", "reviewer": "rev-01", "pairs_given": [[left_uid, right_uid]],
        "links_decided": 1}
    assert {k: accepted[k] for k in ("decision", "reviewer", "pairs_given", "min_probability", "links_decided")} == {
        "decision": "accepted", "reviewer": "rev-02", "pairs_given": [], "min_probability": 0.0,
        "links_decided": len(pairs) - 1}
    assert refused["pairs_given"] == [["police-x:P9", "partner-y:A1"]] and "has no link" in refused["error"]
    assert (failed_run["left"], failed_run["method"], failed_run["threshold"]) == ("nobody", "splink", 0.8)
    assert "'nobody'" in failed_run["error"] and "links" not in failed_run
    verify_passes(log)


def test_an_action_that_cannot_be_audited_does_not_run(tmp_path: Path) -> None:
    graph = tmp_path / "g.lbdb"
    ok(micropath(tmp_path / "audit.jsonl", "load", "coded", str(CODED_SMALL), "--db", f"embedded:{graph}", "--quiet"))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log's folder should be\n", encoding="utf-8")
    out = tmp_path / "graph.ttl"
    done = micropath(blocker / "audit.jsonl", "export", "rdf", "-o", str(out), "--db", f"embedded:{graph}")
    assert done.returncode == 1 and "cannot append to the audit log" in done.stderr
    assert "nothing was done" in done.stderr
    assert not out.exists()
    copy = tmp_path / "copy.lbdb"
    refused = micropath(blocker / "audit.jsonl", "import", "rdf", str(CODED_SMALL / "cases.csv"), "--db",
                        f"embedded:{copy}")
    assert refused.returncode == 1 and "cannot append to the audit log" in refused.stderr and not copy.exists()
