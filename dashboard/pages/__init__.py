"""The dashboard's pages (one module each, with ``layout``, its callbacks and ``register(app)``) and
the small building blocks they share: labelled form fields, status panels and data tables."""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import parse_qs

from dash import html
from dash.dash_table.DataTable import DataTable

from dashboard.services import ServiceError

FONT_STACK = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif'
ERROR_LABELS = {
    "bad-parameter": "bad parameter", "timeout": "timed out", "refused": "refused",
    "busy": "database busy", "unavailable": "database unavailable", "failed": "query failed",
}


def attrs(**names: Any) -> dict[str, Any]:
    """Hyphenated HTML attributes as keyword arguments: ``attrs(aria_label="x")`` -> ``{"aria-label": "x"}``."""
    return {name.replace("_", "-"): value for name, value in names.items()}


def query_params(search: str | None) -> dict[str, str]:
    """A URL query string as a dict (the last value of a repeated key wins)."""
    parsed = parse_qs((search or "").lstrip("?"))
    return {key: values[-1] for key, values in parsed.items()}


def dom_id(component_id: str | dict[str, Any]) -> str:
    """The DOM id Dash gives a component id (pattern-matching ids are sorted JSON)."""
    if isinstance(component_id, str):
        return component_id
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def labelled(label: str, control_id: str | dict[str, Any], control: Any, *, width: str = "16rem",
          hint: str = "") -> html.Div:
    """A form control with a visible label tied to it (and an optional hint under it).

    The field is also a group named by the label (and described by the hint), so controls that do
    not take their name from ``<label for>`` (Dash 4's dropdown button) are still announced with it."""
    target = dom_id(control_id)
    children: list[Any] = [html.Label(label, htmlFor=target, id=f"{target}--label", className="mp-label"),
                           control]
    described: dict[str, Any] = {}
    if hint:
        children.append(html.Small(hint, id=f"{target}--hint", className="mp-hint"))
        described = attrs(aria_describedby=f"{target}--hint")
    return html.Div(children, className="mp-field", style={"width": width}, role="group",
                    **attrs(aria_labelledby=f"{target}--label"), **described)


def status_box(component_id: str) -> html.Div:
    """A live region for a panel's status (screen readers announce changes)."""
    return html.Div(status_children("idle", ["Loading…"]), id=component_id, className="mp-status-box",
                    role="status", **attrs(aria_live="polite"))


def status_children(kind: str, messages: list[str], *, banner: str | None = None) -> html.Div:
    """The status panel content; ``data-status`` (ok/empty/truncated/error/idle/done) is for tests and CSS.

    ``banner`` is shown first and in bold (used to label synthetic data)."""
    lines = [html.P(html.Strong(banner), className="mp-banner")] if banner else []
    return html.Div(lines + [html.P(m) for m in messages], className=f"mp-status mp-status-{kind}",
                    **attrs(data_status=kind))


def error_text(exc: ServiceError) -> str:
    return f"Error ({ERROR_LABELS.get(exc.kind, exc.kind)}): {exc}"


def data_table(component_id: str, columns: list[dict[str, Any]], labelled_by: str, *,
               page_size: int = 25, data: list[dict[str, Any]] | None = None) -> html.Div:
    """A sortable, paged table in a region named by the heading ``labelled_by``."""
    table = DataTable(
        id=component_id, columns=cast(Any, columns), data=cast(Any, data or []), page_size=page_size,
        sort_action="native",
        markdown_options={"link_target": "_self"},  # a record link opens its card in the same tab
        style_table={"overflowX": "auto"},
        style_cell={"textAlign": "left", "padding": "6px 10px", "fontFamily": FONT_STACK, "fontSize": "14px",
                    "color": "#1a1a1a", "whiteSpace": "normal", "height": "auto", "maxWidth": "28rem"},
        style_cell_conditional=[{"if": {"column_type": "numeric"}, "textAlign": "right"}],
        style_header={"fontWeight": "600", "backgroundColor": "#eef1f5", "color": "#1a1a1a"},
        style_data_conditional=[{"if": {"row_index": "odd"}, "backgroundColor": "#f8f9fb"}],
    )
    return html.Div(table, role="region", className="mp-table", **attrs(aria_labelledby=labelled_by))
