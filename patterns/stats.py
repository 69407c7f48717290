"""Small, well-defined statistics used by the pattern measures (scipy does the numerics).

- :func:`wilson_interval`: Wilson score interval for a proportion (no continuity correction), the
  interval recommended over the Wald interval for small counts and proportions near 0 or 1.
- :func:`fisher_exact_tests`: Fisher's exact test on many 2x2 tables (scipy.stats.fisher_exact), with
  identical tables computed once.
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
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, not {alternative!r}")
    tables = np.asarray(tables, dtype=np.int64).reshape(-1, 4)
    odds = np.empty(len(tables))
    pvalues = np.empty(len(tables))
    seen: dict[tuple[int, int, int, int], tuple[float, float]] = {}
    for i, row in enumerate(tables):
        key = (int(row[0]), int(row[1]), int(row[2]), int(row[3]))
        if key not in seen:
            result = stats.fisher_exact([[key[0], key[1]], [key[2], key[3]]], alternative=alternative)
            seen[key] = (float(result.statistic), float(result.pvalue))
        odds[i], pvalues[i] = seen[key]
    return odds, pvalues


def benjamini_hochberg(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values of a family of p-values (empty in, empty out)."""
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return p.copy()
    return np.asarray(stats.false_discovery_control(p, method="bh"), dtype=float)
