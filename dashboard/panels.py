"""Panels: a titled section with an explicit state, its content, and exports (CSV always; PNG for charts
and networks). Every page builds its panels with these helpers, so every panel behaves the same.

The whole API (part of a page needs nothing else)::

    P = ids.PanelIds("ov-year")                                   # ids of one panel
    panel(P, "Homicides by year", chart(P, "ov-year-chart"), description="…")   # layout
    # in a callback: Output(P.status, "children"), Output(P.data, "data"), Output(P.table, "data") …
    state("ok", ["12 rows"])           # or state_for_error(exc), state("empty", [...]), state("truncated", …)
    export_data(rows, columns, "homicides-by-year")               # what the CSV button downloads
    register(app)                                                  # once per app (dashboard.app does it)

States (``data-status`` on the status element, for tests and CSS): ``running`` (the initial state, and
"Updating…" while Dash runs the callback), ``ok``, ``empty`` (no data), ``truncated``, ``timeout``,
``error`` (with the reason and what to do). Synthetic data is labelled with ``banner``.

CSV: the one callback of :func:`register` turns a panel's ``data`` store into a download, every cell
through ``queries.formatting.csv_safe`` (a cell starting ``=``, ``+``, ``-``, ``@`` cannot run as a
spreadsheet formula). PNG: charts use plotly's modebar camera (:data:`GRAPH_CONFIG`); a Cytoscape network
gets a button bound by :func:`register_network_image` (Cytoscape's ``generateImage``).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, cast

import dash
from dash import MATCH, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import ids
from dashboard.pages import attrs, data_table, error_text
from dashboard.services import ServiceError
from graph_model.csv_safety import csv_safe

STATES = ("running", "ok", "empty", "truncated", "timeout", "error", "idle", "done")  # the kinds a state has
# No "share chart" button: nothing leaves the machine (plotly's cloud upload would send the data away).
GRAPH_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True, "showSendToCloud": False,
                                "showEditInChartStudio": False,
                                "modeBarButtonsToRemove": ["lasso2d", "select2d", "sendDataToCloud"],
                                "toImageButtonOptions": {"format": "png", "scale": 2}}
MAX_STORED_ROWS = 20_000  # rows a panel sends to the browser for its CSV; beyond, it says truncated


# ---- states ---------------------------------------------------------------------------------------
def state(kind: str, messages: list[str], *, banner: str | None = None) -> html.Div:
    """A panel's state content; ``banner`` is shown first, in bold (used to label synthetic data)."""
    if kind not in STATES:
        raise ValueError(f"unknown panel state {kind!r}; use one of {STATES}")
    lines = [html.P(html.Strong(banner), className="mp-banner")] if banner else []
    return html.Div(lines + [html.P(m) for m in messages], className=f"mp-status mp-status-{kind}",
                    **attrs(data_status=kind))


def state_for_error(exc: ServiceError) -> html.Div:
    """``timeout`` for a query over its time limit, else ``error``; the message says what to do."""
    return state("timeout" if exc.kind == "timeout" else "error", [error_text(exc)])


def status_box(component_id: str, message: str = "Running…", initial: Any = None) -> html.Div:
    """A live region (screen readers announce changes) starting in the ``running`` state (or ``initial``,
    a :func:`state`, when the page computed its first content itself)."""
    content = initial if initial is not None else state("running", [message])
    return html.Div(content, id=component_id, className="mp-status-box", role="status",
                    **attrs(aria_live="polite"))


# ---- exports --------------------------------------------------------------------------------------
def export_data(rows: list[dict[str, Any]], columns: list[str], filename: str) -> dict[str, Any]:
    """What a panel's ``data`` store holds: the rows its CSV button downloads (capped at MAX_STORED_ROWS)."""
    return {"filename": filename, "columns": list(columns), "rows": rows[:MAX_STORED_ROWS],
            "truncated": len(rows) > MAX_STORED_ROWS}


def to_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """CSV text with a header; lists and maps as JSON; every cell formula-safe (csv_safe)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_safe(str(c)) for c in columns])
    for row in rows:
        writer.writerow([csv_safe(_cell(row.get(c))) for c in columns])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def download_csv(n_clicks: int | None, data: dict[str, Any] | None) -> dict[str, Any]:
    """The CSV callback: the panel's stored rows as a download (nothing before the first click)."""
    if not n_clicks or not data or not data.get("columns"):
        raise PreventUpdate
    return dcc.send_string(to_csv(data["columns"], data["rows"]), f"{data.get('filename') or 'panel'}.csv",
                           type="text/csv")


