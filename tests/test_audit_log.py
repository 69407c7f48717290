"""The audit log: append-only, hash-chained, tamper-evident, safe with several writing processes; the
`micropath audit` and `micropath users` commands; CLI loads are audited; `serve` refuses without users."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from access.audit import GENESIS, AuditLog
from tests.conftest import REPO

CODED_SMALL = REPO / "tests" / "fixtures" / "coded_small"


def micropath(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, timeout=timeout)


def sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def write_some(path: Path, n: int = 5) -> list[bytes]:
    log = AuditLog(path)
    for i in range(n):
        log.append("saved-query", user=f"u{i}", role="analyst", query="q",
                   params={"i": i, "text": "=cmd|' /C calc'!A0"})
    return path.read_bytes().splitlines()


def test_each_line_carries_the_hash_of_the_one_before(tmp_path: Path) -> None:
    lines = write_some(tmp_path / "a.jsonl")
    assert json.loads(lines[0])["prev"] == GENESIS
    for before, line in itertools.pairwise(lines):
        assert json.loads(line)["prev"] == sha(before)
    count, last, problems = AuditLog(tmp_path / "a.jsonl").verify()
    assert (count, last, problems) == (5, sha(lines[-1]), [])
    assert (tmp_path / "a.jsonl").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("tamper", ["edit", "delete", "insert", "reorder"])
def test_tampering_is_detected_at_the_line_after(tmp_path: Path, tamper: str) -> None:
    path = tmp_path / "a.jsonl"
    lines = write_some(path)
    if tamper == "edit":
        entry = json.loads(lines[2])
        entry["user"] = "someone-else"
        lines[2] = json.dumps(entry, sort_keys=True).encode()
        expected_line = 4
    elif tamper == "delete":
        del lines[2]
        expected_line = 3
    elif tamper == "insert":
        lines.insert(2, json.dumps({**json.loads(lines[1]), "user": "ghost"}, sort_keys=True).encode())
        expected_line = 3
    else:
        lines[1], lines[2] = lines[2], lines[1]
        expected_line = 2
    path.write_bytes(b"\n".join(lines) + b"\n")
    _count, _last, problems = AuditLog(path).verify()
    assert problems and problems[0].line == expected_line
    done = micropath("audit", "verify", "--log", str(path))
    assert done.returncode == 1 and f"line {expected_line}" in done.stderr


def _append_many(path: str, worker: int) -> None:
    log = AuditLog(path)
    for i in range(50):
        log.append("load", user=f"w{worker}", n=i)


def test_several_processes_append_without_breaking_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), w)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    count, _last, problems = AuditLog(path).verify()
    assert count == 200 and problems == []


def test_export_as_csv_and_json(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_some(path, 3)
    as_json = micropath("audit", "export", "--format", "json", "--log", str(path))
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout) == [json.loads(line) for line in path.read_text().splitlines()]
    as_csv = micropath("audit", "export", "--format", "csv", "--log", str(path))
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["user"] for r in rows] == ["u0", "u1", "u2"]
    assert all(r["details"].startswith("{") for r in rows)  # JSON text; a formula inside it cannot start a cell
    ok = micropath("audit", "verify", "--log", str(path))
    assert ok.returncode == 0 and "3 entries, chain intact" in ok.stdout


def test_cli_loads_are_audited(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    env = {"MICROPATH_AUDIT_LOG": str(log)}
    done = micropath("load", "coded", str(CODED_SMALL), "--db", f"embedded:{tmp_path / 'g.lbdb'}", "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in entries] == ["load-started", "load"]
    cases = sum(1 for _ in csv.DictReader((CODED_SMALL / "cases.csv").open(encoding="utf-8")))
    assert entries[1]["details"]["records_new"] == cases and entries[1]["details"]["source"] == "coded"
    assert entries[1]["role"] == "os" and entries[1]["user"]
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,london,file\n1,2,3,4\n", encoding="utf-8")
    refused = micropath("load", "london-mps", str(bad), "--db", f"embedded:{tmp_path / 'g.lbdb'}", env=env)
    assert refused.returncode == 1
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["event"] == "load-refused" and last["details"]["problems"] > 0
    assert AuditLog(log).verify()[2] == []


def test_users_command_hashes_and_never_takes_a_password_argument(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    env = {"MICROPATH_USERS": str(users), "MICROPATH_NEW_PASSWORD": "a-long-secret-pass"}
    assert micropath("users", "add", "ana", "--role", "analyst", env=env).returncode == 0
    assert "a-long-secret-pass" not in users.read_text() and "$argon2id$" in users.read_text()
    assert users.stat().st_mode & 0o777 == 0o600
    assert micropath("users", "add", "ana", "--role", "admin", env=env).returncode == 1  # exists
    assert micropath("users", "add", "bo", "--role", "analyst", "--password", "x", env=env).returncode == 2
    short = micropath("users", "add", "bo", "--role", "analyst", env={**env, "MICROPATH_NEW_PASSWORD": "short"})
    assert short.returncode == 1 and "at least 12" in short.stderr
    assert micropath("users", "set-role", "ana", "--role", "partner", env=env).returncode == 0
    listing = micropath("users", "list", env=env).stdout
    assert "ana" in listing and "partner" in listing and "argon2" not in listing
    generated = micropath("users", "add", "demo", "--role", "admin", "--generate-password", env=env)
    password = generated.stdout.split("generated password for demo: ")[1].split()[0]
    from access.users import UserStore

    assert UserStore(users).authenticate("demo", password) is not None
    assert micropath("users", "remove", "ana", env=env).returncode == 0
    assert "ana" not in json.loads(users.read_text())["users"]


def test_serve_refuses_without_users_and_open_mode_off_loopback(tmp_path: Path) -> None:
    env = {"MICROPATH_USERS": str(tmp_path / "none.json"), "MICROPATH_AUTH": ""}
    done = micropath("serve", "--db", f"embedded:{tmp_path / 'g.lbdb'}", "--port", "1", env=env, timeout=60)
    assert done.returncode == 1 and "micropath users add admin --role admin" in done.stderr
    exposed = micropath("serve", "--host", "0.0.0.0", "--port", "1", env={**env, "MICROPATH_AUTH": "off"},
                        timeout=60)
    assert exposed.returncode == 1 and "only on 127.0.0.1" in exposed.stderr
    assert "WARNING" in exposed.stderr


def test_security_doc_prints_the_access_matrix() -> None:
    from access.roles import matrix_markdown

    assert matrix_markdown() in (REPO / "docs" / "security.md").read_text(encoding="utf-8")
