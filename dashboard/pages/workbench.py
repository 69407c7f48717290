"""Page "/queries": the query workbench.

- **Saved queries** (the library and the analyst's own): a form generated from the query's typed parameters
  (string: text, integer/float: number, boolean: checkbox, string_list: comma-separated text, choices:
  dropdown), pre-filled with the declared defaults. The chosen query is kept in the URL (``?query=NAME``).
- **Ad-hoc Cypher**: read-only (a write is refused with the reason and nothing runs), time-limited
  (:data:`services.ADHOC_TIMEOUT_S`) and row-capped (:data:`services.ADHOC_MAX_ROWS`). Parameters are declared
  one per line (``name type default description``, see :func:`parse_param_lines`) and run with their defaults.
- **Saving**: an ad-hoc query is saved as a user query with a name, title, description, its parameters and
  how to show it (``queries.user_store``: validated by the registry, never overwriting a version). A user
  query lists its versions: any can be viewed, opened in the editor, or restored (written again as the
  newest version).
- **Result**: shown as its metadata says (``result = "table" | "graph" | "chart"``); the table is always
  there too, as the numbers behind a chart or graph. Every result has an explicit status (running, no data,
  truncated, timed out, refused, error with the reason), a CSV download, and an image download for charts
  (the chart's toolbar) and graphs (a button). A graph above :data:`MAX_GRAPH_NODES` nodes is cut to the first
  ones, and the status says so.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
from typing import Any

import dash
import dash_cytoscape as cyto
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import ids, legend, services
from dashboard.pages import attrs, data_table, error_text, labelled, query_params, status_box, status_children
from queries.registry import PARAM_TYPES, RESULT_SHAPES, Parameter, SavedQuery, SavedQueryError

BOOLEAN_ON = "true"
MAX_GRAPH_NODES = 300
GRAPH_COLUMNS = ("source", "source_label", "source_caption", "rel", "target", "target_label", "target_caption")
GRAPH_STYLESHEET = [
    {"selector": "node", "style": {"label": "data(label)", "background-color": "data(colour)", "color": "#1a1a1a",
                                   "font-size": "11px", "text-wrap": "wrap", "text-max-width": "120px",
                                   "border-width": 2, "border-color": "#1a1a1a", "width": 26, "height": 26}},
    {"selector": "edge", "style": {"label": "data(label)", "curve-style": "bezier", "target-arrow-shape": "triangle",
                                   "line-color": "#4a4f57", "target-arrow-color": "#4a4f57", "font-size": "10px",
                                   "width": 2}},
]
HIDDEN = {"display": "none"}
SHOWN: dict[str, str] = {}
PARAM_HINT = ("One parameter per line: name type default description, e.g. `year_from integer 2010 First "
              "year`; types: " + ", ".join(PARAM_TYPES) + "; '' is an empty default; quote text with spaces.")
NO_RESULT: dict[str, Any] = {}


class FormError(ValueError):
    """A form field cannot be turned into a parameter value."""


# ---- pure helpers: the generated form ----------------------------------------------------------
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


# ---- pure helpers: ad-hoc parameters -----------------------------------------------------------
def parse_param_lines(text: str | None) -> dict[str, dict[str, Any]]:
    """``name type default description…`` per line -> parameter specs (defaults typed, never null).

    Blank lines and lines starting with ``#`` are skipped; ``''`` is an empty default; a string_list
    default is comma-separated. Errors name the line and say what is expected."""
    specs: dict[str, dict[str, Any]] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            parts = shlex.split(line)
        except ValueError as exc:
            raise FormError(f"parameters line {number}: {exc} in {line!r}; close the quote") from None
        if len(parts) < 3:
            raise FormError(f"parameters line {number}: {line!r} needs at least a name, a type and a default "
                            "(e.g. `dataset string ''`)")
        name, kind, default = parts[0], parts[1], parts[2]
        if kind not in PARAM_TYPES:
            raise FormError(f"parameters line {number}: type {kind!r} is not one of {', '.join(PARAM_TYPES)}")
        if name in specs:
            raise FormError(f"parameters line {number}: {name!r} is declared twice")
        try:
            value = Parameter(name, kind, default).coerce(default, "ad-hoc")  # type: ignore[arg-type]
        except SavedQueryError as exc:
            raise FormError(f"parameters line {number}: {exc}") from None
        specs[name] = {"type": kind, "default": value, "description": " ".join(parts[3:])}
    return specs


def param_lines(query: SavedQuery) -> str:
    """The parameters of ``query`` in the ad-hoc box's one-per-line form (inverse of parse_param_lines)."""
    lines = []
    for p in query.parameters:
        default = ",".join(str(v) for v in p.default) if p.type == "string_list" else p.default
        if isinstance(default, bool):
            default = "true" if default else "false"
        words = [p.name, p.type, shlex.quote(str(default))]
        lines.append(" ".join(words + ([p.description] if p.description else [])))
    return "\n".join(lines)


