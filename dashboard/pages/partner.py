"""Page "/partner": partner tables — the only page of the partner role (every role may open it).

A partner-safe saved query (``[partner] safe = true``) for one whole dataset, released through
``disclosure.release.run_partner_query`` (``services.run_partner_table``): counts under the threshold and
the cells that would give them away show as ``[c]``; the CSV download is that same suppressed table. No
free filters, no single homicides, no ad-hoc Cypher (docs/disclosure.md).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import ids, panels, services
from dashboard.pages import data_table, labelled
from disclosure.policy import allowed_queries

P = ids.PT_TABLE


def _queries() -> list[dict[str, str]]:
    return [{"label": q.title, "value": q.name} for q in allowed_queries("partner")]


def _datasets() -> list[dict[str, str]]:
    """Dataset names only: the record counts the other pages show are not suppressed."""
    try:
        names = sorted(d.name for d in services.current().datasets())
    except services.ServiceError:
        return []
    return [{"label": n, "value": n} for n in names]


def layout(**_query: Any) -> html.Div:
    queries, datasets = _queries(), _datasets()
    return html.Div([
        html.H1("Partner tables"),
        html.P("Aggregate tables that partners may see. Counts under the disclosure threshold — and counts "
               "that would let someone work them out from the totals or other partner tables — are shown as "
               "[c]. Each table covers one whole dataset."),
        html.Div([
            labelled("Dataset", ids.PT_DATASET, dcc.Dropdown(
                id=ids.PT_DATASET, options=datasets, value=datasets[0]["value"] if datasets else None,
                clearable=False)),
            labelled("Table", ids.PT_QUERY, dcc.Dropdown(
                id=ids.PT_QUERY, options=queries, value=queries[0]["value"] if queries else None, clearable=False),
                width="28rem"),
            html.Button("Show table", id=ids.PT_RUN, className="mp-button", n_clicks=0),
        ], className="mp-form"),
        panels.panel(P, "Table", data_table(P.table, [], P.heading),
                     html.P("", id=ids.PT_NOTE, className="mp-hint"),
                     initial_state=panels.state("idle", ["Choose a dataset and a table, then press Show table."])),
    ])


def show(n_clicks: int | None, dataset: str | None, name: str | None) -> tuple[Any, ...]:
    if not n_clicks:
        raise PreventUpdate
    if not dataset or not name:
        return [], [], panels.state("error", ["Choose a dataset and a table first."]), None, ""
    try:
        release = services.run_partner_table(name, dataset)
    except services.ServiceError as exc:
        return [], [], panels.state_for_error(exc), None, ""
    result = release.result()
    columns = [{"name": c, "id": c} for c in result.columns]
    rows = [{c: r[c] for c in result.columns} for r in result.rows]
    state = panels.state("ok", [f"{name} for {dataset}: {len(rows)} rows, threshold {release.threshold}."])
    data = panels.export_data(rows, list(result.columns), f"{name}-{dataset}")
    return rows, columns, state, data, release.note()


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/partner", name="Partner tables", title="Partner tables · Micropathways",
                       layout=layout, order=8)
    app.callback(
        Output(P.table, "data"), Output(P.table, "columns"), Output(P.status, "children"), Output(P.data, "data"),
        Output(ids.PT_NOTE, "children"),
        Input(ids.PT_RUN, "n_clicks"), State(ids.PT_DATASET, "value"), State(ids.PT_QUERY, "value"),
        prevent_initial_call=True,
    )(show)
