"""Suppression on constructed tables (exact outputs), the recoverability proof, and the [partner] metadata.

The proof is an attacker's linear program over published tables, written independently of disclosure/.

From the published frames alone (counts, ``[c]`` markers, ``Total`` rows) it rebuilds the unknown inner
cells and every equation the attacker knows — published cells, published totals, and that a total two
tables both print is the same figure — and asks scipy's linprog for the least and greatest value each
target (an inner cell or a total) can take with counts >= 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from disclosure import DisclosureError, TableSpec, suppress_family, suppress_table
from queries.registry import SavedQueryError, parse_saved_query

MARK, TOTAL = "[c]", "Total"  # written out here, not imported: the published format is part of the test


@dataclass(frozen=True)
class Published:
    name: str
    frame: pd.DataFrame  # dims + count column, as a partner receives it
    dims: tuple[str, ...]
    count: str


def _grouping(row: pd.Series, dims: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    kept = tuple(d for d in dims if row[d] != TOTAL)
    return kept, tuple(row[d] for d in kept)


class Attacker:
    def __init__(self, tables: list[Published]) -> None:
        self.var: dict[tuple[str, tuple[Any, ...]], int] = {}
        self.sums: dict[tuple[tuple[str, ...], tuple[Any, ...]], dict[str, list[int]]] = {}
        self.fixed: dict[int, float] = {}
        self.known_sums: list[tuple[list[int], float]] = []
        for t in tables:
            inner = t.frame[(t.frame[list(t.dims)] != TOTAL).all(axis=1)]
            for _, row in inner.iterrows():
                key = tuple(row[d] for d in t.dims)
                v = self.var.setdefault((t.name, key), len(self.var))
                if row[t.count] != MARK:
                    self.fixed[v] = float(row[t.count])
        for t in tables:
            for _, row in t.frame[(t.frame[list(t.dims)] == TOTAL).any(axis=1)].iterrows():
                grouping, key = _grouping(row, t.dims)
                members = [v for (name, ck), v in self.var.items() if name == t.name and
                           all(ck[t.dims.index(d)] == k for d, k in zip(grouping, key, strict=True))]
                self.sums.setdefault((grouping, key), {})[t.name] = members
                if row[t.count] != MARK:
                    self.known_sums.append((members, float(row[t.count])))

    def _system(self) -> tuple[np.ndarray | None, np.ndarray | None, list[tuple[float, float | None]]]:
        n = len(self.var)
        rows, rhs = [], []
        for members, value in self.known_sums:
            row = np.zeros(n)
            row[members] = 1
            rows.append(row)
            rhs.append(value)
        for per_table in self.sums.values():  # one total printed by two tables: equal sums
            sets = list(per_table.values())
            for a, b in itertools.pairwise(sets):
                row = np.zeros(n)
                row[a] += 1
                row[b] -= 1
                rows.append(row)
                rhs.append(0.0)
        bounds: list[tuple[float, float | None]] = [
            (self.fixed[v], self.fixed[v]) if v in self.fixed else (0.0, None) for v in range(n)]
        return (np.array(rows) if rows else None), (np.array(rhs) if rows else None), bounds

    def cell_range(self, table: str, key: tuple[Any, ...]) -> tuple[float, float]:
        target = np.zeros(len(self.var))
        target[self.var[(table, key)]] = 1
        return self._range(target)

    def total_range(self, table: str, grouping: tuple[str, ...], key: tuple[Any, ...]) -> tuple[float, float]:
        target = np.zeros(len(self.var))
        target[self.sums[(grouping, key)][table]] = 1
        return self._range(target)

    def _range(self, target: np.ndarray) -> tuple[float, float]:
        a_eq, b_eq, bounds = self._system()
        low = linprog(target, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-target, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0, low.message
        return low.fun, (np.inf if high.status == 3 else -high.fun)


# ---- helpers -------------------------------------------------------------------------------------
def primaries(raw: dict[tuple[Any, ...], int], threshold: int = 10, zero: bool = False) -> list[tuple[Any, ...]]:
    """Cells the rule must hide, from the raw values (computed here, not by disclosure/)."""
    return [k for k, v in raw.items() if v < threshold and (v > 0 or zero)]


def published_of(table: Any) -> Published:
    return Published(table.name, table.published(), table.dims, table.count)


def assert_protected(tables: list[Any], raw: dict[str, dict[tuple[Any, ...], int]], threshold: int = 10,
                     zero: bool = False) -> int:
    """Every small inner cell (and small total) of every table: hidden, with an attacker's range >= threshold."""
    attacker = Attacker([published_of(t) for t in tables])
    checked = 0
    for t in tables:
        cells = raw[t.name]
        frame = t.published()
        for key in primaries(cells, threshold, zero):
            row = frame[(frame[list(t.dims)] == pd.Series(dict(zip(t.dims, key, strict=True)))).all(axis=1)]
            assert row[t.count].tolist() == [MARK], (t.name, key)
            low, high = attacker.cell_range(t.name, key)
            assert high - low >= threshold, f"{t.name} cell {key}={cells[key]} is pinned to [{low}, {high}]"
            checked += 1
        for grouping in {g for g, _ in attacker.sums if set(g) <= set(t.dims)}:
            keep = [t.dims.index(d) for d in grouping]
            totals: dict[tuple[Any, ...], int] = {}
            for key, v in cells.items():
                totals[tuple(key[i] for i in keep)] = totals.get(tuple(key[i] for i in keep), 0) + v
            for key, v in totals.items():
                if 0 < v < threshold and t.name in attacker.sums.get((grouping, key), {}):
                    low, high = attacker.total_range(t.name, grouping, key)
                    assert high - low >= threshold, f"{t.name} total {grouping}={key} ({v}) is pinned"
                    checked += 1
    return checked


