"""Create and serve the dashboard: ``micropath serve --db URI`` calls :func:`serve`.

The app is built by :func:`create_app` (tests use it too); nothing touches the database until a page
asks for data, through ``dashboard.services``. Pages are the modules listed in :data:`PAGES`; each has
``register(app)`` (``dash.register_page`` with a path, a name and an ``order``, plus its callbacks), and
the navigation is derived from what they registered, in ``order``.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import dash
from dash import Dash, dcc, html

from dashboard import auth, ids, panels, services
from dashboard.pages import FONT_STACK, attrs, audit, card, links, network, overview, partner, pathways, workbench
from queries.user_store import UserQueryStore

# Every page, one module each. To add one (e.g. dashboard/pages/pathways.py, registered with
# order=2 so the navigation lists it after the factor network), import it above and append it here
# with a one-line change: ``PAGES = (overview, network, card, workbench, pathways)``.
PAGES = (overview, network, card, workbench, pathways, partner, audit, links)

CSS = """
:root { --mp-ink: #1a1a1a; --mp-muted: #4a4f57; --mp-accent: #1d4f91; --mp-line: #d0d5dc; }
body { margin: 0; font-family: """ + FONT_STACK + """; color: var(--mp-ink); background: #ffffff;
       line-height: 1.45; }
.mp-skip { position: absolute; left: -9999px; top: 0; background: #ffffff; padding: 8px; z-index: 10; }
.mp-skip:focus { left: 8px; }
.mp-header { display: flex; align-items: center; gap: 2rem; flex-wrap: wrap; padding: 0.75rem 1.5rem;
             background: #10243e; color: #ffffff; }
.mp-brand { font-weight: 700; font-size: 1.15rem; }
.mp-nav { display: flex; gap: 1.25rem; }
.mp-nav a { color: #ffffff; text-decoration: underline; text-underline-offset: 3px; }
.mp-db { margin-left: auto; font-size: 0.85rem; color: #dfe6ef; overflow-wrap: anywhere; }
main { padding: 0.5rem 1.5rem 3rem; max-width: 1400px; }
a:focus-visible, button:focus-visible, input:focus-visible, [tabindex]:focus-visible {
    outline: 3px solid #f2a900; outline-offset: 2px; }
h1 { font-size: 1.6rem; margin: 1rem 0 0.5rem; } h2 { font-size: 1.25rem; margin: 1.5rem 0 0.5rem; }
h3, .mp-h3 { font-size: 1.05rem; margin: 1rem 0 0.4rem; }
.mp-filters, .mp-form { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: flex-start; margin: 1rem 0; }
.mp-fieldset { border: 1px solid var(--mp-line); border-radius: 6px; padding: 0.5rem 1rem; margin: 1rem 0; }
.mp-field { display: flex; flex-direction: column; gap: 0.3rem; }
.mp-label { font-weight: 600; }
.mp-hint, .mp-description { color: var(--mp-muted); font-size: 0.88rem; }
.mp-status-box { margin: 0.75rem 0; }
.mp-status { border-left: 6px solid var(--mp-line); background: #f4f6f8; padding: 0.4rem 0.9rem; }
.mp-status p { margin: 0.3rem 0; }
.mp-status-box[data-dash-is-loading="true"] .mp-status { opacity: 0.6; }
.mp-status-box[data-dash-is-loading="true"]::before { content: "Updating…"; display: block; font-weight: 600;
    color: var(--mp-accent); margin-bottom: 0.25rem; }
.mp-banner { color: #7a3e00; }
.mp-status-ok, .mp-status-done { border-left-color: #2e7d32; }
.mp-status-empty, .mp-status-truncated { border-left-color: #b26a00; background: #fff7e6; }
.mp-status-error { border-left-color: #b00020; background: #fdecee; }
.mp-graph-row { display: flex; gap: 1rem; align-items: stretch; flex-wrap: wrap; }
.mp-graph { flex: 1 1 640px; border: 1px solid var(--mp-line); border-radius: 6px; min-width: 320px; }
.mp-legend { flex: 0 0 15rem; }
.mp-legend-list { list-style: none; padding: 0; margin: 0 0 0.6rem; }
.mp-legend-item { display: flex; align-items: center; gap: 0.5rem; margin: 0.2rem 0; }
.mp-legend-title { margin: 0.4rem 0; color: var(--mp-muted); font-size: 0.9rem; }
.mp-swatch { display: inline-block; width: 14px; height: 14px; border-radius: 50%; border: 2px solid #1a1a1a; }
.mp-summary { color: var(--mp-muted); }
.mp-button { background: var(--mp-accent); color: #ffffff; border: 0; border-radius: 5px;
             padding: 0.55rem 1.2rem; font-size: 1rem; cursor: pointer; }
.mp-button:hover { background: #163d70; }
.mp-button-small { padding: 0.3rem 0.8rem; font-size: 0.9rem; }
.mp-nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
.mp-panel { border: 1px solid var(--mp-line); border-radius: 6px; padding: 0.25rem 1rem 0.75rem; margin: 1rem 0; }
.mp-panel h2 { margin-top: 0.6rem; }
.mp-exports { display: flex; gap: 0.6rem; margin: 0.5rem 0; }
.mp-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 0 1rem; }
.mp-badges { display: flex; flex-wrap: wrap; gap: 0.5rem; list-style: none; padding: 0; margin: 0.5rem 0; }
.mp-badge { border: 2px solid #1a1a1a; border-radius: 999px; padding: 0.15rem 0.7rem; font-size: 0.9rem; }
.mp-badge-real { background: #e6f2ea; } .mp-badge-synthetic { background: #fff1cc; border-style: dashed; }
.mp-details summary { cursor: pointer; color: var(--mp-accent); margin: 0.3rem 0; }
.mp-filter-bar { border-bottom: 1px solid var(--mp-line); margin-bottom: 0.5rem; }
.mp-facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1.2rem; margin: 0.5rem 0; }
.mp-facts dt { font-weight: 600; } .mp-facts dd { margin: 0; }
.mp-timeline { list-style: none; padding-left: 0; border-left: 3px solid var(--mp-accent); margin-left: 0.5rem; }
.mp-timeline li { padding: 0.2rem 0 0.4rem 1rem; position: relative; }
.mp-chip { display: inline-block; border: 1px solid #4a4f57; border-radius: 4px; padding: 0 0.4rem; margin: 0.1rem;
           font-size: 0.88rem; }
.mp-table { margin-bottom: 1rem; }
"""

# Dash 4's range slider gives its number inputs no name, and its thumbs only "Minimum"/"Maximum";
# DataTable's page-number box has none. This names them after the visible <label> that points at the
# slider (label[for=id]) whenever the page changes. Every field is also a group named by its label
# (pages.labelled), which is how the dropdown, whose button is named by its value, gets its name.
LABEL_SCRIPT = """
(function () {
  function setLabel(el, text) { if (el && el.getAttribute('aria-label') !== text) el.setAttribute('aria-label', text); }
  function patch() {
    document.querySelectorAll('label[for]').forEach(function (label) {
      var target = document.getElementById(label.htmlFor);
      if (!target || !target.classList.contains('dash-slider-container')) return;
      var text = (label.textContent || '').trim();
      setLabel(target.querySelector('input.dash-range-slider-min-input'), text + ': from');
      setLabel(target.querySelector('input.dash-range-slider-max-input'), text + ': to');
      var thumbs = target.querySelectorAll('[role=slider]');
      if (thumbs.length === 2) { setLabel(thumbs[0], text + ': from'); setLabel(thumbs[1], text + ': to'); }
      else if (thumbs.length === 1) { setLabel(thumbs[0], text); }
    });
    document.querySelectorAll('input.current-page').forEach(function (el) { setLabel(el, 'Page number'); });
    document.querySelectorAll('.mp-nav a').forEach(function (link) {  // the current page, for screen readers
      var here = link.pathname === window.location.pathname;
      if (here && link.getAttribute('aria-current') !== 'page') link.setAttribute('aria-current', 'page');
      if (!here && link.hasAttribute('aria-current')) link.removeAttribute('aria-current');
    });
  }
  new MutationObserver(patch).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('DOMContentLoaded', patch);
})();
"""

INDEX = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
        <style>""" + CSS + """</style>
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
            <script>""" + LABEL_SCRIPT + """</script>
        </footer>
    </body>
</html>"""


def create_app(db_uri: str | None = None, *, query_dir: str | Path | None = None,
               auth_config: auth.AuthConfig | None = None) -> Dash:
    """A dashboard app reading the graph at ``db_uri`` (default: $MICROPATH_DB or the user database).

    ``query_dir`` holds the analyst's own saved queries (default: $MICROPATH_QUERY_DIR or
    ~/.local/share/micropathways/queries; see queries/user_store.py). ``auth_config`` requires login
    (dashboard/auth.py); without it the app is open, as tests use it — ``serve`` always passes one unless
    MICROPATH_AUTH=off on loopback."""
    app = Dash(__name__, use_pages=True, pages_folder="", title="Micropathways",
               update_title="", index_string=INDEX, suppress_callback_exceptions=True)
    service = services.GraphService(db_uri)
    services.install(app.server, service)
    service.user_store = UserQueryStore(query_dir)
    panels.register(app)
    for page in PAGES:
        page.register(app)
    app.layout = html.Div([
        html.A("Skip to content", href=f"#{ids.MAIN}", className="mp-skip"),
        html.Header([
            html.Span("Micropathways", className="mp-brand"),
            html.Nav(nav_links(), id=ids.NAV, className="mp-nav", **attrs(aria_label="Pages")),
            html.Span(f"database: {service.db_uri}", id=ids.DB_LABEL, className="mp-db"),
        ], className="mp-header"),
        html.Main(dash.page_container, id=ids.MAIN, tabIndex="-1"),
    ])
    if auth_config is not None:  # login, roles, CSRF, audit (dashboard/auth.py); None: open (tests)
        auth.install(app, auth_config)
    return app


def nav_links() -> list[dcc.Link]:
    """One link per registered page, in the pages' ``order`` (ids: ``ids.nav_link_id(module)``)."""
    pages = sorted(dash.page_registry.values(), key=lambda p: (p.get("order") or 0, p["path"]))
    return [dcc.Link(p["name"], href=p["relative_path"], id=ids.nav_link_id(p["module"].rsplit(".", 1)[-1]))
            for p in pages]


SERVE_THREADS = 16  # requests the server works on at once (more wait in its queue)


def serve(db_uri: str | None, *, host: str = "127.0.0.1", port: int = 8050, debug: bool = False,
          secure_cookies: bool = False, threads: int = SERVE_THREADS) -> None:
    """Serve the dashboard until interrupted (the graph is opened read-only, on first use).

    The server is waitress (a production WSGI server, one process, ``threads`` worker threads); ``debug``
    runs Flask's development server with Dash's debugger instead, never to be used on a shared machine."""
    if not 1 <= threads <= 256:
        raise ValueError(f"--threads {threads}: give 1 to 256 worker threads")
    app = create_app(db_uri, auth_config=auth.config_for_serve(host, secure_cookies=secure_cookies))
    service = services.installed(app.server)
    threading.Thread(target=service.warm, name="dashboard-warm", daemon=True).start()
    print(f"Micropathways dashboard on http://{host}:{port}/ (database {service.db_uri}, {service.readers} "
          f"database handles, {threads} threads); Ctrl-C stops it", flush=True)
    signal.signal(signal.SIGTERM, _stop)  # `kill`, systemd, a test harness: shut down as Ctrl-C does
    try:
        if debug:
            app.run(host=host, port=port, debug=True)
        else:
            import waitress

            waitress.serve(app.server, host=host, port=port, threads=threads, ident="micropathways")
    except KeyboardInterrupt:
        pass
    finally:
        print(f"stopped; results kept: {service.cache.stats().describe()}", flush=True)
        service.close()


def _stop(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt
