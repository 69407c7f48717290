"""The shared filter bar: ONE set of parameters that every panel of a page honours, kept in the URL.

The parameters are those of the pattern layer, :class:`patterns.slices.Filters` (dataset, year range,
area, motive, method, relationship; empty = any), so a page hands them straight to ``services``.
Dropdown options come from the graph (``services.filter_options``); the URL query string carries every
non-default value (``?dataset=london-mps&year_from=2010&motive=quarrel_revenge_temper``), so a view is
shared by copying the address, and opening that address restores it.

Using it on a page (the whole API; see ``dashboard/pages/overview.py`` for a complete example)::

    from dashboard import ids
    from dashboard.pages import filters

    F = ids.FilterIds("pw")                          # one prefix per page
    def layout(**query):                              # Dash pages passes the URL's query string
        chosen = filters.from_query(query)
        return html.Div([filters.filter_bar(F, chosen), ...])

    def register(app):
        filters.register(app, F)                      # options, year bounds, URL sync
        app.callback(Output(...), *filters.inputs(F))(lambda *v: show(filters.from_inputs(*v)))

``extra`` (``register(app, F, extra={"alpha": Input("net-alpha", "value")})``) puts page-specific
values in the URL too; the page reads them back from ``layout``'s keyword arguments.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import dash
from dash import ALL, Input, Output, State, dcc, html, no_update

from dashboard import ids, services
from dashboard.pages import attrs, labelled, query_params
from patterns.slices import Filters

KEYS = ("dataset", "year_from", "year_to", "area", "motive", "method", "relationship")
DIMENSIONS = ("area", "motive", "method", "relationship")
LABELS = {"area": "Area", "motive": "Motive", "method": "Method", "relationship": "Victim–suspect relationship"}
HINTS = {"area": "A borough, region, state or county (and every area inside it).",
         "motive": "Common motive (source codes are mapped to it).",
         "method": "Common method (source codes are mapped to it).",
         "relationship": "Common relationship (source codes are mapped to it)."}
DEFAULT_BOUNDS = (2000, 2025)


# ---- values <-> URL -------------------------------------------------------------------------------
def parse_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def from_query(query: Mapping[str, Any]) -> Filters:
    """Filters from a URL query (as a dict; unknown keys ignored, bad numbers dropped)."""
    text = {k: str(query.get(k) or "").strip() for k in ("dataset", *DIMENSIONS)}
    return Filters(dataset=text["dataset"], year_from=parse_int(query.get("year_from")),
                   year_to=parse_int(query.get("year_to")), area=text["area"], motive=text["motive"],
                   method=text["method"], relationship=text["relationship"])


def to_query(filters: Filters) -> dict[str, Any]:
    """The non-default values of ``filters``, in :data:`KEYS` order."""
    values = {"dataset": filters.dataset, "year_from": filters.year_from, "year_to": filters.year_to,
              "area": filters.area, "motive": filters.motive, "method": filters.method,
              "relationship": filters.relationship}
    return {k: v for k, v in values.items() if v not in (None, "")}


def to_search(filters: Filters, extra: Mapping[str, Any] | None = None) -> str:
    """The URL query string (``?…``, or ``""`` when everything is default) for ``filters`` + ``extra``."""
    pairs = {**to_query(filters), **{k: v for k, v in (extra or {}).items() if v not in (None, "")}}
    return f"?{urlencode(pairs)}" if pairs else ""


def from_inputs(dataset: Any, years: Any, area: Any, motive: Any, method: Any, relationship: Any,
                low: Any = None, high: Any = None) -> Filters:
    """Filters from the values of :func:`inputs` (in that order). A year range equal to the slider's
    whole span (``low``–``high``) means "any year" (records without a year are kept too)."""
    start = end = None
    if isinstance(years, (list, tuple)) and len(years) == 2 and None not in years:
        start, end = int(years[0]), int(years[1])
        if low is not None and high is not None and (start, end) == (int(low), int(high)):
            start = end = None
    return Filters(dataset=str(dataset or ""), year_from=start, year_to=end, area=str(area or ""),
                   motive=str(motive or ""), method=str(method or ""), relationship=str(relationship or ""))


def inputs(fids: ids.FilterIds) -> list[Input | State]:
    """The callback dependencies whose values :func:`from_inputs` takes (six Inputs, two States)."""
    return [Input(fids.dataset, "value"), Input(fids.years, "value"), Input(fids.area, "value"),
            Input(fids.motive, "value"), Input(fids.method, "value"), Input(fids.relationship, "value"),
            State(fids.years, "min"), State(fids.years, "max")]


# ---- years -----------------------------------------------------------------------------------------
def year_bounds(datasets: list[services.DatasetInfo], dataset: str | None) -> tuple[int, int] | None:
    """The year span of ``dataset`` (all datasets when empty or unknown); None when nothing is loaded."""
    chosen = [d for d in datasets if d.name == dataset] or datasets
    years = [y for d in chosen for y in (d.year_min, d.year_max) if y is not None]
    return (min(years), max(years)) if years else None


def clamp_years(value: Any, bounds: tuple[int, int]) -> list[int]:
    """``value`` clamped into ``bounds``; the full span when it is missing or falls outside."""
    low, high = bounds
    if not isinstance(value, (list, tuple)) or len(value) != 2 or None in value:
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


# ---- layout ---------------------------------------------------------------------------------------
def _initial(chosen: Filters) -> tuple[list[dict[str, Any]], tuple[int, int], dict[str, list[dict[str, Any]]]]:
    """Dataset options, year bounds and dimension options, read when the page is built (so the first
    render already has them; if the graph cannot be read, the page's panels say why)."""
    try:
        datasets = services.list_datasets()
        options = services.filter_options(chosen.dataset)
    except services.ServiceError:
        return [], DEFAULT_BOUNDS, {d: [] for d in DIMENSIONS}
    return (dataset_options(datasets, chosen.dataset), year_bounds(datasets, chosen.dataset) or DEFAULT_BOUNDS,
            {d: _keep_chosen(options.get(d, []), getattr(chosen, d)) for d in DIMENSIONS})


def dataset_options(datasets: list[services.DatasetInfo], chosen: str | None) -> list[dict[str, Any]]:
    """One option per dataset (synthetic ones say so); a chosen name the graph lacks stays, marked."""
    options = [{"label": d.label, "value": d.name} for d in datasets]
    if chosen and chosen not in {d.name for d in datasets}:  # e.g. a shared link to another database
        options.append({"label": f"{chosen} (not in this database)", "value": chosen})
    return options


def _keep_chosen(options: list[dict[str, Any]], chosen: str) -> list[dict[str, Any]]:
    if chosen and chosen not in {o["value"] for o in options}:
        return [*options, {"label": f"{chosen} (no records here)", "value": chosen}]
    return options


def filter_bar(fids: ids.FilterIds, chosen: Filters) -> html.Div:
    """The labelled controls, holding ``chosen``; plus the page's URL (``dcc.Location``)."""
    datasets, bounds, options = _initial(chosen)
    low, high = bounds
    years = clamp_years([chosen.year_from if chosen.year_from is not None else low,
                         chosen.year_to if chosen.year_to is not None else high], bounds)
    controls = [
        labelled("Dataset", fids.dataset, dcc.Dropdown(
            id=fids.dataset, options=datasets, value=chosen.dataset or None, placeholder="All datasets",
            clearable=True, searchable=True), width="30rem", hint="Empty: every loaded dataset together."),
        labelled("Years", fids.years, dcc.RangeSlider(
            id=fids.years, min=low, max=high, step=1, value=years, marks=year_marks(bounds),
            allow_direct_input=True, tooltip={"placement": "bottom"}, updatemode="mouseup"),
            width="26rem", hint="First and last year included."),
    ]
    for dim in DIMENSIONS:
        controls.append(labelled(LABELS[dim], getattr(fids, dim), dcc.Dropdown(
            id=getattr(fids, dim), options=options[dim], value=getattr(chosen, dim) or None,
            placeholder="Any", clearable=True, searchable=True), width="18rem", hint=HINTS[dim]))
    return html.Div([
        dcc.Location(id=fids.url, refresh=False),
        html.Div(controls, className="mp-filters", role="group", **attrs(aria_label="Filters")),
        html.P([html.Span(describe(chosen), id=fids.summary), " · ",
                html.A("Link to this view", id=fids.share, href=to_search(chosen) or "?",
                       title="Copy this link to share exactly what you see")], className="mp-hint"),
    ], className="mp-filter-bar")


def describe(filters: Filters) -> str:
    """One line saying what the panels show, e.g. ``Showing london-mps, 2010–2012, motive: quarrel``."""
    parts = [filters.dataset or "all datasets"]
    if filters.year_from is None and filters.year_to is None:
        parts.append("all years")
    else:
        start = filters.year_from if filters.year_from is not None else "…"
        end = filters.year_to if filters.year_to is not None else "…"
        parts.append(f"{start}" if start == end else f"{start}–{end}")
    parts += [f"{d}: {getattr(filters, d)}" for d in DIMENSIONS if getattr(filters, d)]
    return "Showing " + ", ".join(parts)


# ---- callbacks ------------------------------------------------------------------------------------
def update_options(dataset: str | None, years: Any, area: Any, motive: Any, method: Any,
                   relationship: Any) -> tuple[Any, ...]:
    """When the dataset changes: dataset options, the year slider's span and value, dimension options."""
    try:
        datasets = services.list_datasets()
        options = services.filter_options(dataset or "")
    except services.ServiceError:
        return (no_update,) * 9  # the panels show the error
    bounds = year_bounds(datasets, dataset)
    chosen = {"area": area, "motive": motive, "method": method, "relationship": relationship}
    dims = [_keep_chosen(options.get(d, []), str(chosen[d] or "")) for d in DIMENSIONS]
    if bounds is None:
        return (dataset_options(datasets, dataset), no_update, no_update, no_update, no_update, *dims)
    return (dataset_options(datasets, dataset), bounds[0], bounds[1], year_marks(bounds),
            clamp_years(years, bounds), *dims)


def url_for(extra_names: tuple[str, ...]) -> Any:
    """The URL callback: the query string, the share link and the summary line for the bar's values
    (the eight of :func:`inputs`), then the ``extra`` values, then the current search."""
    def update_url(*values: Any) -> Any:
        filters = from_inputs(*values[:8])
        extra = dict(zip(extra_names, values[8:8 + len(extra_names)], strict=True))
        search = values[-1]
        wanted = to_search(filters, extra)
        share = wanted or "?"
        summary = describe(filters)
        return (no_update if wanted == (search or "") else wanted), share, summary
    return update_url


def carry(search: str | None, link_ids: list[dict[str, str]], hrefs: list[str | None]) -> list[str]:
    """Navigation hrefs that keep the filters: every page with a filter bar gets the filter part of the
    current query string (not page-only values such as the network's threshold); other pages none."""
    wanted = to_search(from_query({k: v for k, v in query_params(search).items() if k in KEYS}))
    pages = {str(p["module"]).rsplit(".", 1)[-1]: p for p in dash.page_registry.values()}
    out = []
    for link, href in zip(link_ids, hrefs, strict=True):
        page = pages.get(link["page"])
        path = str(page["relative_path"]) if page else str(href or "/").split("?", 1)[0]
        out.append(path + wanted if page and page.get("shares_filters") else path)
    return out


def register(app: dash.Dash, fids: ids.FilterIds, extra: Mapping[str, Input] | None = None) -> None:
    """Bind the bar's callbacks: options and years follow the dataset; the URL follows every value; the
    navigation links to the other pages with a filter bar carry the filters along.

    Call it from the page module's ``register``, after ``dash.register_page``: the calling module's page
    is marked as sharing the filters (so links to it carry them)."""
    caller = inspect.currentframe()
    module = caller.f_back.f_globals.get("__name__") if caller and caller.f_back else None
    if module in dash.page_registry:
        dash.page_registry[module]["shares_filters"] = True
    app.callback(
        Output(fids.dataset, "options"), Output(fids.years, "min"), Output(fids.years, "max"),
        Output(fids.years, "marks"), Output(fids.years, "value"),
        *[Output(getattr(fids, d), "options") for d in DIMENSIONS],
        Input(fids.dataset, "value"), State(fids.years, "value"),
        *[State(getattr(fids, d), "value") for d in DIMENSIONS],
        prevent_initial_call=True,
    )(update_options)
    extra = dict(extra or {})
    app.callback(
        Output(fids.url, "search"), Output(fids.share, "href"), Output(fids.summary, "children"),
        *inputs(fids), *extra.values(), State(fids.url, "search"),
    )(url_for(tuple(extra)))
    app.callback(
        Output({"type": ids.NAV_LINK, "page": ALL}, "href", allow_duplicate=True),
        Input(fids.url, "search"), State({"type": ids.NAV_LINK, "page": ALL}, "id"),
        State({"type": ids.NAV_LINK, "page": ALL}, "href"), prevent_initial_call="initial_duplicate",
    )(carry)
