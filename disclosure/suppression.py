"""Small-count suppression with secondary suppression, for one table or a family of linked tables.

A table is a frame with one row per cell: dimension columns and a count column. Missing combinations of
observed dimension values are zero cells. Its published totals (margins) are named by the dimensions they
group by: ``()`` is the grand total, ``("year_band",)`` the total of each year band. Tables of one family
describe the same population, so a margin two tables both publish (same dimensions, same key) is one
figure: it is published or suppressed in both, and an attacker knows the two sums are equal.

Method (docs/disclosure.md):
1. Primary: every cell or margin under ``threshold`` (zero only where the zero rule says it is disclosive).
2. Secondary, to a fixed point: in every additive relation (a total and the items it sums), a published
   total may not have exactly one suppressed item, nor suppressed items that add up to under the threshold;
   a suppressed total needs at least one suppressed item. The next-smallest published item is suppressed.
3. Audit: for every primarily suppressed item, linear programs (scipy HiGHS) find the least and greatest
   value an attacker can deduce from everything published (published cells and margins, equal shared
   margins, counts >= 0). If that range is narrower than the threshold, the smallest published item of a
   relation holding the item is suppressed and steps 2-3 repeat. A table that cannot be protected raises.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from graph_model.errors import MicropathError

DEFAULT_THRESHOLD = 10
MARKER = "[c]"  # ONS/GSS symbol for a confidential (suppressed) value
TOTAL = "Total"  # dimension value of a margin row
STATUS, IS_MARGIN = "_status", "_margin"  # columns of SuppressedTable.cells: published/primary/secondary, margin?
ZeroRule = bool | tuple[tuple[str, tuple[Any, ...]], ...]
Status = Literal["published", "primary", "secondary"]
Key = tuple[Hashable, ...]


class DisclosureError(MicropathError):
    """A table cannot be released safely, or was given in a shape suppression cannot handle."""


@dataclass(frozen=True)
class TableSpec:
    """One table to protect: ``frame`` has one row per cell (``dims`` + the ``count`` column)."""

    name: str
    frame: pd.DataFrame
    dims: tuple[str, ...]
    count: str
    totals: tuple[tuple[str, ...], ...] = ((),)
    zero_disclosive: ZeroRule = False


@dataclass
class SuppressedTable:
    """Every cell and published margin of a table with its value and status. ``published()`` is what a
    partner may see; ``cells`` (values included) never leaves the server."""

    name: str
    dims: tuple[str, ...]
    count: str
    threshold: int
    cells: pd.DataFrame  # dims (TOTAL in a margin's summed dimensions) + count + STATUS + IS_MARGIN

    def published(self, marker: str = MARKER) -> pd.DataFrame:
        out = self.cells[[*self.dims, self.count]].astype(object).copy()
        out.loc[self.cells[STATUS] != "published", self.count] = marker
        return out.reset_index(drop=True)

    def records(self, marker: str = MARKER) -> list[dict[str, Any]]:
        frame = self.published(marker)
        return [{c: _plain(row[c]) for c in frame.columns} for _, row in frame.iterrows()]

    @property
    def suppressed(self) -> int:
        return int((self.cells[STATUS] != "published").sum())


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class _Item:
    kind: Literal["cell", "margin"]
    key: tuple[Any, ...]  # ("cell", table, cell key) or ("margin", grouping, margin key)
    value: int
    members: dict[str, list[int]] = field(default_factory=dict)  # table -> variable indices summed
    zero_disclosive: bool = False


class _Model:
    """Items (cells and margins) of a family of tables, over one variable per cell."""

    def __init__(self, specs: Sequence[TableSpec]) -> None:
        self.items: list[_Item] = []
        self.index: dict[tuple[Any, ...], int] = {}
        self.variables: list[int] = []  # variable -> item index of its cell
        self.relations: list[tuple[int, list[int]]] = []  # (total item, items it sums), per table
        self.grids: dict[str, list[Key]] = {}
        for spec in specs:
            self._add_table(spec)

    def _item(self, key: tuple[Any, ...], value: int, zero: bool) -> int:
        if key in self.index:
            item = self.items[self.index[key]]
            if item.value != value:
                raise DisclosureError(
                    f"margin {key[1]}={key[2]} is {item.value} in one table and {value} in another: tables "
                    "of one family must describe the same population")
            return self.index[key]
        self.index[key] = len(self.items)
        self.items.append(_Item(key[0], key, value, zero_disclosive=zero))
        return self.index[key]

    def _add_table(self, spec: TableSpec) -> None:
        cells = _grid(spec)
        self.grids[spec.name] = list(cells)
        var_of: dict[Key, int] = {}
        for key, value in cells.items():
            idx = self._item(("cell", spec.name, key), value, _zero_rule(spec, dict(zip(spec.dims, key, strict=True))))
            var_of[key] = len(self.variables)
            self.variables.append(idx)
            self.items[idx].members[spec.name] = [var_of[key]]
        groupings = sorted(set(spec.totals), key=len)
        margin_of: dict[tuple[tuple[str, ...], Key], int] = {}
        for grouping in groupings:
            positions = [spec.dims.index(d) for d in grouping]
            sums: dict[Key, list[Key]] = {}
            for key in cells:
                sums.setdefault(tuple(key[p] for p in positions), []).append(key)
            for mkey, members in sums.items():
                value = sum(cells[k] for k in members)
                zero = _zero_rule(spec, dict(zip(grouping, mkey, strict=True))) if grouping else bool(
                    spec.zero_disclosive is True)
                idx = self._item(("margin", grouping, mkey), value, zero)
                self.items[idx].members[spec.name] = [var_of[k] for k in members]
                margin_of[(grouping, mkey)] = idx
        for (grouping, mkey), idx in margin_of.items():  # each margin = sum of the next-finer items
            finer = [g for g in groupings if len(g) == len(grouping) + 1 and set(grouping) < set(g)]
            for g in finer or [spec.dims]:
                parts = [i for (g2, k2), i in margin_of.items() if g2 == g and _extends(grouping, mkey, g2, k2)] \
                    if g != spec.dims else [self.index[("cell", spec.name, k)] for k in cells
                                            if _extends(grouping, mkey, spec.dims, k)]
                self.relations.append((idx, parts))

    def expression(self, item: int) -> np.ndarray:
        """The item as a row over the variables (any one table's sum: linked tables agree)."""
        row = np.zeros(len(self.variables))
        row[next(iter(self.items[item].members.values()))] = 1.0
        return row


def _extends(grouping: tuple[str, ...], key: Key, finer: tuple[str, ...], finer_key: Key) -> bool:
    values = dict(zip(finer, finer_key, strict=True))
    return all(values[d] == v for d, v in zip(grouping, key, strict=True))


def _grid(spec: TableSpec) -> dict[Key, int]:
    frame = spec.frame
    missing = [c for c in (*spec.dims, spec.count) if c not in frame.columns]
    if missing:
        raise DisclosureError(f"table {spec.name!r} has no column(s) {missing}; it has {list(frame.columns)}")
    if {STATUS, IS_MARGIN} & {*spec.dims, spec.count}:
        raise DisclosureError(f"table {spec.name!r}: {STATUS!r} and {IS_MARGIN!r} are reserved column names")
    if frame[list(spec.dims)].isna().any().any():
        raise DisclosureError(f"table {spec.name!r}: a dimension value is missing (null); every cell needs one")
    if frame.duplicated(list(spec.dims)).any():
        dup = frame[frame.duplicated(list(spec.dims), keep=False)].head(2).to_dict("records")
        raise DisclosureError(f"table {spec.name!r} has more than one row for a cell, e.g. {dup}")
    counts = pd.to_numeric(frame[spec.count], errors="coerce")
    if counts.isna().any() or (counts < 0).any() or (counts % 1 != 0).any():
        raise DisclosureError(f"table {spec.name!r}: column {spec.count!r} must hold whole counts >= 0")
    if any((frame[d] == TOTAL).any() for d in spec.dims):
        raise DisclosureError(f"table {spec.name!r}: a dimension value is {TOTAL!r}, the margin label")
    observed = {tuple(r): int(v) for r, v in zip(frame[list(spec.dims)].itertuples(index=False, name=None),
                                                  counts, strict=True)}
    values = [sorted(frame[d].unique().tolist(), key=_order) for d in spec.dims]
    return {key: observed.get(key, 0) for key in itertools.product(*values)}


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float, np.integer, np.floating)) else (1, str(value))


