"""Login, sessions, CSRF and role checks for the dashboard: one ``before_request`` hook decides every request.

``install(app, config)`` (called by ``dashboard.app.create_app(..., auth=config)``) adds:

* ``GET/POST /login`` and ``POST /logout`` (dashboard/login_page.py draws the form);
* a ``before_request`` hook that refuses, before any Dash code runs:
  - anything but ``/login`` without a live session (pages redirect to the form; other paths get 401);
  - any POST without the session's CSRF token in the ``X-CSRFToken`` header (Dash's renderer sends the
    ``_csrf_token`` cookie there), or with an ``Origin`` / ``Referer`` / ``Sec-Fetch-Site`` from another site;
  - a page (``GET /card``) or a Dash callback (``POST /_dash-update-component``) that the user's role does
    not include: the callback is the one Dash will run (its ``output`` key), mapped to the page that owns
    its component ids (one id prefix per page, :data:`PREFIX_PAGES`); the page router's callback is
    checked against the path it is asked to render; unknown callbacks are refused;
* an ``after_request`` hook: the CSRF cookie, security headers, ``no-store``;
* a user bar (name, role, sign-out) in the page HTML.

Services call :func:`check` before a query, a record, a save or an export: the second, independent layer.
Sessions are signed cookies (Flask, ``SECRET_KEY``) that also name a server-side session id, so sign-out,
``micropath users remove`` and ``set-role`` take effect at the next request; the role always comes from the
users file, never from the cookie. Login attempts are limited per user and per IP in this process.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, has_request_context, jsonify, redirect, request, session
from platformdirs import user_data_path

from access import roles
from access.audit import AuditLog
from access.users import User, UserStore
from graph_model.errors import MicropathError

log = logging.getLogger(__name__)
EXTENSION_KEY = "micropathways.auth"
SECRET_ENV = "MICROPATH_SECRET_KEY"
AUTH_ENV = "MICROPATH_AUTH"  # "off": no login (loopback only; tests and benchmarks)
CSRF_COOKIE = "_csrf_token"  # the cookie Dash's renderer copies into the X-CSRFToken header
CSRF_HEADER = "X-CSRFToken"
SESSION_COOKIE = "mp_session"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
PUBLIC_PATHS = ("/login",)
DASH_CALLBACK = "/_dash-update-component"
ROUTER_OUTPUT = "_pages_content"
# Every page's component ids start with its prefix (dashboard/ids.py: "one prefix per page").
PREFIX_PAGES = {"ov": "overview", "net": "network", "card": "card", "pw": "pathways", "wb": "workbench",
                "pt": "partner", "audit": "audit", "lk": "links"}
PATH_PAGES = {"/": "overview", "/network": "network", "/card": "card", "/pathways": "pathways",
              "/queries": "workbench", "/partner": "partner", "/audit": "audit", "/links": "links"}
EXPORT_TYPES = {"mp-download", "wb-download"}  # outputs that are file downloads
IMAGE_OUTPUTS = {"net-graph", "wb-graph"}  # generateImage: a PNG made in the browser
# callbacks that need more than their page (the workbench saving a query; the links page reviewing a link)
WORKBENCH_NEEDS = {"wb-save-status": roles.SAVE_QUERIES, "lk-review-status": roles.REVIEW_LINKS}
RESTORE_OUTPUT = ("wb-version-status", "children")  # restoring a version writes a new one
ADHOC_TRIGGER = "wb-adhoc-run.n_clicks"


class AccessDenied(MicropathError):
    """The signed-in user's role does not include this."""


@dataclass
class Limiter:
    """Failed logins per key in a sliding window (in this process; a restart forgets them)."""

    limit: int
    window_s: float
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        with self._lock:
            hits = self._trim(key)
            return 0.0 if len(hits) < self.limit else max(0.0, hits[0] + self.window_s - time.monotonic())

    def fail(self, key: str) -> None:
        with self._lock:
            self._trim(key).append(time.monotonic())
            if len(self._hits) > 100_000:  # bounded memory under a flood of distinct keys
                for stale in [k for k, v in self._hits.items() if not v][:50_000]:
                    del self._hits[stale]

    def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _trim(self, key: str) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        cutoff = time.monotonic() - self.window_s
        while hits and hits[0] < cutoff:
            hits.popleft()
        return hits


