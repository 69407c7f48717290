"""Page "/network": the factor network.

Factors are nodes sized by prevalence (share of the records where the factor was coded that have it
present) and coloured by factor kind (the kinds are the vocabulary's ``mp:factorKind``). Two factors are
linked when they occur together more (solid line) or less (dashed) often than their own prevalences
predict: Fisher's exact test on every pair coded together, Benjamini–Hochberg across all of them, and a
link is drawn only when its q-value is at most the chosen threshold (and at least ``min_count`` records
have both). Line width follows |log2 lift|. Numbers come from ``patterns.factors`` (``prevalence_of``,
``pairs_of``) via ``services.factor_network``; every filter of the shared bar applies.

Clicking a factor lists the records where it is present; clicking a link lists the records with both;
each listed record opens its card (``/card?uid=…``). Above :data:`MAX_ELEMENTS` elements the graph keeps
the most prevalent factors and the most significant links and says so; the tables list every number.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import dash
import dash_cytoscape as cyto
from dash import Input, Output, dcc, html
from dash.dash_table.Format import Format, Scheme
from dash.exceptions import MissingCallbackContextException

from dashboard import ids, legend, panels, services
from dashboard.pages import attrs, data_table, filters, labelled
from dashboard.panels import panel, state, state_for_error
from patterns.slices import Filters

F = ids.NET_FILTERS
MAX_ELEMENTS = 300  # nodes + edges drawn; beyond this a force layout is unreadable and slow
MAX_NODES = 60  # so that a big graph still has room for its strongest links
NODE_MIN_PX, NODE_MAX_PX = 22.0, 80.0
EDGE_MIN_PX, EDGE_MAX_PX = 1.5, 10.0
DEFAULT_ALPHA = 0.05
ALPHAS = (0.001, 0.01, 0.05, 0.1, 0.2, 1.0)


@dataclass
class NetworkView:
    """Everything the page shows for one network (built from ``services.NetworkData``, no Dash)."""

    elements: list[dict[str, Any]] = field(default_factory=list)
    factor_rows: list[dict[str, Any]] = field(default_factory=list)
    pair_rows: list[dict[str, Any]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    status: str = "ok"
    messages: list[str] = field(default_factory=list)
    shown_nodes: int = 0
    shown_edges: int = 0
    significant: int = 0

    @property
    def summary(self) -> str:
        return (f"Graph: {plural(self.shown_nodes, 'factor node')} and {plural(self.shown_edges, 'significant link')}"
                f" shown ({plural(len(self.factor_rows), 'factor')} and {plural(len(self.pair_rows), 'pair')} "
                "in the tables).")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def parse_alpha(value: Any) -> float:
    try:
        alpha = float(value)
    except (TypeError, ValueError):
        return DEFAULT_ALPHA
    return alpha if 0 < alpha <= 1 else DEFAULT_ALPHA


def parse_count(value: Any) -> int:
    parsed = filters.parse_int(value)
    return parsed if parsed is not None and parsed >= 1 else 1


def _scale(value: float, top: float, low: float, high: float, *, sqrt: bool = False) -> float:
    if top <= 0:
        return low
    share = max(0.0, value) / top
    return round(low + (high - low) * (math.sqrt(share) if sqrt else share), 2)


def is_significant(pair: dict[str, Any], alpha: float, min_count: int) -> bool:
    q = pair.get("q_value")
    return bool(pair.get("tested")) and q is not None and q <= alpha and (pair.get("n_ab") or 0) >= min_count


def build_view(data: services.NetworkData, alpha: float = DEFAULT_ALPHA, min_count: int = 1, *,
               max_elements: int = MAX_ELEMENTS, max_nodes: int = MAX_NODES) -> NetworkView:
    """Cytoscape elements, table rows and the panel state for one network."""
    factors = data.factors  # ordered by prevalence, then uid (patterns.factors.prevalence_of)
    present = [f for f in factors if (f["n_present"] or 0) > 0]
    nodes = present[:max(0, min(max_nodes, max_elements))]
    kept = {f["factor_uid"] for f in nodes}
    significant = [p for p in data.pairs if is_significant(p, alpha, min_count)]
    links = [p for p in significant if p["a_uid"] in kept and p["b_uid"] in kept]
    links = sorted(links, key=lambda p: (p["q_value"], -abs(math.log2(p["lift"] or 1) if p["lift"] else 0)))
    links = links[:max(0, max_elements - len(nodes))]
    shown = {(p["a_uid"], p["b_uid"]) for p in links}
    view = NetworkView(significant=len(significant))
    labels = Counter(str(f["factor"]).casefold() for f in nodes)
    top_prevalence = max((f["prevalence"] or 0 for f in nodes), default=0)
    strength = {(p["a_uid"], p["b_uid"]): abs(math.log2(p["lift"])) if p["lift"] else 0.0 for p in links}
    top_strength = max(strength.values(), default=0.0)
    for f in nodes:
        view.elements.append({"data": {
            "id": f["factor_uid"], "kind": f["kind"] or legend.UNKNOWN_KIND,
            "label": f["factor"] if labels[str(f["factor"]).casefold()] == 1 else f"{f['factor']} ({f['scheme']})",
            "colour": legend.kind_colour(f["kind"]), "prevalence": f["prevalence"], "n_present": f["n_present"],
            "n_coded": f["n_coded"], "size": _scale(f["prevalence"] or 0, top_prevalence, NODE_MIN_PX, NODE_MAX_PX,
                                                   sqrt=True)}})
    for p in links:
        key = (p["a_uid"], p["b_uid"])
        view.elements.append({"data": {
            "id": f"{p['a_uid']}|{p['b_uid']}", "source": p["a_uid"], "target": p["b_uid"],
            "source_label": p["a"], "target_label": p["b"],
            "n_ab": p["n_ab"], "lift": p["lift"], "q_value": p["q_value"],
            "style": "solid" if (p["lift"] or 0) >= 1 else "dashed",
            "width": _scale(strength[key], top_strength, EDGE_MIN_PX, EDGE_MAX_PX)}})
    view.factor_rows = [{
        "factor": f["factor"], "factor_uid": f["factor_uid"], "kind": legend.kind_name(f["kind"]),
        "scheme": f["scheme"], "n_present": f["n_present"], "n_coded": f["n_coded"], "prevalence": f["prevalence"],
        "ci_low": f["ci_low"], "ci_high": f["ci_high"], "in_graph": "yes" if f["factor_uid"] in kept else "no"}
        for f in factors]
    view.pair_rows = [{
        "factor_a": p["a"], "factor_b": p["b"], "a_uid": p["a_uid"], "b_uid": p["b_uid"], "n_ab": p["n_ab"],
        "n_a": p["n_a"], "n_b": p["n_b"], "n": p["n"], "lift": p["lift"], "p_value": p["p_value"],
        "q_value": p["q_value"], "significant": "yes" if is_significant(p, alpha, min_count) else "no",
        "in_graph": "yes" if (p["a_uid"], p["b_uid"]) in shown else "no"} for p in data.pairs]
    view.kinds = sorted({f["kind"] or legend.UNKNOWN_KIND for f in nodes})
    view.shown_nodes, view.shown_edges = len(nodes), len(links)
    _set_status(view, data, len(present), alpha, min_count, (max_elements, max_nodes))
    return view


def _set_status(view: NetworkView, data: services.NetworkData, present_count: int, alpha: float, min_count: int,
                limits: tuple[int, int]) -> None:
    where = filters.describe(data.filters).removeprefix("Showing ")
    if not data.factors:
        view.status = "empty"
        view.messages.append(f"No data: no records with coded factors for {where} ({data.records:,} records). "
                             "Widen the filters.")
        return
    if not present_count:
        view.status = "empty"
        view.messages.append(f"No data: {len(data.factors)} factors are coded for {where}, but none is present "
                             "in any record, so there is nothing to draw (see the table).")
        return
    view.messages.append(f"{plural(view.shown_nodes, 'factor')} and {plural(view.shown_edges, 'link')} for "
                         f"{where} ({data.records:,} records).")
    if not view.significant:
        view.messages.append(f"No pair of factors is significant at q ≤ {alpha:g} (Benjamini–Hochberg over "
                             f"{sum(1 for p in data.pairs if p.get('tested'))} tested pairs), so there are no links.")
    kept = []
    if present_count > view.shown_nodes:
        kept.append(f"the {view.shown_nodes} most prevalent of {present_count} present factors")
    in_nodes = sum(1 for p in view.pair_rows if p["significant"] == "yes")
    if in_nodes > view.shown_edges:
        kept.append(f"the {view.shown_edges} most significant of {in_nodes} significant links")
    if kept:
        view.status = "truncated"
        view.messages.append(f"Truncated: the graph is limited to {limits[0]} elements ({limits[1]} factors), so "
                             f"it shows {' and '.join(kept)}. The tables below list them all (column 'In graph').")


# ---- layout ------------------------------------------------------------------------------------------
STYLESHEET = [
    {"selector": "node", "style": {
        "label": "data(label)", "background-color": "data(colour)", "width": "data(size)", "height": "data(size)",
        "border-width": 2, "border-color": "#1a1a1a", "color": "#111111", "font-size": 12, "text-valign": "bottom",
        "text-margin-y": 4, "text-wrap": "wrap", "text-max-width": "140px", "text-background-color": "#ffffff",
        "text-background-opacity": 0.85, "text-background-padding": "2px", "min-zoomed-font-size": 8}},
    {"selector": "edge", "style": {"width": "data(width)", "line-color": "#3c4043", "opacity": 0.6,
                                   "curve-style": "bezier", "line-style": "data(style)"}},
    {"selector": "node:selected", "style": {"border-width": 5, "border-color": "#000000"}},
    {"selector": "edge:selected", "style": {"line-color": "#000000", "opacity": 1}},
]
LAYOUT = {"name": "cose", "animate": False, "idealEdgeLength": 110, "nodeOverlap": 24, "componentSpacing": 90,
          "nodeRepulsion": 9000, "padding": 30, "randomize": False}
PCT = Format(precision=1, scheme=Scheme.percentage)
NUM = Format(precision=3, scheme=Scheme.decimal_or_exponent)
FACTOR_COLUMNS: list[dict[str, Any]] = [
    {"name": "Factor", "id": "factor"}, {"name": "Kind", "id": "kind"}, {"name": "Scheme", "id": "scheme"},
    {"name": "Records with factor", "id": "n_present", "type": "numeric"},
    {"name": "Records coded", "id": "n_coded", "type": "numeric"},
    {"name": "Prevalence", "id": "prevalence", "type": "numeric", "format": PCT},
    {"name": "95% CI low", "id": "ci_low", "type": "numeric", "format": PCT},
    {"name": "95% CI high", "id": "ci_high", "type": "numeric", "format": PCT},
    {"name": "In graph", "id": "in_graph"},
]
PAIR_COLUMNS: list[dict[str, Any]] = [
    {"name": "Factor A", "id": "factor_a"}, {"name": "Factor B", "id": "factor_b"},
    {"name": "Records with both", "id": "n_ab", "type": "numeric"},
    {"name": "Records with A", "id": "n_a", "type": "numeric"},
    {"name": "Records with B", "id": "n_b", "type": "numeric"},
    {"name": "Records coded for both", "id": "n", "type": "numeric"},
    {"name": "Lift", "id": "lift", "type": "numeric", "format": NUM},
    {"name": "p (Fisher)", "id": "p_value", "type": "numeric", "format": NUM},
    {"name": "q (BH)", "id": "q_value", "type": "numeric", "format": NUM},
    {"name": "Significant", "id": "significant"}, {"name": "In graph", "id": "in_graph"},
]
CASE_COLUMNS: list[dict[str, Any]] = [
    {"name": "Record (opens its card)", "id": "link", "presentation": "markdown"},
    {"name": "Dataset", "id": "dataset"}, {"name": "Year", "id": "year", "type": "numeric"},
    {"name": "Area code", "id": "area_code"}, {"name": "Synthetic", "id": "synthetic_text"},
]


def layout(**query: Any) -> html.Div:
    """The page; filter values and the threshold come from the URL (Dash pages passes them)."""
    chosen = filters.from_query(query)
    alpha, min_count = parse_alpha(query.get("alpha")), parse_count(query.get("min_count"))
    (elements, legend_now, status, summary, factor_rows, pair_rows, factor_state, pair_state, factor_data,
     pair_data, network_data) = network_outputs(chosen, alpha, min_count)
    return html.Div([
        html.H1("Factor network"),
        html.P("Each circle is a situational factor, sized by its prevalence and coloured by its kind. A line "
               "joins two factors found together more often (solid) or less often (dashed) than chance, when "
               "that is significant after correcting for the many pairs tested (Benjamini–Hochberg); the "
               "thicker the line, the stronger the lift. Click a factor or a line to list the homicides behind "
               "it. The tables below give every number."),
        filters.filter_bar(F, chosen),
        html.Div([
            labelled("Significance (q ≤)", ids.NET_ALPHA, dcc.Dropdown(
                id=ids.NET_ALPHA, options=[{"label": f"{a:g}" if a < 1 else "1 (every tested pair)", "value": a}
                                      for a in ALPHAS], value=alpha,
                clearable=False), width="12rem", hint="Benjamini–Hochberg false discovery rate."),
            labelled("Minimum pair count", ids.NET_MIN_COUNT, dcc.Input(
                id=ids.NET_MIN_COUNT, type="number", min=1, step=1, value=min_count,
                debounce=True), width="14rem", hint="Draw a link only if this many records have both."),
        ], className="mp-filters", role="group", **attrs(aria_label="Network options")),
        panel(ids.NET_PANEL, "Factor co-occurrence network", html.Div([
            html.Div(cyto.Cytoscape(
                id=ids.NET_GRAPH, elements=elements, stylesheet=STYLESHEET, layout=LAYOUT,
                style={"width": "100%", "height": "560px"}, minZoom=0.2, maxZoom=2, wheelSensitivity=1,
                boxSelectionEnabled=False), className="mp-graph", role="img",
                **attrs(aria_label="Factor co-occurrence network; the same numbers are in the tables below.")),
            html.Aside([html.H3("Legend", className="mp-h3"), html.Div(legend_now, id=ids.NET_LEGEND)],
                       className="mp-legend", **attrs(aria_label="Legend")),
        ], className="mp-graph-row"), html.P(summary, id=ids.NET_SUMMARY, className="mp-summary"), image=True,
              initial_state=status, initial_data=network_data),
        panel(ids.NET_CASES, "Homicides behind the selection",
              html.P("Click a factor or a link in the graph.", id=ids.NET_SELECTION),
              data_table(ids.NET_CASES.table, CASE_COLUMNS, ids.NET_CASES.heading, page_size=15)),
        html.H2("Numbers behind the graph"),
        panel(ids.NET_FACTORS, "Factors", data_table(ids.NET_FACTORS.table, FACTOR_COLUMNS, ids.NET_FACTORS.heading,
                                                     page_size=15, data=factor_rows), level=3,
              initial_state=factor_state, initial_data=factor_data),
        panel(ids.NET_PAIRS, "Pairs of factors coded together", data_table(
            ids.NET_PAIRS.table, PAIR_COLUMNS, ids.NET_PAIRS.heading, page_size=15, data=pair_rows), level=3,
              initial_state=pair_state, initial_data=pair_data),
    ])


def legend_children(kinds: list[str]) -> list[Any]:
    items = [html.Li([html.Span(className="mp-swatch", style={"backgroundColor": legend.kind_colour(k)}),
                      legend.kind_name(k)], className="mp-legend-item") for k in kinds]
    return [
        html.P("Colour: factor kind", className="mp-legend-title"),
        html.Ul(items, className="mp-legend-list") if items else html.P("(no factors shown)"),
        html.P("Circle size: prevalence", className="mp-legend-title"),
        html.P("Line width: |log2 lift|; solid: together more than chance, dashed: less",
               className="mp-legend-title"),
    ]


# ---- callbacks ----------------------------------------------------------------------------------------
FACTOR_EXPORT = [c["id"] for c in FACTOR_COLUMNS[:-1]] + ["factor_uid", "in_graph"]
PAIR_EXPORT = ["factor_a", "factor_b", "a_uid", "b_uid", "n_ab", "n_a", "n_b", "n", "lift", "p_value", "q_value",
               "significant", "in_graph"]


def update_network(*values: Any) -> tuple[Any, ...]:
    """Callback: elements, legend, state, summary, both tables and the three panels' CSV data."""
    return network_outputs(filters.from_inputs(*values[:8]), parse_alpha(values[8]), parse_count(values[9]))


