"""Read-only execution holds in layers: the statement check, and the read-only engine below it."""

from __future__ import annotations

import pytest

from graph_model.embedded import EmbeddedBackend
from graph_model.errors import QueryError, QueryTimeoutError, WriteRefusedError
from graph_model.readonly import check_read_only
from tests.test_writer import make_bundle

READS = [
    "MATCH (h:Homicide) RETURN h.uid",
    "MATCH (h:Homicide) WHERE h.offence_type = 'DELETE everything; CREATE x' RETURN h",
    "MATCH (h:Homicide) RETURN h.uid AS `SET`  // CREATE in a comment",
    "MATCH (h:Homicide) /* MERGE */ RETURN {set: 1, delete: 2} AS m",
    "CALL show_tables() RETURN *",
]
WRITES = [
    "CREATE (h:Homicide {uid: 'x'})",
    "MATCH (h:Homicide) SET h.year = 1",
    "MATCH (h) DETACH DELETE h",
    "MERGE (d:Dataset {uid: 'x'})",
    "match (h:Homicide) remove h.year",
    "MATCH (h) WITH h LIMIT 1 CALL {WITH h SET h.year = 2} RETURN 1",
    "COPY Homicide FROM 'x.csv'",
    "LOAD FROM 'x.csv' RETURN *",
    "CALL apoc.periodic.iterate('MATCH (n) RETURN n', 'DELETE n', {})",
    "DROP TABLE Homicide",
    "ATTACH 'other.lbdb' AS o",
]


@pytest.mark.parametrize("query", READS)
def test_reads_pass_the_statement_check(query: str) -> None:
    check_read_only(query)


@pytest.mark.parametrize("query", WRITES)
def test_writes_are_refused_with_a_reason(query: str) -> None:
    with pytest.raises(WriteRefusedError, match="refused"):
        check_read_only(query, query_name="probe")


@pytest.fixture
def loaded(db_path):  # type: ignore[no-untyped-def]
    with EmbeddedBackend(db_path, read_only=False) as db:
        db.write_bundle(make_bundle({"1": ["Male"], "2": ["Female"]}))
    return db_path


def test_engine_refuses_writes_even_past_the_statement_check(loaded) -> None:  # type: ignore[no-untyped-def]
    with EmbeddedBackend(loaded) as reader:
        with pytest.raises(QueryError, match="read-only"):
            # bypass the lexical layer on purpose: the read-only open is the next layer
            reader._run_read("CREATE (h:Homicide {uid: 'x', dataset: 't'})", {}, timeout_s=5,
                             max_rows=10, tag="probe")
        assert reader.run_read("MATCH (h:Homicide) RETURN count(h) AS n").rows == [{"n": 2}]


def test_row_cap_sets_truncated(loaded) -> None:  # type: ignore[no-untyped-def]
    with EmbeddedBackend(loaded) as reader:
        capped = reader.run_read("MATCH (n) RETURN n.uid AS uid", max_rows=3)
        assert len(capped.rows) == 3 and capped.truncated
        exact = reader.run_read("MATCH (h:Homicide) RETURN h.uid AS uid", max_rows=2)
        assert len(exact.rows) == 2 and not exact.truncated


def test_time_limit_names_the_setting(loaded) -> None:  # type: ignore[no-untyped-def]
    with EmbeddedBackend(loaded) as reader, pytest.raises(QueryTimeoutError, match=r"time limit of 0\.05s"):
        # a three-way cartesian product: billions of rows, interruptible between batches
        reader.run_read("MATCH (a), (b), (c) WHERE a.uid + b.uid + c.uid <> '' RETURN count(*) AS n",
                        timeout_s=0.05)


def test_nodes_print_as_property_maps_with_labels(loaded) -> None:  # type: ignore[no-untyped-def]
    with EmbeddedBackend(loaded) as reader:
        row = reader.run_read("MATCH (h:Homicide {uid: 't:1'}) RETURN h").rows[0]
    assert row["h"]["_labels"] == ["Homicide"]
    assert row["h"]["uid"] == "t:1" and row["h"]["year"] == 2020
    assert "_ID" not in row["h"]
