"""Login, roles, CSRF, rate limits and the audit log over real HTTP: the dashboard (London data, embedded)
served by werkzeug in a thread, driven with `requests`. Expected access is the matrix of docs/security.md,
written out here, not read from access/roles.py.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from argon2 import PasswordHasher
from dash._utils import split_callback_id
from werkzeug.serving import make_server

from access.audit import AuditLog
from access.users import UserStore
from bench.server import free_port
from dashboard import auth, ids, services
from dashboard.app import create_app
from graph_model.embedded import EmbeddedBackend
from tests.graph_fixtures import load_london

PASSWORDS = {"rita": "researcher-pass-1", "ann": "analyst-pass-22", "pat": "partner-pass-333", "ada": "admin-pass-4444"}
ROLE_OF = {"rita": "researcher", "ann": "analyst", "pat": "partner", "ada": "admin"}
PAGES = {"/": "overview", "/network": "network", "/pathways": "pathways", "/card": "card", "/queries": "workbench",
         "/partner": "partner", "/audit": "audit"}
ALLOWED = {  # the access matrix (docs/security.md)
    "researcher": {"/", "/network", "/pathways", "/card", "/queries", "/partner"},
    "analyst": {"/", "/network", "/pathways", "/card", "/queries", "/partner"},
    "partner": {"/partner"},
    "admin": {"/", "/network", "/pathways", "/card", "/queries", "/partner", "/audit"},
}
ADHOC = "MATCH (h:Homicide) WHERE h.year >= $y RETURN count(h) AS n"


@dataclass
class Server:
    base: str
    app: Any
    config: auth.AuthConfig
    audit: Path
    users: Path


@pytest.fixture(scope="module")
def london_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "graph.lbdb"
    with EmbeddedBackend(path, read_only=False) as backend:
        load_london(backend)
    return path


@pytest.fixture(scope="module")
def server(london_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("auth-server")
    store = UserStore(folder / "users.json")
    for name, password in PASSWORDS.items():
        store.add(name, ROLE_OF[name], password)
    config = auth.AuthConfig(users=store, audit=AuditLog(folder / "audit.jsonl"), secret_key=b"k" * 48)
    app = create_app(f"embedded:{london_db}", query_dir=folder / "queries", auth_config=config)
    port = free_port()
    httpd = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{port}", app, config, folder / "audit.jsonl", folder / "users.json")
    finally:
        httpd.shutdown()
        services.installed(app.server).close()


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def login(server: Server, name: str, password: str | None = None) -> tuple[requests.Session, requests.Response]:
    http = requests.Session()
    page = http.get(server.base + "/login", timeout=30)
    answer = http.post(server.base + "/login", data={"name": name, "password": password or PASSWORDS[name],
                                                     "csrf_token": form_token(page.text)},
                       allow_redirects=False, timeout=30)
    return http, answer


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, requests.Session]:
    out = {}
    for name in PASSWORDS:
        http, answer = login(server, name)
        assert answer.status_code == 302, answer.text
        out[ROLE_OF[name]] = http
    return out


def router_key(server: Server) -> str:
    keys = [k for k in server.app.callback_map if "_pages_content" in k]
    assert len(keys) == 1
    return keys[0]


def callback_body(server: Server, key: str, values: dict[str, Any], changed: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON Dash's renderer posts for callback ``key`` (wildcard inputs as empty lists)."""
    spec = server.app.callback_map[key]

    def item(part: dict[str, Any]) -> Any:
        if part["id"].startswith("{"):
            return []
        name = f"{part['id']}.{part['property']}"
        return {"id": part["id"], "property": part["property"], "value": values.get(name)}

    parts = split_callback_id(key)
    outputs: Any = [{"id": json.loads(o["id"]) if o["id"].startswith("{") else o["id"], "property": o["property"]}
                    for o in (parts if isinstance(parts, list) else [parts])]
    outputs = outputs if isinstance(parts, list) else outputs[0]
    return {"output": key, "outputs": outputs, "inputs": [item(p) for p in spec["inputs"]],
            "state": [item(p) for p in spec["state"]], "changedPropIds": list(changed)}