def frame_of(raw: dict[tuple[Any, ...], int], dims: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame([{**dict(zip(dims, k, strict=True)), "n": v} for k, v in raw.items()])


def published_values(table: Any) -> list[list[Any]]:
    return table.published().values.tolist()


# ---- exact outputs on constructed tables ------------------------------------------------------------
def test_one_dimension_small_cells_that_sum_to_a_small_count_take_a_third() -> None:
    # 1 and 2 are primary; together they are 3 (< 10), so the total 503 would pin them: 500 goes too.
    table = suppress_table(pd.DataFrame({"m": ["a", "b", "c"], "n": [1, 2, 500]}), ["m"], "n")["n"]
    assert published_values(table) == [["a", MARK], ["b", MARK], ["c", MARK], [TOTAL, 503]]


def test_one_dimension_two_small_cells_that_sum_to_ten_protect_each_other() -> None:
    table = suppress_table(pd.DataFrame({"m": ["a", "b", "c", "d"], "n": [3, 8, 500, 600]}), ["m"], "n")["n"]
    assert published_values(table) == [["a", MARK], ["b", MARK], ["c", 500], ["d", 600], [TOTAL, 1111]]


def test_one_dimension_a_single_small_cell_takes_the_next_smallest() -> None:
    table = suppress_table(pd.DataFrame({"m": ["a", "b", "c", "d"], "n": [40, 4, 25, 60]}), ["m"], "n")["n"]
    assert published_values(table) == [["a", 40], ["b", MARK], ["c", MARK], ["d", 60], [TOTAL, 129]]


TWO_D = {("r1", "x"): 3, ("r1", "y"): 20, ("r1", "z"): 30, ("r2", "x"): 15, ("r2", "y"): 25, ("r2", "z"): 40,
         ("r3", "x"): 12, ("r3", "y"): 11, ("r3", "z"): 50}


def test_two_dimensions_secondary_cells_close_rows_and_columns() -> None:
    # r1/x = 3: row r1 and column x each need a second hidden cell; the smallest choices (r1/y = 20 and
    # r3/x = 12) leave row r3 and column y with one each, closed by r3/y = 11: a 2x2 rectangle.
    table = suppress_table(frame_of(TWO_D, ("r", "c")), ["r", "c"], "n")["n"]
    assert published_values(table) == [
        ["r1", "x", MARK], ["r1", "y", MARK], ["r1", "z", 30], ["r2", "x", 15], ["r2", "y", 25], ["r2", "z", 40],
        ["r3", "x", MARK], ["r3", "y", MARK], ["r3", "z", 50], [TOTAL, TOTAL, 206], ["r1", TOTAL, 53],
        ["r2", TOTAL, 80], ["r3", TOTAL, 73], [TOTAL, "x", 30], [TOTAL, "y", 56], [TOTAL, "z", 120]]
    assert assert_protected([table], {"n": TWO_D}) == 1


def test_a_small_row_total_is_hidden_and_protected_too() -> None:
    raw = {("r1", "x"): 2, ("r1", "y"): 3, ("r2", "x"): 30, ("r2", "y"): 40, ("r3", "x"): 50, ("r3", "y"): 45}
    table = suppress_table(frame_of(raw, ("r", "c")), ["r", "c"], "n")["n"]
    frame = table.published()
    assert frame[(frame.r == "r1") & (frame.c == TOTAL)].n.tolist() == [MARK]  # 5 < 10
    assert assert_protected([table], {"n": raw}) == 3


def test_missing_combinations_are_zero_cells_and_zero_is_published_unless_disclosive() -> None:
    frame = pd.DataFrame({"r": ["a", "a", "b"], "c": ["x", "y", "x"], "n": [30, 25, 40]})
    plain = suppress_table(frame, ["r", "c"], "n")["n"].published()
    assert plain[(plain.r == "b") & (plain.c == "y")].n.tolist() == [0]
    hidden = suppress_table(frame, ["r", "c"], "n", zero_disclosive=True)["n"]
    assert hidden.published()[lambda f: (f.r == "b") & (f.c == "y")].n.tolist() == [MARK]
    assert assert_protected([hidden], {"n": {("a", "x"): 30, ("a", "y"): 25, ("b", "x"): 40, ("b", "y"): 0}},
                            zero=True) == 1


def test_zero_rule_by_dimension_value() -> None:
    frame = pd.DataFrame({"f": ["da"] * 3, "s": ["present", "absent", "not coded"], "n": [499, 2437, 0]})
    out = suppress_table(frame, ["f", "s"], "n", totals=[["f"]],
                         zero_disclosive=(("s", ("present", "absent")),))["n"].published()
    assert out.n.tolist() == [2437, 0, 499, 2936]  # statuses sorted; 'not coded: 0' is not disclosive
    out = suppress_table(frame.assign(n=[0, 2936, 0]), ["f", "s"], "n", totals=[["f"]],
                         zero_disclosive=(("s", ("present", "absent")),))["n"].published()
    # 'present: 0' is disclosive; hiding it with 'not coded: 0' alone would show the two sum to 0, so
    # 'absent' goes too and the partner sees only the total
    assert out.n.tolist() == [MARK, MARK, MARK, 2936]


def test_threshold_is_configurable() -> None:
    frame = pd.DataFrame({"m": ["a", "b", "c", "d"], "n": [12, 15, 25, 60]})
    assert suppress_table(frame, ["m"], "n")["n"].suppressed == 0
    at_20 = suppress_table(frame, ["m"], "n", threshold=20)["n"]
    assert published_values(at_20) == [["a", MARK], ["b", MARK], ["c", 25], ["d", 60], [TOTAL, 112]]


def test_a_table_whose_total_is_small_publishes_nothing() -> None:
    table = suppress_table(pd.DataFrame({"m": ["a", "b"], "n": [3, 4]}), ["m"], "n")["n"]
    assert published_values(table) == [["a", MARK], ["b", MARK], [TOTAL, MARK]]


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"m": ["a", "a"], "n": [1, 2]}), "more than one row for a cell"),
    (pd.DataFrame({"m": ["a", None], "n": [1, 2]}), "dimension value is missing"),
    (pd.DataFrame({"m": ["a", "b"], "n": [1.5, 2]}), "whole counts"),
    (pd.DataFrame({"m": ["a", "Total"], "n": [1, 2]}), "margin label"),
])
def test_bad_tables_are_refused_with_the_reason(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(DisclosureError, match=message):
        suppress_table(frame, ["m"], "n")


# ---- the recoverability proof on random tables -----------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_no_suppressed_cell_can_be_recovered_from_totals(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, cols = int(rng.integers(2, 7)), int(rng.integers(2, 7))
    raw = {(f"r{i}", f"c{j}"): int(v) for i in range(rows) for j in range(cols)
           for v in [rng.choice([rng.integers(0, 10), rng.integers(10, 80)], p=[0.35, 0.65])]}
    try:
        table = suppress_table(frame_of(raw, ("r", "c")), ["r", "c"], "n")["n"]
    except DisclosureError:
        assert sum(raw.values()) < 40, "only a very small table may be refused"
        return
    assert_protected([table], {"n": raw})
    shown = [v for v in table.published().n if v != MARK]
    assert all(v >= 10 or v == 0 for v in shown)


def test_linked_tables_are_protected_against_an_attacker_holding_both() -> None:
    """Two tables share the year-band totals; each alone and both together keep every small cell hidden."""
    rng = np.random.default_rng(7)
    bands, methods, areas = [2000, 2005, 2010], ["knife", "gun", "blunt", "other"], ["A", "B", "C", "D", "E"]
    people = [(int(rng.choice(bands)), str(rng.choice(methods, p=[0.6, 0.2, 0.15, 0.05])),
               str(rng.choice(areas, p=[0.4, 0.3, 0.15, 0.1, 0.05]))) for _ in range(300)]
    by_bm = {(b, m): sum(1 for p in people if p[:2] == (b, m)) for b in bands for m in methods}
    by_ab = {(a, b): sum(1 for p in people if (p[2], p[0]) == (a, b)) for a in areas for b in bands}
    tables = suppress_family([
        TableSpec("bm", frame_of(by_bm, ("year_band", "method")), ("year_band", "method"), "n",
                  ((), ("year_band",), ("method",))),
        TableSpec("ab", frame_of(by_ab, ("area", "year_band")), ("area", "year_band"), "n",
                  ((), ("area",), ("year_band",)))])
    assert assert_protected(list(tables.values()), {"bm": by_bm, "ab": by_ab}) > 0
    bm, ab = (t.published() for t in tables.values())
    band_totals_bm = bm[(bm.method == TOTAL) & (bm.year_band != TOTAL)].set_index("year_band").n.to_dict()
    band_totals_ab = ab[(ab.area == TOTAL) & (ab.year_band != TOTAL)].set_index("year_band").n.to_dict()
    assert band_totals_bm == band_totals_ab  # the shared totals are printed (or hidden) alike
    assert {b: v for b, v in band_totals_bm.items() if v != MARK} == \
        {b: sum(1 for p in people if p[0] == b) for b in bands if sum(1 for p in people if p[0] == b) >= 10}


# ---- the [partner] metadata ------------------------------------------------------------------------
HEADER = '// name = "probe"\n// title = "Probe"\n// description = "A crafted query."\n'
BODY = "MATCH (h:Homicide) RETURN h.year AS year, count(h) AS n"


def test_partner_metadata_is_parsed() -> None:
    query = parse_saved_query(HEADER + '// [partner]\n// safe = true\n// dimensions = ["year"]\n'
                              '// counts = ["n"]\n' + BODY, Path("probe.cypher"))
    assert query.partner_safe and query.partner is not None
    assert (query.partner.dimensions, query.partner.counts, query.partner.totals) == (("year",), ("n",), ((),))
    assert query.summary()["partner"]["zero_disclosive"] is False
    assert not parse_saved_query(HEADER + BODY, Path("probe.cypher")).partner_safe


@pytest.mark.parametrize(("partner", "message"), [
    ('// safe = true\n// dimensions = ["year"]\n', "counts must be a list"),
    ('// safe = true\n// dimensions = ["year"]\n// counts = ["n"]\n// totals = [["n"]]\n', "proper subsets"),
    ('// safe = true\n// dimensions = ["yr"]\n// counts = ["n"]\n', r"\['yr'\] are not returned"),
    ('// safe = true\n// dimensions = ["year"]\n// counts = ["year"]\n', "both a dimension and a count"),
    ('// safe = "yes"\n', "safe must be true or false"),
    ('// safe = true\n// dimensions = ["year"]\n// counts = ["n"]\n// zero_disclosive = {month = [1]}\n',
     "zero_disclosive must be"),
    ('// safe = true\n// dims = ["year"]\n', "unknown key"),
])
def test_bad_partner_metadata_is_refused(partner: str, message: str) -> None:
    with pytest.raises(SavedQueryError, match=message):
        parse_saved_query(HEADER + "// [partner]\n" + partner + BODY, Path("probe.cypher"))


def test_partner_queries_are_table_results() -> None:
    with pytest.raises(SavedQueryError, match='result = "table"'):
        parse_saved_query(HEADER + '// result = "chart"\n// [chart]\n// type = "bar"\n// x = "year"\n// y = "n"\n'
                          '// [partner]\n// safe = true\n// dimensions = ["year"]\n// counts = ["n"]\n' + BODY,
                          Path("probe.cypher"))