@dataclass
class LiveSession:
    user: str
    started: float
    seen: float


@dataclass
class AuthConfig:
    """How the dashboard signs users in. ``secret_key``: signs the session cookie."""

    users: UserStore
    audit: AuditLog
    secret_key: bytes
    secure_cookies: bool = False  # set when served over TLS (directly or behind a TLS proxy)
    idle_s: float = 3600.0
    max_age_s: float = 8 * 3600.0
    per_user: Limiter = field(default_factory=lambda: Limiter(5, 900.0))
    per_ip: Limiter = field(default_factory=lambda: Limiter(20, 900.0))
    sessions: dict[str, LiveSession] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


# ---- configuration ------------------------------------------------------------------------------
def secret_key(path: Path | None = None) -> bytes:
    """``$MICROPATH_SECRET_KEY``, else a random key kept in ``secret_key`` in the data directory (created
    0600 on first use; refused if others may read it)."""
    env = os.environ.get(SECRET_ENV, "")
    if env:
        if len(env) < 32:
            raise MicropathError(f"{SECRET_ENV} must have at least 32 characters (e.g. `python -c \"import "
                                 "secrets; print(secrets.token_urlsafe(48))\"`)")
        return env.encode("utf-8")
    path = path or user_data_path("micropathways") / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise MicropathError(f"{path} (the session signing key) may be read by other users; "
                                 f"`chmod 600 {path}` and restart") from None
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_urlsafe(48).encode("ascii"))
    return path.read_bytes().strip()


def config_for_serve(host: str, *, secure_cookies: bool = False, users: UserStore | None = None,
                     audit: AuditLog | None = None) -> AuthConfig | None:
    """The login configuration ``micropath serve`` uses; None only for ``MICROPATH_AUTH=off`` on loopback.

    Refuses to start without users (saying how to add the first one)."""
    if os.environ.get(AUTH_ENV, "").strip().lower() == "off":
        if host not in LOOPBACK:
            raise MicropathError(f"{AUTH_ENV}=off (no login) is allowed only on 127.0.0.1; unset it to serve "
                                 f"on {host}")
        print(f"WARNING: {AUTH_ENV}=off: the dashboard runs WITHOUT login and without an audit log. Use this "
              "only for tests and benchmarks on a single-user machine.", flush=True)
        return None
    store = users or UserStore()
    if not store.users():
        raise MicropathError(
            f"no dashboard users yet ({store.path}): the dashboard requires a login. Add the first "
            "administrator with\n  micropath users add admin --role admin\n(the password is asked for, or "
            "taken from MICROPATH_NEW_PASSWORD), then run `micropath serve` again. `make demo` creates one "
            "with a generated password.")
    return AuthConfig(users=store, audit=audit or AuditLog(), secret_key=secret_key(),
                      secure_cookies=secure_cookies)


# ---- installing the hooks -----------------------------------------------------------------------
def install(app: Any, config: AuthConfig) -> None:
    """Require login on the Dash ``app`` (see the module docstring)."""
    from dashboard import login_page

    server: Flask = app.server
    server.extensions[EXTENSION_KEY] = config
    server.config.update(
        SECRET_KEY=config.secret_key, SESSION_COOKIE_NAME=SESSION_COOKIE, SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=int(config.max_age_s))
    server.before_request(lambda: _before(config))
    server.after_request(lambda response: _after(config, response))
    server.add_url_rule("/login", "mp_login", lambda: login_page.login(config), methods=["GET", "POST"])
    server.add_url_rule("/logout", "mp_logout", lambda: logout(config), methods=["POST"])
    original = app.interpolate_index

    def with_user_bar(**parts: Any) -> str:
        html = original(**parts)
        user = current_user()
        if user is None:
            return str(html)
        return str(html).replace("<body>", "<body>" + login_page.user_bar(user, session.get("csrf", ""),
                                                                          hidden_paths(user.role)), 1)
    app.interpolate_index = with_user_bar


def installed(server: Any) -> AuthConfig | None:
    config: AuthConfig | None = server.extensions.get(EXTENSION_KEY)
    return config


def hidden_paths(role: str) -> list[str]:
    return [path for path, page in PATH_PAGES.items() if not roles.may_see(role, page)]