def post(http: requests.Session, server: Server, body: dict[str, Any], **headers: str) -> requests.Response:
    token = http.cookies.get(auth.CSRF_COOKIE) or ""
    return http.post(server.base + auth.DASH_CALLBACK, json=body, timeout=120,
                     headers={auth.CSRF_HEADER: token, **headers})


def router(server: Server, path: str, search: str = "") -> dict[str, Any]:
    return callback_body(server, router_key(server), {"_pages_location.pathname": path,
                                                      "_pages_location.search": search},
                         changed=("_pages_location.pathname",))


def key_with(server: Server, fragment: str) -> str:
    (key,) = [k for k in server.app.callback_map if k.startswith(fragment)]
    return key


def adhoc_body(server: Server) -> dict[str, Any]:
    return callback_body(server, key_with(server, "..wb-table.data"), {
        "wb-run.n_clicks": 0, "wb-adhoc-run.n_clicks": 1, "wb-query.value": "factor_prevalence",
        "wb-adhoc-text.value": ADHOC, "wb-adhoc-params.value": "y integer 2010", "wb-adhoc-shape.value": "table"},
        changed=("wb-adhoc-run.n_clicks",))


def card_body(server: Server, uid: str) -> dict[str, Any]:
    return callback_body(server, key_with(server, "..card-facts"), {"card-open.n_clicks": 1, "card-uid.value": uid},
                         changed=("card-open.n_clicks",))


def a_london_uid(london_db: Path) -> str:
    with EmbeddedBackend(london_db) as backend:
        rows = backend.run_read("MATCH (h:Homicide) RETURN h.uid AS uid ORDER BY uid LIMIT 1").rows
    return str(rows[0]["uid"])


def entries(server: Server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.audit.read_text(encoding="utf-8").splitlines()]


# ---- no session --------------------------------------------------------------------------------------
def test_without_a_session_pages_and_callbacks_are_refused(server: Server) -> None:
    http = requests.Session()
    for path in PAGES:
        answer = http.get(server.base + path, allow_redirects=False, timeout=30)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login"), path
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert http.get(server.base + path, timeout=30).status_code == 401
    forged = http.post(server.base + auth.DASH_CALLBACK, json=router(server, "/"),
                       headers={auth.CSRF_HEADER: "guess"}, timeout=30)
    assert forged.status_code == 401
    assert "Sign in" in http.get(server.base + "/login", timeout=30).text


def test_session_cookie_flags(server: Server) -> None:
    _http, answer = login(server, "rita")
    cookies = {c.split("=", 1)[0]: c for c in answer.raw.headers.getlist("Set-Cookie")}
    session_cookie = cookies[auth.SESSION_COOKIE]
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie and "Secure" not in session_cookie
    csrf_cookie = cookies[auth.CSRF_COOKIE]  # read by Dash's renderer: not HttpOnly, but Strict
    assert "SameSite=Strict" in csrf_cookie and "HttpOnly" not in csrf_cookie
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_secure_cookies_when_served_over_tls(server: Server, london_db: Path, tmp_path: Path) -> None:
    config = auth.AuthConfig(users=server.config.users, audit=AuditLog(tmp_path / "a.jsonl"), secret_key=b"s" * 48,
                             secure_cookies=True)
    app = create_app(f"embedded:{london_db}", auth_config=config)
    client = app.server.test_client()
    page = client.get("/login", base_url="https://localhost")
    answer = client.post("/login", base_url="https://localhost", data={
        "name": "rita", "password": PASSWORDS["rita"], "csrf_token": form_token(page.get_data(as_text=True))})
    assert answer.status_code == 302
    flags = answer.headers.getlist("Set-Cookie")
    assert flags and all("Secure" in c for c in flags)
    services.installed(app.server).close()


