"""Page "/links": links between two datasets — the links of a run, their confidence, the records on each side.

Choose the left and the right dataset (only pairs that link runs connect, read from the graph: saved query
``links_runs``), a run between them and a minimum match probability; the choice is kept in the URL
(``/links?left=shr&right=gva&run=linkrun:…&min=0.8``), so a view is shared by copying the address.

Panels (each with its state, CSV download and, for the chart, PNG from the chart's camera button):

- **Links at the usual thresholds**: links of the run at match probability 0.5 / 0.8 / 0.95 / 0.99 and at the
  chosen minimum, the review counts and the records linked on each side (``links_summary``);
- **Match probabilities**: a histogram of every link of the run (bins of 0.05), the chosen minimum marked;
  the numbers behind it in a table;
- **Links**: saved query ``links_between`` at the chosen minimum (left record, right record, method,
  probability, weight, agreed fields, status, run); choose one (its radio button, or click a cell);
- **The two records side by side**: their linkage fields (``linkage.api.linked_records``), the fields on
  which the run found them to agree highlighted (and said in words); analysts and admins accept or reject
  the link there (``linkage.runs.review_links``, audited).

Links show single records, so the page is not for the partner role (``access/roles.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlencode

import dash
from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.dash_table.DataTable import DataTable
from dash.exceptions import PreventUpdate

from access import roles
from dashboard import auth, ids, panels, services
from dashboard.pages import FONT_STACK, attrs, labelled
from dashboard.panels import chart, panel, state, state_for_error

THRESHOLDS = (0.5, 0.8, 0.95, 0.99)
DEFAULT_MIN = 0.5
TABLE_ROWS = 2000  # links drawn in the table (the CSV has every link the query returned)
ACCENT = "#1d4f91"
AGREED_BACKGROUND = "#d7ecdc"
DISABLED_LOOK = {"opacity": 0.55, "cursor": "not-allowed"}
LINK_COLUMNS = [
    {"name": "Left record", "id": "left_uid"}, {"name": "Right record", "id": "right_uid"},
    {"name": "Method", "id": "link_method"},
    {"name": "Probability", "id": "match_probability", "type": "numeric"},
    {"name": "Weight", "id": "match_weight", "type": "numeric"},
    {"name": "Agreed fields", "id": "agreed_fields"}, {"name": "Status", "id": "status"},
    {"name": "Reviewer", "id": "reviewer"}, {"name": "Run", "id": "run"},
]
LINK_EXPORT = ["run", "left_dataset", "left_uid", "right_dataset", "right_uid", "link_method", "match_probability",
               "match_weight", "agreed_fields", "threshold", "status", "reviewer", "left_year", "left_month",
               "right_year", "right_month"]
BIN_COLUMNS = [{"name": "From", "id": "low", "type": "numeric"}, {"name": "To", "id": "high", "type": "numeric"},
               {"name": "Links", "id": "links", "type": "numeric"}]
COUNT_COLUMNS = [{"name": "Measure", "id": "measure"}, {"name": "Count", "id": "count", "type": "numeric"},
                 {"name": "Share of the run's links", "id": "share", "type": "numeric"}]
RECORD_COLUMNS = [{"name": "Field", "id": "field"}, {"name": "Left record", "id": "left"},
                  {"name": "Right record", "id": "right"}, {"name": "Agreement", "id": "agreement"}]
FIELD_ORDER = ("uid", "dataset", "label", "case_id", "pseudonymous_ref", "year", "month", "iccs", "kind",
               "victim_count", "area")
PEOPLE_FIELDS = ("victim_age", "victim_age_band", "victim_sex", "suspect_age", "suspect_age_band", "suspect_sex",
                 "method")


# ---- choices: pairs and runs that the graph holds ------------------------------------------------
def parse_min(value: Any) -> float:
    """A minimum probability from the URL or the slider (default 0.5 when missing or not in [0, 1])."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return DEFAULT_MIN
    return number if math.isfinite(number) and 0.0 <= number <= 1.0 else DEFAULT_MIN


def run_label(run: Mapping[str, Any]) -> str:
    threshold = run.get("threshold")
    chosen = f", threshold {threshold:g}" if isinstance(threshold, (int, float)) else ""
    return f"{run['link_method']}{chosen}, {run.get('link_count') or 0:,} links — {run['run']}"