# ---- sessions -----------------------------------------------------------------------------------
def start_session(config: AuthConfig, user: User) -> None:
    session.clear()
    sid = secrets.token_urlsafe(32)
    now = time.monotonic()
    with config.lock:
        config.sessions[sid] = LiveSession(user.name, now, now)
    session.update(sid=sid, user=user.name, csrf=secrets.token_urlsafe(32))
    session.permanent = True


def _live_user(config: AuthConfig) -> User | None:
    sid, name = session.get("sid"), session.get("user")
    if not sid or not name:
        return None
    now = time.monotonic()
    with config.lock:
        live = config.sessions.get(sid)
        expired = live is None or now - live.seen > config.idle_s or now - live.started > config.max_age_s
        if live is None or expired or live.user != name:
            config.sessions.pop(sid, None)
            return None
        live.seen = now
    return config.users.get(name)  # None once the user is removed; the role is the file's, now


def current_user() -> User | None:
    return g.get("mp_user") if has_request_context() else None


def logout(config: AuthConfig) -> Response:
    user = current_user()
    with config.lock:
        config.sessions.pop(session.get("sid", ""), None)
    session.clear()
    if user is not None:
        config.audit.append("logout", user=user.name, role=user.role, ip=_ip())
    response = redirect("/login")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response  # type: ignore[return-value]


def _ip() -> str:
    return request.remote_addr or ""


# ---- the hook -----------------------------------------------------------------------------------
def _before(config: AuthConfig) -> Any:
    if request.method not in ("GET", "HEAD", "OPTIONS") and not same_site():
        return _refuse(403, "cross-site request refused (Origin/Referer is not this site)")
    if request.path in PUBLIC_PATHS:
        return None
    user = _live_user(config)
    if user is None:
        for key in ("sid", "user", "csrf"):  # a stale session; keep a sign-in form's token
            session.pop(key, None)
        if request.method == "GET" and request.path in PATH_PAGES:
            return redirect(f"/login?next={request.path}")
        return _refuse(401, "sign in first: open /login")
    g.mp_user = user
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(CSRF_HEADER, "") or (request.form.get("csrf_token", "") if
                                                          request.path == "/logout" else "")
        if not hmac.compare_digest(sent.encode(), str(session.get("csrf", "")).encode()):
            return _refuse(403, "missing or wrong CSRF token: reload the page")
    page = PATH_PAGES.get(request.path) if request.method == "GET" else None
    if page is not None and not roles.may_see(user.role, page):
        from dashboard import login_page
        return Response(login_page.refused_page(user, page), status=403, mimetype="text/html")
    if request.path == DASH_CALLBACK and request.method == "POST":
        return _check_callback(config, user)
    return None


