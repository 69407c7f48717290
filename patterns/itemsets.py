"""Frequent factor sets when some factors were not coded for some records (the engine of ``factors.itemsets_of``).

The measure: a set S is frequent when ``count(S)`` (records with every factor of S present) >= min_count and
``support(S) = count(S) / n(S)`` >= min_support, where ``n(S)`` counts the records where every factor of S was
*coded* (not coded is not absent). This support is not anti-monotone (a superset can have a higher support,
its denominator being smaller), so FP-growth cannot be run once with a support threshold.

**Strata.** The records are split into strata (any partition will do; see below for how they are chosen).
If S is frequent, at least one stratum k has n_k(S) > 0 and count_k(S) >= min_support · n_k(S) (a weighted
mean of the strata's supports is at least min_support, so one of them is), with count_k(S) >= 1. Inside a
stratum, n_k(S) >= N_k − (the sum of the |S| largest not-coded counts of the factors coded in the stratum),
so S has count_k(S) >= t_k = ceil(min_support · that floor), a *count* threshold, which is anti-monotone:
mlxtend's FP-growth on the stratum's present-matrix with t_k finds every S that stratum can witness. The
union over strata holds every frequent set; each candidate's count, n and support are then computed exactly
over all records. The floor also bounds the length of the sets: a set with count >= t_k is held by t_k
records, so it is no longer than the t_k-th largest number of present factors of a record; the length and
t_k are tightened together until they agree (this is what keeps ``max_len=None`` finite).

**Choosing the strata.** Starting with all records, a stratum whose floor is below 3/4 of its records is
split on the factor coded for the fewest of them (records that coded it / records that did not), until every
stratum has a good floor or fewer than ``MIN_STRATUM`` records. With coding frames this separates the cases
coded under each frame: in the frame-3 stratum the 30 factors are each missing only where a value was not
recorded, and the frame-1 stratum does not have the frame-3 factors at all, so each stratum's threshold stays
close to min_support · N_k instead of collapsing to min_count over all records (the previous bound, which
made FP-growth enumerate almost every set). The split only changes the speed, never the result.

Exact counting uses bitsets: one bit per record, ``numpy.bitwise_count`` for the population counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_STRATUM = 200  # smaller strata are not split further (their threshold is small anyway)
STRUCTURAL = 0.25  # a factor not coded for at least this share of a stratum's records splits it
CHUNK_BYTES = 32 * 2**20  # memory for the bitsets of the candidates counted at once


@dataclass(frozen=True)
class Stratum:
    """Rows of one stratum, the count threshold ``threshold`` its witnesses reach and their maximum length."""

    rows: np.ndarray
    threshold: int
    length: int


def _bound(coded: np.ndarray, present: np.ndarray, longest: int, min_support: float) -> tuple[int, int]:
    """(threshold, length) of a stratum: see the module docstring."""
    size = len(coded)
    counts = coded.sum(axis=0)
    missing = np.sort(size - counts[counts > 0])[::-1]
    complete = int(coded[:, counts > 0].all(axis=1).sum())  # records that coded every factor of the stratum
    held = np.sort(present.sum(axis=1))[::-1]
    length = min(longest, len(missing))
    while True:
        floor = max(size - int(missing[:length].sum()), complete)
        threshold = max(1, math.ceil(min_support * floor - 1e-9))
        if threshold > size:
            return threshold, 0
        fits = min(length, int(held[threshold - 1]))
        if fits >= length:
            return threshold, length
        length = fits


def strata(coded: np.ndarray, present: np.ndarray, longest: int, min_support: float) -> list[Stratum]:
    """Split the records (rows of ``coded`` / ``present``) into strata of similar coding."""
    out = []
    stack = [np.arange(len(coded))]
    while stack:
        rows = stack.pop()
        sub = coded[rows]
        counts = sub.sum(axis=0).astype(float)
        counts[counts == 0] = np.inf  # factors never coded here are not in this stratum
        split = int(np.argmin(counts))  # the factor coded for the fewest of these records
        if len(rows) < MIN_STRATUM or len(rows) - counts[split] < STRUCTURAL * len(rows):
            threshold, length = _bound(sub, present[rows], longest, min_support)
            out.append(Stratum(rows, threshold, length))
            continue
        has = sub[:, split]
        stack += [rows[has], rows[~has]]
    return out


def candidates(coded: np.ndarray, present: np.ndarray, *, min_support: float, min_len: int,
               longest: int) -> list[tuple[int, ...]]:
    """Every set (column indices, sorted) that some stratum witnesses, at least ``min_len`` long."""
    from mlxtend.frequent_patterns import fpgrowth

    found: set[tuple[int, ...]] = set()
    for stratum in strata(coded, present, longest, min_support):
        if stratum.length < max(min_len, 1):
            continue
        local = present[stratum.rows]
        columns = np.flatnonzero(local.sum(axis=0) >= stratum.threshold)
        if len(columns) < max(min_len, 1):
            continue
        frame = pd.DataFrame(local[:, columns], columns=list(range(len(columns))))
        sets = fpgrowth(frame, min_support=(stratum.threshold - 0.5) / len(local), max_len=stratum.length)
        found.update(tuple(int(columns[i]) for i in sorted(s)) for s in sets["itemsets"] if len(s) >= min_len)
    return sorted(found, key=lambda s: (len(s), s))


def pack(matrix: np.ndarray) -> np.ndarray:
    """Columns of a records x items boolean matrix as bitsets: items x words (uint64)."""
    bits = np.packbits(np.ascontiguousarray(matrix.T), axis=1, bitorder="little")
    pad = (-bits.shape[1]) % 8
    if pad:
        bits = np.pad(bits, ((0, 0), (0, pad)))
    return np.ascontiguousarray(bits).view(np.uint64)


def exact_counts(coded_bits: np.ndarray, present_bits: np.ndarray,
                 sets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sets of equal size (m x k column indices): ``n`` (all coded), ``count`` (all present) and
    ``singles`` (m x k: item i present among the records where the whole set was coded)."""
    m, k = sets.shape
    chunk = max(1, CHUNK_BYTES // max(1, k * coded_bits.shape[1] * 8))
    n = np.zeros(m, dtype=np.int64)
    count = np.zeros(m, dtype=np.int64)
    singles = np.zeros((m, k), dtype=np.int64)
    for start in range(0, m, chunk):
        part = sets[start:start + chunk]
        all_coded = np.bitwise_and.reduce(coded_bits[part], axis=1)
        all_present = np.bitwise_and.reduce(present_bits[part], axis=1)
        n[start:start + chunk] = np.bitwise_count(all_coded).sum(axis=1, dtype=np.int64)
        count[start:start + chunk] = np.bitwise_count(all_present).sum(axis=1, dtype=np.int64)
        for i in range(k):
            both = all_coded & present_bits[part[:, i]]
            singles[start:start + chunk, i] = np.bitwise_count(both).sum(axis=1, dtype=np.int64)
    return n, count, singles
