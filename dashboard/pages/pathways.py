"""Page "/pathways": micropathways — which steps lead to which, which sequences recur, how fast conflicts escalate.

Everything comes from the pattern layer (``patterns.pathways`` through ``services.pathway_view``: one pull
of the filtered pathways per setting). The shared filter bar (dataset, years, area, motive, method,
relationship) and this page's own choices (group by motive or method, the two groups compared, the minimum
support of a sequence) are kept in the URL, so a view can be shared by link.

Panels (each with its state, a CSV download and, for charts, the image download of the chart's toolbar):

- **Transitions**: a Sankey diagram of event type → next event type; a link's width is the number of
  homicides whose pathway contains that transition, its hover text the prevalence (that number over all
  pathways). At most :data:`MAX_LINKS` links are drawn (the most prevalent); a repeat of the same type
  (``A → A``) cannot be drawn in a Sankey and is listed in the table only. The table lists every transition.
- **Frequent sequences, group A beside group B**: contiguous sequences (2–4 steps) with their support in
  each group; the chart shows the :data:`CHART_SEQUENCES` most supported.
- **Escalation times, group A beside group B**: first conflict step → fatal incident (minutes), as box
  plots on a log scale; the table gives the summary (quartiles, bands, share around five minutes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from dashboard import ids, panels, services
from dashboard.pages import attrs, labelled
from dashboard.pages import filters as filter_bar
from patterns.slices import Filters

MAX_LINKS = 40
CHART_SEQUENCES = 12
DEFAULT_SUPPORT = 0.05
GROUP_COLOURS = ("#1d4f91", "#b35900")  # group A, group B: both at least 4.5:1 on white
BY_OPTIONS = [{"label": "Motive", "value": "motive"}, {"label": "Method", "value": "method"}]
TRANSITION_COLUMNS = [
    {"name": "From", "id": "from_label"}, {"name": "To", "id": "to_label"},
    {"name": "Homicides", "id": "homicides", "type": "numeric"},
    {"name": "Prevalence", "id": "prevalence", "type": "numeric"},
    {"name": "Count", "id": "count", "type": "numeric"},
    {"name": "Probability", "id": "probability", "type": "numeric"},
    {"name": "Adjusted residual", "id": "residual", "type": "numeric"},
    {"name": "Above chance", "id": "above_chance"}, {"name": "Drawn", "id": "drawn"},
]
SEQUENCE_COLUMNS = [
    {"name": "Sequence", "id": "pattern_labels"}, {"name": "Steps", "id": "length", "type": "numeric"},
    {"name": "A homicides", "id": "a_homicides", "type": "numeric"},
    {"name": "A support", "id": "a_support", "type": "numeric"},
    {"name": "B homicides", "id": "b_homicides", "type": "numeric"},
    {"name": "B support", "id": "b_support", "type": "numeric"},
]
ESCALATION_STATS = ("pathways", "homicides", "share_with_conflict", "known", "median", "q1", "q3", "min", "max",
                    "under_5_min", "from_5_to_15_min", "from_15_to_60_min", "from_1_to_24_h", "over_24_h",
                    "share_under_5_min", "around_5_min", "share_around_5_min")
ESCALATION_COLUMNS = [{"name": "Measure", "id": "measure"}, {"name": "Group A", "id": "a", "type": "numeric"},
                      {"name": "Group B", "id": "b", "type": "numeric"}]


# ---- pure helpers (tested without a browser) ---------------------------------------------------
def rounded(value: Any, digits: int = 4) -> Any:
    return round(value, digits) if isinstance(value, float) else value


def group_options(view: services.PathwayView) -> list[dict[str, Any]]:
    """One option per group, largest first: ``label (n pathways)``; '' is 'none in the common scheme'."""
    rows = sorted(view.by_escalation, key=lambda r: (-int(r["pathways"]), str(r["group"])))
    return [{"label": f"{r['group_label'] or 'not coded'} ({r['pathways']} pathways)", "value": r["group"]}
            for r in rows]


def choose_groups(options: list[dict[str, Any]], a: Any, b: Any) -> tuple[Any, Any]:
    """Keep the chosen groups when they exist; else the two largest (B = A when there is only one)."""
    values = [o["value"] for o in options]
    if not values:
        return None, None
    a = a if a in values else values[0]
    rest = [v for v in values if v != a]
    b = b if b in values and b != a else (rest[0] if rest else a)
    return a, b


def transition_rows(view: services.PathwayView) -> tuple[list[dict[str, Any]], int]:
    """Every transition, most prevalent first, with ``drawn`` (yes/no) for the diagram; and how many drawn."""
    rows = sorted(view.transitions, key=lambda r: (-r["homicides"], r["from"], r["to"]))
    drawn = 0
    out = []
    for row in rows:
        draw = row["from"] != row["to"] and drawn < MAX_LINKS
        drawn += draw
        out.append({**{c["id"]: rounded(row.get(c["id"])) for c in TRANSITION_COLUMNS if c["id"] in row},
                    "above_chance": "yes" if row.get("above_chance") else "no", "drawn": "yes" if draw else "no",
                    "from": row["from"], "to": row["to"]})
    return out, drawn


def sankey_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """The transition diagram of the rows marked ``drawn`` (link value = homicides; hover = prevalence)."""
    drawn = [r for r in rows if r["drawn"] == "yes"]
    codes: dict[str, str] = {}
    for row in drawn:
        codes.setdefault(row["from"], row["from_label"])
        codes.setdefault(row["to"], row["to_label"])
    index = {code: i for i, code in enumerate(codes)}
    figure = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": list(codes.values()), "pad": 18, "thickness": 16, "color": "#9fb4d3",
              "line": {"color": "#1a1a1a", "width": 1}},
        link={"source": [index[r["from"]] for r in drawn], "target": [index[r["to"]] for r in drawn],
              "value": [r["homicides"] for r in drawn], "customdata": [r["prevalence"] for r in drawn],
              "color": "rgba(29, 79, 145, 0.35)",
              "hovertemplate": "%{source.label} → %{target.label}<br>%{value} homicides "
                               "(prevalence %{customdata:.1%})<extra></extra>"}))
    figure.update_layout(height=520, margin={"l": 10, "r": 10, "t": 10, "b": 10}, font={"color": "#1a1a1a", "size": 12})
    return figure


def sequence_rows(view: services.PathwayView, a: Any, b: Any) -> list[dict[str, Any]]:
    """Sequences frequent in group A or B, with homicides and support in each (0 where below the minimum)."""
    table: dict[str, dict[str, Any]] = {}
    for side, group in (("a", a), ("b", b)):
        for row in view.by_sequences:
            if row["group"] != group:
                continue
            entry = table.setdefault(row["pattern"], {
                "pattern": row["pattern"], "pattern_labels": row["pattern_labels"], "length": row["length"],
                "a_homicides": 0, "a_support": 0.0, "b_homicides": 0, "b_support": 0.0})
            entry[f"{side}_homicides"], entry[f"{side}_support"] = row["homicides"], rounded(row["support"])
    return sorted(table.values(), key=lambda r: (-max(r["a_support"], r["b_support"]), r["pattern"]))


def group_label(view: services.PathwayView, group: Any) -> str:
    for row in view.by_escalation:
        if row["group"] == group:
            return str(row["group_label"] or "not coded")
    return str(group)


def sequence_figure(rows: list[dict[str, Any]], label_a: str, label_b: str) -> go.Figure:
    top = list(reversed(rows[:CHART_SEQUENCES]))
    names = [r["pattern_labels"] for r in top]
    figure = go.Figure([
        go.Bar(y=names, x=[r["a_support"] for r in top], name=f"A: {label_a}", orientation="h",
               marker_color=GROUP_COLOURS[0]),
        go.Bar(y=names, x=[r["b_support"] for r in top], name=f"B: {label_b}", orientation="h",
               marker_color=GROUP_COLOURS[1]),
    ])
    figure.update_layout(barmode="group", height=max(320, 40 * len(top) + 80), template="plotly_white",
                         xaxis={"title": "support (share of the group's pathways)", "tickformat": ".0%"},
                         margin={"l": 10, "r": 10, "t": 10, "b": 50}, legend={"orientation": "h", "y": -0.2},
                         yaxis={"automargin": True}, font={"color": "#1a1a1a"})
    return figure


def escalation_rows(view: services.PathwayView, a: Any, b: Any) -> list[dict[str, Any]]:
    """The escalation summary of groups A and B side by side, one measure per row."""
    by_group = {r["group"]: r for r in view.by_escalation}
    ra, rb = by_group.get(a, {}), by_group.get(b, {})
    return [{"measure": m, "a": rounded(ra.get(m)), "b": rounded(rb.get(m))} for m in ESCALATION_STATS]


def escalation_figure(view: services.PathwayView, a: Any, b: Any, label_a: str, label_b: str) -> go.Figure:
    figure = go.Figure()
    for side, group, label, colour in (("A", a, label_a, GROUP_COLOURS[0]), ("B", b, label_b, GROUP_COLOURS[1])):
        minutes = [r["minutes"] for r in view.by_times if r["group"] == group and r["minutes"] is not None
                   and r["minutes"] > 0]
        figure.add_trace(go.Box(y=minutes, name=f"{side}: {label}", marker_color=colour, boxpoints="outliers"))
    figure.update_layout(yaxis={"type": "log", "title": "minutes from first conflict to fatal incident (log)"},
                         template="plotly_white", height=380, showlegend=False,
                         margin={"l": 60, "r": 10, "t": 10, "b": 40}, font={"color": "#1a1a1a"})
    return figure


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def compute(chosen: Filters, by: str, a: Any, b: Any, support: float) -> dict[str, Any]:
    """Every output of the page for one setting (a dict of component values; no Dash context needed
    beyond the service)."""
    try:
        view = services.pathway_view(chosen, by or "motive", min_support=support)
    except services.ServiceError as exc:
        failed = panels.state_for_error(exc)
        return {"state": failed, "options": [], "a": None, "b": None, "empty": True}
    options = group_options(view)
    a, b = choose_groups(options, a, b)
    banner = "Includes SYNTHETIC data" if view.synthetic else None
    if view.pathways == 0:
        message = (f"No data: no micropathways for {chosen.describe()}. Only coded data records prior events "
                   "(London, SHR and GVA record none); choose a coded dataset or widen the filters.")
        return {"state": panels.state("empty", [message], banner=banner), "options": options, "a": a, "b": b,
                "empty": True}
    label_a, label_b = group_label(view, a), group_label(view, b)
    t_rows, drawn = transition_rows(view)
    t_messages = [f"{plural(len(t_rows), 'transition')} in {plural(view.pathways, 'pathway')} "
                  f"({view.elapsed_s:.2f} s)."]
    t_kind = "ok"
    if drawn < len(t_rows):
        t_kind = "truncated"
        t_messages.append(f"The diagram draws the {drawn} most prevalent transitions between different types "
                          f"(at most {MAX_LINKS}; a repeat such as A → A cannot be drawn); the table lists all "
                          f"{len(t_rows)}.")
    s_rows = sequence_rows(view, a, b)
    e_rows = escalation_rows(view, a, b)
    s_messages = [f"{plural(len(s_rows), 'sequence')} with support of at least {support:.0%} in A: {label_a} "
                  f"or B: {label_b}."]
    s_kind = "ok" if s_rows else "empty"
    if len(s_rows) > CHART_SEQUENCES:
        s_messages.append(f"The chart shows the {CHART_SEQUENCES} most supported; the table lists all.")
    known = {r["measure"]: r for r in e_rows}["known"]
    e_kind = "ok" if (known["a"] or known["b"]) else "empty"
    e_messages = [f"Escalation times known for {known['a'] or 0} pathways of A: {label_a} and {known['b'] or 0} "
                  f"of B: {label_b}."]
    return {
        "empty": False, "options": options, "a": a, "b": b,
        "t_state": panels.state(t_kind, t_messages, banner=banner), "t_figure": sankey_figure(t_rows),
        "t_rows": t_rows,
        "t_data": panels.export_data(t_rows, [c["id"] for c in TRANSITION_COLUMNS] + ["from", "to"],
                                     "pathway-transitions"),
        "s_state": panels.state(s_kind, s_messages, banner=banner),
        "s_figure": sequence_figure(s_rows, label_a, label_b), "s_rows": s_rows,
        "s_data": panels.export_data(s_rows, [c["id"] for c in SEQUENCE_COLUMNS] + ["pattern"],
                                     f"sequences-{by}-{a}-vs-{b}"),
        "e_state": panels.state(e_kind, e_messages, banner=banner),
        "e_figure": escalation_figure(view, a, b, label_a, label_b), "e_rows": e_rows,
        "e_data": panels.export_data(e_rows, ["measure", "a", "b"], f"escalation-{by}-{a}-vs-{b}"),
        "summary": f"Comparing A: {label_a} with B: {label_b} (grouped by {by}).",
    }


# ---- layout ------------------------------------------------------------------------------------
def parse_support(value: Any) -> float:
    try:
        support = float(value)
    except (TypeError, ValueError):
        return DEFAULT_SUPPORT
    return support if 0 < support <= 1 else DEFAULT_SUPPORT


def layout(**query: Any) -> html.Div:
    chosen = filter_bar.from_query(query)
    by = query.get("by") if query.get("by") in ("motive", "method") else "motive"
    F = ids.PW_FILTERS
    return html.Div([
        html.H1("Micropathways"),
        html.P("Which steps lead to which before a homicide, which sequences recur in a group, and how long "
               "the escalation from the first conflict to the fatal incident takes. Pick two groups to compare."),
        filter_bar.filter_bar(F, chosen),
        html.Div([
            labelled("Group by", ids.PW_BY, dcc.RadioItems(id=ids.PW_BY, options=BY_OPTIONS, value=by, inline=True,
                                                          inputStyle={"marginRight": "0.3rem"},
                                                          labelStyle={"marginRight": "1rem"}), width="12rem"),
            labelled("Group A", ids.PW_GROUP_A, dcc.Dropdown(id=ids.PW_GROUP_A, options=[], value=query.get("a"),
                                                             clearable=False), width="22rem"),
            labelled("Group B", ids.PW_GROUP_B, dcc.Dropdown(id=ids.PW_GROUP_B, options=[], value=query.get("b"),
                                                             clearable=False), width="22rem"),
            labelled("Minimum support", ids.PW_SUPPORT, dcc.Input(
                id=ids.PW_SUPPORT, type="number", min=0.001, max=1, step=0.01,
                value=parse_support(query.get("support")), debounce=True), width="10rem",
                hint="Share of a group's pathways (0–1)."),
        ], className="mp-form", role="group", **attrs(aria_label="Groups to compare")),
        html.P(id=ids.PW_SUMMARY, className="mp-summary"),
        panels.panel(ids.PW_TRANSITIONS, "Transitions between event types", *panels.chart(
            ids.PW_TRANSITIONS, ids.PW_DIAGRAM, TRANSITION_COLUMNS, height=540),
            description="Link width: homicides whose pathway contains the step from one type to the next. "
                        "Prevalence: that number over all pathways shown."),
        panels.panel(ids.PW_SEQUENCES, "Frequent sequences: group A beside group B", *panels.chart(
            ids.PW_SEQUENCES, ids.PW_SEQUENCE_CHART, SEQUENCE_COLUMNS, height=460),
            description="Contiguous sequences of 2–4 steps; support is the share of the group's pathways "
                        "containing the sequence."),
        panels.panel(ids.PW_ESCALATION, "Escalation times: group A beside group B", *panels.chart(
            ids.PW_ESCALATION, ids.PW_ESCALATION_CHART, ESCALATION_COLUMNS, height=400),
            description="Minutes from the first conflict step (prior dispute, argument, threat, fight, …) to the "
                        "fatal incident, for pathways that have one."),
    ])


# ---- callbacks ---------------------------------------------------------------------------------
OUTPUTS = (
    (ids.PW_GROUP_A, "options"), (ids.PW_GROUP_A, "value"), (ids.PW_GROUP_B, "options"), (ids.PW_GROUP_B, "value"),
    (ids.PW_SUMMARY, "children"),
    (ids.PW_TRANSITIONS.status, "children"), (ids.PW_DIAGRAM, "figure"), (ids.PW_TRANSITIONS.table, "data"),
    (ids.PW_TRANSITIONS.data, "data"),
    (ids.PW_SEQUENCES.status, "children"), (ids.PW_SEQUENCE_CHART, "figure"), (ids.PW_SEQUENCES.table, "data"),
    (ids.PW_SEQUENCES.data, "data"),
    (ids.PW_ESCALATION.status, "children"), (ids.PW_ESCALATION_CHART, "figure"), (ids.PW_ESCALATION.table, "data"),
    (ids.PW_ESCALATION.data, "data"),
)


def outputs(shown: Mapping[str, Any]) -> tuple[Any, ...]:
    """The component values, in :data:`OUTPUTS` order."""
    head = (shown["options"], shown["a"], shown["options"], shown["b"])
    if shown["empty"]:
        blank = panels.empty_figure("No data")
        per_panel: tuple[Any, ...] = (shown["state"], blank, [], None)
        return (*head, "", *per_panel, *per_panel, *per_panel)
    return (*head, shown["summary"],
            shown["t_state"], shown["t_figure"], shown["t_rows"], shown["t_data"],
            shown["s_state"], shown["s_figure"], shown["s_rows"], shown["s_data"],
            shown["e_state"], shown["e_figure"], shown["e_rows"], shown["e_data"])


def update(*values: Any) -> tuple[Any, ...]:
    chosen = filter_bar.from_inputs(*values[:8])
    by, a, b, support = values[8:12]
    return outputs(compute(chosen, by, a, b, parse_support(support)))


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/pathways", name="Micropathways", title="Micropathways · Micropathways",
                       layout=layout, order=2)
    page_inputs = {"by": Input(ids.PW_BY, "value"), "a": Input(ids.PW_GROUP_A, "value"),
                   "b": Input(ids.PW_GROUP_B, "value"), "support": Input(ids.PW_SUPPORT, "value")}
    filter_bar.register(app, ids.PW_FILTERS, extra=page_inputs)
    app.callback(
        *[Output(cid, prop) for cid, prop in OUTPUTS],
        *filter_bar.inputs(ids.PW_FILTERS), *page_inputs.values(),
    )(update)


