"""Every component id of the dashboard, in one place (pages and tests import these).

Part of a page that repeats (the shared filter bar, a panel) has its ids made by a small frozen
dataclass from a prefix: ``FilterIds("ov").dataset == "ov-dataset"``, ``PanelIds("ov-year").status``.
A new page adds its own block below (one prefix per page) and never reuses another page's prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ---- app shell --------------------------------------------------------------------------------
NAV = "nav"
NAV_LINK = "nav-link"  # pattern-matching type: {"type": NAV_LINK, "page": <page module name>}
DB_LABEL = "db-label"
MAIN = "main"
SHELL_URL = "shell-url"
# kept for the workbench and older links
NAV_NETWORK = "nav-network"
NAV_WORKBENCH = "nav-workbench"


def nav_link_id(page: str) -> dict[str, str]:
    """The id of the navigation link to page module ``page`` (e.g. ``"network"``)."""
    return {"type": NAV_LINK, "page": page}


@dataclass(frozen=True)
class FilterIds:
    """Ids of one page's shared filter bar (``dashboard.pages.filters``)."""

    prefix: str

    def _id(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def url(self) -> str:
        return self._id("url")

    @property
    def dataset(self) -> str:
        return self._id("dataset")

    @property
    def years(self) -> str:
        return self._id("years")

    @property
    def area(self) -> str:
        return self._id("area")

    @property
    def motive(self) -> str:
        return self._id("motive")

    @property
    def method(self) -> str:
        return self._id("method")

    @property
    def relationship(self) -> str:
        return self._id("relationship")

    @property
    def summary(self) -> str:
        return self._id("filter-summary")

    @property
    def share(self) -> str:
        return self._id("share-link")


PANEL_CSV = "mp-csv"  # pattern-matching types of every panel's export parts (dashboard.panels)
PANEL_DATA = "mp-data"
PANEL_DOWNLOAD = "mp-download"


@dataclass(frozen=True)
class PanelIds:
    """Ids of one panel (``dashboard.panels.panel``): its status, its body and its exports.

    ``data`` is a dcc.Store holding ``{"filename", "columns", "rows"}``: a page's callback fills it, and
    the one CSV callback of the app (pattern-matching on ``panel``) turns it into a download."""

    name: str

    @property
    def section(self) -> str:
        return f"{self.name}-panel"

    @property
    def heading(self) -> str:
        return f"{self.name}-heading"

    @property
    def status(self) -> str:
        return f"{self.name}-status"

    @property
    def body(self) -> str:
        return f"{self.name}-body"

    @property
    def table(self) -> str:
        return f"{self.name}-table"

    @property
    def image(self) -> str:
        return f"{self.name}-image"

    @property
    def csv(self) -> dict[str, Any]:
        return {"type": PANEL_CSV, "panel": self.name}

    @property
    def data(self) -> dict[str, Any]:
        return {"type": PANEL_DATA, "panel": self.name}

    @property
    def download(self) -> dict[str, Any]:
        return {"type": PANEL_DOWNLOAD, "panel": self.name}


# ---- overview page ("/") ------------------------------------------------------------------------
OV_FILTERS = FilterIds("ov")
OV_BADGES = "ov-badges"
OV_YEAR = PanelIds("ov-year")
OV_METHOD = PanelIds("ov-method")
OV_MOTIVE = PanelIds("ov-motive")
OV_AREA = PanelIds("ov-area")
OV_RELATIONSHIP = PanelIds("ov-relationship")

# ---- network page ("/network") --------------------------------------------------------------------
NET_FILTERS = FilterIds("net")
NET_URL = NET_FILTERS.url
NET_DATASET = NET_FILTERS.dataset
NET_YEARS = NET_FILTERS.years
NET_ALPHA = "net-alpha"
NET_MIN_COUNT = "net-min-count"
NET_PANEL = PanelIds("net")
NET_STATUS = NET_PANEL.status
NET_GRAPH = "net-graph"
NET_LEGEND = "net-legend"
NET_SUMMARY = "net-summary"
NET_FACTORS = PanelIds("net-factors")
NET_PAIRS = PanelIds("net-pairs")
NET_FACTOR_TABLE = NET_FACTORS.table
NET_PAIR_TABLE = NET_PAIRS.table
NET_CASES = PanelIds("net-cases")
NET_SELECTION = "net-selection"

# ---- homicide card page ("/card") -------------------------------------------------------------------
CARD_URL = "card-url"
CARD_UID = "card-uid"
CARD_OPEN = "card-open"
CARD_PANEL = PanelIds("card")
CARD_FACTS = "card-facts"
CARD_TIMELINE = PanelIds("card-timeline")
CARD_SIMILAR = PanelIds("card-similar")

# ---- micropathways page ("/pathways", part B) ----------------------------------------------------
PW_FILTERS = FilterIds("pw")
PW_BY = "pw-by"
PW_GROUP_A = "pw-group-a"
PW_GROUP_B = "pw-group-b"
PW_SUPPORT = "pw-support"
PW_SUMMARY = "pw-summary"
PW_TRANSITIONS = PanelIds("pw-transitions")
PW_DIAGRAM = "pw-diagram"
PW_SEQUENCES = PanelIds("pw-sequences")
PW_SEQUENCE_CHART = "pw-sequence-chart"
PW_ESCALATION = PanelIds("pw-escalation")
PW_ESCALATION_CHART = "pw-escalation-chart"

# ---- workbench page ("/queries") --------------------------------------------------------------
WB_URL = "wb-url"
WB_QUERY = "wb-query"
WB_DESCRIPTION = "wb-description"
WB_FORM = "wb-form"
WB_PARAM = "wb-param"  # pattern-matching type: {"type": WB_PARAM, "name": <parameter name>}
WB_RUN = "wb-run"
WB_STATUS = "wb-status"
WB_RESULT_HEADING = "wb-result-heading"
WB_TABLE = "wb-table"
# ---- workbench, part B: result shapes, exports, ad-hoc Cypher, saving and versions --------------
WB_CHART = "wb-chart"
WB_CHART_BOX = "wb-chart-box"
WB_GRAPH = "wb-graph"
WB_GRAPH_BOX = "wb-graph-box"
WB_GRAPH_IMAGE = "wb-graph-image"
WB_CSV = "wb-csv"
WB_DOWNLOAD = "wb-download"
WB_RESULT_DATA = "wb-result-data"
WB_ADHOC_HEADING = "wb-adhoc-heading"
WB_ADHOC_TEXT = "wb-adhoc-text"
WB_ADHOC_PARAMS = "wb-adhoc-params"
WB_ADHOC_SHAPE = "wb-adhoc-shape"
WB_ADHOC_X = "wb-adhoc-x"
WB_ADHOC_Y = "wb-adhoc-y"
WB_ADHOC_SERIES = "wb-adhoc-series"
WB_ADHOC_RUN = "wb-adhoc-run"
WB_SAVE_NAME = "wb-save-name"
WB_SAVE_TITLE = "wb-save-title"
WB_SAVE_DESCRIPTION = "wb-save-description"
WB_SAVE = "wb-save"
WB_SAVE_STATUS = "wb-save-status"
WB_VERSIONS_BOX = "wb-versions-box"
WB_VERSIONS = "wb-versions"
WB_VERSION_TEXT = "wb-version-text"
WB_RESTORE = "wb-restore"
WB_EDIT = "wb-edit"
WB_VERSION_STATUS = "wb-version-status"


def param_id(name: str) -> dict[str, str]:
    """The pattern-matching id of the form control for saved-query parameter ``name``."""
    return {"type": WB_PARAM, "name": name}


# ---- partner tables page ("/partner", issue 7) ------------------------------------------------
PT_DATASET = "pt-dataset"
PT_QUERY = "pt-query"
PT_DESCRIPTION = "pt-description"
PT_RUN = "pt-run"
PT_TABLE = PanelIds("pt-table")
PT_NOTE = "pt-note"

# ---- audit log page ("/audit", admins, issue 7) ---------------------------------------------------
AUDIT_REFRESH = "audit-refresh"
AUDIT_VERIFY = "audit-verify"
AUDIT_EVENT = "audit-event"
AUDIT_LOG = PanelIds("audit-log")

# ---- dataset links page ("/links", issue 6) -------------------------------------------------------
LK_URL = "lk-url"  # a store of the query string the address bar shows (set in the browser)
LK_LEFT = "lk-left"
LK_RIGHT = "lk-right"
LK_RUN = "lk-run"
LK_MIN = "lk-min-probability"
LK_SHARE = "lk-share-link"
LK_SUMMARY = "lk-summary"
LK_LINKS = PanelIds("lk-links")
LK_HISTOGRAM = PanelIds("lk-histogram")
LK_HISTOGRAM_CHART = "lk-histogram-chart"
LK_THRESHOLDS = PanelIds("lk-thresholds")
LK_RECORDS = PanelIds("lk-records")
LK_CHOSEN = "lk-chosen"  # the link shown side by side (its row id: run|left uid|right uid)
LK_ACCEPT = "lk-accept"
LK_REJECT = "lk-reject"
LK_REVIEW_STATUS = "lk-review-status"
LK_REVIEWED = "lk-reviewed"  # a store bumped after each review, so the links table reloads
