"""The Neo4j server going away mid-session, on a private real server (stopped and started again on the same
port and data folder): a clear BackendUnavailableError / dashboard "unavailable" message while it is down,
and the same backend object and the same Dash app work again, by themselves, once it is back. A load
running while the server goes away publishes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.loadtest import callback_body, find_callback
from bench.server import free_port
from dashboard import services
from dashboard.app import create_app
from graph_model import neo4j_service
from graph_model.errors import BackendUnavailableError, MicropathError
from graph_model.neo4j_backend import RETRY_ENV, Neo4jBackend, retry_seconds
from loaders.base import prepare
from loaders.synthetic import write_bundle
from queries.runner import run_saved_query

HEAP, PAGE_CACHE = "1g", "128m"
YEARS_QUERY = "homicides_by_year"
COUNT = "MATCH (h:Homicide) RETURN count(h) AS n"
OUTAGE_RETRY_S = 15  # MICROPATH_NEO4J_RETRY_S for the loads that lose their server


class Server:
    def __init__(self, data: Path, port: int, bundle: Path) -> None:
        self.data, self.port, self.bundle = data, port, bundle

    def reset(self) -> str:
        """Running, holding only the 120 homicides of the ``outage`` dataset."""
        uri = self.start()
        with Neo4jBackend(uri) as backend:
            backend.delete_all()
            backend.write_bundle(prepare("coded", self.bundle).bundle)
        return uri

    def start(self) -> str:
        return neo4j_service.start(self.data, self.port, heap=HEAP, page_cache=PAGE_CACHE)

    def stop(self) -> None:
        neo4j_service.stop(self.data)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, neo4j_uri: str) -> Iterator[Server]:
    """A private server holding 120 synthetic homicides (neo4j_uri: the session fixture sets the password)."""
    root = tmp_path_factory.mktemp("outage")
    private = Server(root / "neo4j", free_port(), write_bundle(root / "b", cases=120, seed=4, name="outage"))
    try:
        private.reset()
        yield private
    finally:
        private.stop()


def _expect_unavailable(exc: BaseException) -> None:
    message = str(exc)
    assert "micropath neo4j start" in message, message
    assert "Neo4j" in message, message


def test_a_backend_object_recovers_when_the_server_returns(server: Server) -> None:
    uri = server.start()
    backend = Neo4jBackend(uri)
    try:
        before = run_saved_query(backend, YEARS_QUERY, {}).rows
        assert sum(r["homicides"] for r in before) == 120
        server.stop()
        with pytest.raises(BackendUnavailableError) as down:
            backend.run_read(COUNT)
        _expect_unavailable(down.value)
        with pytest.raises(BackendUnavailableError):
            run_saved_query(backend, YEARS_QUERY, {})
        server.start()
        assert backend.run_read(COUNT).rows == [{"n": 120}]  # same object, same driver: its pool reconnects
        assert run_saved_query(backend, YEARS_QUERY, {}).rows == before
    finally:
        server.start()
        backend.close()


def _workbench_post(client: Any, query: str) -> dict[str, Any]:
    deps = client.get("/_dash-dependencies").get_json()
    body = callback_body(find_callback(deps, "wb-table.data"), {("wb-query", "value"): query,
                                                                 ("wb-run", "n_clicks"): 1}, ["wb-run.n_clicks"])
    answer = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return dict(answer.get_json()["response"])


def test_the_dashboard_says_what_to_do_and_recovers_by_itself(server: Server, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROPATH_AUTH", "off")  # login is not what this tests (dashboard/auth.py)
    uri = server.start()
    app = create_app(uri, query_dir=tmp_path / "queries")
    client = app.server.test_client()
    service = services.installed(app.server)
    with app.server.app_context():
        before = services.run_saved_query(YEARS_QUERY, {}).rows
    assert sum(r["homicides"] for r in before) == 120
    assert _workbench_post(client, YEARS_QUERY)["wb-table"]["data"] == before

    server.stop()
    service.changed()  # as when RECHECK_S has passed: until then the service answers from what it kept
    try:
        with app.server.app_context(), pytest.raises(services.ServiceError) as down:
            services.run_saved_query(YEARS_QUERY, {})
        assert down.value.kind == "unavailable"
        _expect_unavailable(down.value)
        shown = _workbench_post(client, YEARS_QUERY)  # the page answers, with the reason in the panel status
        assert shown["wb-table"]["data"] == []
        status = json.dumps(shown["wb-status"])
        assert '"data-status": "error"' in status and "micropath neo4j start" in status, status
        assert client.get("/").status_code == 200
    finally:
        server.start()

    with app.server.app_context():
        assert services.run_saved_query(YEARS_QUERY, {}).rows == before
    assert _workbench_post(client, YEARS_QUERY)["wb-table"]["data"] == before
    assert services.installed(app.server) is service


@pytest.mark.parametrize("staged", [False, True], ids=["one-transaction", "staged"])
def test_a_load_while_the_server_goes_away_publishes_nothing(server: Server, tmp_path: Path, staged: bool) -> None:
    """`micropath load` of 2,000 more homicides; the server is stopped while it writes. Whatever the load
    reports, the graph afterwards is the 120 homicides or all 2,120, never a part; a rerun completes."""
    uri = server.reset()
    folder = write_bundle(tmp_path / "more", cases=2000, seed=9, name="outage-more")
    audit = tmp_path / "audit.jsonl"
    # The server stays down until the load gives up: the driver's retry window (default 120 s) is only waited
    # out, so a shorter one proves the same (all or nothing, a rerun completes) in less time.
    env = {**os.environ, "MICROPATH_AUDIT_LOG": str(audit), RETRY_ENV: str(OUTAGE_RETRY_S)}
    env.pop("MICROPATH_NEO4J_STAGE_ABOVE", None)
    if staged:
        env["MICROPATH_NEO4J_STAGE_ABOVE"] = "0"
    command = [str(Path(sys.executable).with_name("micropath")), "load", "coded", str(folder), "--db", uri, "--quiet"]
    load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    validated = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert load.stderr is not None
        for line in load.stderr:
            lines.append(line)
            if line.startswith("validated "):
                validated.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert validated.wait(300), "".join(lines)
    time.sleep(2.0)  # writing by now
    server.stop()
    try:
        load.wait(timeout=600)
    finally:
        server.start()
    reader.join(timeout=10)
    with Neo4jBackend(uri) as backend:
        homicides = backend.run_read(COUNT).rows[0]["n"]
        per_dataset = {r["d"]: r["n"] for r in backend.run_read(
            "MATCH (h:Homicide)-[:FROM_DATASET]->(d:Dataset) RETURN d.name AS d, count(h) AS n ORDER BY d").rows}
        assert homicides in (120, 2120), f"half-published: {homicides} homicides; load said {''.join(lines)[-800:]}"
        assert per_dataset in ({"outage": 120}, {"outage": 120, "outage-more": 2000}), per_dataset
        events = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
        if load.returncode != 0:
            assert homicides == 120, "a failed load must have published nothing"
            assert "micropath neo4j start" in "".join(lines), "".join(lines)[-800:]
            assert [(e["event"], e["outcome"]) for e in events] == [("load-started", "ok"), ("load-failed", "failed")]
            assert "micropath neo4j start" in events[1]["details"]["error"]
        else:
            assert [(e["event"], e["outcome"]) for e in events] == [("load-started", "ok"), ("load", "ok")]
        print(f"\n[{'staged' if staged else 'one-transaction'}] load exit {load.returncode}; graph holds "
              f"{homicides} homicides; the load said: {''.join(lines).strip().splitlines()[-1][:300]}")
        rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert backend.run_read(COUNT).rows == [{"n": 2120}]
        with backend.driver.session() as session:
            record = session.run("MATCH (n:MpStaging) RETURN count(n) AS n").single()
            assert record is not None and record["n"] == 0


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf", "2 min"])
def test_a_bad_retry_window_is_refused_naming_the_variable(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETRY_ENV, value)
    with pytest.raises(MicropathError) as bad:
        Neo4jBackend("bolt://127.0.0.1:1")  # refused before any connection is tried
    assert f"{RETRY_ENV}={value!r}" in str(bad.value) and "positive number" in str(bad.value)


def test_the_retry_window_defaults_to_two_minutes_and_is_set_by_the_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RETRY_ENV, raising=False)
    assert retry_seconds() == 120.0
    monkeypatch.setenv(RETRY_ENV, " 7.5 ")
    assert retry_seconds() == 7.5


def test_the_cli_reports_a_bad_retry_window_and_audits_the_failed_load(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    folder = write_bundle(tmp_path / "b", cases=3, seed=1, name="retry-env")
    env = {**os.environ, "MICROPATH_AUDIT_LOG": str(audit), RETRY_ENV: "soon"}
    done = subprocess.run([str(Path(sys.executable).with_name("micropath")), "load", "coded", str(folder), "--db",
                           "bolt://127.0.0.1:1", "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1 and f"error: {RETRY_ENV}='soon' is not a positive number" in done.stderr
    events = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert [(e["event"], e["outcome"]) for e in events] == [("load-started", "ok"), ("load-failed", "failed")]
    assert RETRY_ENV in events[1]["details"]["error"]