def choices(runs: list[dict[str, Any]], left: Any, right: Any, run: Any) -> dict[str, Any]:
    """Options and values of the three dropdowns: a chosen value is kept when the graph has it, else the
    first available (left datasets, then right datasets linked from the left, then their runs)."""
    lefts = sorted({str(r["left_dataset"]) for r in runs})
    left = left if left in lefts else (lefts[0] if lefts else None)
    rights = sorted({str(r["right_dataset"]) for r in runs if r["left_dataset"] == left})
    right = right if right in rights else (rights[0] if rights else None)
    pair_runs = [r for r in runs if r["left_dataset"] == left and r["right_dataset"] == right]
    run_ids = [str(r["run"]) for r in pair_runs]
    run = run if run in run_ids else (run_ids[0] if run_ids else None)
    return {"left_options": [{"label": d, "value": d} for d in lefts], "left": left,
            "right_options": [{"label": d, "value": d} for d in rights], "right": right,
            "run_options": [{"label": run_label(r), "value": str(r["run"])} for r in pair_runs], "run": run}


def to_search(left: Any, right: Any, run: Any, minimum: float) -> str:
    pairs = {k: v for k, v in (("left", left), ("right", right), ("run", run)) if v}
    pairs["min"] = f"{minimum:g}"
    return "?" + urlencode(pairs)


def describe(left: Any, right: Any, run: Any, minimum: float) -> str:
    if not (left and right and run):
        return "No link run chosen."
    return f"Showing links from {left} to {right} of run {run} with match probability ≥ {minimum:g}."


# ---- what the panels show ---------------------------------------------------------------------
def rounded(value: Any, digits: int) -> Any:
    return round(value, digits) if isinstance(value, float) else value


def link_rows(view: services.LinkView) -> list[dict[str, Any]]:
    """The table's rows: every column of the query, probabilities rounded, and a row id for selection."""
    return [{**row, "match_probability": rounded(row.get("match_probability"), 4),
             "match_weight": rounded(row.get("match_weight"), 3), "id": row_id(row)} for row in view.links]


def row_id(row: Mapping[str, Any]) -> str:
    return f"{row['run']}|{row['left_uid']}|{row['right_uid']}"


def count_rows(view: services.LinkView) -> list[dict[str, Any]]:
    """Links at the usual thresholds (exact, from links_summary), at the chosen minimum, reviews, records."""
    summary = view.summary
    total = int(summary.get("links") or 0)

    def share(n: int) -> float | None:
        return round(n / total, 4) if total else None

    rows = [{"measure": "links in the run", "count": total, "share": share(total)}]
    for threshold in THRESHOLDS:
        n = int(summary.get(f"at_{str(threshold).replace('.', '_')}") or 0)
        rows.append({"measure": f"probability ≥ {threshold:g}", "count": n, "share": share(n)})
    chosen = len(view.links)
    rows.append({"measure": f"probability ≥ {view.min_probability:g} (chosen minimum"
                            f"{', at least: the list is cut' if view.truncated else ''})",
                 "count": chosen, "share": share(chosen)})
    for status in ("proposed", "accepted", "rejected"):
        n = int(summary.get(status) or 0)
        rows.append({"measure": status, "count": n, "share": share(n)})
    rows += [{"measure": f"{view.left} records linked", "count": int(summary.get("left_records") or 0),
              "share": None},
             {"measure": f"{view.right} records linked", "count": int(summary.get("right_records") or 0),
              "share": None}]
    return rows


def bin_rows(view: services.LinkView) -> list[dict[str, Any]]:
    return [{"low": round(float(b["low"]), 2), "high": round(float(b["high"]), 2), "links": int(b["links"])}
            for b in view.histogram]