def _zero_rule(spec: TableSpec, values: dict[str, Any]) -> bool:
    rule = spec.zero_disclosive
    if isinstance(rule, bool):
        return rule
    return any(d in values and values[d] in allowed for d, allowed in rule)


def _primary(item: _Item, threshold: int) -> bool:
    return item.value < threshold and (item.value > 0 or item.zero_disclosive)


class _Suppressor:
    def __init__(self, model: _Model, threshold: int) -> None:
        self.model, self.threshold = model, threshold
        self.primary = {i for i, item in enumerate(model.items) if _primary(item, threshold)}
        self.suppressed = set(self.primary)

    def value(self, i: int) -> int:
        return self.model.items[i].value

    def smallest_published(self, items: Sequence[int]) -> int | None:
        candidates = [i for i in items if i not in self.suppressed]
        if not candidates:
            return None
        return min(candidates, key=lambda i: (self.model.items[i].kind != "cell", self.value(i), i))

    def secondary_pass(self) -> None:
        changed = True
        while changed:
            changed = False
            for total, parts in self.model.relations:
                hidden = [p for p in parts if p in self.suppressed]
                if total in self.suppressed:
                    need = not hidden
                else:
                    need = len(hidden) == 1 or (bool(hidden) and sum(map(self.value, hidden)) < self.threshold)
                pick = self.smallest_published(parts) if need else None
                if pick is not None:
                    self.suppressed.add(pick)
                    changed = True

    def run(self) -> set[int]:
        while True:
            self.secondary_pass()
            weak = [i for i in sorted(self.primary) if width(*self.bounds(i)) < self.threshold]
            if not weak:
                return self.suppressed
            added = False
            for i in weak:
                related = [p for t, parts in self.model.relations if i == t or i in parts for p in (t, *parts)]
                pick = self.smallest_published(related)
                if pick is None:
                    pick = self.smallest_published(range(len(self.model.items)))
                if pick is not None:
                    self.suppressed.add(pick)
                    added = True
            if not added:
                raise DisclosureError(
                    f"cannot protect {self.model.items[weak[0]].key} even with every item suppressed: the "
                    "table is too small to release")

    def bounds(self, item: int) -> tuple[float, float]:
        return feasible_range(self.model, self.suppressed, item)