def default_values(specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: spec["default"] for name, spec in specs.items()}


def chart_spec(shape: str | None, x: str | None, y: str | None, series: str | None) -> dict[str, Any]:
    """The ``[chart]`` metadata of an ad-hoc query shown as a chart (bar; x and y are column names)."""
    if shape != "chart":
        return {}
    if not (x or "").strip() or not (y or "").strip():
        raise FormError("a chart needs the x column and the y column (names of the query's result columns)")
    spec = {"type": "bar", "x": x.strip(), "y": y.strip()}  # type: ignore[union-attr]
    if (series or "").strip():
        spec["series"] = series.strip()  # type: ignore[union-attr]
    return spec


# ---- pure helpers: showing a result ------------------------------------------------------------
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


def csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """The result as CSV (lists and maps as JSON, booleans as true/false)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else table_cell(row.get(c)) for c in columns])
    return out.getvalue()


def chart_figure(columns: list[str], rows: list[dict[str, Any]], chart: dict[str, Any], title: str) -> go.Figure:
    """A bar or line chart of ``rows`` as ``chart`` says (x, y, optional series); errors name the column."""
    x, y, series = chart.get("x"), chart.get("y"), chart.get("series")
    missing = [c for c in (x, y, series) if c and c not in columns]
    if not x or not y or missing:
        raise FormError(f"the chart needs columns x={x!r}, y={y!r}{f', series={series!r}' if series else ''}; "
                        f"the result has {columns}")
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row.get(series) if series else y, []).append(row)
    trace = go.Scatter if chart.get("type") == "line" else go.Bar
    figure = go.Figure([trace(x=[r.get(x) for r in group], y=[r.get(y) for r in group], name=str(key))
                        for key, group in groups.items()])
    figure.update_layout(title=title, xaxis_title=x, yaxis_title=y, template="plotly_white", height=420,
                         margin={"l": 60, "r": 20, "t": 50, "b": 80}, showlegend=bool(series),
                         font={"color": "#1a1a1a"})
    return figure


def graph_elements(rows: list[dict[str, Any]], max_nodes: int = MAX_GRAPH_NODES
                   ) -> tuple[list[dict[str, Any]], int, int]:
    """Cytoscape elements from edge rows (docs/queries.md "Graph results"): (elements, shown, total nodes).

    Nodes are taken in row order up to ``max_nodes``; an edge is drawn when both its ends are."""
    missing = [c for c in ("source", "target") if rows and c not in rows[0]]
    if missing:
        raise FormError(f"a graph result needs the columns {list(GRAPH_COLUMNS)}; {missing} are missing")
    nodes: dict[str, dict[str, Any]] = {}
    every: set[str] = set()
    edges = []
    for number, row in enumerate(rows):
        ends = [(row.get("source"), row.get("source_label"), row.get("source_caption")),
                (row.get("target"), row.get("target_label"), row.get("target_caption"))]
        for uid, label, caption in ends:
            if uid is None:
                continue
            every.add(str(uid))
            if str(uid) not in nodes and len(nodes) < max_nodes:
                nodes[str(uid)] = {"data": {"id": str(uid), "label": str(caption or uid), "kind": str(label or ""),
                                            "colour": legend.class_colour(str(label or ""))}}
        source, target = row.get("source"), row.get("target")
        if source is not None and target is not None and str(source) in nodes and str(target) in nodes:
            edges.append({"data": {"id": f"e{number}", "source": str(source), "target": str(target),
                                   "label": str(row.get("rel") or "")}})
    return [*nodes.values(), *edges], len(nodes), len(every)


def present(result: services.TableResult, shape: str, chart: dict[str, Any], title: str) -> dict[str, Any]:
    """Everything the result area shows for ``result`` drawn as ``shape`` (a dict of component values)."""
    kind, messages = result_status(result)
    out: dict[str, Any] = {
        "data": [{k: table_cell(v) for k, v in row.items()} for row in result.rows],
        "columns": table_columns(result), "figure": go.Figure(), "chart_style": HIDDEN, "elements": [],
        "graph_style": HIDDEN,
        "store": {"filename": f"{result.query}.csv", "columns": result.columns, "rows": result.rows},
    }
    try:
        if shape == "chart" and result.rows:
            out["figure"], out["chart_style"] = chart_figure(result.columns, result.rows, chart, title), SHOWN
            messages.append("Drawn as a chart; the table below holds the same numbers.")
        elif shape == "graph" and result.rows:
            elements, shown, total = graph_elements(result.rows)
            out["elements"], out["graph_style"] = elements, SHOWN
            messages.append(f"Drawn as a graph: {shown} nodes and {len(elements) - shown} edges; "
                            "the table below lists every row.")
            if shown < total:
                kind = "truncated"
                messages.append(f"The graph is cut to its first {shown} of {total} nodes (more would be "
                                "unreadable); narrow the parameters to see the rest.")
    except FormError as exc:
        messages.append(f"Shown as a table only: {exc}.")
    out["status"] = status_children(kind, messages)
    return out


# ---- layout ------------------------------------------------------------------------------------
def query_options(queries: list[SavedQuery]) -> list[dict[str, str]]:
    """Dropdown options: library queries, and user queries marked [yours]; the name always last in ()."""
    return [{"label": f"{q.title}{'' if q.trusted else ' [yours]'} ({q.name})", "value": q.name} for q in queries]


def button(text: str, component_id: str, *, secondary: bool = False) -> html.Button:
    return html.Button(text, id=component_id, n_clicks=0, type="button",
                       className="mp-button" + (" mp-button-secondary" if secondary else ""))


def text_input(label: str, component_id: str, *, width: str = "18rem", hint: str = "", placeholder: str = "") -> Any:
    return labelled(label, component_id, dcc.Input(id=component_id, type="text", value="", debounce=False,
                                                   placeholder=placeholder), width=width, hint=hint)


def saved_section(queries: list[SavedQuery], chosen: str | None, status: html.Div) -> html.Section:
    return html.Section([
        html.H2("Saved queries"),
        labelled("Saved query", ids.WB_QUERY, dcc.Dropdown(
            id=ids.WB_QUERY, options=query_options(queries), value=chosen, clearable=False, searchable=True),
            width="34rem"),
        html.P(id=ids.WB_DESCRIPTION, className="mp-description"),
        html.Fieldset([html.Legend("Parameters", className="mp-label"), html.Div(id=ids.WB_FORM, className="mp-form")],
                      className="mp-fieldset"),
        button("Run query", ids.WB_RUN),
        html.Div([
            html.H3("Versions of this query", className="mp-h3"),
            labelled("Version", ids.WB_VERSIONS, dcc.Dropdown(id=ids.WB_VERSIONS, options=[], value=None,
                                                               clearable=False), width="30rem"),
            html.Pre(id=ids.WB_VERSION_TEXT, className="mp-code", tabIndex=0,
                     **attrs(aria_label="The chosen version's file")),
            html.Div([button("Open in editor", ids.WB_EDIT, secondary=True),
                      button("Restore this version", ids.WB_RESTORE, secondary=True)], className="mp-buttons"),
            html.Div(id=ids.WB_VERSION_STATUS, role="status", **attrs(aria_live="polite")),
        ], id=ids.WB_VERSIONS_BOX, style=HIDDEN, className="mp-fieldset"),
        status,
    ])


def adhoc_section() -> html.Section:
    shapes = [{"label": s, "value": s} for s in RESULT_SHAPES]
    return html.Section([
        html.H2("Ad-hoc Cypher", id=ids.WB_ADHOC_HEADING),
        html.P(f"Read-only: a statement that writes is refused. At most {services.ADHOC_MAX_ROWS:,} rows and "
               f"{services.ADHOC_TIMEOUT_S:g} s.", className="mp-hint"),
        labelled("Cypher", ids.WB_ADHOC_TEXT, dcc.Textarea(
            id=ids.WB_ADHOC_TEXT, value="", rows=7, spellCheck=False, className="mp-code-input",
            placeholder="MATCH (d:Dataset) RETURN d.name AS name ORDER BY name"), width="100%"),
        labelled("Parameters", ids.WB_ADHOC_PARAMS, dcc.Textarea(
            id=ids.WB_ADHOC_PARAMS, value="", rows=3, spellCheck=False, className="mp-code-input",
            placeholder="year_from integer 0 First year"), width="100%", hint=PARAM_HINT),
        html.Div([
            labelled("Show as", ids.WB_ADHOC_SHAPE, dcc.Dropdown(id=ids.WB_ADHOC_SHAPE, options=shapes,
                                                                 value="table", clearable=False), width="10rem"),
            text_input("Chart x column", ids.WB_ADHOC_X, width="11rem"),
            text_input("Chart y column", ids.WB_ADHOC_Y, width="11rem"),
            text_input("Chart series column", ids.WB_ADHOC_SERIES, width="11rem", hint="optional"),
        ], className="mp-form"),
        button("Run ad-hoc query", ids.WB_ADHOC_RUN),
        html.Fieldset([
            html.Legend("Save as a query of your own (a new version if the name exists)", className="mp-label"),
            html.Div([
                text_input("Name", ids.WB_SAVE_NAME, width="14rem", placeholder="my_query",
                           hint="lower_snake_case; not a library name"),
                text_input("Title", ids.WB_SAVE_TITLE, width="22rem"),
                labelled("Description", ids.WB_SAVE_DESCRIPTION, dcc.Textarea(
                    id=ids.WB_SAVE_DESCRIPTION, value="", rows=2), width="30rem"),
            ], className="mp-form"),
            button("Save query", ids.WB_SAVE),
            html.Div(id=ids.WB_SAVE_STATUS, className="mp-status-box", role="status", **attrs(aria_live="polite")),
        ], className="mp-fieldset"),
    ])


def result_section() -> html.Section:
    return html.Section([
        html.H2("Result", id=ids.WB_RESULT_HEADING),
        html.Div([button("Download CSV", ids.WB_CSV, secondary=True),
                  button("Download graph image (PNG)", ids.WB_GRAPH_IMAGE, secondary=True)], className="mp-buttons"),
        dcc.Download(id=ids.WB_DOWNLOAD),
        dcc.Store(id=ids.WB_RESULT_DATA, data=NO_RESULT),
        html.Div(dcc.Graph(id=ids.WB_CHART, figure=go.Figure(), config={
            "displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": "micropathways-chart"}}),
            id=ids.WB_CHART_BOX, style=HIDDEN, role="img",
            **attrs(aria_label="Chart of the result; the table below holds the same numbers.")),
        html.Div(cyto.Cytoscape(id=ids.WB_GRAPH, elements=[], stylesheet=GRAPH_STYLESHEET,
                                layout={"name": "breadthfirst", "directed": True, "spacingFactor": 1.1},
                                style={"width": "100%", "height": "480px"}, minZoom=0.2, maxZoom=2),
                 id=ids.WB_GRAPH_BOX, style=HIDDEN, className="mp-graph", role="img",
                 **attrs(aria_label="Graph of the result; the table below lists every row.")),
        dcc.Loading(data_table(ids.WB_TABLE, [], ids.WB_RESULT_HEADING, page_size=25), type="default"),
    ])


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
        html.H1("Query workbench"),
        html.P("Run a saved query through its form, or write your own read-only Cypher and save it as a "
               "versioned query. Queries are read-only, time-limited and row-capped."),
        saved_section(queries, chosen, status),
        adhoc_section(),
        result_section(),
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


def version_options(name: str | None) -> tuple[list[dict[str, Any]], Any, dict[str, str]]:
    """The version dropdown of a user query (newest chosen); hidden for a library query."""
    if not name:
        return [], None, HIDDEN
    try:
        versions = services.user_query_versions(name)
    except services.ServiceError:
        return [], None, HIDDEN
    if not versions:
        return [], None, HIDDEN
    options = [{"label": f"v{v.version} — saved {v.saved_at or 'at an unknown time'}: {v.query.title}"
                         + (f" (restored from v{v.restored_from})" if v.restored_from else ""),
                "value": v.version} for v in reversed(versions)]
    return options, versions[-1].version, SHOWN


def show_version(number: int | None, name: str | None) -> str:
    if not name or number is None:
        return ""
    try:
        return services.user_query_version(name, int(number)).path.read_text(encoding="utf-8")
    except (services.ServiceError, OSError) as exc:
        return f"Version {number} cannot be read: {exc}"


def execute(name: str, names: list[str], values: list[Any]) -> tuple[Any, Any, Any]:
    """Run saved query ``name`` with the form's values: table data, columns and status."""
    shown = run_saved(name, names, values)
    return shown["data"], shown["columns"], shown["status"]


