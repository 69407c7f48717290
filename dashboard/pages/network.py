"""Page "/": the factor network.

Nodes are factors sized by prevalence (saved query ``factor_prevalence``) and coloured by factor kind;
edges join factors present together in the same records, as wide as the number of such records
(saved query ``factor_cooccurrence``). Dataset, years and the minimum pair count are filters, kept
in the URL query string (``?dataset=…&year_from=…&year_to=…&min_count=…``) so a view can be shared
by link. Above :data:`MAX_ELEMENTS` elements the graph keeps the most prevalent factors and the
strongest links and says so; the tables under the graph always list every number.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import dash
import dash_cytoscape as cyto
from dash import Input, Output, State, dcc, html, no_update
from dash.dash_table.Format import Format, Scheme

from dashboard import ids, legend, services
from dashboard.pages import attrs, data_table, error_text, labelled, status_box, status_children

MAX_ELEMENTS = 300  # nodes + edges drawn; beyond this the graph is unreadable and slow
MAX_NODES = 60  # so that a big graph still has room for its strongest links
NODE_MIN_PX, NODE_MAX_PX = 22.0, 80.0
EDGE_MIN_PX, EDGE_MAX_PX = 1.0, 10.0
ALL_YEARS = (0, 9999)  # the saved queries' own "any year" bounds

StatusKind = Literal["ok", "empty", "truncated", "error"]


@dataclass
class NetworkView:
    """Everything the page shows for one filter setting (built from the query results, no Dash)."""

    elements: list[dict[str, Any]] = field(default_factory=list)
    factor_rows: list[dict[str, Any]] = field(default_factory=list)
    pair_rows: list[dict[str, Any]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    status: StatusKind = "ok"
    messages: list[str] = field(default_factory=list)
    shown_nodes: int = 0
    shown_edges: int = 0
    total_factors: int = 0
    total_pairs: int = 0

    @property
    def summary(self) -> str:
        return (f"Graph: {plural(self.shown_nodes, 'factor node')} and "
                f"{plural(self.shown_edges, 'co-occurrence link')} shown ({plural(self.total_factors, 'factor')} "
                f"and {plural(self.total_pairs, 'pair')} in the tables).")


# ---- pure helpers (tested without a browser) ---------------------------------------------------
def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def parse_int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def year_bounds(datasets: list[services.DatasetInfo], dataset: str | None) -> tuple[int, int] | None:
    """The year span of ``dataset`` (all datasets when empty or unknown); None when nothing is loaded."""
    chosen = [d for d in datasets if d.name == dataset] or datasets
    years = [y for d in chosen for y in (d.year_min, d.year_max) if y is not None]
    return (min(years), max(years)) if years else None


def clamp_years(value: list[int] | None, bounds: tuple[int, int]) -> list[int]:
    """``value`` clamped into ``bounds``; the full span when it is missing or falls outside."""
    low, high = bounds
    if not value or len(value) != 2 or value[0] is None or value[1] is None:
        return [low, high]
    start, end = max(low, int(value[0])), min(high, int(value[1]))
    return [start, end] if start <= end else [low, high]


def year_marks(bounds: tuple[int, int], most: int = 6) -> dict[int, str]:
    """About ``most`` evenly spaced year labels, always the first and last, never two crowded together."""
    low, high = bounds
    step = max(1, math.ceil((high - low) / most))
    marks = {year: str(year) for year in range(low, high + 1, step) if high - year > step / 2 or year == low}
    marks[high] = str(high)
    return marks


def filters_search(dataset: str | None, years: list[int] | None, min_count: Any) -> str:
    """The URL query string for a filter setting (empty values left out)."""
    params: dict[str, Any] = {}
    if dataset:
        params["dataset"] = dataset
    if years and len(years) == 2 and None not in years:
        params["year_from"], params["year_to"] = int(years[0]), int(years[1])
    count = parse_int(min_count, 1)
    if count and count != 1:
        params["min_count"] = count
    return "?" + urlencode(params) if params else ""


def _scale(value: float, top: float, low_px: float, high_px: float, *, sqrt: bool = False) -> float:
    if top <= 0:
        return low_px
    share = max(0.0, min(1.0, value / top))
    return round(low_px + (high_px - low_px) * (math.sqrt(share) if sqrt else share), 1)


def build_view(data: services.NetworkData, *, max_elements: int = MAX_ELEMENTS,
               max_nodes: int = MAX_NODES) -> NetworkView:
    """Cytoscape elements, table rows and the panel status for one pair of query results."""
    factors = sorted(data.prevalence.rows, key=lambda r: (-(r["prevalence"] or 0), -(r["n_present"] or 0),
                                                          str(r["factor"])))
    pairs = list(data.pairs.rows)
    view = NetworkView(total_factors=len(factors), total_pairs=len(pairs))
    present = [f for f in factors if (f["n_present"] or 0) > 0]
    nodes = present[:max(0, min(max_nodes, max_elements))]
    kept = {f["uid"] for f in nodes}
    links = [p for p in pairs if p["a_uid"] in kept and p["b_uid"] in kept]
    links = sorted(links, key=lambda p: -(p["n_ab"] or 0))[:max(0, max_elements - len(nodes))]
    shown_links = {(p["a_uid"], p["b_uid"]) for p in links}
    labels = Counter(str(f["factor"]).casefold() for f in nodes)
    top_prevalence = max((f["prevalence"] or 0 for f in nodes), default=0)
    top_pair = max((p["n_ab"] or 0 for p in links), default=0)
    for f in nodes:
        view.elements.append({"data": {
            "id": f["uid"], "kind": f["kind"] or legend.UNKNOWN_KIND,
            "label": f["factor"] if labels[str(f["factor"]).casefold()] == 1 else f"{f['factor']} ({f['scheme']})",
            "colour": legend.kind_colour(f["kind"]), "prevalence": f["prevalence"],
            "n_present": f["n_present"], "n_coded": f["n_coded"],
            "size": _scale(f["prevalence"] or 0, top_prevalence, NODE_MIN_PX, NODE_MAX_PX, sqrt=True)}})
    for p in links:
        view.elements.append({"data": {
            "id": f"{p['a_uid']}|{p['b_uid']}", "source": p["a_uid"], "target": p["b_uid"],
            "n_ab": p["n_ab"], "width": _scale(p["n_ab"] or 0, top_pair, EDGE_MIN_PX, EDGE_MAX_PX)}})
    view.factor_rows = [{
        "factor": f["factor"], "kind": legend.kind_name(f["kind"]), "scheme": f["scheme"],
        "n_present": f["n_present"], "n_coded": f["n_coded"], "prevalence": f["prevalence"],
        "in_graph": "yes" if f["uid"] in kept else "no"} for f in factors]
    view.pair_rows = [{
        "factor_a": p["factor_a"], "factor_b": p["factor_b"], "n_ab": p["n_ab"], "n_a": p["n_a"],
        "n_b": p["n_b"], "in_graph": "yes" if (p["a_uid"], p["b_uid"]) in shown_links else "no"}
        for p in pairs]
    view.kinds = sorted({f["kind"] or legend.UNKNOWN_KIND for f in nodes})
    view.shown_nodes, view.shown_edges = len(nodes), len(links)
    _set_status(view, data, present_count=len(present), limits=(max_elements, max_nodes))
    return view


def _set_status(view: NetworkView, data: services.NetworkData, *, present_count: int,
                limits: tuple[int, int]) -> None:
    where = _describe_filters(data.params)
    if not view.total_factors:
        view.status = "empty"
        view.messages.append(f"No data: no records with coded factors for {where}. "
                             "Choose another dataset or widen the years.")
        return
    if not present_count:
        view.status = "empty"
        view.messages.append(f"No data: {view.total_factors} factors are coded for {where}, but none is "
                             "present in any record, so there is nothing to draw (see the table).")
        return
    view.messages.append(f"{plural(view.shown_nodes, 'factor')} and {plural(view.shown_edges, 'link')} "
                         f"for {where}.")
    if not view.total_pairs:
        view.messages.append(f"No two factors are present together in at least "
                             f"{data.params.get('min_count', 1)} record(s), so there are no links.")
    kept = []
    if present_count > view.shown_nodes:
        kept.append(f"the {view.shown_nodes} most prevalent of {present_count} present factors")
    if view.total_pairs > view.shown_edges:
        kept.append(f"the {view.shown_edges} strongest of {view.total_pairs} links")
    if kept:
        view.status = "truncated"
        view.messages.append(
            f"Truncated: the graph is limited to {limits[0]} elements ({limits[1]} factors), so it shows "
            f"{' and '.join(kept)}. The tables below list them all (column 'In graph').")
    for result, what in ((data.prevalence, "factor"), (data.pairs, "pair")):
        if result.truncated:
            view.status = "truncated"
            view.messages.append(
                f"Truncated: the saved query {result.query!r} stopped at its row cap of "
                f"{result.max_rows} {what}s; the rest are missing from the graph and the tables. "
                "Narrow the filters (or raise min_count).")
    absent = view.total_factors - present_count
    if absent:
        view.messages.append(f"{absent} factor(s) coded but never present are listed in the table only.")


def _describe_filters(params: dict[str, Any]) -> str:
    dataset = params.get("dataset") or "all datasets"
    start, end = params.get("year_from", ALL_YEARS[0]), params.get("year_to", ALL_YEARS[1])
    years = "all years" if (start, end) == ALL_YEARS else (f"{start}" if start == end else f"{start}–{end}")
    return f"{dataset}, {years}"


def synthetic_note(datasets: list[services.DatasetInfo], dataset: str | None) -> str | None:
    synthetic = sorted(d.name for d in datasets if d.synthetic and (not dataset or d.name == dataset))
    if not synthetic:
        return None
    if dataset:
        return f"SYNTHETIC data: {dataset} was made by the synthetic generator; it describes no real cases."
    return (f"Includes SYNTHETIC data from {', '.join(synthetic)} (made by the generator, no real cases); "
            "choose a dataset to see one source alone.")


# ---- layout ------------------------------------------------------------------------------------
STYLESHEET = [
    {"selector": "node", "style": {
        "label": "data(label)", "background-color": "data(colour)", "width": "data(size)",
        "height": "data(size)", "border-width": 2, "border-color": "#1a1a1a", "color": "#111111",
        "font-size": 12, "text-valign": "bottom", "text-margin-y": 4, "text-wrap": "wrap",
        "text-max-width": "140px", "text-background-color": "#ffffff", "text-background-opacity": 0.85,
        "text-background-padding": "2px", "min-zoomed-font-size": 8}},  # labels appear on zooming in
    {"selector": "edge", "style": {
        "width": "data(width)", "line-color": "#5f6368", "opacity": 0.55, "curve-style": "bezier"}},
    {"selector": "node:selected", "style": {"border-width": 5, "border-color": "#000000"}},
    {"selector": "edge:selected", "style": {"line-color": "#000000", "opacity": 1}},
]
LAYOUT = {"name": "cose", "animate": False, "idealEdgeLength": 110, "nodeOverlap": 24,
          "componentSpacing": 90, "nodeRepulsion": 9000, "padding": 30}
FACTOR_COLUMNS: list[dict[str, Any]] = [
    {"name": "Factor", "id": "factor"}, {"name": "Kind", "id": "kind"}, {"name": "Scheme", "id": "scheme"},
    {"name": "Records with factor", "id": "n_present", "type": "numeric"},
    {"name": "Records coded", "id": "n_coded", "type": "numeric"},
    {"name": "Prevalence", "id": "prevalence", "type": "numeric",
     "format": Format(precision=1, scheme=Scheme.percentage)},
    {"name": "In graph", "id": "in_graph"},
]
PAIR_COLUMNS: list[dict[str, Any]] = [
    {"name": "Factor A", "id": "factor_a"}, {"name": "Factor B", "id": "factor_b"},
    {"name": "Records with both", "id": "n_ab", "type": "numeric"},
    {"name": "Records with A", "id": "n_a", "type": "numeric"},
    {"name": "Records with B", "id": "n_b", "type": "numeric"},
    {"name": "In graph", "id": "in_graph"},
]


def layout(dataset: str | None = None, year_from: str | None = None, year_to: str | None = None,
           min_count: str | None = None, **_other: Any) -> html.Div:
    """The page; initial filter values come from the URL query string (Dash pages passes them)."""
    start, end = parse_int(year_from), parse_int(year_to)
    years = [start, end] if start is not None and end is not None else None
    return html.Div([
        dcc.Location(id=ids.NET_URL, refresh=False),
        html.H1("Factor network"),
        html.P("Each circle is a situational factor, sized by its prevalence (the share of records where it "
               "is present) and coloured by its kind. A line joins two factors present together in the same "
               "records; the thicker the line, the more records have both. The tables below give the "
               "numbers behind the graph."),
        html.Div([
            # The URL's dataset is an option from the start: Dash 4's dropdown clears a value that is
            # not among its options, and the real options only arrive with the first callback.
            labelled("Dataset", ids.NET_DATASET, dcc.Dropdown(
                id=ids.NET_DATASET, options=[{"label": dataset, "value": dataset}] if dataset else [],
                value=dataset or None, placeholder="All datasets",
                clearable=True, searchable=True), width="34rem",
                hint="Empty: every loaded dataset together."),
            labelled("Years", ids.NET_YEARS, dcc.RangeSlider(
                id=ids.NET_YEARS, min=(start or 2000), max=(end or 2025), step=1, value=years,
                marks=None, allow_direct_input=True, tooltip={"placement": "bottom"},
                updatemode="mouseup"), width="26rem", hint="First and last year included."),
            labelled("Minimum pair count", ids.NET_MIN_COUNT, dcc.Input(
                id=ids.NET_MIN_COUNT, type="number", min=1, step=1, value=parse_int(min_count, 1),
                debounce=True), width="14rem",
                hint="Link two factors only if this many records have both."),
        ], className="mp-filters", role="group", **attrs(aria_label="Filters")),
        status_box(ids.NET_STATUS),
        html.Div([
            html.Div(cyto.Cytoscape(
                id=ids.NET_GRAPH, elements=[], stylesheet=STYLESHEET, layout=LAYOUT,
                style={"width": "100%", "height": "560px"}, minZoom=0.2, maxZoom=2, wheelSensitivity=1,
                boxSelectionEnabled=False), className="mp-graph", role="img",
                **attrs(aria_label="Factor co-occurrence network; the same numbers are in the tables below.")),
            html.Aside([html.H2("Legend", className="mp-h3"), html.Div(id=ids.NET_LEGEND)],
                       className="mp-legend", **attrs(aria_label="Legend")),
        ], className="mp-graph-row"),
        html.P(id=ids.NET_SUMMARY, className="mp-summary"),
        html.H2("Numbers behind the graph"),
        html.H3("Factors", id=ids.NET_FACTORS_HEADING),
        data_table(ids.NET_FACTOR_TABLE, FACTOR_COLUMNS, ids.NET_FACTORS_HEADING, page_size=15),
        html.H3("Pairs of factors present together", id=ids.NET_PAIRS_HEADING),
        data_table(ids.NET_PAIR_TABLE, PAIR_COLUMNS, ids.NET_PAIRS_HEADING, page_size=15),
    ])


def legend_children(kinds: list[str]) -> list[Any]:
    items = [html.Li([html.Span(className="mp-swatch", style={"backgroundColor": legend.kind_colour(k)}),
                      legend.kind_name(k)], className="mp-legend-item") for k in kinds]
    return [
        html.P("Colour: factor kind", className="mp-legend-title"),
        html.Ul(items, className="mp-legend-list") if items else html.P("(no factors shown)"),
        html.P("Circle size: prevalence", className="mp-legend-title"),
        html.P("Line width: records with both factors", className="mp-legend-title"),
    ]


# ---- callbacks (plain functions; ``register`` binds them to an app) ------------------------------
def update_filters(dataset: str | None, years: list[int] | None) -> tuple[Any, ...]:
    """Dataset options and the year slider's span for the chosen dataset."""
    try:
        datasets = services.list_datasets()
    except services.ServiceError:
        return [], no_update, no_update, no_update, no_update  # the network panel shows the error
    options = [{"label": d.label, "value": d.name} for d in datasets]
    if dataset and dataset not in {d.name for d in datasets}:  # e.g. a shared link to another database
        options.append({"label": f"{dataset} (not in this database)", "value": dataset})
    bounds = year_bounds(datasets, dataset)
    if bounds is None:
        return options, no_update, no_update, no_update, no_update
    low, high = bounds
    return options, low, high, year_marks(bounds), clamp_years(years, bounds)


