"""Page "/card": one homicide's card and the homicides most like it (``/card?uid=london-mps:123``).

The card is the saved query ``homicide_card`` (coded factors present and coded absent, motive, method,
relationship, area, suspects, victims' age group and sex only); the micropathway is ``pathway_of_homicide``,
drawn as a timeline (minutes before the homicide) and listed step by step; the most similar homicides
come from ``patterns.similarity`` (coding-aware Jaccard over factors, motive, method and event types),
each with the features it shares with this one and a link to its own card.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash
from dash import Input, Output, State, dcc, html
from dash.dash_table.Format import Format, Scheme

from dashboard import ids, panels, services
from dashboard.pages import attrs, data_table, labelled
from dashboard.panels import panel, state, state_for_error

SIMILAR_K = 10
SYNTHETIC_NOTE = "SYNTHETIC: made by the generator, no real case"
TIMELINE_GRAPH = "card-timeline-chart"
SIMILAR_COLUMNS: list[dict[str, Any]] = [
    {"name": "Record (opens its card)", "id": "link", "presentation": "markdown"},
    {"name": "Dataset", "id": "dataset"}, {"name": "Year", "id": "year", "type": "numeric"},
    {"name": "Similarity (Jaccard)", "id": "jaccard", "type": "numeric", "format": Format(precision=2,
                                                                                          scheme=Scheme.fixed)},
    {"name": "Shared", "id": "n_shared", "type": "numeric"}, {"name": "What they share", "id": "shared_text"},
]
STEP_COLUMNS: list[dict[str, Any]] = [
    {"name": "Step", "id": "step", "type": "numeric"}, {"name": "Event", "id": "source_caption"},
    {"name": "Common type", "id": "type_code"},
    {"name": "Minutes before the homicide", "id": "minutes_before", "type": "numeric"},
    {"name": "Minutes to the next step", "id": "minutes", "type": "numeric"},
]


def card_href(uid: str) -> str:
    return f"/card?{urlencode({'uid': uid})}"


def _text(values: Any, empty: str = "not recorded") -> str:
    items = [str(v) for v in (values or []) if v not in (None, "")]
    return ", ".join(items) if items else empty


def chips(values: Any, empty: str) -> Any:
    items = [str(v) for v in values or [] if v not in (None, "")]
    if not items:
        return html.Span(empty, className="mp-hint")
    return html.Ul([html.Li(v, className="mp-chip") for v in items], className="mp-badges")


def facts(row: dict[str, Any]) -> list[Any]:
    """The card as a description list (term, value)."""
    victims = "; ".join(f"victim {v.get('position')}: {v.get('age_group') or 'age not recorded'}, "
                        f"{v.get('sex') or 'sex not recorded'}" for v in row.get("victims") or [] if v)
    when = row.get("year")
    if row.get("month"):
        when = f"{row.get('year')}-{int(row['month']):02d}"
    pairs: list[tuple[str, Any]] = [
        ("Record", row["uid"]),
        ("Dataset", f"{row['dataset']} ({SYNTHETIC_NOTE if row.get('synthetic') else 'real data'})"),
        ("When", when if when is not None else "not recorded"),
        ("Factors present", chips(row.get("factors_present"), "none coded present")),
        ("Factors coded absent", chips(row.get("factors_absent"), "none coded absent")),
        ("Motive", _text(row.get("motives"))), ("Method", _text(row.get("methods"))),
        ("Victim–suspect relationship", _text(row.get("relationships"))), ("Area", _text(row.get("areas"))),
        ("Offence", row.get("offence_type") or row.get("kind") or "homicide"),
        ("Solved", {True: "yes", False: "no"}.get(row.get("solved"), "not recorded")),  # type: ignore[arg-type]
        ("Suspects", row.get("suspects")), ("Victims", victims or "not recorded"),
        ("Micropathway steps", row.get("pathway_steps")),
        ("Coding frame", row.get("coding_frame_version") or "not recorded"),
    ]
    out: list[Any] = []
    for term, value in pairs:
        out += [html.Dt(term), html.Dd(value)]
    return [html.Dl(out, className="mp-facts")]


def timeline_figure(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Steps on a time axis (minutes before the homicide, the homicide at 0)."""
    if not steps:
        return panels.empty_figure("No micropathway recorded")
    xs = [-(s.get("minutes_before") or 0) for s in steps] + [0]
    labels = [f"{s['step']}. {s['source_caption']}" for s in steps] + ["Homicide"]
    return {"data": [{"type": "scatter", "mode": "lines+markers+text", "x": xs, "y": [0] * len(xs), "text": labels,
                      "textposition": ["top center" if i % 2 == 0 else "bottom center" for i in range(len(xs))],
                      "marker": {"size": 12, "color": ["#1d4f91"] * len(steps) + ["#b00020"]},
                      "line": {"color": "#4a4f57"}, "hovertemplate": "%{text}: %{x} min<extra></extra>"}],
            "layout": {"xaxis": {"title": {"text": "Minutes before the homicide (0 = the homicide)"},
                                 "zeroline": False, "gridcolor": "#e3e6ea"},
                       "yaxis": {"visible": False, "range": [-1, 1]}, "showlegend": False,
                       "margin": {"l": 30, "r": 30, "t": 10, "b": 50}, "plot_bgcolor": "#ffffff"}}


def timeline_list(steps: list[dict[str, Any]]) -> Any:
    if not steps:
        return html.P("No micropathway steps are recorded for this homicide.", className="mp-hint")
    items = [html.Li(f"Step {s['step']}: {s['source_caption']} — "
                     f"{_minutes(s.get('minutes_before'))} before the homicide") for s in steps]
    return html.Ol([*items, html.Li("The homicide")], className="mp-timeline")


