"""Page "/queries": run any saved query through a form generated from its typed parameters.

Each parameter becomes a labelled control chosen by its declared type (string: text, integer/float:
number, boolean: checkbox, string_list: comma-separated text, choices: dropdown), pre-filled with the
declared default. The result is a sortable table with an explicit status: rows, truncated (row cap),
elapsed time, or the error (bad parameter, timeout, refused, database busy or unavailable).
The chosen query is kept in the URL (``?query=NAME``).
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids, services
from dashboard.pages import data_table, error_text, labelled, query_params, status_box, status_children
from queries.registry import Parameter, SavedQuery

BOOLEAN_ON = "true"


class FormError(ValueError):
    """A form field cannot be turned into a parameter value."""


# ---- pure helpers ------------------------------------------------------------------------------
def control_for(param: Parameter) -> Any:
    """The Dash control for one typed parameter, holding its default."""
    pid = ids.param_id(param.name)
    if param.choices:
        return dcc.Dropdown(id=pid, options=[{"label": str(c), "value": c} for c in param.choices],
                            value=param.default, clearable=param.type == "string_list",
                            multi=param.type == "string_list")
    if param.type == "boolean":
        return dcc.Checklist(id=pid, options=[{"label": f" {param.name}", "value": BOOLEAN_ON}],
                             value=[BOOLEAN_ON] if param.default else [])
    if param.type in ("integer", "float"):
        return dcc.Input(id=pid, type="number", value=param.default, step=1 if param.type == "integer" else "any",
                         debounce=True)
    if param.type == "string_list":
        return dcc.Input(id=pid, type="text", value=", ".join(str(v) for v in param.default),
                         placeholder="comma-separated values", debounce=True)
    return dcc.Input(id=pid, type="text", value=param.default, placeholder="(empty: any)", debounce=True)


def form_for(query: SavedQuery) -> list[Any]:
    if not query.parameters:
        return [html.P("This query takes no parameters.", className="mp-hint")]
    return [labelled(f"{p.name} ({p.type})", ids.param_id(p.name), control_for(p), width="18rem",
                  hint=p.description) for p in query.parameters]


def form_values(query: SavedQuery, names: list[str], values: list[Any]) -> dict[str, Any]:
    """Form values as parameter values (the registry then coerces and checks them)."""
    declared = {p.name: p for p in query.parameters}
    out: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        param = declared.get(name)
        if param is None:
            continue  # a control left over from another query
        if param.type == "boolean" and not param.choices:
            out[name] = BOOLEAN_ON in (value or [])
        elif param.type in ("integer", "float") and not param.choices:
            if value is None or value == "":
                raise FormError(f"parameter {name!r} expects {'an integer' if param.type == 'integer' else 'a number'}:"
                                " the field is empty or not a number")
            if param.type == "integer" and isinstance(value, float) and not value.is_integer():
                raise FormError(f"parameter {name!r} expects an integer, got {value!r}")
            out[name] = value
        else:
            out[name] = "" if value is None else value
    return out


def table_cell(value: Any) -> Any:
    """A DataTable cell: numbers and text as they are; booleans, nodes and lists as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def table_columns(result: services.TableResult) -> list[dict[str, Any]]:
    numeric = {c for c in result.columns
               if result.rows and all(isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool)
                                      for r in result.rows if r.get(c) is not None)}
    return [{"name": c, "id": c, **({"type": "numeric"} if c in numeric else {})} for c in result.columns]


def result_status(result: services.TableResult) -> tuple[str, list[str]]:
    rows = len(result.rows)
    messages = [f"{rows} row{'s' if rows != 1 else ''} from {result.query!r} in {result.elapsed_s:.2f} s."]
    if result.truncated:
        messages.append(f"Truncated: only the first {result.max_rows} rows are shown (the query's row cap); "
                        "narrow the parameters to see the rest.")
        return "truncated", messages
    if not rows:
        messages = [f"No data: {result.query!r} returned no rows for these parameters "
                    f"({result.elapsed_s:.2f} s)."]
        return "empty", messages
    return "done", messages


