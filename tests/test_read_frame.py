"""GraphBackend.run_read_frame: the DataFrame read path gives exactly the rows of run_read, with the same limits.

Every saved slice query (``queries/library/slice_*.cypher``, what the pattern measures pull) runs through both
paths on both engines (LadybugDB: the engine's Arrow result; Neo4j: the default built on the row path) over
a synthetic coded bundle with double coding and coding frame 3 plus the hand-made fixture graph
(presence-only tags, source schemes mapped to common ones), under several filters, and the two frames must
be equal: same columns, dtypes and values (ints stay ints, nulls, booleans, lists of uids). Queries whose
columns the columnar path does not convert itself (nodes, sums, dates, float lists, all-null columns) are
compared the same way. The read-only layers are checked on the new path: the statement check, the
read-only engine, the row cap with ``truncated`` and the time limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from graph_model.backend import GraphBackend
from graph_model.embedded import EmbeddedBackend
from graph_model.errors import QueryError, QueryTimeoutError, WriteRefusedError
from loaders.base import load
from loaders.synthetic import write_bundle
from patterns.slices import Filters
from queries.registry import SavedQuery, default_registry
from tests.graph_fixtures import write_fixture

NAME = "synthetic-s5"
FILTERS = [Filters(), Filters(dataset=NAME),
           Filters(dataset=NAME, year_from=2012, year_to=2016, motive="quarrel_revenge_temper"),
           Filters(area="E09000005"),
           Filters(incident_kinds=("homicide",), method="sharp_instrument", relationship="stranger")]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(tmp_path_factory.mktemp("read-frame") / "bundle", cases=400, seed=5, coding_frame=3)


def slice_queries() -> list[SavedQuery]:
    queries = [q for q in default_registry() if q.name.startswith("slice_")]
    assert len(queries) >= 10
    return queries


def both_paths(backend: GraphBackend, text: str, params: dict[str, Any], max_rows: int = 1_000_000,
               tag: str = "probe") -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    rows = backend.run_read(text, params, timeout_s=120, max_rows=max_rows, tag=tag)
    frame, truncated = backend.run_read_frame(text, params, timeout_s=120, max_rows=max_rows, tag=tag)
    assert truncated == rows.truncated
    return pd.DataFrame(rows.rows, columns=rows.columns), frame, truncated


def test_every_slice_query_gives_the_same_frame_on_both_paths(backend: GraphBackend, bundle: Path) -> None:
    load("coded", bundle, backend)
    write_fixture(backend)
    seen_lists = seen_nulls = 0
    for query in slice_queries():
        for filters in FILTERS:
            params = {k: v for k, v in filters.params().items() if k in {p.name for p in query.parameters}}
            want, got, truncated = both_paths(backend, query.text, query.bind(params), tag=query.name)
            assert not truncated
            assert_frame_equal(got, want, check_exact=True, obj=f"{query.name} with {filters.describe()}")
            seen_lists += sum(1 for c in want.columns if len(want) and isinstance(want[c].iloc[0], list))
            seen_nulls += int(want.isna().to_numpy().sum())
    # the comparison covered list columns (motive, method, relationship slices: 3 x 5 filters) and nulls
    assert seen_lists >= 15 and seen_nulls > 100


TYPE_PROBES = {
    # ints, a null int among ints, booleans with and without nulls, strings with nulls, lists of strings and ints
    "plain": "MATCH (h:Homicide) RETURN h.uid AS uid, h.year AS year, h.victim_count AS victims, "
             "h.synthetic AS synthetic, h.solved AS solved, h.iccs AS iccs ORDER BY uid",
    "null_int": "MATCH (h:Homicide) RETURN h.uid AS uid, CASE WHEN h.year > 2015 THEN h.year ELSE NULL END AS late, "
                "CASE WHEN h.year > 2015 THEN true ELSE NULL END AS flag ORDER BY uid",
    "lists": "MATCH (h:Homicide)-[r:HAS_FACTOR]->(f:Factor) WITH f, h ORDER BY h.uid SKIP 0 "
             "RETURN f.uid AS factor, collect(h.uid) AS records, collect(h.year) AS years ORDER BY factor",
    "floats": "MATCH (h:Homicide) RETURN h.uid AS uid, 1.0 * h.year / 7 AS ratio ORDER BY uid",
    # columns the columnar path hands to the row path: a sum, a node, an all-null column, a float list
    "sum": "MATCH (h:Homicide) RETURN h.dataset AS dataset, sum(h.year) AS total, count(h) AS n ORDER BY dataset",
    "node": "MATCH (h:Homicide) RETURN h ORDER BY h.uid LIMIT 5",
    "all_null": "MATCH (h:Homicide) RETURN h.uid AS uid, NULL AS nothing ORDER BY uid LIMIT 5",
    "float_list": "MATCH (h:Homicide) RETURN h.dataset AS dataset, collect(1.0 * h.year) AS years ORDER BY dataset",
    "empty": "MATCH (h:Homicide) WHERE h.year < 0 RETURN h.uid AS uid, h.year AS year",
}


@pytest.mark.parametrize("probe", sorted(TYPE_PROBES))
def test_value_types_match_the_row_path(backend: GraphBackend, bundle: Path, probe: str) -> None:
    load("coded", bundle, backend)
    want, got, _ = both_paths(backend, TYPE_PROBES[probe], {})
    assert_frame_equal(got, want, check_exact=True, obj=probe)
    if probe != "empty":
        assert len(want) > 0


def test_row_cap_and_truncated(backend: GraphBackend, bundle: Path) -> None:
    load("coded", bundle, backend)
    text = "MATCH (h:Homicide) RETURN h.uid AS uid, h.year AS year ORDER BY uid"
    want, got, truncated = both_paths(backend, text, {}, max_rows=7)
    assert truncated and len(got) == 7
    assert_frame_equal(got, want, check_exact=True)
    _, exact, truncated = both_paths(backend, text, {}, max_rows=400)
    assert not truncated and len(exact) == 400
    _, none, truncated = both_paths(backend, text, {}, max_rows=0)
    assert truncated and len(none) == 0 and list(none.columns) == ["uid", "year"]


def test_writes_are_refused_before_the_engine(backend: GraphBackend) -> None:
    with pytest.raises(WriteRefusedError, match="refused"):
        backend.run_read_frame("MATCH (h:Homicide) SET h.year = 1 RETURN h.uid AS uid", tag="probe")


@pytest.fixture
def loaded_db(tmp_path: Path, bundle: Path) -> Path:
    path = tmp_path / "graph.lbdb"
    with EmbeddedBackend(path, read_only=False) as db:
        load("coded", bundle, db)
    return path


def test_embedded_engine_refuses_writes_past_the_statement_check(loaded_db: Path) -> None:
    with EmbeddedBackend(loaded_db) as reader:
        with pytest.raises(QueryError, match="read-only"):
            # bypass the lexical layer on purpose: the read-only open is the next layer
            reader._read_frame("CREATE (h:Homicide {uid: 'x', dataset: 't'})", {}, timeout_s=5, max_rows=10,
                               tag="probe")
        frame, _ = reader.run_read_frame("MATCH (h:Homicide) RETURN count(h) AS n")
    assert frame["n"].tolist() == [400]


def test_embedded_time_limit(loaded_db: Path) -> None:
    with EmbeddedBackend(loaded_db) as reader, pytest.raises(QueryTimeoutError, match=r"time limit of 0\.05s"):
        reader.run_read_frame("MATCH (a), (b), (c) WHERE a.uid + b.uid + c.uid <> '' RETURN count(*) AS n",
                              timeout_s=0.05)