def histogram_figure(bins: list[dict[str, Any]], minimum: float) -> dict[str, Any]:
    """Bars over [0, 1] (bins of equal width), the chosen minimum as a dashed line."""
    width = (bins[0]["high"] - bins[0]["low"]) if bins else 0.05
    return {
        "data": [{"type": "bar", "x": [(b["low"] + b["high"]) / 2 for b in bins], "y": [b["links"] for b in bins],
                  "width": [width * 0.95] * len(bins), "marker": {"color": ACCENT}, "name": "links",
                  "customdata": [[b["low"], b["high"]] for b in bins],
                  "hovertemplate": "%{customdata[0]:.2f}–%{customdata[1]:.2f}: %{y:,} links<extra></extra>"}],
        "layout": {"xaxis": {"title": {"text": "Match probability"}, "range": [0, 1.0], "dtick": 0.1,
                             "gridcolor": "#e3e6ea"},
                   "yaxis": {"title": {"text": "Links"}, "gridcolor": "#e3e6ea", "rangemode": "tozero"},
                   "shapes": [{"type": "line", "x0": minimum, "x1": minimum, "yref": "paper", "y0": 0, "y1": 1,
                               "line": {"color": "#b35900", "width": 2, "dash": "dash"}}],
                   "annotations": [{"x": minimum, "yref": "paper", "y": 1.0, "text": f"minimum {minimum:g}",
                                    "showarrow": False, "xanchor": "right", "yanchor": "bottom",
                                    "font": {"color": "#7a3e00"}}],
                   "margin": {"l": 60, "r": 10, "t": 30, "b": 50}, "plot_bgcolor": "#ffffff", "bargap": 0.05},
    }


def agreement(agreed_fields: Any) -> dict[str, str]:
    """Field -> what agreed: ``month|victim_age~1`` -> {"month": "agreed", "victim_age": "agreed within 1"}."""
    out: dict[str, str] = {}
    for part in str(agreed_fields or "").split("|"):
        name, _, within = part.strip().partition("~")
        if name:
            out[name] = f"agreed within {within}" if within else "agreed"
    return out


