"""patterns.stats.fisher_exact_tests (all tables at once) against scipy.stats.fisher_exact called per table.

The tables cover what the pattern measures produce (pairs and contrasts over thousands of records: large
totals, small and zero cells, tables at the mode, very small p-values) plus random ones; every p-value must
agree with scipy's to 1e-12 (absolute, and relative for the tiny ones) and the odds ratios exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import fisher_exact

from patterns.stats import fisher_exact_tests


def tables() -> np.ndarray:
    rng = np.random.default_rng(20261127)
    small = rng.integers(0, 12, size=(400, 4))
    wide = rng.integers(0, 3000, size=(300, 4))
    skewed = np.stack([rng.integers(0, 40, 300), rng.integers(0, 800, 300), rng.integers(0, 900, 300),
                       rng.integers(5000, 100_000, 300)], axis=1)
    # margins of real pair tables: n_ab, n_a - n_ab, n_b - n_ab, n - n_a - n_b + n_ab
    n = rng.integers(50, 100_000, 300)
    n_a = (n * rng.uniform(0.01, 0.6, 300)).astype(np.int64)
    n_b = (n * rng.uniform(0.01, 0.6, 300)).astype(np.int64)
    n_ab = np.minimum(n_a, n_b) * rng.uniform(0, 1, 300) ** 2
    n_ab = np.maximum(n_ab.astype(np.int64), np.maximum(0, n_a + n_b - n))
    pairs = np.stack([n_ab, n_a - n_ab, n_b - n_ab, n - n_a - n_b + n_ab], axis=1)
    edges = np.array([[0, 0, 0, 0], [0, 5, 0, 7], [3, 0, 4, 0], [0, 4, 6, 0], [5, 0, 0, 5], [1, 1, 1, 1],
                      [10, 10, 10, 10], [0, 10, 10, 0], [10, 0, 0, 10], [1, 0, 0, 99_999], [0, 1, 99_999, 0],
                      [2, 98, 98, 2], [50, 50, 50, 50], [7, 3, 3, 7]])
    return np.concatenate([small, wide, skewed, pairs, edges, pairs[:50]])  # repeats: computed once


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_fisher_on_arrays_equals_scipy_per_table(alternative: str) -> None:
    cases = tables()
    odds, pvalues = fisher_exact_tests(cases, alternative)
    tiny = 0
    for row, got_odds, got_p in zip(cases, odds, pvalues, strict=True):
        want = fisher_exact([[row[0], row[1]], [row[2], row[3]]], alternative=alternative)
        assert abs(got_p - want.pvalue) <= 1e-12, (row, got_p, want.pvalue)
        assert abs(got_p - want.pvalue) <= 1e-12 * want.pvalue or got_p == want.pvalue == 0, (row, got_p)
        assert (np.isnan(got_odds) and np.isnan(want.statistic)) or got_odds == want.statistic, row
        tiny += want.pvalue < 1e-10
    assert tiny > 20  # the comparison covered very small p-values, relatively


def test_fisher_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="alternative"):
        fisher_exact_tests(np.array([[1, 2, 3, 4]]), "bigger")
    with pytest.raises(ValueError, match="non-negative"):
        fisher_exact_tests(np.array([[1, -2, 3, 4]]))
    odds, pvalues = fisher_exact_tests(np.zeros((0, 4)))
    assert odds.shape == pvalues.shape == (0,)