def network_outputs(chosen: Filters, alpha: float, min_count: int) -> tuple[Any, ...]:
    """What :func:`update_network` returns, for filters already parsed (the layout uses it too)."""
    try:
        data = services.factor_network(chosen)
    except services.ServiceError as exc:
        failed = state_for_error(exc)
        return ([], legend_children([]), failed, "Graph: nothing shown.", [], [], failed, failed, None, None, None)
    view = build_view(data, alpha, min_count)
    banner = synthetic_note(data.synthetic)
    status = state(view.status, view.messages, banner=banner)
    tables = state("ok" if view.factor_rows else "empty",
                   [f"{plural(len(view.factor_rows), 'factor')}."], banner=banner)
    pairs = state("ok" if view.pair_rows else "empty",
                  [f"{plural(len(view.pair_rows), 'pair')}, {view.significant} significant at q ≤ {alpha:g}."],
                  banner=banner)
    return (view.elements, legend_children(view.kinds), status, view.summary, view.factor_rows, view.pair_rows,
            tables, pairs,
            panels.export_data(view.factor_rows, FACTOR_EXPORT, "factors"),
            panels.export_data(view.pair_rows, PAIR_EXPORT, "factor-pairs"),
            panels.export_data([e["data"] for e in view.elements], ["id", "label", "source", "target", "kind",
                                                                     "n_present", "n_ab", "lift", "q_value"],
                               "factor-network"))


