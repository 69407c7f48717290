"""Which role may run what: the one place the partner rules are enforced (docs/disclosure.md).

The dashboard and the login layer call ``authorize_query`` / ``authorize_adhoc`` / ``allowed_queries``
with the signed-in user's role; ``disclosure.release.run_partner_query`` calls them for every partner
release. Rules for the partner role:

* only saved queries marked ``[partner] safe = true`` run, never ad-hoc Cypher;
* their only parameters are partition filters: ``dataset``, one whole dataset (never '' for "all"), so
  any two partner releases describe either the same population or disjoint ones — differencing two
  releases can never isolate a small group (year ranges, single areas and other free filters are refused);
* every output passes through suppression at a threshold no lower than the configured one.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, Literal

from disclosure.suppression import DEFAULT_THRESHOLD, DisclosureError
from queries.registry import Registry, SavedQuery, SavedQueryError, default_registry

Role = Literal["analyst", "partner"]
ROLES: tuple[str, ...] = ("analyst", "partner")
THRESHOLD_ENV = "MICROPATH_DISCLOSURE_THRESHOLD"
PARTITION_PARAMETERS: dict[str, str] = {
    "dataset": "one whole dataset, by name (partners cannot ask for '' = every dataset)",
}


class AccessRefused(DisclosureError):
    """The role may not run this query, these parameters, or ad-hoc Cypher."""


def _role(role: str) -> Role:
    if role not in ROLES:
        raise AccessRefused(f"unknown role {role!r}; roles are {list(ROLES)}")
    return role  # type: ignore[return-value]


def configured_threshold() -> int:
    """The deployment's minimum threshold: $MICROPATH_DISCLOSURE_THRESHOLD, else 10."""
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    if not raw:
        return DEFAULT_THRESHOLD
    try:
        value = int(raw)
    except ValueError:
        raise DisclosureError(f"{THRESHOLD_ENV}={raw!r} must be a whole number (e.g. 10)") from None
    if value < 2:
        raise DisclosureError(f"{THRESHOLD_ENV}={value} would publish single cases; use 2 or more (10 is usual)")
    return value


def check_threshold(threshold: int | None) -> int:
    """The threshold a partner release uses: the configured one, or a higher one asked for."""
    floor = configured_threshold()
    if threshold is None:
        return floor
    if threshold < floor:
        raise AccessRefused(f"threshold {threshold} is below this deployment's minimum of {floor} "
                            f"(set by {THRESHOLD_ENV}); partners may only ask for a higher one")
    return threshold


def partner_problems(query: SavedQuery) -> list[str]:
    """Why ``query`` may not run in the partner role (empty: it may)."""
    if query.partner is None:
        return [f"query {query.name!r} is not marked safe for partners ([partner] safe = true)"]
    problems = [f"query {query.name!r}: parameter {p.name!r} is not a partition filter; partner queries may "
                f"take only {sorted(PARTITION_PARAMETERS)}"
                for p in query.parameters if p.name not in PARTITION_PARAMETERS]
    if len(query.partner.dimensions) > 2:
        problems.append(f"query {query.name!r}: partner tables have one or two dimensions, not "
                        f"{list(query.partner.dimensions)}")
    return problems


def may_run(role: str, query: SavedQuery) -> bool:
    return _role(role) == "analyst" or not partner_problems(query)


def allowed_queries(role: str, registry: Registry | None = None) -> list[SavedQuery]:
    """The saved queries ``role`` may run, by name."""
    return [q for q in (registry or default_registry()) if may_run(role, q)]


def authorize_query(role: str, name: str, params: dict[str, Any] | None = None,
                    registry: Registry | None = None) -> tuple[SavedQuery, dict[str, Any]]:
    """The query and its bound parameters if ``role`` may run it with ``params``; else AccessRefused."""
    query = (registry or default_registry()).get(name)
    params = dict(params or {})
    if _role(role) == "analyst":
        return query, query.bind(params)
    problems = partner_problems(query)
    if problems:
        raise AccessRefused("partner role: " + "; ".join(problems) +
                            ". `micropath partner queries` lists the queries partners may run")
    try:
        bound = query.bind(params)
    except SavedQueryError as exc:
        raise AccessRefused(f"partner role: {exc}. Partner queries filter only by whole partitions: "
                            f"{PARTITION_PARAMETERS}") from None
    for pname, value in bound.items():
        if pname == "dataset" and not str(value).strip():
            raise AccessRefused(f"partner role: query {name!r} needs one whole dataset (dataset=''/all is "
                                "refused: the difference between all datasets and the others isolates one)")
    return query, bound


def authorize_adhoc(role: str) -> None:
    """Ad-hoc Cypher runs only for analysts: it can select single homicides and arbitrary subsets."""
    if _role(role) != "analyst":
        raise AccessRefused("partner role: ad-hoc Cypher is refused (it can select single homicides and any "
                            "subset, so no suppression can protect it); run a partner-safe saved query instead")


def partner_family(registry: Registry | None = None) -> list[SavedQuery]:
    """Every partner-safe query: they describe one population (homicides of a dataset with a year) and are
    suppressed together, so an attacker holding all of them learns no suppressed value."""
    family = [q for q in (registry or default_registry()) if q.partner is not None and not partner_problems(q)]
    cycle = dimension_cycle(family)
    if cycle:
        raise DisclosureError(f"partner-safe queries {cycle} cross-classify their dimensions in a cycle "
                              "(linked tables): drop one, or publish it to analysts only")
    return family


def dimension_cycle(queries: list[SavedQuery]) -> list[str]:
    """Names of queries whose dimension pairs close a cycle (empty when the dimensions form a forest).

    Tables sharing at most one dimension in a tree are independent given their shared margins; a cycle
    (e.g. A x B, B x C and A x C) lets published cells of two tables bound suppressed cells of the third.
    """
    parent: dict[str, str] = {}

    def root(d: str) -> str:
        while parent.setdefault(d, d) != d:
            d = parent[d]
        return d

    for query in queries:
        assert query.partner is not None
        dims = query.partner.dimensions
        for a, b in itertools.pairwise(dims):
            ra, rb = root(a), root(b)
            if ra == rb:
                return [q.name for q in queries if q.partner and {a, b} & set(q.partner.dimensions)]
            parent[ra] = rb
    return []