# ---- the role matrix ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_gets_exactly_its_pages(server: Server, sessions: dict[str, requests.Session], role: str) -> None:
    http = sessions[role]
    for path in PAGES:
        allowed = path in ALLOWED[role]
        got = http.get(server.base + path, allow_redirects=False, timeout=60)
        assert got.status_code == (200 if allowed else 403), (role, path, got.status_code)
        rendered = post(http, server, router(server, path))  # the page's content comes from the router callback
        assert rendered.status_code == (200 if allowed else 403), (role, path, rendered.text[:300])


def test_partner_cannot_post_the_card_or_adhoc_callbacks(server: Server, sessions: dict[str, requests.Session],
                                                         london_db: Path) -> None:
    uid = a_london_uid(london_db)
    partner = sessions["partner"]
    card = post(partner, server, card_body(server, uid))
    assert card.status_code == 403 and "partner" in card.json()["error"]
    assert post(partner, server, adhoc_body(server)).status_code == 403
    network_cases = callback_body(server, key_with(server, "..net-selection"), {})
    assert post(partner, server, network_cases).status_code == 403
    researcher_card = post(sessions["researcher"], server, card_body(server, uid))
    assert researcher_card.status_code == 200 and uid in researcher_card.text
    refused = [e for e in entries(server) if e["event"] == "refused" and e["user"] == "pat"]
    assert len(refused) >= 3


def test_adhoc_cypher_is_for_analysts_and_admins(server: Server, sessions: dict[str, requests.Session]) -> None:
    assert post(sessions["researcher"], server, adhoc_body(server)).status_code == 403
    with EmbeddedBackend(Path(server.app.server.extensions[services.EXTENSION_KEY].db_uri.split(":", 1)[1])) as db:
        expected = db.run_read("MATCH (h:Homicide) WHERE h.year >= 2010 RETURN count(h) AS n").rows[0]["n"]
    for role in ("analyst", "admin"):
        answer = post(sessions[role], server, adhoc_body(server))
        assert answer.status_code == 200, answer.text[:500]
        table = answer.json()["response"]["wb-table"]["data"]
        assert table == [{"n": expected}]
    logged = [e for e in entries(server) if e["event"] == "adhoc-cypher" and e["outcome"] == "ok"]
    assert {e["user"] for e in logged} >= {"ann", "ada"}
    assert all(e["details"]["text"] == ADHOC and e["details"]["params"] == {"y": 2010} for e in logged)


def test_services_refuse_on_their_own(server: Server, london_db: Path) -> None:
    """The second layer: service functions check the role even when a callback got through."""
    from flask import g

    uid = a_london_uid(london_db)
    with server.app.server.test_request_context("/"):
        g.mp_user = server.config.users.get("pat")
        for call in (lambda: services.homicide_card(uid), lambda: services.run_adhoc(ADHOC, {"y": 2010}),
                     lambda: services.run_saved_query("factor_prevalence", {})):
            with pytest.raises(services.ServiceError) as refused:
                call()
            assert refused.value.kind == "refused"
        g.mp_user = server.config.users.get("rita")
        with pytest.raises(services.ServiceError, match="adhoc-cypher"):
            services.run_adhoc(ADHOC, {"y": 2010})
        with pytest.raises(services.ServiceError, match="save-queries"):
            services.save_user_query("mine", title="t", description="d", text=ADHOC, parameters={})


