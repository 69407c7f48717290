"""Partner releases: run a partner-safe saved query and publish only its suppressed table.

Every partner-safe query of the family runs with the same parameters and the family is suppressed
together (disclosure.suppression.suppress_family), so the table a partner gets is the same whichever
other partner tables they ask for, before or after, and no combination of them reveals a suppressed
value. Callers (CLI, dashboard, exports) use ``run_partner_query`` and ``render``; they never see the
unsuppressed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from disclosure.policy import authorize_query, check_threshold, partner_family
from disclosure.suppression import MARKER, DisclosureError, SuppressedTable, TableSpec, suppress_family
from graph_model.backend import GraphBackend, QueryResult
from queries.formatting import render as render_result
from queries.registry import Registry, SavedQuery
from queries.runner import run_saved_query


@dataclass
class PartnerRelease:
    """A partner-safe query's published table: margins included, suppressed values as ``MARKER``."""

    query: SavedQuery
    params: dict[str, Any]
    threshold: int
    tables: dict[str, SuppressedTable]  # count column -> its suppressed table

    @property
    def columns(self) -> list[str]:
        assert self.query.partner is not None
        return [*self.query.partner.dimensions, *self.query.partner.counts]

    def published(self, marker: str = MARKER) -> pd.DataFrame:
        """Dimensions and counts only: no status column (a status would tell primary from secondary)."""
        assert self.query.partner is not None
        dims = list(self.query.partner.dimensions)
        frames = [t.published(marker) for t in self.tables.values()]
        out = frames[0]
        for frame in frames[1:]:
            out = out.merge(frame, on=dims, how="outer", sort=False)
        return out[self.columns]

    def result(self, marker: str = MARKER) -> QueryResult:
        frame = self.published(marker)
        rows = [{c: _plain(v) for c, v in zip(frame.columns, values, strict=True)}
                for values in frame.itertuples(index=False, name=None)]
        return QueryResult(columns=list(frame.columns), rows=rows, backend="partner")

    def render(self, fmt: str, marker: str = MARKER) -> str:
        return render_result(self.result(marker), fmt)

    def note(self) -> str:
        return (f"{MARKER} = suppressed: a count under {self.threshold} (zero too where it would disclose), or "
                "hidden so that no suppressed count can be worked out from the totals or other partner tables. "
                "Totals are rows labelled 'Total'. See docs/disclosure.md.")


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def table_specs(query: SavedQuery, result: QueryResult) -> list[TableSpec]:
    """One TableSpec per count column of a partner-safe query's raw result."""
    spec = query.partner
    assert spec is not None
    if result.truncated:
        raise DisclosureError(f"query {query.name!r} hit its row cap ({query.max_rows}); a partial table cannot "
                              "be protected (raise max_rows in the query file)")
    frame = pd.DataFrame(result.rows, columns=result.columns)
    return [TableSpec(f"{query.name}:{count}", frame, spec.dimensions, count, spec.totals, spec.zero_disclosive)
            for count in spec.counts]


def run_partner_query(backend: GraphBackend, name: str, params: dict[str, Any] | None = None, *,
                      threshold: int | None = None, registry: Registry | None = None) -> PartnerRelease:
    """Run partner-safe query ``name`` in the partner role and return only its suppressed table.

    Raises AccessRefused when the query or a parameter is not allowed, DisclosureError when the table
    cannot be protected (e.g. the dataset is too small to publish at all)."""
    query, bound = authorize_query("partner", name, params, registry)
    level = check_threshold(threshold)
    specs: list[TableSpec] = []
    for member in partner_family(registry):
        specs += table_specs(member, run_saved_query(backend, member.name, member.bind(bound), registry=registry))
    tables = suppress_family(specs, level)
    assert query.partner is not None
    mine = {count: tables[f"{query.name}:{count}"] for count in query.partner.counts}
    return PartnerRelease(query, bound, level, mine)
