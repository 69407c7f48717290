"""Every component id of the dashboard, in one place (pages and tests import these)."""

from __future__ import annotations

# ---- app shell --------------------------------------------------------------------------------
NAV = "nav"
NAV_NETWORK = "nav-network"
NAV_WORKBENCH = "nav-workbench"
DB_LABEL = "db-label"
MAIN = "main"

# ---- network page ("/") -----------------------------------------------------------------------
NET_URL = "net-url"
NET_DATASET = "net-dataset"
NET_YEARS = "net-years"
NET_MIN_COUNT = "net-min-count"
NET_STATUS = "net-status"
NET_GRAPH = "net-graph"
NET_LEGEND = "net-legend"
NET_SUMMARY = "net-summary"
NET_FACTORS_HEADING = "net-factors-heading"
NET_FACTOR_TABLE = "net-factor-table"
NET_PAIRS_HEADING = "net-pairs-heading"
NET_PAIR_TABLE = "net-pair-table"

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