def failed(message: str, kind: str = "error") -> dict[str, Any]:
    return {"data": [], "columns": [], "figure": go.Figure(), "chart_style": HIDDEN, "elements": [],
            "graph_style": HIDDEN, "store": NO_RESULT, "status": status_children(kind, [message])}


def service_failed(exc: services.ServiceError) -> dict[str, Any]:
    """An error status; a query over its time limit is the ``timeout`` state."""
    return failed(error_text(exc), "timeout" if exc.kind == "timeout" else "error")


def run_saved(name: str, names: list[str], values: list[Any]) -> dict[str, Any]:
    try:
        query = services.saved_query(name)
        params = form_values(query, names, values)
        result = services.run_saved_query(name, params)
    except FormError as exc:
        return failed(f"Error (bad parameter): {exc}")
    except services.ServiceError as exc:
        return service_failed(exc)
    return present(result, query.result, query.chart, query.title)


def run_adhoc(text: str | None, param_text: str | None, shape: str | None, chart: dict[str, Any]) -> dict[str, Any]:
    try:
        params = default_values(parse_param_lines(param_text))
        result = services.run_adhoc(text or "", params)
    except FormError as exc:
        return failed(f"Error (bad parameter): {exc}")
    except services.ServiceError as exc:
        if exc.kind == "refused":
            return failed(f"Refused: {exc} Nothing was run.")
        return service_failed(exc)
    return present(result, shape or "table", chart, "Ad-hoc query")


