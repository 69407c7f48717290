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


def param_id(name: str) -> dict[str, str]:
    """The pattern-matching id of the form control for saved-query parameter ``name``."""
    return {"type": WB_PARAM, "name": name}
