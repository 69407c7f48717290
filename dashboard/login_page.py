"""The sign-in form (plain HTML served by Flask, so it works before any Dash code is allowed), the refusal
page and the user bar. Every value put into HTML is escaped."""

from __future__ import annotations

import hmac
import secrets
from html import escape
from typing import Any

from flask import Response, redirect, request, session

from access import roles
from access.users import User
from dashboard import auth

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1a1a1a;
       margin: 0; background: #f4f6f8; }
.mp-login { max-width: 26rem; margin: 4rem auto; background: #fff; border: 1px solid #d0d5dc; border-radius: 6px;
            padding: 1.5rem 2rem; }
.mp-login label { display: block; font-weight: 600; margin: 0.8rem 0 0.3rem; }
.mp-login input[type=text], .mp-login input[type=password] { width: 100%; box-sizing: border-box; padding: 0.45rem;
            font-size: 1rem; border: 1px solid #4a4f57; border-radius: 4px; }
.mp-login button { margin-top: 1.2rem; background: #1d4f91; color: #fff; border: 0; border-radius: 5px;
            padding: 0.55rem 1.2rem; font-size: 1rem; cursor: pointer; }
.mp-error { color: #b00020; font-weight: 600; }
:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
"""
GENERIC_FAILURE = "Wrong user name or password."


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · Micropathways'
            f'</title><meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style>'
            f'</head><body><main class="mp-login">{body}</main></body></html>')
    return Response(html, status=status, mimetype="text/html")


def form(message: str = "", status: int = 200, name: str = "") -> Response:
    token = session.get("login_csrf") or secrets.token_urlsafe(32)
    session["login_csrf"] = token
    next_path = safe_next(request.values.get("next", ""))
    error = f'<p class="mp-error" role="alert" id="login-error">{escape(message)}</p>' if message else ""
    return _page("Sign in", f"""<h1>Micropathways</h1><p>Sign in to the dashboard.</p>{error}
<form method="post" action="/login" id="login-form">
  <input type="hidden" name="csrf_token" value="{escape(token)}">
  <input type="hidden" name="next" value="{escape(next_path)}">
  <label for="login-name">User name</label>
  <input type="text" id="login-name" name="name" autocomplete="username" required value="{escape(name)}">
  <label for="login-password">Password</label>
  <input type="password" id="login-password" name="password" autocomplete="current-password" required>
  <button type="submit" id="login-submit">Sign in</button>
</form>""", status)


def safe_next(path: str) -> str:
    """A local path to go to after signing in ("" if it is not one: no open redirect)."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path and "\n" not in path:
        return path
    return ""


def login(config: auth.AuthConfig) -> Any:
    if request.method == "GET":
        return form()
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), str(session.get("login_csrf", "")).encode()):
        return form("The form expired; sign in again.", 403, name)
    ip = request.remote_addr or ""
    wait = max(config.per_user.wait_s(f"user:{name}"), config.per_ip.wait_s(f"ip:{ip}"))
    if wait > 0:
        config.audit.append("login", user=name, ip=ip, outcome="throttled")
        response = form(f"Too many failed sign-ins; try again in {int(wait) + 1} seconds.", 429, name)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = config.users.authenticate(name, password)
    if user is None:
        config.per_user.fail(f"user:{name}")
        config.per_ip.fail(f"ip:{ip}")
        config.audit.append("login", user=name, ip=ip, outcome="failed")
        return form(GENERIC_FAILURE, 401, name)
    config.per_user.clear(f"user:{name}")
    auth.start_session(config, user)
    config.audit.append("login", user=user.name, role=user.role, ip=ip)
    target = safe_next(request.form.get("next", ""))
    page = auth.PATH_PAGES.get(target)
    if not target or (page is not None and not roles.may_see(user.role, page)):
        target = roles.HOME[user.role]
    return redirect(target)


def refused_page(user: User, page: str) -> str:
    allowed = [p for p, name in auth.PATH_PAGES.items() if roles.may_see(user.role, name)]
    links = "".join(f'<li><a href="{escape(p)}">{escape(p)}</a></li>' for p in allowed)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Not available · Micropathways'
            f'</title><style>{STYLE}</style></head><body><main class="mp-login"><h1>Not available</h1>'
            f'<p id="refused">The page <strong>{escape(page)}</strong> is not part of the {escape(user.role)} '
            f'role. Your pages:</p><ul>{links}</ul></main></body></html>')


def user_bar(user: User, csrf: str, hidden: list[str]) -> str:
    """Who is signed in, and a sign-out button (a POST with the CSRF token). Links to pages the role does not
    include are hidden too — for tidiness only: the server refuses them anyway."""
    hide = "".join(f'.mp-nav a[href="{escape(p)}"]{{display:none}}' for p in hidden)
    return (f'<style>.mp-user {{ display: flex; gap: 1rem; justify-content: flex-end; align-items: center; '
            f'padding: 0.3rem 1.5rem; background: #0b1a2e; color: #fff; font-size: 0.9rem; }} '
            f'.mp-user button {{ background: none; color: #fff; border: 1px solid #fff; border-radius: 4px; '
            f'cursor: pointer; }} {hide}</style>'
            f'<div class="mp-user" id="mp-user">Signed in as <strong id="mp-user-name">{escape(user.name)}</strong>'
            f' <span id="mp-user-role">({escape(user.role)})</span>'
            f'<form method="post" action="/logout" style="margin:0"><input type="hidden" name="csrf_token" '
            f'value="{escape(csrf)}"><button type="submit" id="mp-logout">Sign out</button></form></div>')