def register(app: dash.Dash) -> None:
    """The one CSV-export callback for every panel of every page (pattern-matching on the panel name)."""
    app.callback(
        Output({"type": ids.PANEL_DOWNLOAD, "panel": MATCH}, "data"),
        Input({"type": ids.PANEL_CSV, "panel": MATCH}, "n_clicks"),
        State({"type": ids.PANEL_DATA, "panel": MATCH}, "data"),
        prevent_initial_call=True,
    )(download_csv)


def network_image(n_clicks: int | None, filename: str) -> dict[str, Any]:
    if not n_clicks:
        raise PreventUpdate
    return {"type": "png", "action": "download", "filename": filename, "options": {"bg": "#ffffff", "full": True}}


def register_network_image(app: dash.Dash, panel: ids.PanelIds, cytoscape_id: str, filename: str) -> None:
    """Bind a panel's "Download PNG" button to Cytoscape's ``generateImage`` of ``cytoscape_id``."""
    app.callback(Output(cytoscape_id, "generateImage"), Input(panel.image, "n_clicks"),
                 prevent_initial_call=True)(lambda n: network_image(n, filename))


# ---- layout ---------------------------------------------------------------------------------------
def panel(pids: ids.PanelIds, title: str, *content: Any, description: str = "", image: bool = False,
          level: int = 2, initial_state: Any = None, initial_data: Any = None) -> html.Section:
    """A section named by its heading: heading, description, state, content, export buttons.

    ``image=True`` adds a "Download PNG" button (``pids.image``) for a network; charts have plotly's own.
    ``initial_state`` / ``initial_data``: the panel's first state and CSV data when the page's layout
    computes its first content itself (saves a round trip; the callback then uses prevent_initial_call)."""
    heading = (html.H2 if level == 2 else html.H3)(title, id=pids.heading)
    buttons = [html.Button("Download CSV", id=pids.csv, className="mp-button mp-button-small", n_clicks=0,
                           title=f"The data of '{title}' as CSV")]
    if image:
        buttons.append(html.Button("Download PNG", id=pids.image, className="mp-button mp-button-small",
                                   n_clicks=0, title=f"'{title}' as an image"))
    parts: list[Any] = [heading]
    if description:
        parts.append(html.P(description, className="mp-description"))
    parts += [status_box(pids.status, initial=initial_state), *content,
              html.Div(buttons, className="mp-exports"), dcc.Download(id=pids.download),
              dcc.Store(id=pids.data, data=initial_data)]
    return html.Section(parts, id=pids.section, className="mp-panel", **attrs(aria_labelledby=pids.heading))


def chart(pids: ids.PanelIds, graph_id: str, columns: list[dict[str, Any]], *, height: int = 320,
          figure: Any = None, rows: list[dict[str, Any]] | None = None) -> list[Any]:
    """A plotly chart (``graph_id``) and its text alternative: the numbers behind it, in a table
    (``pids.table``) inside a details element. ``figure`` / ``rows``: first content computed by the layout."""
    return [
        dcc.Graph(id=graph_id, figure=figure if figure is not None else empty_figure(),
                  config=graph_config(pids.name), style={"height": f"{height}px"}),
        html.Details([html.Summary("The numbers behind this chart"),
                      data_table(pids.table, columns, pids.heading, page_size=12, data=rows)],
                     className="mp-details"),
    ]


def graph_config(filename: str) -> Any:
    """A dcc.Graph ``config``: plotly's modebar camera downloads the chart as ``<filename>.png``."""
    return cast(Any, {**GRAPH_CONFIG, "toImageButtonOptions": {**GRAPH_CONFIG["toImageButtonOptions"],
                                                                "filename": filename}})


def empty_figure(message: str = "") -> dict[str, Any]:
    """A blank figure (no axes) with an optional centred message."""
    layout: dict[str, Any] = {"xaxis": {"visible": False}, "yaxis": {"visible": False},
                              "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "plot_bgcolor": "#ffffff"}
    if message:
        layout["annotations"] = [{"text": message, "showarrow": False, "font": {"size": 14}}]
    return {"data": [], "layout": layout}