def update_network(dataset: str | None, years: list[int] | None, min_count: Any) -> tuple[Any, ...]:
    """Elements, legend, status, summary and tables for the current filters."""
    start, end = (years if years and len(years) == 2 and None not in years else ALL_YEARS)
    try:
        datasets = services.list_datasets()
        if dataset and dataset not in {d.name for d in datasets}:
            raise services.ServiceError(f"there is no dataset {dataset!r} in this database; choose one "
                                        "from the list (`micropath datasets` lists them)", "bad-parameter")
        data = services.factor_network(dataset or "", int(start), int(end), parse_int(min_count, 1) or 1)
    except services.ServiceError as exc:
        return ([], legend_children([]), status_children("error", [error_text(exc)]),
                "Graph: nothing shown.", [], [])
    view = build_view(data)
    status = status_children(view.status, view.messages, banner=synthetic_note(datasets, dataset))
    return (view.elements, legend_children(view.kinds), status, view.summary, view.factor_rows,
            view.pair_rows)


def update_url(dataset: str | None, years: list[int] | None, min_count: Any, search: str | None) -> Any:
    wanted = filters_search(dataset, years, min_count)
    return no_update if wanted == (search or "") else wanted


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/", name="Factor network", title="Factor network · Micropathways",
                       layout=layout, order=0)
    app.callback(
        Output(ids.NET_DATASET, "options"), Output(ids.NET_YEARS, "min"), Output(ids.NET_YEARS, "max"),
        Output(ids.NET_YEARS, "marks"), Output(ids.NET_YEARS, "value"),
        Input(ids.NET_DATASET, "value"), State(ids.NET_YEARS, "value"),
    )(update_filters)
    app.callback(
        Output(ids.NET_GRAPH, "elements"), Output(ids.NET_LEGEND, "children"),
        Output(ids.NET_STATUS, "children"), Output(ids.NET_SUMMARY, "children"),
        Output(ids.NET_FACTOR_TABLE, "data"), Output(ids.NET_PAIR_TABLE, "data"),
        Input(ids.NET_DATASET, "value"), Input(ids.NET_YEARS, "value"), Input(ids.NET_MIN_COUNT, "value"),
    )(update_network)
    app.callback(
        Output(ids.NET_URL, "search"),
        Input(ids.NET_DATASET, "value"), Input(ids.NET_YEARS, "value"), Input(ids.NET_MIN_COUNT, "value"),
        State(ids.NET_URL, "search"),
    )(update_url)
