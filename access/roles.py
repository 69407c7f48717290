"""Roles and what each may do: the one access matrix (docs/security.md prints it).

A role grants **pages** (dashboard page modules) and **capabilities** (what services may do for it).
``dashboard/auth.py`` enforces pages for every request and every Dash callback; ``dashboard/services.py``
checks capabilities before it runs a query, shows a record, saves a query or writes an export.

Partners see aggregates only: the partner page's partner-safe tables, suppressed by
``disclosure.release.run_partner_query``; never a single homicide, never ad-hoc Cypher. The disclosure
layer knows two roles: partners are ``partner`` there, every other role is ``analyst`` (unsuppressed).
"""

from __future__ import annotations

from typing import Literal

Role = Literal["researcher", "analyst", "partner", "admin"]
ROLES: tuple[Role, ...] = ("researcher", "analyst", "partner", "admin")

# capabilities
EXPLORE = "explore"  # unsuppressed aggregates under free filters: overview, factor network, micropathways
RECORDS = "records"  # a single homicide: its card, pathway, similar cases, the cases behind a network link
SAVED_QUERIES = "saved-queries"  # any saved query of the library or the user folder, unsuppressed
PARTNER_TABLES = "partner-tables"  # partner-safe queries, suppressed (disclosure.release)
ADHOC = "adhoc-cypher"  # ad-hoc read-only Cypher
SAVE_QUERIES = "save-queries"  # save and restore user queries
EXPORT = "export"  # CSV / image downloads of what the user's pages show
AUDIT = "audit-log"  # read and export the audit log
REVIEW_LINKS = "review-links"  # accept / reject links between datasets (linkage.runs.review_links)
CAPABILITIES = (EXPLORE, RECORDS, SAVED_QUERIES, PARTNER_TABLES, ADHOC, SAVE_QUERIES, EXPORT, AUDIT, REVIEW_LINKS)

_RESEARCH_PAGES = frozenset({"overview", "network", "pathways", "card", "workbench", "partner", "links"})
PAGES: dict[Role, frozenset[str]] = {
    "researcher": _RESEARCH_PAGES,
    "analyst": _RESEARCH_PAGES,
    "partner": frozenset({"partner"}),
    "admin": _RESEARCH_PAGES | {"audit"},
}
GRANTS: dict[Role, frozenset[str]] = {
    "researcher": frozenset({EXPLORE, RECORDS, SAVED_QUERIES, PARTNER_TABLES, EXPORT}),
    "analyst": frozenset({EXPLORE, RECORDS, SAVED_QUERIES, PARTNER_TABLES, EXPORT, ADHOC, SAVE_QUERIES,
                          REVIEW_LINKS}),
    "partner": frozenset({PARTNER_TABLES, EXPORT}),
    "admin": frozenset(CAPABILITIES),
}
HOME: dict[Role, str] = {"researcher": "/", "analyst": "/", "partner": "/partner", "admin": "/"}


class UnknownRole(ValueError):
    """A role name that is not one of :data:`ROLES`."""


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise UnknownRole(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def may_see(role: str, page: str) -> bool:
    return page in PAGES[check_role(role)]


def may(role: str, capability: str) -> bool:
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; capabilities are {CAPABILITIES}")
    return capability in GRANTS[check_role(role)]


def disclosure_role(role: str) -> str:
    """The role ``disclosure.policy`` knows: ``partner`` for partners, ``analyst`` for everyone else."""
    return "partner" if check_role(role) == "partner" else "analyst"


def matrix_markdown() -> str:
    """The access matrix as a Markdown table (docs/security.md; a test checks the doc matches)."""
    pages = ["overview", "network", "pathways", "card", "workbench", "partner", "audit", "links"]
    head = "| | " + " | ".join(ROLES) + " |\n|---|" + "---|" * len(ROLES) + "\n"
    rows = [f"| page `{p}` | " + " | ".join("yes" if may_see(r, p) else "—" for r in ROLES) + " |" for p in pages]
    rows += [f"| {c} | " + " | ".join("yes" if may(r, c) else "—" for r in ROLES) + " |" for c in CAPABILITIES]
    return head + "\n".join(rows) + "\n"