RESULT_OUTPUTS = ("data", "columns", "status", "figure", "chart_style", "elements", "graph_style", "store")


def run_query(saved_clicks: int | None, adhoc_clicks: int | None, name: str | None, values: list[Any],
              value_ids: list[dict[str, str]], text: str | None, param_text: str | None, shape: str | None,
              x: str | None, y: str | None, series: str | None) -> tuple[Any, ...]:
    """Either Run button; choosing another query clears the result."""
    trigger = ctx.triggered_id
    if trigger == ids.WB_ADHOC_RUN and adhoc_clicks:
        try:
            chart = chart_spec(shape, x, y, series)
        except FormError as exc:
            shown = failed(f"Error (bad parameter): {exc}")
        else:
            shown = run_adhoc(text, param_text, shape, chart)
    elif trigger == ids.WB_RUN and saved_clicks and name:
        shown = run_saved(name, [i["name"] for i in value_ids], values)
    elif not name and trigger != ids.WB_ADHOC_RUN:
        raise PreventUpdate  # nothing to run (the library could not be read: the status says why)
    else:
        shown = {**failed(""), "status": status_children("idle", [
            "No query run yet: set the parameters and press Run query, or write Cypher and press Run ad-hoc query."])}
    return tuple(shown[k] for k in RESULT_OUTPUTS)


