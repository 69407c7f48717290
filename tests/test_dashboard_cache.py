"""What the dashboard keeps, and how it shares the database between requests (dashboard/services.py,
dashboard/result_cache.py): results are computed once per graph revision and parameters, requests for the
same result share one computation, a changed graph is never answered from an older one once its revision is
read, several handles read at once, and a request that finds them all busy is told so.

Real engines throughout (a fresh embedded graph; the suite's Neo4j server); expected counts come from the
synthetic bundles' CSV files, read with pandas."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from dashboard import services
from dashboard.result_cache import ResultCache
from graph_model.backend import GraphBackend
from graph_model.errors import MicropathError
from loaders import synthetic
from loaders.base import load
from tests.conftest import BACKENDS, open_fresh


# ---- the cache on its own ---------------------------------------------------------------------------
def test_a_value_is_computed_once_and_kept() -> None:
    cache = ResultCache(max_entries=8, max_weight=100)
    calls: list[str] = []
    assert cache.get("a", lambda: calls.append("a") or 1) == 1
    assert cache.get("a", lambda: calls.append("again") or 2) == 1
    assert calls == ["a"]
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (1, 1, 1) and stats.hit_ratio == 0.5


def test_concurrent_requests_for_one_key_share_one_computation() -> None:
    cache = ResultCache()
    release, started = threading.Event(), threading.Event()
    calls = []

    def slow() -> str:
        calls.append(1)
        started.set()
        assert release.wait(30)
        return "done"

    answers: list[str] = []
    first = threading.Thread(target=lambda: answers.append(cache.get("k", slow)))
    first.start()
    assert started.wait(30)
    others = [threading.Thread(target=lambda: answers.append(cache.get("k", slow))) for _ in range(7)]
    for thread in others:
        thread.start()
    while cache.stats().shared < 7:  # every other request is waiting on the one computation
        threading.Event().wait(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join(30)
    assert answers == ["done"] * 8 and calls == [1]
    assert (cache.stats().misses, cache.stats().shared) == (1, 7)


def test_a_failure_is_shared_with_waiters_but_never_kept() -> None:
    cache = ResultCache()

    def broken() -> int:
        raise RuntimeError("engine said no")

    with pytest.raises(RuntimeError, match="engine said no"):
        cache.get("k", broken)
    assert cache.get("k", lambda: 5) == 5, "the next request computes again"


def test_eviction_is_least_recently_used_by_count_and_by_weight() -> None:
    cache = ResultCache(max_entries=3, max_weight=10)
    for key in "abc":
        cache.get(key, lambda k=key: k)
    cache.get("a", lambda: "recomputed")  # a is now the most recently used
    cache.get("d", lambda: "d")  # four entries: b (least recently used) goes
    assert cache.get("b", lambda: "b again") == "b again" and cache.get("a", lambda: "x") == "a"
    heavy = ResultCache(max_entries=100, max_weight=10)
    heavy.get("x", lambda: "x", weight=lambda _v: 6)
    heavy.get("y", lambda: "y", weight=lambda _v: 6)  # 12 > 10: x goes
    assert heavy.stats().entries == 1 and heavy.stats().weight == 6 and heavy.stats().evictions == 1
    heavy.get("huge", lambda: "h", weight=lambda _v: 11)  # heavier than the whole cache: returned, not kept
    assert heavy.stats().entries == 1 and heavy.get("huge", lambda: "again", weight=lambda _v: 11) == "again"
    with pytest.raises(ValueError, match="needs room"):
        ResultCache(max_entries=0)


# ---- the service on a real graph ----------------------------------------------------------------------
def by_year(bundle: Path) -> dict[int, int]:
    homicides = pd.read_csv(bundle / "cases.csv")
    return {int(y): int(n) for y, n in homicides["year"].value_counts().sort_index().items()}


@pytest.fixture(params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[GraphBackend, Path]]:
    backend = open_fresh(request.param, tmp_path, request)
    bundle = synthetic.write_bundle(tmp_path / "first", cases=40, seed=5, name="first")
    load("coded", bundle, backend)
    if request.param == "embedded":
        backend.close()  # the embedded engine takes one writer or readers; tests reopen it to write
    try:
        yield backend, bundle
    finally:
        backend.close()


def year_counts(result: services.TableResult, dataset: str) -> dict[int, int]:
    return {int(r["year"]): int(r["homicides"]) for r in result.rows if r["dataset"] == dataset}


def test_saved_query_results_are_kept_per_revision_and_parameters(loaded: tuple[GraphBackend, Path],
                                                                   tmp_path: Path) -> None:
    backend, bundle = loaded
    svc = services.GraphService(backend.uri)
    try:
        first = svc.run_saved("homicides_by_year")
        assert year_counts(first, "first") == by_year(bundle)
        assert svc.run_saved("homicides_by_year") is first, "the same query and parameters: kept"
        later = svc.run_saved("homicides_by_year", {"year_from": 2020})
        assert year_counts(later, "first") == {y: n for y, n in by_year(bundle).items() if y >= 2020}
        assert svc.run_saved("homicides_by_year", {"year_from": 2020}) is later
        misses = svc.cache.stats().misses

        more = synthetic.write_bundle(tmp_path / "second", cases=25, seed=6, name="second")
        svc.close()  # the embedded engine's writer needs the readers gone (Neo4j does not mind)
        writer = open_fresh_writer(backend)
        try:
            load("coded", more, writer)
        finally:
            if writer is not backend:
                writer.close()
        assert svc.run_saved("homicides_by_year") is first, "until the revision is read again, kept"
        svc.changed()  # RECHECK_S has passed
        fresh = svc.run_saved("homicides_by_year")
        assert fresh is not first
        assert year_counts(fresh, "first") == by_year(bundle) and year_counts(fresh, "second") == by_year(more)
        assert [d.name for d in svc.datasets()] == ["first", "second"]
        assert svc.cache.stats().misses > misses
    finally:
        svc.close()


def open_fresh_writer(backend: GraphBackend) -> GraphBackend:
    """A writable handle on the same graph (the fixture's own for Neo4j; a new one for the embedded file)."""
    if backend.name != "embedded":
        return backend
    from graph_model.embedded import EmbeddedBackend

    return EmbeddedBackend(backend.uri.removeprefix("embedded:"), read_only=False)


def test_twenty_requests_for_one_saved_query_run_it_once(loaded: tuple[GraphBackend, Path]) -> None:
    backend, bundle = loaded
    svc = services.GraphService(backend.uri)
    try:
        results: list[services.TableResult] = []
        threads = [threading.Thread(target=lambda: results.append(svc.run_saved("homicides_by_motive")))
                   for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(results) == 20 and all(r is results[0] for r in results)
        stats = svc.cache.stats()
        assert stats.misses == 1 and stats.hits + stats.shared == 19
        homicides = pd.read_csv(bundle / "cases.csv")
        assert sum(r["records"] for r in results[0].rows[:1]) == len(homicides)
    finally:
        svc.close()


def test_two_handles_read_at_the_same_time(loaded: tuple[GraphBackend, Path]) -> None:
    """Each request holds a handle while it reads; with two handles two requests are inside the engine at
    once (a barrier only two concurrent readers can pass), with one they cannot be."""
    backend, _bundle = loaded
    for readers, expect_both in ((2, True), (1, False)):
        svc = services.GraphService(backend.uri, readers=readers)
        barrier = threading.Barrier(2, timeout=3 if not expect_both else 60)
        outcomes: list[str] = []

        def read(db: GraphBackend, barrier: threading.Barrier = barrier) -> int:
            count = int(db.run_read("MATCH (h:Homicide) RETURN count(h) AS n").rows[0]["n"])
            barrier.wait()  # both requests are holding a handle now
            return count

        def request(svc: services.GraphService = svc, outcomes: list[str] = outcomes) -> None:
            try:
                svc.call(read)
                outcomes.append("read")
            except services.ServiceError as exc:
                outcomes.append(exc.kind)

        try:
            threads = [threading.Thread(target=request) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert outcomes == (["read", "read"] if expect_both else ["failed", "failed"]), (readers, outcomes)
        finally:
            svc.close()


def test_a_request_that_finds_every_handle_busy_is_told_so(loaded: tuple[GraphBackend, Path],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    backend, _bundle = loaded
    monkeypatch.setattr(services, "BUSY_WAIT_S", 0.5)
    svc = services.GraphService(backend.uri, readers=1)
    holding, done = threading.Event(), threading.Event()

    def hold(_db: GraphBackend) -> None:
        holding.set()
        assert done.wait(60)

    holder = threading.Thread(target=lambda: svc.call(hold))
    holder.start()
    try:
        assert holding.wait(60)
        with pytest.raises(services.ServiceError) as busy:
            svc.run_saved("dataset_summary")
        assert busy.value.kind == "busy" and "all 1 database handles" in str(busy.value)
    finally:
        done.set()
        holder.join(60)
    assert svc.run_saved("dataset_summary").rows, "free again: answered"
    svc.close()


def test_the_number_of_handles_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(services.READERS_ENV, "3")
    assert services.default_readers() == 3
    monkeypatch.setenv(services.READERS_ENV, "lots")
    with pytest.raises(MicropathError, match="MICROPATH_DASHBOARD_READERS='lots'"):
        services.default_readers()
    monkeypatch.delenv(services.READERS_ENV)
    assert 2 <= services.default_readers() <= 4
