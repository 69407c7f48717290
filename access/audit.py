"""The append-only audit log: who signed in (or failed to), who ran which query with which parameters,
who exported what, and every load, import, link run and link review.

Command-line actions are written as the OS user (role ``os``): loads through :func:`record_load`, exports,
imports and linkage through :func:`audited` (one entry per command, outcome ``ok`` or ``failed``).

One JSON object per line, appended to ``$MICROPATH_AUDIT_LOG`` (default: ``audit.jsonl`` in the platform
data directory). The file is opened ``O_APPEND`` for every entry, written with one ``write`` and
``fsync``-ed before the call returns, and never rewritten. Entries are chained: each carries ``prev``, the
SHA-256 (hex) of the previous line's bytes (the first entry: :data:`GENESIS`), so editing, deleting or
reordering a line breaks the chain at that line and :func:`verify` names it. Several processes (the
dashboard, CLI loads) may append at once: each append holds an exclusive ``flock`` while it reads the last
line and writes its own.

What the chain does not catch on its own: cutting lines off the *end* (the remaining chain is valid).
``micropath audit verify`` prints the hash of the last line; record it elsewhere (a ticket, a second
machine) and compare it later to detect truncation.
"""

from __future__ import annotations

import csv
import fcntl
import getpass
import hashlib
import io
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from platformdirs import user_data_path

from graph_model.errors import MicropathError

AUDIT_ENV = "MICROPATH_AUDIT_LOG"
GENESIS = "0" * 64
FIELDS = ("ts", "event", "user", "role", "ip", "outcome", "details", "prev")
TAIL_BYTES = 1 << 16  # an entry is far smaller; the last line is found in the file's last 64 kB
MAX_TEXT = 20_000  # longer strings (ad-hoc Cypher) are cut, with their length and SHA-256 kept


class AuditError(MicropathError):
    """The audit log cannot be written or read; the message names the file and what to do."""


def default_audit_path() -> Path:
    env = os.environ.get(AUDIT_ENV, "").strip()
    return Path(env).expanduser() if env else user_data_path("micropathways") / "audit.jsonl"


def line_hash(line: bytes) -> str:
    """SHA-256 of one line's bytes, without its newline."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
        return f"{value[:MAX_TEXT]}… [cut: {len(value)} characters, sha256 {digest}]"
    if isinstance(value, dict):
        return {str(k): _bounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_bounded(v) for v in value]
    return value


@dataclass(frozen=True)
class Problem:
    """Where the chain breaks: ``line`` (1-based) and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class AuditLog:
    """An append-only, hash-chained JSON-lines file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_audit_path()
        self._lock = threading.Lock()

    def append(self, event: str, *, user: str, role: str = "", ip: str = "", outcome: str = "ok",
               **details: Any) -> dict[str, Any]:
        """Write one entry (durably: fsync before returning) and return it."""
        entry: dict[str, Any] = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event,
                                 "user": user, "role": role, "ip": ip, "outcome": outcome,
                                 "details": _bounded(details)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    entry["prev"] = self._last_hash()
                    line = json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str) + "\n"
                    os.write(fd, line.encode("utf-8"))
                    os.fsync(fd)
                finally:
                    os.close(fd)  # closing releases the flock
        except OSError as exc:
            raise AuditError(f"cannot append to the audit log {self.path}: {exc}; check the folder's "
                             f"permissions or set {AUDIT_ENV}") from exc
        return entry

    def check_writable(self) -> None:
        """Raise AuditError now if an entry could not be appended (missing rights, a folder in the way), so
        an action of record that could not be audited is refused before it runs. Writes nothing."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
        except OSError as exc:
            raise AuditError(f"cannot append to the audit log {self.path}: {exc}; nothing was done. Check the "
                             f"folder's permissions or set {AUDIT_ENV}") from exc

    def _last_hash(self) -> str:
        with self.path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return GENESIS
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read()
        lines = tail.rstrip(b"\n").split(b"\n")
        return line_hash(lines[-1])

    def lines(self) -> Iterator[bytes]:
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            yield from handle

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first (a line that is not JSON is an AuditError naming it)."""
        out = []
        for number, line in enumerate(self.lines(), start=1):
            try:
                out.append(json.loads(line))
            except ValueError as exc:
                raise AuditError(f"{self.path} line {number} is not a JSON entry ({exc}); run "
                                 "`micropath audit verify`") from exc
        return out

    def verify(self) -> tuple[int, str, list[Problem]]:
        """(entries checked, hash of the last line, problems). No problems: the chain is intact."""
        problems: list[Problem] = []
        previous, count = GENESIS, 0
        for count, line in enumerate(self.lines(), start=1):
            if not line.endswith(b"\n"):
                problems.append(Problem(count, "the last line is incomplete (no newline): a write was cut off"))
            try:
                entry = json.loads(line)
            except ValueError:
                problems.append(Problem(count, "not a JSON object: the line was altered"))
                entry = {}
            if isinstance(entry, dict) and entry.get("prev") != previous:
                problems.append(Problem(count, f"prev is {entry.get('prev')!r} but the line before hashes to "
                                               f"{previous}: the line before was changed, removed or inserted"))
            previous = line_hash(line)
        return count, previous, problems


def record(event: str, *, log_path: str | Path | None = None, user: str | None = None, outcome: str = "ok",
           **details: Any) -> None:
    """Append an entry for a command-line action (the OS user who ran it)."""
    AuditLog(log_path).append(event, user=user or _os_user(), role="os", outcome=outcome, **details)


def _db(db: str | None) -> str:
    from graph_model.connect import default_db_uri

    return db or default_db_uri()


def report_details(report: Any) -> dict[str, Any]:
    """What a write report (graph_model.writer) says about a write, for an entry's details."""
    return {"dataset": report.dataset, "records_new": report.records_new,
            "records_changed": report.records_changed, "records_unchanged": report.records_unchanged,
            "nodes_written": report.nodes_written, "rels_written": report.rels_written,
            "elapsed_s": round(report.elapsed_s, 3)}