def test_partner_gets_suppressed_tables_and_exports(server: Server, sessions: dict[str, requests.Session]) -> None:
    partner = sessions["partner"]
    body = callback_body(server, key_with(server, f"..{ids.PT_TABLE.table}.data"), {
        f"{ids.PT_RUN}.n_clicks": 1, f"{ids.PT_DATASET}.value": "london-mps",
        f"{ids.PT_QUERY}.value": "partner_homicides_by_area_year_band"}, changed=(f"{ids.PT_RUN}.n_clicks",))
    answer = post(partner, server, body)
    assert answer.status_code == 200, answer.text[:500]
    rows = answer.json()["response"][ids.PT_TABLE.table]["data"]
    counts = [r["homicides"] for r in rows]
    assert "[c]" in counts  # London has boroughs with fewer than 10 homicides in a five-year band
    assert all(c == "[c]" or int(c) == 0 or int(c) >= 10 for c in counts)  # a zero here discloses nothing
    stored = answer.json()["response"][json.dumps(ids.PT_TABLE.data, sort_keys=True, separators=(",", ":"))]["data"]
    export = {"output": '{"panel":["MATCH"],"type":"mp-download"}.data',
              "outputs": {"id": ids.PT_TABLE.download, "property": "data"},
              "inputs": [{"id": ids.PT_TABLE.csv, "property": "n_clicks", "value": 1}],
              "state": [{"id": ids.PT_TABLE.data, "property": "data", "value": stored}],
              "changedPropIds": [json.dumps(ids.PT_TABLE.csv, sort_keys=True, separators=(",", ":")) + ".n_clicks"]}
    csv_answer = post(partner, server, export)
    assert csv_answer.status_code == 200 and "[c]" in csv_answer.text
    logged = [e for e in entries(server) if e["user"] == "pat" and e["event"] in ("partner-query", "export")]
    assert [e["event"] for e in logged][-2:] == ["partner-query", "export"]
    assert logged[-1]["details"]["rows"] == len(rows) and logged[-2]["details"]["params"] == {"dataset": "london-mps"}


def test_researcher_saved_query_is_audited_with_parameters(server: Server,
                                                           sessions: dict[str, requests.Session]) -> None:
    body = callback_body(server, key_with(server, "..wb-table.data"), {
        "wb-run.n_clicks": 1, "wb-adhoc-run.n_clicks": 0, "wb-query.value": "dataset_summary"},
        changed=("wb-run.n_clicks",))
    answer = post(sessions["researcher"], server, body)
    assert answer.status_code == 200 and "london-mps" in json.dumps(answer.json()["response"]["wb-table"]["data"])
    last = [e for e in entries(server) if e["event"] == "saved-query"][-1]
    assert last["user"] == "rita" and last["details"]["query"] == "dataset_summary" and last["outcome"] == "ok"