def save_query(n_clicks: int | None, name: str | None, title: str | None, description: str | None,
               text: str | None, param_text: str | None, shape: str | None, x: str | None, y: str | None,
               series: str | None) -> tuple[Any, Any, Any, Any, Any]:
    """Save the ad-hoc box as (a new version of) a user query, then choose it in the saved-query list."""
    if not n_clicks:
        raise PreventUpdate
    try:
        saved = services.save_user_query(
            (name or "").strip(), title=title or "", description=description or "", text=text or "",
            parameters=parse_param_lines(param_text), result=shape or "table", chart=chart_spec(shape, x, y, series))
        queries = services.saved_queries()
    except FormError as exc:
        return status_children("error", [f"Not saved (bad parameter): {exc}"]), no_update, no_update, \
            no_update, no_update
    except services.ServiceError as exc:
        return status_children("error", [f"Not saved: {error_text(exc)}"]), no_update, no_update, \
            no_update, no_update
    options, value, style = version_options(saved.name)
    message = status_children("done", [f"Saved {saved.name!r} as version {saved.version} ({saved.path})."])
    return message, query_options(queries), saved.name, options, value if style is SHOWN else no_update


def restore_version(n_clicks: int | None, name: str | None, number: int | None) -> tuple[Any, Any, Any]:
    if not n_clicks or not name or number is None:
        raise PreventUpdate
    try:
        restored = services.restore_user_query(name, int(number))
    except services.ServiceError as exc:
        return status_children("error", [f"Not restored: {error_text(exc)}"]), no_update, no_update
    options, value, _style = version_options(name)
    return (status_children("done", [f"Version {number} restored as version {restored.version}, now the newest; "
                                     "the earlier versions are kept."]), options, value)


