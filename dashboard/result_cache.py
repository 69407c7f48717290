"""A bounded, thread-safe cache of computed results, with one computation per key at a time.

The dashboard keeps what it computed for a state of the graph (the graph's revision is part of every key,
see ``dashboard.services``), so twenty people opening the same page or running the same saved query cost
one query, not twenty. :meth:`ResultCache.get` computes a missing value once: requests that arrive for a
key while it is being computed wait for that computation instead of starting their own, and get its
result or its exception (exceptions are never kept). Entries are evicted least recently used first, when
there are more than ``max_entries`` or their summed ``weight`` (e.g. result rows) exceeds ``max_weight``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class CacheStats:
    """Counts since the cache was made: ``hits`` (kept), ``shared`` (waited for a computation in flight),
    ``misses`` (computed), ``evictions``; ``entries`` and ``weight`` now."""

    hits: int = 0
    shared: int = 0
    misses: int = 0
    evictions: int = 0
    entries: int = 0
    weight: int = 0

    @property
    def hit_ratio(self) -> float:
        asked = self.hits + self.shared + self.misses
        return (self.hits + self.shared) / asked if asked else 0.0

    def describe(self) -> str:
        return (f"{self.hits + self.shared + self.misses} lookups, {self.hit_ratio:.1%} answered without "
                f"computing ({self.hits} kept, {self.shared} shared), {self.misses} computed, "
                f"{self.evictions} evicted; {self.entries} entries of weight {self.weight}")


class ResultCache:
    """Least-recently-used results by key, bounded by count and by summed weight (see module docstring)."""

    def __init__(self, max_entries: int = 256, max_weight: int = 500_000) -> None:
        if max_entries < 1 or max_weight < 1:
            raise ValueError(f"a cache needs room: max_entries={max_entries}, max_weight={max_weight}")
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._pending: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()
        self._stats = CacheStats()

    def get(self, key: Hashable, compute: Callable[[], T], weight: Callable[[T], int] = lambda _v: 1) -> T:
        """The value kept for ``key``, else ``compute()`` (once, however many ask at the same time)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self._stats.hits += 1
                return self._entries[key][0]  # type: ignore[no-any-return]
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
                self._stats.misses += 1
            else:
                self._stats.shared += 1
        if not owner:
            return pending.result()  # type: ignore[no-any-return]
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            raise
        self._keep(key, value, max(1, int(weight(value))))
        pending.set_result(value)
        return value

    def _keep(self, key: Hashable, value: Any, weight: int) -> None:
        with self._lock:
            del self._pending[key]
            if weight > self.max_weight:
                return  # larger than the whole cache: computed, shared with waiters, not kept
            old = self._entries.pop(key, None)
            self._stats.weight += weight - (old[1] if old else 0)
            self._entries[key] = (value, weight)
            while len(self._entries) > self.max_entries or self._stats.weight > self.max_weight:
                _key, (_value, dropped) = self._entries.popitem(last=False)
                self._stats.weight -= dropped
                self._stats.evictions += 1

    def clear(self) -> None:
        """Forget every kept value (computations in flight finish and are kept)."""
        with self._lock:
            self._entries.clear()
            self._stats.weight = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._stats.hits, self._stats.shared, self._stats.misses, self._stats.evictions,
                              len(self._entries), self._stats.weight)