def same_site() -> bool:
    """False when the browser says the request comes from another site."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return source is None  # "Origin: null" (sandboxed frames, file:) is not this site
    return urlsplit(source).netloc == request.host


def _refuse(status: int, message: str) -> Any:
    return jsonify({"error": message}), status


def _check_callback(config: AuthConfig, user: User) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return _refuse(400, "not a Dash callback request")
    try:
        pages, needs = callback_requirements(body)
    except AccessDenied as exc:
        config.audit.append("refused", user=user.name, role=user.role, ip=_ip(), outcome="refused",
                            callback=body["output"][:300], reason=str(exc))
        return _refuse(403, str(exc))
    missing = [p for p in pages if not roles.may_see(user.role, p)] + [c for c in needs if not roles.may(user.role, c)]
    if missing:
        config.audit.append("refused", user=user.name, role=user.role, ip=_ip(), outcome="refused",
                            callback=body["output"][:300], missing=missing)
        return _refuse(403, f"your role ({user.role}) does not include {', '.join(missing)}")
    if roles.EXPORT in needs:
        config.audit.append("export", user=user.name, role=user.role, ip=_ip(), **export_details(body))
    return None


def _outputs(key: str) -> list[tuple[Any, str]]:
    from dash._utils import split_callback_id

    parts = split_callback_id(key)
    out = []
    for part in parts if isinstance(parts, list) else [parts]:
        cid = part["id"]
        if isinstance(cid, str) and cid.startswith("{"):
            try:
                cid = json.loads(cid)
            except ValueError:
                raise AccessDenied(f"unknown callback output {cid!r}") from None
        out.append((cid, str(part["property"]).split("@")[0]))
    return out


def _concrete_panel(body: dict[str, Any]) -> str:
    outputs = body.get("outputs")
    first = outputs[0] if isinstance(outputs, list) and outputs else outputs
    cid = first.get("id") if isinstance(first, dict) else None
    panel = cid.get("panel") if isinstance(cid, dict) else None
    if not isinstance(panel, str):
        raise AccessDenied("a panel download must name its panel")
    return panel


def _page_of(component: str) -> str:
    page = PREFIX_PAGES.get(component.split("-", 1)[0])
    if page is None:
        raise AccessDenied(f"callback output {component!r} belongs to no known page; refused")
    return page


def callback_requirements(body: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The pages and capabilities the callback Dash would run for ``body`` needs (AccessDenied: unknown)."""
    pages: set[str] = set()
    needs: set[str] = set()
    for cid, prop in _outputs(body["output"]):
        if cid == ROUTER_OUTPUT:
            pages.add(_router_page(body))
            continue
        if cid == "_pages_store":
            continue
        if isinstance(cid, dict):
            kind = str(cid.get("type", ""))
            panel = cid.get("panel")
            name = _concrete_panel(body) if isinstance(panel, list) else str(panel or kind)
            pages.add(_page_of(name))
            if kind in EXPORT_TYPES:
                needs.add(roles.EXPORT)
            continue
        pages.add(_page_of(cid))
        if cid in EXPORT_TYPES or (cid in IMAGE_OUTPUTS and prop == "generateImage"):
            needs.add(roles.EXPORT)
        if cid in WORKBENCH_NEEDS:
            needs.add(WORKBENCH_NEEDS[cid])
        if (cid, prop) == RESTORE_OUTPUT and "wb-restore.n_clicks" in body.get("changedPropIds", []):
            needs.add(roles.SAVE_QUERIES)
    if ADHOC_TRIGGER in (body.get("changedPropIds") or []):
        needs.add(roles.ADHOC)
    return pages, needs


def _router_page(body: dict[str, Any]) -> str:
    """The page the Dash pages router is asked to render (unknown paths render "not found": allowed)."""
    for item in body.get("inputs") or []:
        if isinstance(item, dict) and item.get("id") == "_pages_location" and item.get("property") == "pathname":
            return PATH_PAGES.get(str(item.get("value") or "/").rstrip("/") or "/", "overview")
    raise AccessDenied("the page router was called without a path")


def export_details(body: dict[str, Any]) -> dict[str, Any]:
    """What an export callback downloads: the output, the file name and row count it was sent."""
    details: dict[str, Any] = {"callback": body["output"][:200]}
    outputs = body.get("outputs")
    if isinstance(outputs, dict):
        details["output_id"] = outputs.get("id")
    for item in body.get("state") or []:
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, dict) and "rows" in value:
            details.update(filename=value.get("filename"), rows=len(value.get("rows") or []),
                           columns=value.get("columns"))
    return details


def _after(config: AuthConfig, response: Response) -> Response:
    token = session.get("csrf") if session.get("sid") else None
    if token and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="Strict", secure=config.secure_cookies,
                            path="/", max_age=int(config.max_age_s))
    headers = response.headers
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/_dash-component-suites/"):
        headers["Cache-Control"] = "no-store"
    return response


# ---- the services' layer -----------------------------------------------------------------------
def check(capability: str, event: str | None = None, **details: Any) -> None:
    """Raise AccessDenied unless the signed-in user's role grants ``capability``; with ``event``, write an
    audit entry (refusals are written too). No-op in an app without login (tests; MICROPATH_AUTH=off)."""
    if not has_request_context():
        return
    from flask import current_app

    config = installed(current_app)
    if config is None:
        return
    user = current_user()
    if user is None:
        abort(401)
    if not roles.may(user.role, capability):
        config.audit.append(event or capability, user=user.name, role=user.role, ip=_ip(), outcome="refused",
                            capability=capability, **details)
        raise AccessDenied(f"your role ({user.role}) does not include {capability}")
    if event:
        config.audit.append(event, user=user.name, role=user.role, ip=_ip(), **details)


def audit_log() -> AuditLog | None:
    """The running app's audit log (None without login)."""
    if not has_request_context():
        return None
    from flask import current_app

    config = installed(current_app)
    return config.audit if config else None