def width(low: float, high: float) -> float:
    return high - low


def feasible_range(model: _Model, suppressed: set[int], item: int) -> tuple[float, float]:
    """Least and greatest value of ``item`` consistent with every published figure (LP, counts >= 0)."""
    n = len(model.variables)
    lower, upper = np.zeros(n), np.full(n, np.inf)
    rows: list[sparse.csr_matrix] = []
    rhs: list[float] = []
    for i, it in enumerate(model.items):
        published = i not in suppressed
        if it.kind == "cell":
            if published:
                (var,) = next(iter(it.members.values()))
                lower[var] = upper[var] = it.value
            continue
        tables = list(it.members.values())
        if published:
            for members in tables:
                rows.append(_row(n, members, []))
                rhs.append(float(it.value))
        for first, second in itertools.pairwise(tables):  # linked tables: the same figure
            rows.append(_row(n, first, second))
            rhs.append(0.0)
    a_eq = sparse.vstack(rows).tocsr() if rows else None
    b_eq = np.array(rhs) if rows else None
    target = model.expression(item)
    bounds = list(zip(lower, [None if np.isinf(u) else u for u in upper], strict=True))
    low = linprog(target, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    high = linprog(-target, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if low.status != 0:
        raise DisclosureError(f"suppression audit: the published figures are inconsistent ({low.message})")
    return float(low.fun), (float("inf") if high.status == 3 else float(-high.fun))


def _row(n: int, plus: list[int], minus: list[int]) -> sparse.csr_matrix:
    data = [1.0] * len(plus) + [-1.0] * len(minus)
    return sparse.csr_matrix((data, ([0] * len(data), plus + minus)), shape=(1, n))


def suppress_family(specs: Sequence[TableSpec], threshold: int = DEFAULT_THRESHOLD) -> dict[str, SuppressedTable]:
    """Suppress tables of one population together: shared margins agree, and the audit assumes an
    attacker holds every table of the family at once."""
    if threshold < 1:
        raise DisclosureError(f"threshold must be a whole number of at least 1, not {threshold!r}")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise DisclosureError(f"table names must be distinct, got {names}")
    model = _Model(specs)
    suppressed = _Suppressor(model, threshold).run()
    primary = {i for i, it in enumerate(model.items) if _primary(it, threshold)}
    return {spec.name: _table(spec, model, suppressed, primary, threshold) for spec in specs}


def _table(spec: TableSpec, model: _Model, suppressed: set[int], primary: set[int],
           threshold: int) -> SuppressedTable:
    rows = []
    for key in model.grids[spec.name]:
        i = model.index[("cell", spec.name, key)]
        rows.append({**dict(zip(spec.dims, key, strict=True)), spec.count: model.items[i].value,
                     STATUS: _status(i, suppressed, primary), IS_MARGIN: False})
    for grouping in spec.totals:
        for key, i in sorted(((k[2], i) for k, i in model.index.items()
                              if k[0] == "margin" and k[1] == grouping and spec.name in model.items[i].members),
                             key=lambda pair: [_order(v) for v in pair[0]]):
            values = dict(zip(grouping, key, strict=True))
            rows.append({**{d: values.get(d, TOTAL) for d in spec.dims}, spec.count: model.items[i].value,
                         STATUS: _status(i, suppressed, primary), IS_MARGIN: True})
    cells = pd.DataFrame(rows, columns=[*spec.dims, spec.count, STATUS, IS_MARGIN])
    return SuppressedTable(spec.name, spec.dims, spec.count, threshold, cells)


def _status(i: int, suppressed: set[int], primary: set[int]) -> Status:
    return "primary" if i in primary else "secondary" if i in suppressed else "published"


def suppress_table(frame: pd.DataFrame, dims: Sequence[str], counts: str | Sequence[str],
                   threshold: int = DEFAULT_THRESHOLD, *, totals: Sequence[Sequence[str]] | None = None,
                   zero_disclosive: ZeroRule = False) -> dict[str, SuppressedTable]:
    """Suppress one table (one row per cell of ``dims``) for release, per count column.

    ``totals`` names the published margins (default: the grand total, and for a 2-D table each dimension's
    totals). Each count column is protected as its own table: do not release two count columns where one
    can be computed from the other. Returns ``{count column: SuppressedTable}``; call ``.published()`` for the
    frame with suppressed values replaced by ``MARKER`` and the margins as rows labelled ``TOTAL``.
    """
    dims_t = tuple(dims)
    chosen = tuple(tuple(t) for t in totals) if totals is not None else \
        (((),) if len(dims_t) < 2 else ((), *((d,) for d in dims_t)))
    columns = [counts] if isinstance(counts, str) else list(counts)
    return {c: suppress_family([TableSpec(c, frame, dims_t, c, chosen, zero_disclosive)], threshold)[c]
            for c in columns}