def shown(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def record_rows(pair: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per linkage field of either record: left value, right value, and whether the run found them
    to agree (fields the run did not compare are blank)."""
    left, right = pair["left"], pair["right"]
    agreed = agreement(pair["link"].get("agreed_fields"))
    names = set(left) | set(right)
    areas = sorted(n for n in names if n.startswith("area_"))
    rest = sorted(names - set(FIELD_ORDER) - set(PEOPLE_FIELDS) - set(areas))
    order = [n for n in (*FIELD_ORDER, *areas, *PEOPLE_FIELDS, *rest) if n in names]
    return [{"field": name, "left": shown(left.get(name)), "right": shown(right.get(name)),
             "agreement": agreed.get(name, "")} for name in order]


def pair_heading(pair: Mapping[str, Any]) -> str:
    link = pair["link"]
    probability = link.get("match_probability")
    weight = link.get("match_weight")
    parts = [f"{link['left_uid']} ({link['left_dataset']}) ↔ {link['right_uid']} ({link['right_dataset']})",
             f"{link['link_method']} link, probability {probability:.4f}" if isinstance(probability, float)
             else f"{link['link_method']} link"]
    if isinstance(weight, float):
        parts.append(f"match weight {weight:.3f}")
    parts.append(f"status {link['status']}" + (f" (by {link['reviewer']})" if link.get("reviewer") else ""))
    return "; ".join(parts) + "."


# ---- computing a view ---------------------------------------------------------------------------
def view_outputs(left: Any, right: Any, run: Any, minimum: float) -> tuple[Any, ...]:
    """Counts (status, rows, CSV), histogram (status, figure, rows, CSV), links (status, rows, CSV)."""
    if not (left and right and run):
        message = ("No data: the graph holds no link runs. Link two loaded datasets first, e.g. `micropath link "
                   "run --left A --right B --method deterministic --keys pseudonymous_ref`, then reload.")
        empty = state("empty", [message])
        return (empty, [], None, empty, panels.empty_figure("No link runs"), [], None, empty, [], None)
    try:
        view = services.link_view(str(left), str(right), str(run), minimum)
    except services.ServiceError as exc:
        failed = state_for_error(exc)
        return (failed, [], None, failed, panels.empty_figure("No data"), [], None, failed, [], None)
    counts = count_rows(view)
    bins = bin_rows(view)
    rows = link_rows(view)
    name = f"links-{left}-{right}"
    total = int(view.summary.get("links") or 0)
    c_state = state("ok", [f"{total:,} links in run {run}; {len(view.links):,}"
                           f"{' or more' if view.truncated else ''} at probability ≥ {minimum:g}."])
    if total:
        h_state = state("ok", [f"Match probabilities of all {total:,} links of the run, in bins of 0.05; the dashed "
                               f"line is the chosen minimum ({minimum:g})."])
    else:
        h_state = state("empty", ["No data: this run holds no links (its records agreed on nothing)."])
    if view.histogram_truncated:
        h_state = state("truncated", [f"Truncated: the run has more than {view.max_rows:,} links; the histogram "
                                      f"counts the {view.max_rows:,} most probable. The counts at the usual "
                                      "thresholds (panel above) are exact."])
    l_state = links_state(view, len(rows))
    return (c_state, counts, panels.export_data(counts, ["measure", "count", "share"], f"{name}-counts"),
            h_state, histogram_figure(bins, minimum), bins,
            panels.export_data(bins, ["low", "high", "links"], f"{name}-probabilities"),
            l_state, rows[:TABLE_ROWS], panels.export_data(view.links, LINK_EXPORT, name))


def links_state(view: services.LinkView, rows: int) -> Any:
    if rows == 0:
        return state("empty", [f"No data: no link of this run has match probability ≥ {view.min_probability:g}. "
                               "Lower the minimum probability."])
    messages = [f"{rows:,} links with match probability ≥ {view.min_probability:g}, highest first "
                f"({view.elapsed_s:.2f} s). Choose one (its radio button, or click a cell) to see both records."]
    if view.truncated:
        messages.append(f"Truncated: the query stops at {view.max_rows:,} links; raise the minimum probability to "
                        "see the rest, or list them with `micropath link list --format csv`.")
        return state("truncated", messages)
    if rows > TABLE_ROWS:
        messages.append(f"Truncated: the table shows the {TABLE_ROWS:,} most probable; Download CSV has all "
                        f"{rows:,}.")
        return state("truncated", messages)
    return state("ok", messages)


def pair_outputs(chosen: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """Records panel: status, heading line, rows, CSV data."""
    if not chosen:
        return (state("idle", ["Choose a link in the table above to see both records side by side."]), "", [],
                None)
    try:
        pair = services.linked_pair(str(chosen["run"]), str(chosen["left_uid"]), str(chosen["right_uid"]))
    except services.ServiceError as exc:
        return state_for_error(exc), "", [], None
    rows = record_rows(pair)
    agreed = [r["field"] for r in rows if r["agreement"]]
    message = (f"Highlighted, with 'agreed' in the last column: the {len(agreed)} field(s) on which the run found "
               f"the records to agree ({', '.join(agreed) or 'none'}).")
    left, right = pair["link"]["left_uid"], pair["link"]["right_uid"]
    return (state("ok", [message]), pair_heading(pair), rows,
            panels.export_data(rows, ["field", "left", "right", "agreement"],
                               f"link-{left}-{right}".replace(":", "_")))


def can_review() -> bool:
    """Whether the signed-in user may accept or reject links (always, without login)."""
    user = auth.current_user()
    return user is None or roles.may(user.role, roles.REVIEW_LINKS)


# ---- layout -------------------------------------------------------------------------------------
def table(component_id: str, columns: list[dict[str, Any]], labelled_by: str, data: list[dict[str, Any]],
          **extra: Any) -> html.Div:
    """A sortable, paged table (as dashboard.pages.data_table) with extra DataTable settings."""
    conditional = [{"if": {"row_index": "odd"}, "backgroundColor": "#f8f9fb"}, *extra.pop("highlight", [])]
    grid = DataTable(
        id=component_id, columns=cast(Any, columns), data=cast(Any, data), page_size=extra.pop("page_size", 25),
        sort_action="native", style_table={"overflowX": "auto"},
        style_cell={"textAlign": "left", "padding": "6px 10px", "fontFamily": FONT_STACK, "fontSize": "14px",
                    "color": "#1a1a1a", "whiteSpace": "normal", "height": "auto", "maxWidth": "28rem"},
        style_cell_conditional=[{"if": {"column_type": "numeric"}, "textAlign": "right"}],
        style_header={"fontWeight": "600", "backgroundColor": "#eef1f5", "color": "#1a1a1a"},
        style_data_conditional=cast(Any, conditional), **extra)
    return html.Div(grid, role="region", className="mp-table", **attrs(aria_labelledby=labelled_by))


def _initial_runs() -> tuple[list[dict[str, Any]], Any]:
    try:
        return services.link_runs(), None
    except services.ServiceError as exc:
        return [], state_for_error(exc)


def layout(**query: Any) -> html.Div:
    """The page with its first content computed here (no callback round trip before it shows)."""
    runs, failed = _initial_runs()
    chosen = choices(runs, query.get("left"), query.get("right"), query.get("run"))
    minimum = parse_min(query.get("min"))
    if failed is not None:
        first: tuple[Any, ...] = (failed, [], None, failed, panels.empty_figure("No data"), [], None, failed, [], None)
    else:
        first = view_outputs(chosen["left"], chosen["right"], chosen["run"], minimum)
    (c_state, c_rows, c_data, h_state, h_figure, h_rows, h_data, l_state, l_rows, l_data) = first
    review = can_review()
    search = to_search(chosen["left"], chosen["right"], chosen["run"], minimum)
    L, R = ids.LK_LINKS, ids.LK_RECORDS
    return html.Div([
        dcc.Store(id=ids.LK_URL, data=search),
        dcc.Store(id=ids.LK_CHOSEN, data=None), dcc.Store(id=ids.LK_REVIEWED, data=0),
        html.H1("Links between datasets"),
        html.P("Records of one dataset that a link run found to describe the same event as records of another: "
               "how many, how confident, and the two records of each link side by side."),
        html.Div([
            labelled("Left dataset", ids.LK_LEFT, dcc.Dropdown(
                id=ids.LK_LEFT, options=chosen["left_options"], value=chosen["left"], clearable=False,
                placeholder="No link runs"), width="16rem", hint="Datasets that link runs start from."),
            labelled("Right dataset", ids.LK_RIGHT, dcc.Dropdown(
                id=ids.LK_RIGHT, options=chosen["right_options"], value=chosen["right"], clearable=False,
                placeholder="No link runs"), width="16rem", hint="Datasets linked from the left one."),
            labelled("Link run", ids.LK_RUN, dcc.Dropdown(
                id=ids.LK_RUN, options=chosen["run_options"], value=chosen["run"], clearable=False,
                placeholder="No link runs"), width="34rem", hint="Method, threshold chosen, links, run id."),
            labelled("Minimum match probability", ids.LK_MIN, dcc.Slider(
                id=ids.LK_MIN, min=0, max=1, step=0.01, value=minimum,
                marks={0: "0", 0.5: "0.5", 0.8: "0.8", 1: "1"}, allow_direct_input=True,
                tooltip={"placement": "bottom"}, updatemode="mouseup"), width="26rem",
                hint="Links below it are left out of the table (the histogram shows every link)."),
        ], className="mp-form", role="group", **attrs(aria_label="Dataset pair, run and minimum probability")),
        html.P([html.Span(describe(chosen["left"], chosen["right"], chosen["run"], minimum), id=ids.LK_SUMMARY),
                " · ", html.A("Link to this view", id=ids.LK_SHARE, href=search,
                              title="Copy this link to share exactly what you see")], className="mp-hint"),
        html.Div([
            panel(ids.LK_THRESHOLDS, "Links at the usual thresholds",
                  table(ids.LK_THRESHOLDS.table, COUNT_COLUMNS, ids.LK_THRESHOLDS.heading, c_rows, page_size=15),
                  description="Links of the run at or above each match probability (exact, counted in the graph), "
                              "review decisions and records linked on each side.",
                  initial_state=c_state, initial_data=c_data),
            panel(ids.LK_HISTOGRAM, "Match probabilities",
                  *chart(ids.LK_HISTOGRAM, ids.LK_HISTOGRAM_CHART, BIN_COLUMNS, figure=h_figure, rows=h_rows),
                  description="How many links of the run fall in each band of match probability (deterministic "
                              "links have probability 1).", initial_state=h_state, initial_data=h_data),
        ], className="mp-grid"),
        panel(L, "Links", table(L.table, LINK_COLUMNS, L.heading, l_rows, row_selectable="single",
                                selected_row_ids=[], page_size=20),
              description="One row per link, highest probability first. Probability and weight are Splink's "
                          "(weight is empty for deterministic links); agreed fields are those the records share "
                          "('~1': within one).", initial_state=l_state, initial_data=l_data),
        panel(R, "The two records side by side",
              html.P("", id=ids.LK_RECORDS.body, className="mp-summary"),
              table(R.table, RECORD_COLUMNS, R.heading, [], page_size=40, highlight=[
                  {"if": {"filter_query": '{agreement} contains "agreed"'},
                   "backgroundColor": AGREED_BACKGROUND, "fontWeight": "600"}]),
              html.Div([
                  html.Button("Accept link", id=ids.LK_ACCEPT, className="mp-button mp-button-small", n_clicks=0,
                              disabled=True, style=DISABLED_LOOK,
                              title="Mark the chosen link as the same event (analysts, admins)"),
                  html.Button("Reject link", id=ids.LK_REJECT, className="mp-button mp-button-small", n_clicks=0,
                              disabled=True, style=DISABLED_LOOK,
                              title="Mark the chosen link as not the same event (analysts, admins)"),
              ], className="mp-exports", role="group", **attrs(aria_label="Review the chosen link")),
              html.Div(state("idle", ["Reviewing: choose a link, then accept or reject it." if review else
                                      "Reviewing links is for analysts and administrators; your role can "
                                      "see them."]), id=ids.LK_REVIEW_STATUS, className="mp-status-box",
                       role="status", **attrs(aria_live="polite")),
              description="The linkage fields of both records, read from the graph; highlighted rows are the "
                          "fields on which the run found them to agree.",
              initial_state=state("idle", ["Choose a link in the table above to see both records side by side."])),
    ])


# ---- callbacks ---------------------------------------------------------------------------------
def update_choices(left: Any, right: Any, run: Any) -> tuple[Any, ...]:
    """The right datasets and runs follow the left dataset (and the runs the right one)."""
    try:
        runs = services.link_runs()
    except services.ServiceError:
        return (no_update,) * 4  # the panels say why
    chosen = choices(runs, left, right, run)
    return chosen["right_options"], chosen["right"], chosen["run_options"], chosen["run"]


def update_url(left: Any, right: Any, run: Any, minimum: Any) -> tuple[Any, ...]:
    """The share link (the URL's query string for the current choice) and the summary line."""
    value = parse_min(minimum)
    return to_search(left, right, run, value), describe(left, right, run, value)


# The address bar follows the share link, in the browser. (A dcc.Location with refresh=False, as the filter bar
# uses, pushed the previous value when the slider moved by keyboard: the URL lagged one step behind.)
# replaceState: one history entry per view, not one per slider step.
SYNC_URL = """function (search) {
    if (search && window.location.search !== search) {
        window.history.replaceState(window.history.state, '', window.location.pathname + search);
    }
    return search;
}"""


def update_view(left: Any, right: Any, run: Any, minimum: Any, _reviewed: Any) -> tuple[Any, ...]:
    return view_outputs(left, right, run, parse_min(minimum))


def choose_link(active_cell: Any, selected: Any, rows: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    """Callback: the link chosen by clicking a cell or by its radio button."""
    clicked = any(str(p).endswith(".active_cell") for p in (ctx.triggered_prop_ids or {}))
    return chosen_link(active_cell if clicked else None, selected, rows)


def chosen_link(active_cell: Any, selected: Any, rows: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    """The chosen link (run, left uid, right uid) and the table's selection: the clicked cell's row when a
    cell was clicked, else the selected row."""
    wanted = (active_cell or {}).get("row_id") if active_cell else (selected[0] if selected else None)
    match = next((r for r in rows or [] if r.get("id") == wanted), None)
    if match is None:
        raise PreventUpdate
    chosen = {"run": match["run"], "left_uid": match["left_uid"], "right_uid": match["right_uid"]}
    return chosen, [match["id"]]


def show_pair(chosen: Mapping[str, Any] | None, _reviewed: Any) -> tuple[Any, ...]:
    """Records panel (status, heading, rows, CSV) and the review buttons' disabled flags and look."""
    out = pair_outputs(chosen)
    disabled = not (chosen and can_review() and out[2])
    look = DISABLED_LOOK if disabled else {}
    return (*out, disabled, disabled, look, look)


def review(_accept: Any, _reject: Any, chosen: Mapping[str, Any] | None, reviewed: Any) -> tuple[Any, ...]:
    """Callback: the Accept or Reject button."""
    if ctx.triggered_id not in (ids.LK_ACCEPT, ids.LK_REJECT):
        raise PreventUpdate
    return review_outputs("accepted" if ctx.triggered_id == ids.LK_ACCEPT else "rejected", chosen, reviewed)


def review_outputs(status: str, chosen: Mapping[str, Any] | None, reviewed: Any) -> tuple[Any, ...]:
    """Accept or reject the chosen link: what happened (review status), and the store bumped so that the
    tables and the records reload with the new status."""
    if not chosen:
        return state("error", ["Choose a link in the table first, then accept or reject it."]), no_update
    try:
        message = services.review_link(str(chosen["run"]), str(chosen["left_uid"]), str(chosen["right_uid"]),
                                       status)
    except services.ServiceError as exc:
        return state_for_error(exc), no_update
    return state("done", [message]), int(reviewed or 0) + 1


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/links", name="Dataset links", title="Dataset links · Micropathways",
                       layout=layout, order=6)
    controls = [Input(ids.LK_LEFT, "value"), Input(ids.LK_RIGHT, "value"), Input(ids.LK_RUN, "value")]
    app.callback(Output(ids.LK_RIGHT, "options"), Output(ids.LK_RIGHT, "value"), Output(ids.LK_RUN, "options"),
                 Output(ids.LK_RUN, "value"), *controls, prevent_initial_call=True)(update_choices)
    app.callback(Output(ids.LK_SHARE, "href"), Output(ids.LK_SUMMARY, "children"),
                 *controls, Input(ids.LK_MIN, "value"), prevent_initial_call=True)(update_url)
    app.clientside_callback(SYNC_URL, Output(ids.LK_URL, "data"), Input(ids.LK_SHARE, "href"),
                            prevent_initial_call=True)
    T, H, L = ids.LK_THRESHOLDS, ids.LK_HISTOGRAM, ids.LK_LINKS
    app.callback(
        Output(T.status, "children"), Output(T.table, "data"), Output(T.data, "data"),
        Output(H.status, "children"), Output(ids.LK_HISTOGRAM_CHART, "figure"), Output(H.table, "data"),
        Output(H.data, "data"),
        Output(L.status, "children"), Output(L.table, "data"), Output(L.data, "data"),
        *controls, Input(ids.LK_MIN, "value"), Input(ids.LK_REVIEWED, "data"), prevent_initial_call=True,
    )(update_view)
    app.callback(Output(ids.LK_CHOSEN, "data"), Output(L.table, "selected_row_ids"),
                 Input(L.table, "active_cell"), Input(L.table, "selected_row_ids"), State(L.table, "data"),
                 prevent_initial_call=True)(choose_link)
    R = ids.LK_RECORDS
    app.callback(Output(R.status, "children"), Output(R.body, "children"), Output(R.table, "data"),
                 Output(R.data, "data"), Output(ids.LK_ACCEPT, "disabled"), Output(ids.LK_REJECT, "disabled"),
                 Output(ids.LK_ACCEPT, "style"), Output(ids.LK_REJECT, "style"),
                 Input(ids.LK_CHOSEN, "data"), Input(ids.LK_REVIEWED, "data"), prevent_initial_call=True)(show_pair)
    app.callback(Output(ids.LK_REVIEW_STATUS, "children"), Output(ids.LK_REVIEWED, "data"),
                 Input(ids.LK_ACCEPT, "n_clicks"), Input(ids.LK_REJECT, "n_clicks"), State(ids.LK_CHOSEN, "data"),
                 State(ids.LK_REVIEWED, "data"), prevent_initial_call=True)(review)