# ---- CSRF, origin, sessions --------------------------------------------------------------------------
def test_a_forged_cross_site_post_is_refused(server: Server, sessions: dict[str, requests.Session]) -> None:
    http = sessions["admin"]
    body = router(server, "/")
    cookies = {c.name: c.value for c in http.cookies}
    # what a page on another site can make a browser send: the cookies (were SameSite not Strict), no header
    no_header = requests.post(server.base + auth.DASH_CALLBACK, json=body, cookies=cookies, timeout=30)
    assert no_header.status_code == 403 and "CSRF" in no_header.json()["error"]
    wrong = requests.post(server.base + auth.DASH_CALLBACK, json=body, cookies=cookies,
                          headers={auth.CSRF_HEADER: "x" * 43}, timeout=30)
    assert wrong.status_code == 403
    for header in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"},
                   {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        assert post(http, server, body, **header).status_code == 403, header
    assert post(http, server, body, Origin=server.base).status_code == 200  # same site, right token


def test_login_form_needs_its_token_and_this_site(server: Server) -> None:
    http = requests.Session()
    token = form_token(http.get(server.base + "/login", timeout=30).text)
    data = {"name": "rita", "password": PASSWORDS["rita"]}
    assert http.post(server.base + "/login", data=data, allow_redirects=False, timeout=30).status_code == 403
    evil = http.post(server.base + "/login", data={**data, "csrf_token": token}, allow_redirects=False, timeout=30,
                     headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert http.post(server.base + "/login", data={**data, "csrf_token": token}, allow_redirects=False,
                     timeout=30).status_code == 302


def test_next_is_local_only(server: Server) -> None:
    http = requests.Session()
    token = form_token(http.get(server.base + "/login?next=//evil.example/x", timeout=30).text)
    answer = http.post(server.base + "/login", data={"name": "pat", "password": PASSWORDS["pat"], "csrf_token": token,
                                                     "next": "//evil.example/x"}, allow_redirects=False, timeout=30)
    assert answer.headers["Location"] == "/partner"


def test_logout_ends_the_session_server_side(server: Server) -> None:
    http, _ = login(server, "ann")
    stolen = {c.name: c.value for c in http.cookies}
    token = stolen[auth.CSRF_COOKIE]
    assert post(http, server, router(server, "/queries")).status_code == 200
    bye = http.post(server.base + "/logout", data={"csrf_token": token}, allow_redirects=False, timeout=30)
    assert bye.status_code == 302
    replay = requests.post(server.base + auth.DASH_CALLBACK, json=router(server, "/queries"), cookies=stolen,
                           headers={auth.CSRF_HEADER: token}, timeout=30)
    assert replay.status_code == 401


def test_a_role_change_or_removal_applies_at_the_next_request(server: Server) -> None:
    store = server.config.users
    store.add("tmp-user", "analyst", "temporary-pass-1")
    http, _ = login(server, "tmp-user", "temporary-pass-1")
    assert http.get(server.base + "/queries", timeout=30).status_code == 200
    UserStore(server.users).set_role("tmp-user", "partner")  # as `micropath users set-role` does
    assert http.get(server.base + "/queries", timeout=30).status_code == 403
    UserStore(server.users).remove("tmp-user")
    assert http.get(server.base + "/partner", allow_redirects=False, timeout=30).status_code == 302


# ---- rate limits -------------------------------------------------------------------------------------
def test_wrong_passwords_are_rate_limited_per_user_and_per_ip(server: Server) -> None:
    config = server.config
    try:
        for _ in range(5):
            assert login(server, "ada", "wrong-password-x")[1].status_code == 401
        blocked = login(server, "ada")[1]  # the right password, but too soon
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        assert login(server, "rita")[1].status_code == 302  # another user is not blocked
        for index in range(15):  # 5 + 15 = 20 failures from this address
            assert login(server, f"nobody{index}", "wrong-password-x")[1].status_code == 401
        assert login(server, "ann")[1].status_code == 429  # the address is blocked for everyone
        outcomes = [e["outcome"] for e in entries(server) if e["event"] == "login" and e["user"] == "ada"][-6:]
        assert outcomes == ["failed"] * 5 + ["throttled"]
    finally:
        config.per_user.clear("user:ada")
        config.per_ip.clear("ip:127.0.0.1")
    assert login(server, "ada")[1].status_code == 302


# ---- the audit log -----------------------------------------------------------------------------------
def test_admin_sees_the_audit_log_and_the_chain_verifies(server: Server, sessions: dict[str, requests.Session]) -> None:
    body = callback_body(server, key_with(server, f"..{ids.AUDIT_LOG.table}.data"), {
        f"{ids.AUDIT_REFRESH}.n_clicks": 1, f"{ids.AUDIT_EVENT}.value": "login"})
    assert post(sessions["analyst"], server, body).status_code == 403
    answer = post(sessions["admin"], server, body)
    assert answer.status_code == 200
    shown = answer.json()["response"][ids.AUDIT_LOG.table]["data"]
    logins = [e for e in entries(server) if e["event"] == "login"]
    assert len(shown) == len(logins) and {r["user"] for r in shown} == {e["user"] for e in logins}
    assert "Chain intact" in json.dumps(answer.json()["response"][ids.AUDIT_LOG.status])
    count, _last, problems = AuditLog(server.audit).verify()
    assert problems == [] and count == len(entries(server))


def test_argon2_hashes_only(server: Server) -> None:
    text = server.users.read_text(encoding="utf-8")
    stored = json.loads(text)["users"]
    hasher = PasswordHasher()
    for name, password in PASSWORDS.items():
        assert password not in text
        assert stored[name]["hash"].startswith("$argon2id$")
        assert hasher.verify(stored[name]["hash"], password)
    assert server.users.stat().st_mode & 0o777 == 0o600
