"""Start, stop and inspect a local Neo4j 5.26 LTS Community server for Micropathways.

Neo4j comes from Maven Central (``mvn dependency:build-classpath`` on the small POM in
``neo4j_launcher/``), resolved once into the user's cache; ``Launcher.java`` is compiled there
with ``javac`` and starts the database in-process with only the Bolt connector, on 127.0.0.1.
The initial password comes from NEO4J_PASSWORD (never the command line). Memory: the JVM gets
``--heap`` (default 2g: a load is one transaction, see docs/neo4j.md) plus ``--page-cache``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_path, user_data_path

from graph_model.errors import BackendUnavailableError, MicropathError

LAUNCHER_DIR = Path(__file__).resolve().parent / "neo4j_launcher"
DEFAULT_PORT = 7687
PID_FILE = "micropathways-neo4j.pid"
LOG_FILE = "micropathways-neo4j.log"
READY_MARK = "micropathways-neo4j: ready"


def neo4j_version() -> str:
    match = re.search(r"<neo4j.version>([^<]+)</neo4j.version>", (LAUNCHER_DIR / "pom.xml").read_text())
    assert match, "neo4j_launcher/pom.xml must set neo4j.version"
    return match.group(1)


def default_data_dir() -> Path:
    return user_data_path("micropathways") / "neo4j"


@dataclass
class Launcher:
    classpath: str
    classes: Path


def ensure_launcher(*, quiet: bool = True) -> Launcher:
    """Resolve Neo4j from Maven Central and compile the launcher, once per POM/launcher version."""
    sources = (LAUNCHER_DIR / "pom.xml").read_bytes() + (LAUNCHER_DIR / "Launcher.java").read_bytes()
    digest = hashlib.sha256(sources).hexdigest()[:12]
    cache = user_cache_path("micropathways") / f"neo4j-{neo4j_version()}-{digest}"
    cp_file, marker = cache / "classpath.txt", cache / "Launcher.class"
    if cp_file.exists() and marker.exists():
        return Launcher(cp_file.read_text().strip(), cache)
    for tool in ("mvn", "javac", "java"):
        if shutil.which(tool) is None:
            raise MicropathError(f"`{tool}` is not on PATH; the Neo4j launcher needs a JDK 17+ and Maven")
    cache.mkdir(parents=True, exist_ok=True)
    mvn = ["mvn", "-B", "-f", str(LAUNCHER_DIR / "pom.xml"), "dependency:build-classpath",
           f"-Dmdep.outputFile={cp_file}"] + (["-q"] if quiet else [])
    _run(mvn, "resolving Neo4j from Maven Central")
    _run(["javac", "-cp", cp_file.read_text().strip(), "-d", str(cache),
          str(LAUNCHER_DIR / "Launcher.java")], "compiling the Neo4j launcher")
    return Launcher(cp_file.read_text().strip(), cache)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise MicropathError(f"{what} failed ({' '.join(command[:3])} …):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _alive(pid: int) -> bool:
    """True while ``pid`` runs; reaps it if it is our exited child (a zombie is not alive)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: fall through to the signal probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state != "Z"


def _pid(data_dir: Path) -> int | None:
    try:
        pid = int((data_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def status(data_dir: Path | None = None, port: int = DEFAULT_PORT) -> str:
    data_dir = data_dir or default_data_dir()
    pid = _pid(data_dir)
    if pid is None:
        return f"stopped (data {data_dir})"
    answering = "answering" if port_open(port) else "not answering yet"
    return f"running, pid {pid}, bolt://127.0.0.1:{port} {answering} (data {data_dir})"


def start(data_dir: Path | None = None, port: int = DEFAULT_PORT, *, heap: str = "2g",
          page_cache: str = "512m", wait_s: float = 180.0) -> str:
    """Start the server in the background and wait until Bolt answers; return its URI."""
    data_dir = (data_dir or default_data_dir()).resolve()
    uri = f"bolt://127.0.0.1:{port}"
    if _pid(data_dir) is not None:
        return uri
    password = os.environ.get("NEO4J_PASSWORD", "")
    if len(password) < 8:
        raise MicropathError("set NEO4J_PASSWORD (at least 8 characters) before `micropath neo4j start`; "
                             "it becomes the password of the user neo4j (NEO4J_USER)")
    if port_open(port):
        raise MicropathError(f"port {port} is already in use; choose another with --port")
    launcher = ensure_launcher()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / LOG_FILE).open("w")
    process = subprocess.Popen(
        ["java", f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", "-cp",
         f"{launcher.classpath}{os.pathsep}{launcher.classes}", "Launcher", str(data_dir / "db"), str(port),
         page_cache],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ.copy())
    (data_dir / PID_FILE).write_text(str(process.pid))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            (data_dir / PID_FILE).unlink(missing_ok=True)
            raise MicropathError(f"Neo4j exited during start-up (code {process.returncode}); its log:\n"
                                 f"{_tail(data_dir / LOG_FILE)}")
        if READY_MARK in (data_dir / LOG_FILE).read_text(errors="replace") and port_open(port):
            return uri
        time.sleep(0.5)
    stop(data_dir)
    raise BackendUnavailableError(f"Neo4j did not answer on {uri} within {wait_s:.0f}s; its log:\n"
                                  f"{_tail(data_dir / LOG_FILE)}")


def stop(data_dir: Path | None = None, wait_s: float = 60.0) -> bool:
    """Stop the server cleanly (SIGTERM, then SIGKILL after ``wait_s``); False if it was not running."""
    data_dir = (data_dir or default_data_dir()).resolve()
    pid = _pid(data_dir)
    if pid is None:
        (data_dir / PID_FILE).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    (data_dir / PID_FILE).unlink(missing_ok=True)
    return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
