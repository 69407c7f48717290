"""`micropath serve` as a subprocess on a free loopback port, for benchmarks and browser tests.

    with running_dashboard("embedded:/path/graph.lbdb", log_path) as base:
        ...  # base is "http://127.0.0.1:<port>"

The server's output goes to ``log``; it is ready when ``/_dash-dependencies`` answers (200, or a login
redirect or 401 when login is on). On leaving, it is stopped with SIGTERM — `micropath serve` then closes its
handles and prints what its caches answered — and killed if it has not stopped within 30 s.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

READY_STATUSES = (200, 302, 401)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def micropath() -> list[str]:
    """The `micropath` command of this interpreter's environment."""
    script = Path(sys.executable).parent / "micropath"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


@contextlib.contextmanager
def running_dashboard(db: str, log: Path, *, env: dict[str, str] | None = None, timeout_s: float = 120.0,
                      cwd: Path | None = None) -> Iterator[str]:
    """A `micropath serve --db DB` subprocess until the block ends; yields its base URL."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen([*micropath(), "serve", "--db", db, "--port", str(port)], stdout=out,
                                   stderr=subprocess.STDOUT, cwd=cwd,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, log, timeout_s)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`micropath serve` exited with code {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base + "/_dash-dependencies", timeout=5) as answer:
                if answer.status in READY_STATUSES:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code in READY_STATUSES:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"`micropath serve` did not answer on {base} within {timeout_s:.0f} s; its log:\n"
                       f"{log.read_text()[-3000:]}")