def record_load(stage: str, source: str, path: Any, db: str | None, report: Any = None,
                problems: int | None = None, error: str | None = None) -> None:
    """The CLI load path's entries: ``load-started`` (written before anything is, so a load that cannot be
    audited does not run), then ``load`` with the load report, ``load-refused`` with the problem count, or
    ``load-failed`` with the error that stopped the write."""
    details: dict[str, Any] = {"source": source, "path": str(Path(path).resolve()), "db": _db(db)}
    if report is not None:
        details.update(report_details(report))
    if problems is not None:
        details["problems"] = problems
    if error is not None:
        details["error"] = error
    outcome = {"load-refused": "refused", "load-failed": "failed"}.get(stage, "ok")
    record(stage, outcome=outcome, **details)


def failure_reason(exc: BaseException) -> str:
    """An exception as the ``error`` of a failed entry: its message, else its type."""
    text = str(exc).strip()
    return text or type(exc).__name__


@contextmanager
def audited(event: str, db: str | None, **details: Any) -> Iterator[dict[str, Any]]:
    """One entry for a CLI action of record (an export, import, link run or review): the log is checked
    first (:meth:`AuditLog.check_writable`, so an action that cannot be audited does not run), then the
    action runs inside the ``with``, adding its results to the yielded dict, and one entry is written:
    outcome ``ok``, or ``failed`` with ``error`` (the exception is re-raised). If that entry cannot be
    written, AuditError is raised (naming the action's own error if it had one): never silent."""
    log = AuditLog()
    log.check_writable()
    base = {**details, "db": _db(db)}
    results: dict[str, Any] = {}
    try:
        yield results
    except BaseException as exc:
        reason = failure_reason(exc)
        try:
            record(event, log_path=log.path, outcome="failed", **{**base, **results, "error": reason})
        except AuditError as audit_exc:
            raise AuditError(f"{audit_exc} (the {event} itself failed: {reason})") from exc
        raise
    record(event, log_path=log.path, **{**base, **results})


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def to_csv(entries: list[dict[str, Any]]) -> str:
    """Entries as CSV (details as JSON text; every cell formula-safe)."""
    from graph_model.csv_safety import csv_safe

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for entry in entries:
        cells = [entry.get(f, "") for f in FIELDS]
        writer.writerow([csv_safe(c if isinstance(c, str) else json.dumps(c, ensure_ascii=False, sort_keys=True))
                         for c in cells])
    return buffer.getvalue()