# ---- layout ------------------------------------------------------------------------------------
def layout(query: str | None = None, **_other: Any) -> html.Div:
    try:
        queries, problem = services.saved_queries(), None
    except services.ServiceError as exc:
        queries, problem = [], status_children("error", [error_text(exc)])
    names = [q.name for q in queries]
    chosen = query if query in names else (names[0] if names else None)
    status = status_box(ids.WB_STATUS)
    if problem is not None:
        status.children = problem
    return html.Div([
        dcc.Location(id=ids.WB_URL, refresh=False),
        html.H1("Saved queries"),
        html.P("Pick a saved query, set its parameters and run it. Queries are read-only, time-limited "
               "and row-capped."),
        labelled("Saved query", ids.WB_QUERY, dcc.Dropdown(
            id=ids.WB_QUERY, options=[{"label": f"{q.title} ({q.name})", "value": q.name} for q in queries],
            value=chosen, clearable=False, searchable=True), width="34rem"),
        html.P(id=ids.WB_DESCRIPTION, className="mp-description"),
        html.Fieldset([html.Legend("Parameters", className="mp-label"), html.Div(id=ids.WB_FORM, className="mp-form")],
                      className="mp-fieldset"),
        html.Button("Run query", id=ids.WB_RUN, n_clicks=0, type="button", className="mp-button"),
        status,
        html.H2("Result", id=ids.WB_RESULT_HEADING),
        dcc.Loading(data_table(ids.WB_TABLE, [], ids.WB_RESULT_HEADING, page_size=25), type="default"),
    ])


# ---- callbacks ---------------------------------------------------------------------------------
def show_query(name: str | None) -> tuple[Any, Any]:
    """The description and the generated parameter form of the chosen query."""
    if not name:
        raise PreventUpdate
    try:
        query = services.saved_query(name)
    except services.ServiceError as exc:
        return error_text(exc), []
    return query.description, form_for(query)


def execute(name: str, names: list[str], values: list[Any]) -> tuple[Any, Any, Any]:
    """Run saved query ``name`` with the form's values: table data, columns and status."""
    try:
        query = services.saved_query(name)
        params = form_values(query, names, values)
        result = services.run_saved_query(name, params)
    except FormError as exc:
        return [], [], status_children("error", [f"Error (bad parameter): {exc}"])
    except services.ServiceError as exc:
        return [], [], status_children("error", [error_text(exc)])
    kind, messages = result_status(result)
    data = [{k: table_cell(v) for k, v in row.items()} for row in result.rows]
    return data, table_columns(result), status_children(kind, messages)


def run_query(n_clicks: int | None, name: str | None, values: list[Any],
              value_ids: list[dict[str, str]]) -> tuple[Any, Any, Any]:
    """Run button: run the chosen query; choosing another query clears the result."""
    if not name:
        raise PreventUpdate  # nothing to run (the library could not be read: the status says why)
    if ctx.triggered_id == ids.WB_QUERY or not n_clicks:
        return [], [], status_children("idle", ["No query run yet: set the parameters and press Run query."])
    return execute(name, [i["name"] for i in value_ids], values)


def update_url(name: str | None, search: str | None) -> Any:
    current = query_params(search).get("query")
    return no_update if not name or name == current else f"?query={name}"


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/queries", name="Saved queries", title="Saved queries · Micropathways",
                       layout=layout, order=1)
    app.callback(
        Output(ids.WB_DESCRIPTION, "children"), Output(ids.WB_FORM, "children"),
        Input(ids.WB_QUERY, "value"),
    )(show_query)
    app.callback(
        Output(ids.WB_TABLE, "data"), Output(ids.WB_TABLE, "columns"), Output(ids.WB_STATUS, "children"),
        Input(ids.WB_RUN, "n_clicks"), Input(ids.WB_QUERY, "value"),
        State({"type": ids.WB_PARAM, "name": ALL}, "value"), State({"type": ids.WB_PARAM, "name": ALL}, "id"),
    )(run_query)
    app.callback(
        Output(ids.WB_URL, "search"), Input(ids.WB_QUERY, "value"), State(ids.WB_URL, "search"),
    )(update_url)
