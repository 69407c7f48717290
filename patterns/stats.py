"""Small, well-defined statistics used by the pattern measures (scipy does the numerics).

- :func:`wilson_interval`: Wilson score interval for a proportion (no continuity correction), the
  interval recommended over the Wald interval for small counts and proportions near 0 or 1.
- :func:`fisher_exact_tests`: Fisher's exact test on many 2x2 tables at once: scipy.stats.fisher_exact's
  steps on arrays of hypergeometric probabilities (scipy.stats.hypergeom), identical tables computed once.
- :func:`benjamini_hochberg`: Benjamini–Hochberg adjusted p-values (q-values) controlling the false
  discovery rate over a family of tests (scipy.stats.false_discovery_control, method 'bh').
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")


def wilson_interval(successes: Sequence[int] | np.ndarray, trials: Sequence[int] | np.ndarray,
                    confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper Wilson score bounds for successes/trials (NaN where trials is 0)."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        low, high = centre - half, centre + half
    low = np.where(n > 0, np.clip(low, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(high, 0.0, 1.0), np.nan)
    return low, high


def fisher_exact_tests(tables: np.ndarray, alternative: str = "two-sided") -> tuple[np.ndarray, np.ndarray]:
    """Odds ratios and p-values of Fisher's exact test for each 2x2 table.

    ``tables`` has shape (m, 4): ``[a, b, c, d]`` for the table ``[[a, b], [c, d]]`` (rows: A present /
    absent; columns: B present / absent). ``alternative`` is scipy's: 'two-sided', 'greater' (odds ratio
    above 1: A and B together more than by chance) or 'less'.

    The same computation as ``scipy.stats.fisher_exact`` (its steps, on arrays): under the null, ``a`` is
    hypergeometric (``scipy.stats.hypergeom`` with M = the total, n = the first row, N = the first column);
    'less' is its cdf at a, 'greater' the cdf of b given the second column, 'two-sided' the sum of the
    probabilities of the tables no more likely than the observed one (relative tolerance 1e-14), one tail
    by the cdf or sf and the other from the point found by a binary search on the pmf, for all tables at
    once. Identical tables are computed once. Agrees with scipy to 1e-12 (tests/test_patterns_stats.py).
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, not {alternative!r}")
    tables = np.asarray(tables, dtype=np.int64).reshape(-1, 4)
    if np.any(tables < 0):
        raise ValueError("2x2 table counts must be non-negative")
    distinct, back = np.unique(tables, axis=0, return_inverse=True)
    odds, pvalues = _fisher(distinct, alternative)
    return odds[back.ravel()], pvalues[back.ravel()]


def _fisher(tables: np.ndarray, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d = (tables[:, i] for i in range(4))
    row1, total, col1 = a + b, a + b + c + d, a + c
    odds = np.full(len(tables), np.inf)
    finite = (b > 0) & (c > 0)
    odds[finite] = a[finite] * d[finite] / (c[finite] * b[finite])
    pvalues = np.ones(len(tables))
    fixed = (row1 == 0) | (c + d == 0) | (col1 == 0) | (b + d == 0)  # a zero margin: p = 1, no odds ratio
    odds[fixed] = np.nan
    live = ~fixed
    hyper = stats.hypergeom
    if alternative == "less":
        pvalues[live] = hyper.cdf(a[live], total[live], row1[live], col1[live])
    elif alternative == "greater":
        pvalues[live] = hyper.cdf(b[live], total[live], row1[live], (b + d)[live])
    elif live.any():
        pvalues[live] = _two_sided(a[live], total[live], row1[live], col1[live])
    return odds, np.minimum(pvalues, 1.0)


def _two_sided(a: np.ndarray, total: np.ndarray, row1: np.ndarray, col1: np.ndarray) -> np.ndarray:
    """scipy's two-sided Fisher p-value (fisher_exact, 2x2 branch), for arrays of tables."""
    hyper = stats.hypergeom
    mode = ((col1 + 1) * (row1 + 1) / (total + 2)).astype(np.int64)
    pexact = hyper.pmf(a, total, row1, col1)
    pmode = hyper.pmf(mode, total, row1, col1)
    epsilon = 1e-14
    gamma = 1 + epsilon
    out = np.ones(len(a))
    at_mode = np.abs(pexact - pmode) / np.maximum(pexact, pmode) <= epsilon
    low = ~at_mode & (a < mode)
    high = ~at_mode & ~low
    if low.any():  # the observed table is in the lower tail: the upper tail is found by search
        i = np.flatnonzero(low)
        tail = hyper.cdf(a[i], total[i], row1[i], col1[i])
        alone = hyper.pmf(col1[i], total[i], row1[i], col1[i]) > pexact[i] * gamma
        guess = _search(-1.0, -pexact[i] * gamma, mode[i], col1[i].copy(), total[i], row1[i], col1[i])
        other = hyper.sf(guess, total[i], row1[i], col1[i])
        out[i] = np.where(alone, tail, tail + other)
    if high.any():
        i = np.flatnonzero(high)
        tail = hyper.sf(a[i] - 1, total[i], row1[i], col1[i])
        alone = hyper.pmf(0, total[i], row1[i], col1[i]) > pexact[i] * gamma
        guess = _search(1.0, pexact[i] * gamma, np.zeros(len(i), dtype=np.int64), mode[i].copy(),
                        total[i], row1[i], col1[i])
        other = hyper.cdf(guess, total[i], row1[i], col1[i])
        out[i] = np.where(alone, tail, tail + other)
    return out


def _search(sign: float, target: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: np.ndarray,
            row1: np.ndarray, col1: np.ndarray) -> np.ndarray:
    """scipy's binary search (``_binary_search_for_binom_tst``) on sign · pmf, one search per table:
    the i between lo and hi with f(i) <= target < f(i + 1)."""
    def f(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.asarray(sign * stats.hypergeom.pmf(x, total[rows], row1[rows], col1[rows]), dtype=float)

    lo = lo.astype(np.int64).copy()
    hi = hi.astype(np.int64)
    found = np.full(len(lo), -1, dtype=np.int64)
    while True:
        rows = np.flatnonzero((found < 0) & (lo < hi))
        if not len(rows):
            break
        mid = lo[rows] + (hi[rows] - lo[rows]) // 2
        value = f(mid, rows)
        below, above = value < target[rows], value > target[rows]
        lo[rows[below]] = mid[below] + 1
        hi[rows[above]] = mid[above] - 1
        hit = ~below & ~above
        found[rows[hit]] = mid[hit]
        lo[rows[hit]] = hi[rows[hit]] = mid[hit]  # settled
    rest = np.flatnonzero(found < 0)
    if len(rest):
        ends = f(lo[rest], rest) <= target[rest]
        found[rest] = np.where(ends, lo[rest], lo[rest] - 1)
    return found


def benjamini_hochberg(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values of a family of p-values (empty in, empty out)."""
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return p.copy()
    return np.asarray(stats.false_discovery_control(p, method="bh"), dtype=float)
