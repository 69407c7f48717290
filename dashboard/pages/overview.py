"""Page "/": an overview of the records behind every other page, for the shared filters.

Homicides by year (one line per dataset), by method, motive, victim–suspect relationship and area, each a
panel with its state, the numbers behind the chart (a table in a details element), CSV export and PNG
export (the chart's camera button). Dataset badges say which datasets are in view and whether each is
real or SYNTHETIC (the Dataset node's ``synthetic`` flag). Everything honours the filter bar
(``dashboard.pages.filters``) and the URL.

Counts are records (Homicide nodes, and Incident nodes for incident series such as GVA), from the
dashboard's record index (``services.counts``).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Output, html

from dashboard import ids, panels, services
from dashboard.pages import attrs, filters
from dashboard.panels import chart, panel, state, state_for_error
from patterns.slices import Filters

F = ids.OV_FILTERS
TOP_AREAS = 25
ACCENT = "#1d4f91"
SERIES = ("#1d4f91", "#b35900", "#2e7d32", "#8e2472", "#4a4f57", "#7a5c00")
DIM_PANELS = (("method", ids.OV_METHOD, "Homicides by method"),
              ("motive", ids.OV_MOTIVE, "Homicides by motive"),
              ("relationship", ids.OV_RELATIONSHIP, "Homicides by victim–suspect relationship"))
YEAR_COLUMNS = [{"name": "Dataset", "id": "dataset"}, {"name": "Year", "id": "year", "type": "numeric"},
                {"name": "Records", "id": "records", "type": "numeric"}]
DIM_COLUMNS = [{"name": "Value", "id": "label"}, {"name": "Code", "id": "code"},
               {"name": "Records", "id": "records", "type": "numeric"}]
AREA_COLUMNS = [{"name": "Area", "id": "area"}, {"name": "Code", "id": "area_code"}, {"name": "Level", "id": "level"},
                {"name": "Records", "id": "records", "type": "numeric"}]


def graph_id(pids: ids.PanelIds) -> str:
    return f"{pids.name}-chart"


# ---- pure helpers -----------------------------------------------------------------------------------
def badges(datasets: list[dict[str, Any]]) -> list[Any]:
    """One badge per dataset in view: name, REAL or SYNTHETIC, records."""
    if not datasets:
        return [html.Li("No datasets in view", className="mp-badge")]
    return [html.Li(f"{d['name']} · {'SYNTHETIC' if d['synthetic'] else 'real data'} · {d['records']:,} records",
                    className=f"mp-badge mp-badge-{'synthetic' if d['synthetic'] else 'real'}",
                    title="Made by the synthetic generator: no real cases" if d["synthetic"] else "Real published data")
            for d in datasets]


def synthetic_banner(counts: services.Counts) -> str | None:
    names = [d["name"] for d in counts.datasets if d["synthetic"]]
    if not names:
        return None
    return f"SYNTHETIC data: {', '.join(names)} (made by the generator; no real cases) is included."


def _axis(title: str) -> dict[str, Any]:
    return {"title": {"text": title}, "gridcolor": "#e3e6ea", "zeroline": False, "automargin": True}


def year_figure(rows: list[dict[str, Any]], synthetic: set[str]) -> dict[str, Any]:
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_dataset.setdefault(row["dataset"], []).append(row)
    traces = [{"type": "scatter", "mode": "lines+markers",
               "name": f"{name}{' (synthetic)' if name in synthetic else ''}",
               "x": [r["year"] for r in part], "y": [r["records"] for r in part],
               "line": {"color": SERIES[i % len(SERIES)], "dash": "dash" if name in synthetic else "solid"}}
              for i, (name, part) in enumerate(sorted(by_dataset.items()))]
    return {"data": traces, "layout": {"xaxis": _axis("Year"), "yaxis": _axis("Records"),
                                       "margin": {"l": 60, "r": 10, "t": 10, "b": 50}, "plot_bgcolor": "#ffffff",
                                       "legend": {"orientation": "h", "y": -0.25}}}


def bar_figure(labels: list[str], values: list[int], axis: str) -> dict[str, Any]:
    """Horizontal bars, largest first at the top."""
    return {"data": [{"type": "bar", "orientation": "h", "x": values[::-1], "y": labels[::-1],
                      "marker": {"color": ACCENT}, "hovertemplate": "%{y}: %{x:,}<extra></extra>"}],
            "layout": {"xaxis": _axis("Records"), "yaxis": {"title": {"text": axis}, "automargin": True},
                       "margin": {"l": 10, "r": 10, "t": 10, "b": 50}, "plot_bgcolor": "#ffffff"}}


def panel_state(rows: list[dict[str, Any]], what: str, banner: str | None, *, shown: int | None = None) -> Any:
    if not rows:
        return state("empty", [f"No data: no records with a {what} for these filters. Widen the filters."],
                     banner=banner)
    total = sum(int(r["records"]) for r in rows)
    if shown is not None and shown < len(rows):
        return state("truncated", [f"Truncated: the chart shows the {shown} largest of {len(rows)} {what} values; "
                                   "the table and the CSV list them all."], banner=banner)
    return state("ok", [f"{len(rows)} {what} value(s), {total:,} record links."], banner=banner)


# ---- layout ------------------------------------------------------------------------------------------
def layout(**query: Any) -> html.Div:
    """The page, holding its first content (computed here: no callback round trip before it shows)."""
    chosen = filters.from_query(query)
    first = overview_outputs(chosen)
    initial = {pids.name: first[1 + 4 * i: 5 + 4 * i] for i, pids in enumerate(PANELS)}

    def filled(pids: ids.PanelIds, title: str, columns: list[dict[str, Any]], description: str) -> Any:
        figure, rows, status, data = initial[pids.name]
        return panel(pids, title, *chart(pids, graph_id(pids), columns, figure=figure, rows=rows),
                     description=description, initial_state=status, initial_data=data)

    return html.Div([
        html.H1("Overview"),
        html.P("How many homicides the graph holds, and how they split by year, method, motive, relationship "
               "and area, for the filters below. Every chart has its numbers in a table under it."),
        filters.filter_bar(F, chosen),
        html.H2("Datasets in view", className="mp-h3"),
        html.Ul(first[0], id=ids.OV_BADGES, className="mp-badges", **attrs(aria_live="polite")),
        filled(ids.OV_YEAR, "Homicides by year", YEAR_COLUMNS,
               "Records per year, one line per dataset (dashed: synthetic)."),
        html.Div([filled(pids, title, DIM_COLUMNS, "Common categories; source codes are mapped to them.")
                  for _dim, pids, title in DIM_PANELS]
                 + [filled(ids.OV_AREA, "Homicides by area", AREA_COLUMNS,
                           f"The area each record is placed in; the chart shows the {TOP_AREAS} largest.")],
                 className="mp-grid"),
    ])


# ---- callbacks --------------------------------------------------------------------------------------
PANELS = (ids.OV_YEAR, *(p for _d, p, _t in DIM_PANELS), ids.OV_AREA)


def update(*values: Any) -> tuple[Any, ...]:
    """Callback: badges, then for each panel: figure, table rows, state, CSV data."""
    return overview_outputs(filters.from_inputs(*values))


def overview_outputs(chosen: Filters) -> tuple[Any, ...]:
    """What :func:`update` returns, for filters already parsed (the layout uses it too)."""
    try:
        counts = services.counts(chosen)
    except services.ServiceError as exc:
        failed = state_for_error(exc)
        blank: list[Any] = [panels.empty_figure("No data"), [], failed, None]
        return (badges([]), *(blank * len(PANELS)))
    banner = synthetic_banner(counts)
    synthetic = {d["name"] for d in counts.datasets if d["synthetic"]}
    out: list[Any] = [badges(counts.datasets)]
    years = counts.by_year
    out += [year_figure(years, synthetic), years, panel_state(years, "year", banner),
            panels.export_data(years, ["dataset", "year", "records"], "homicides-by-year")]
    for dim, _pids, _title in DIM_PANELS:
        rows = counts.by_dimension.get(dim, [])
        out += [bar_figure([r["label"] for r in rows], [r["records"] for r in rows], dim.capitalize())
                if rows else panels.empty_figure("No data"), rows, panel_state(rows, dim, banner),
                panels.export_data(rows, ["label", "code", "records"], f"homicides-by-{dim}")]
    areas = counts.by_area
    top = areas[:TOP_AREAS]
    out += [bar_figure([f"{r['area']} ({r['area_code']})" for r in top], [r["records"] for r in top], "Area")
            if top else panels.empty_figure("No data"), areas,
            panel_state(areas, "area", banner, shown=len(top)),
            panels.export_data(areas, ["area", "area_code", "level", "records"], "homicides-by-area")]
    return tuple(out)


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/", name="Overview", title="Overview · Micropathways", layout=layout, order=0)
    filters.register(app, F)
    outputs = [Output(ids.OV_BADGES, "children")]
    for pids in PANELS:
        outputs += [Output(graph_id(pids), "figure"), Output(pids.table, "data"), Output(pids.status, "children"),
                    Output(pids.data, "data")]
    app.callback(*outputs, *filters.inputs(F), prevent_initial_call=True)(update)  # the layout holds the first



