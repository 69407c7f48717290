"""Page "/audit": the audit log, for administrators (access/audit.py; ``micropath audit`` on the command line).

The newest entries first (at most :data:`SHOWN`), filtered by event; the hash chain is verified every time
the page reads the log, and the status says whether it is intact or where it breaks. The CSV download is
the entries shown. Reading the log is itself written to the log.
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import Input, Output, dcc, html

from access import roles
from access.audit import AuditError
from dashboard import auth, ids, panels
from dashboard.pages import data_table, labelled

P = ids.AUDIT_LOG
SHOWN = 2000
COLUMNS = ["ts", "event", "outcome", "user", "role", "ip", "details"]
EVENTS = ["login", "logout", "saved-query", "adhoc-cypher", "partner-query", "record", "cases-behind", "export",
          "save-query", "restore-query", "refused", "load", "load-refused", "audit-view"]


def layout(**_query: Any) -> html.Div:
    return html.Div([
        html.H1("Audit log"),
        html.P("Who signed in (and who failed), who ran which query with which parameters, who exported what, "
               "and every load. The log is append-only and hash-chained: each line carries the SHA-256 of the "
               "line before, so a changed or removed line is found."),
        html.Div([
            labelled("Event", ids.AUDIT_EVENT, dcc.Dropdown(
                id=ids.AUDIT_EVENT, options=[{"label": "every event", "value": ""}] +
                [{"label": e, "value": e} for e in EVENTS], value="", clearable=False)),
            html.Button("Refresh", id=ids.AUDIT_REFRESH, className="mp-button", n_clicks=0),
        ], className="mp-form"),
        panels.panel(P, "Entries, newest first", data_table(P.table, [{"name": c, "id": c} for c in COLUMNS],
                                                             P.heading, page_size=50)),
    ])


def rows_of(entries: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    chosen = [e for e in reversed(entries) if not event or e.get("event") == event][:SHOWN]
    return [{c: (json.dumps(e.get(c), ensure_ascii=False, sort_keys=True) if c == "details" else e.get(c, ""))
             for c in COLUMNS} for e in chosen]


def show(_clicks: int | None, event: str | None) -> tuple[Any, ...]:
    log = auth.audit_log()
    if log is None:
        return [], panels.state("empty", ["This dashboard runs without login, so it keeps no audit log."]), None
    try:
        auth.check(roles.AUDIT, "audit-view", showing=event or "every event")
        count, last, problems = log.verify()
        rows = rows_of(log.entries(), event or "")
    except auth.AccessDenied as exc:
        return [], panels.state("error", [str(exc)]), None
    except AuditError as exc:
        return [], panels.state("error", [str(exc)]), None
    chain = (f"Chain intact: {count:,} entries; last line's SHA-256 {last}." if not problems else
             f"CHAIN BROKEN at {len(problems)} place(s): " + "; ".join(str(p) for p in problems[:5]))
    kind = "ok" if not problems else "error"
    state = panels.state(kind, [chain, f"Showing {len(rows):,} entries (newest first, at most {SHOWN:,})."])
    return rows, state, panels.export_data(rows, COLUMNS, "audit-log")


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/audit", name="Audit log", title="Audit log · Micropathways",
                       layout=layout, order=9)
    app.callback(
        Output(P.table, "data"), Output(P.status, "children"), Output(P.data, "data"),
        Input(ids.AUDIT_REFRESH, "n_clicks"), Input(ids.AUDIT_EVENT, "value"),
    )(show)