def synthetic_note(names: list[str]) -> str | None:
    if not names:
        return None
    return (f"SYNTHETIC data: {', '.join(names)} (made by the synthetic generator; describes no real cases) "
            "is in this view.")


def card_link(uid: str) -> str:
    return f"[{uid}](/card?{urlencode({'uid': uid})})"


def show_cases(node: dict[str, Any] | None, edge: dict[str, Any] | None, *values: Any) -> tuple[Any, ...]:
    """Callback: the records behind the factor or link clicked last (the table back on its first page)."""
    return (*list_cases(edge if _edge_clicked() else (node or edge), filters.from_inputs(*values)), 0)


def _edge_clicked() -> bool:
    try:
        return any(t["prop_id"].endswith(".tapEdgeData") for t in dash.ctx.triggered)
    except MissingCallbackContextException:  # called directly (tests)
        return False


def list_cases(picked: dict[str, Any] | None, chosen: Filters) -> tuple[Any, ...]:
    """Selection text, table rows, state and CSV data for a clicked node's or edge's data."""
    if not picked:
        return "Click a factor or a link in the graph.", [], state("idle", ["Nothing selected yet."]), None
    uids = [picked["source"], picked["target"]] if "source" in picked else [picked["id"]]
    names = {e: picked.get(f"{e}_label") or picked.get(e) for e in ("source", "target")}
    what = (f"both {names['source']} and {names['target']}" if "source" in picked
            else str(picked.get("label") or picked["id"]))
    try:
        found = services.cases_behind(chosen, uids)
    except services.ServiceError as exc:
        return f"Records with {what}", [], state_for_error(exc), None
    rows = [{**r, "link": card_link(r["uid"]), "synthetic_text": "SYNTHETIC" if r.get("synthetic") else "no"}
            for r in found.rows]
    where = filters.describe(chosen).removeprefix("Showing ")
    text = f"Records with {what} present, for {where}: {found.total:,}."
    if not found.total:
        status = state("empty", [f"No data: no record has {what} present for these filters."])
    elif found.truncated:
        status = state("truncated", [f"Truncated: {found.total:,} records; the first {len(rows):,} (by uid) are "
                                     "listed and exported. Narrow the filters to see the rest."])
    else:
        status = state("ok", [f"{found.total:,} record(s)."])
    return text, rows, status, panels.export_data(found.rows, ["uid", "dataset", "year", "area_code", "synthetic"],
                                                  "homicides-behind-selection")


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/network", name="Factor network", title="Factor network · Micropathways",
                       layout=layout, order=1)
    filters.register(app, F, extra={"alpha": Input(ids.NET_ALPHA, "value"),
                                    "min_count": Input(ids.NET_MIN_COUNT, "value")})
    app.callback(
        Output(ids.NET_GRAPH, "elements"), Output(ids.NET_LEGEND, "children"), Output(ids.NET_STATUS, "children"),
        Output(ids.NET_SUMMARY, "children"), Output(ids.NET_FACTORS.table, "data"), Output(ids.NET_PAIRS.table, "data"),
        Output(ids.NET_FACTORS.status, "children"), Output(ids.NET_PAIRS.status, "children"),
        Output(ids.NET_FACTORS.data, "data"), Output(ids.NET_PAIRS.data, "data"), Output(ids.NET_PANEL.data, "data"),
        *filters.inputs(F), Input(ids.NET_ALPHA, "value"), Input(ids.NET_MIN_COUNT, "value"),
        prevent_initial_call=True,  # the layout already holds the first network
    )(update_network)
    app.callback(
        Output(ids.NET_SELECTION, "children"), Output(ids.NET_CASES.table, "data"),
        Output(ids.NET_CASES.status, "children"), Output(ids.NET_CASES.data, "data"),
        Output(ids.NET_CASES.table, "page_current"),
        Input(ids.NET_GRAPH, "tapNodeData"), Input(ids.NET_GRAPH, "tapEdgeData"), *filters.inputs(F),
    )(show_cases)
    panels.register_network_image(app, ids.NET_PANEL, ids.NET_GRAPH, "factor-network")