def _minutes(value: Any) -> str:
    return "time not recorded" if value is None else f"{value:g} min" if isinstance(value, float) else f"{value} min"


# ---- layout -------------------------------------------------------------------------------------------
def layout(uid: str | None = None, **_other: Any) -> html.Div:
    return html.Div([
        dcc.Location(id=ids.CARD_URL, refresh=False),
        html.H1("Homicide card"),
        html.P("One homicide's coded factors, motive, method, area and micropathway, and the homicides most "
               "like it. Open one by its record uid, or click a record on the factor network."),
        html.Div([
            labelled("Record uid", ids.CARD_UID, dcc.Input(id=ids.CARD_UID, type="text", value=uid or "",
                                                          placeholder="e.g. london-mps:1", debounce=True),
                     width="24rem", hint="Press Enter or Open."),
            html.Button("Open", id=ids.CARD_OPEN, className="mp-button", n_clicks=0),
        ], className="mp-form", role="group", **attrs(aria_label="Choose a homicide")),
        panel(ids.CARD_PANEL, "The homicide", html.Div(id=ids.CARD_FACTS)),
        panel(ids.CARD_TIMELINE, "Micropathway",
              dcc.Graph(id=TIMELINE_GRAPH, figure=panels.empty_figure(), config=panels.graph_config("micropathway"),
                  style={"height": "220px"}),
              html.Div(id=ids.CARD_TIMELINE.body),
              html.Details([html.Summary("The numbers behind this chart"),
                            data_table(ids.CARD_TIMELINE.table, STEP_COLUMNS, ids.CARD_TIMELINE.heading)],
                           className="mp-details"),
              description="The prior events, in order, with the minutes before the homicide."),
        panel(ids.CARD_SIMILAR, "Most similar homicides",
              data_table(ids.CARD_SIMILAR.table, SIMILAR_COLUMNS, ids.CARD_SIMILAR.heading, page_size=10),
              description="Coding-aware Jaccard similarity over factors present, motive, method and micropathway "
                          "event types (a factor counts only where both records coded it)."),
    ])


# ---- callbacks ----------------------------------------------------------------------------------------
def show_card(_clicks: Any, uid: str | None, search: str | None) -> tuple[Any, ...]:
    """Facts, timeline, similar homicides (each with state and CSV data), and the URL."""
    uid = (uid or "").strip()
    wanted = f"?{urlencode({'uid': uid})}" if uid else ""
    url = dash.no_update if wanted == (search or "") else wanted
    idle = state("idle", ["Enter a record uid to open its card."])
    if not uid:
        return ([], idle, None, panels.empty_figure(), [], [], idle, None, [], idle, None, url)
    try:
        card = services.homicide_card(uid)
    except services.ServiceError as exc:
        failed = state_for_error(exc)
        return ([], failed, None, panels.empty_figure(), [], [], failed, None, [], failed, None, url)
    if not card.rows:
        missing = state("empty", [f"No data: there is no record {uid!r} in this database. Check the uid "
                                  "(dataset:case id), e.g. from the factor network's lists."])
        return ([], missing, None, panels.empty_figure(), [], [], missing, None, [], missing, None, url)
    row = card.rows[0]
    banner = "SYNTHETIC record: made by the generator; it describes no real case." if row.get("synthetic") else None
    out: list[Any] = [facts(row), state("ok", [f"Record {uid} from {row['dataset']}."], banner=banner),
                      panels.export_data([row], list(row), f"card-{_safe(uid)}")]
    out += _timeline(uid)
    out += _similar(uid)
    return (*out, url)


def _timeline(uid: str) -> list[Any]:
    try:
        steps = services.pathway(uid).rows
    except services.ServiceError as exc:
        return [panels.empty_figure(), [], [], state_for_error(exc), None]
    status = (state("ok", [f"{len(steps)} step(s)."]) if steps
              else state("empty", ["No data: no micropathway steps are recorded for this record."]))
    return [timeline_figure(steps), timeline_list(steps), steps, status,
            panels.export_data(steps, [c["id"] for c in STEP_COLUMNS], f"micropathway-{_safe(uid)}")]


def _similar(uid: str) -> list[Any]:
    try:
        rows = services.similar(uid, k=SIMILAR_K)
    except services.ServiceError as exc:
        return [[], state_for_error(exc), None]
    shown = [{**r, "link": f"[{r['uid']}]({card_href(r['uid'])})", "shared_text": "; ".join(r["shared"])}
             for r in rows]
    status = (state("ok", [f"The {len(rows)} most similar records (of every dataset)."]) if rows
              else state("empty", ["No data: no other record shares a factor, motive, method or event type."]))
    return [shown, status, panels.export_data(rows, ["uid", "dataset", "year", "jaccard", "n_shared", "shared"],
                                              f"similar-to-{_safe(uid)}")]


def _safe(uid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in uid)


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/card", name="Homicide card", title="Homicide card · Micropathways",
                       layout=layout, order=3)
    app.callback(
        Output(ids.CARD_FACTS, "children"), Output(ids.CARD_PANEL.status, "children"),
        Output(ids.CARD_PANEL.data, "data"),
        Output(TIMELINE_GRAPH, "figure"), Output(ids.CARD_TIMELINE.body, "children"),
        Output(ids.CARD_TIMELINE.table, "data"), Output(ids.CARD_TIMELINE.status, "children"),
        Output(ids.CARD_TIMELINE.data, "data"),
        Output(ids.CARD_SIMILAR.table, "data"), Output(ids.CARD_SIMILAR.status, "children"),
        Output(ids.CARD_SIMILAR.data, "data"), Output(ids.CARD_URL, "search"),
        Input(ids.CARD_OPEN, "n_clicks"), Input(ids.CARD_UID, "value"), State(ids.CARD_URL, "search"),
    )(show_card)