def edit_version(n_clicks: int | None, name: str | None, number: int | None) -> tuple[Any, ...]:
    """Load the chosen query (or version) into the ad-hoc editor and the save form."""
    if not n_clicks or not name:
        raise PreventUpdate
    try:
        versions = services.user_query_versions(name)
        query = (services.user_query_version(name, int(number)).query if versions and number is not None
                 else services.saved_query(name))
    except services.ServiceError as exc:
        return (status_children("error", [error_text(exc)]), *([no_update] * 9))
    chart = query.chart or {}
    return (status_children("done", [f"{name!r} is in the editor below; saving it makes a new version."]),
            query.text, param_lines(query), query.result, chart.get("x", ""), chart.get("y", ""),
            chart.get("series", ""), name if versions else "", query.title, query.description)


def download_csv(n_clicks: int | None, data: dict[str, Any] | None) -> Any:
    if not n_clicks or not data or not data.get("columns"):
        raise PreventUpdate
    return {"content": csv_text(data["columns"], data["rows"]), "filename": data.get("filename", "result.csv"),
            "type": "text/csv"}


def download_graph(n_clicks: int | None) -> Any:
    if not n_clicks:
        raise PreventUpdate
    return {"type": "png", "action": "download", "filename": "micropathways-graph"}


def update_url(name: str | None, search: str | None) -> Any:
    current = query_params(search).get("query")
    return no_update if not name or name == current else f"?query={name}"


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/queries", name="Query workbench", title="Query workbench · Micropathways",
                       layout=layout, order=5)
    app.callback(
        Output(ids.WB_DESCRIPTION, "children"), Output(ids.WB_FORM, "children"),
        Input(ids.WB_QUERY, "value"),
    )(show_query)
    app.callback(
        Output(ids.WB_VERSIONS, "options"), Output(ids.WB_VERSIONS, "value"), Output(ids.WB_VERSIONS_BOX, "style"),
        Input(ids.WB_QUERY, "value"),
    )(version_options)
    app.callback(
        Output(ids.WB_VERSION_TEXT, "children"), Input(ids.WB_VERSIONS, "value"), State(ids.WB_QUERY, "value"),
    )(show_version)
    app.callback(
        Output(ids.WB_TABLE, "data"), Output(ids.WB_TABLE, "columns"), Output(ids.WB_STATUS, "children"),
        Output(ids.WB_CHART, "figure"), Output(ids.WB_CHART_BOX, "style"), Output(ids.WB_GRAPH, "elements"),
        Output(ids.WB_GRAPH_BOX, "style"), Output(ids.WB_RESULT_DATA, "data"),
        Input(ids.WB_RUN, "n_clicks"), Input(ids.WB_ADHOC_RUN, "n_clicks"), Input(ids.WB_QUERY, "value"),
        State({"type": ids.WB_PARAM, "name": ALL}, "value"), State({"type": ids.WB_PARAM, "name": ALL}, "id"),
        State(ids.WB_ADHOC_TEXT, "value"), State(ids.WB_ADHOC_PARAMS, "value"), State(ids.WB_ADHOC_SHAPE, "value"),
        State(ids.WB_ADHOC_X, "value"), State(ids.WB_ADHOC_Y, "value"), State(ids.WB_ADHOC_SERIES, "value"),
        running=[(Output(ids.WB_RUN, "disabled"), True, False), (Output(ids.WB_ADHOC_RUN, "disabled"), True, False)],
    )(run_query)
    app.callback(
        Output(ids.WB_SAVE_STATUS, "children"), Output(ids.WB_QUERY, "options"), Output(ids.WB_QUERY, "value"),
        Output(ids.WB_VERSIONS, "options", allow_duplicate=True),
        Output(ids.WB_VERSIONS, "value", allow_duplicate=True),
        Input(ids.WB_SAVE, "n_clicks"),
        State(ids.WB_SAVE_NAME, "value"), State(ids.WB_SAVE_TITLE, "value"), State(ids.WB_SAVE_DESCRIPTION, "value"),
        State(ids.WB_ADHOC_TEXT, "value"), State(ids.WB_ADHOC_PARAMS, "value"), State(ids.WB_ADHOC_SHAPE, "value"),
        State(ids.WB_ADHOC_X, "value"), State(ids.WB_ADHOC_Y, "value"), State(ids.WB_ADHOC_SERIES, "value"),
        prevent_initial_call=True,
    )(save_query)
    app.callback(
        Output(ids.WB_VERSION_STATUS, "children"), Output(ids.WB_VERSIONS, "options", allow_duplicate=True),
        Output(ids.WB_VERSIONS, "value", allow_duplicate=True),
        Input(ids.WB_RESTORE, "n_clicks"), State(ids.WB_QUERY, "value"), State(ids.WB_VERSIONS, "value"),
        prevent_initial_call=True,
    )(restore_version)
    app.callback(
        Output(ids.WB_VERSION_STATUS, "children", allow_duplicate=True), Output(ids.WB_ADHOC_TEXT, "value"),
        Output(ids.WB_ADHOC_PARAMS, "value"), Output(ids.WB_ADHOC_SHAPE, "value"), Output(ids.WB_ADHOC_X, "value"),
        Output(ids.WB_ADHOC_Y, "value"), Output(ids.WB_ADHOC_SERIES, "value"), Output(ids.WB_SAVE_NAME, "value"),
        Output(ids.WB_SAVE_TITLE, "value"), Output(ids.WB_SAVE_DESCRIPTION, "value"),
        Input(ids.WB_EDIT, "n_clicks"), State(ids.WB_QUERY, "value"), State(ids.WB_VERSIONS, "value"),
        prevent_initial_call=True,
    )(edit_version)
    app.callback(
        Output(ids.WB_DOWNLOAD, "data"), Input(ids.WB_CSV, "n_clicks"), State(ids.WB_RESULT_DATA, "data"),
        prevent_initial_call=True,
    )(download_csv)
    app.callback(
        Output(ids.WB_GRAPH, "generateImage"), Input(ids.WB_GRAPH_IMAGE, "n_clicks"), prevent_initial_call=True,
    )(download_graph)
    app.callback(
        Output(ids.WB_URL, "search"), Input(ids.WB_QUERY, "value"), State(ids.WB_URL, "search"),
    )(update_url)
