"""Derived factor tallies: per dataset and year, how many records have each factor, and each pair of
factors, present. Every load that changes a dataset recomputes that dataset's tallies from its records,
inside the load's transaction (:class:`graph_model.writer.BundleWriter`), so they are never stale; the
``factor_cooccurrence`` saved query reads them instead of expanding every record's factor pairs, which
keeps it fast on large graphs (a pair count is quadratic in the factors per record).

The Cypher is portable (LadybugDB and Neo4j) and counts exactly what the expansion would: records
reached through ``FROM_DATASET``, factors with ``present`` true, pairs once with ``a.uid < b.uid``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

TALLIES_VERSION = 1
TALLY_LABEL = "FactorTally"

SINGLES = """
MATCH (h)-[:FROM_DATASET]->(d:Dataset {uid: $dataset})
MATCH (h)-[r:HAS_FACTOR]->(a:Factor)
WHERE r.present
RETURN h.year AS year, a.uid AS factor_a, count(h) AS tally
"""
PAIRS = """
MATCH (h)-[:FROM_DATASET]->(d:Dataset {uid: $dataset})
MATCH (h)-[ra:HAS_FACTOR]->(a:Factor)
WHERE ra.present
MATCH (h)-[rb:HAS_FACTOR]->(b:Factor)
WHERE rb.present AND a.uid < b.uid
RETURN h.year AS year, a.uid AS factor_a, b.uid AS factor_b, count(h) AS tally
"""
DELETE = "MATCH (t:FactorTally) WHERE t.dataset = $dataset DELETE t"
STALE = ("MATCH (d:Dataset) WHERE d.tallies_version IS NULL OR d.tallies_version < $version "
         "RETURN d.uid AS uid")
STAMP = "MATCH (d:Dataset {uid: $dataset}) SET d.tallies_version = $version"


def tally_frame(dataset: str, singles: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """FactorTally nodes of one dataset from the two aggregations (uid: dataset|year|a|b)."""
    singles = singles.assign(factor_b="")
    frame = pd.concat([singles, pairs], ignore_index=True) if len(pairs) else singles
    if frame.empty:
        return pd.DataFrame(columns=["uid", "dataset", "year", "factor_a", "factor_b", "tally"])
    year = frame["year"].astype("Int64")
    frame = frame.assign(dataset=dataset, year=year, tally=frame["tally"].astype("int64"))
    frame["uid"] = (dataset + "|" + year.astype("string").fillna("") + "|" + frame["factor_a"].astype(str)
                    + "|" + frame["factor_b"].astype(str))
    return frame[["uid", "dataset", "year", "factor_a", "factor_b", "tally"]]


def stale_params(dataset: str) -> dict[str, Any]:
    return {"dataset": dataset, "version": TALLIES_VERSION}
