"""Read links for a page or a command: thin functions over the saved queries ``links_*``.

Everything here reads through ``queries.runner.run_saved_query`` (read-only, time limit, row cap), so
the same answers come from LadybugDB and Neo4j. A dashboard page for a dataset pair needs:

* :func:`link_summary` — the runs between the two datasets, links at 0.5 / 0.8 / 0.95 / 0.99 and
  review counts;
* :func:`list_links` — the links themselves with probability, weight, agreed fields, status and the
  year and month of each record;
* :func:`confidence_histogram` — the distribution of match probabilities in bins;
* :func:`linked_records` — the records on each side (uid, dataset, case, year, month, area, victim).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graph_model.backend import GraphBackend
from queries.runner import run_saved_query

THRESHOLDS = (0.5, 0.8, 0.95, 0.99)


def _frame(backend: GraphBackend, name: str, params: dict[str, object], max_rows: int | None = None
           ) -> pd.DataFrame:
    result = run_saved_query(backend, name, params, max_rows=max_rows)
    if result.truncated:
        raise ValueError(f"saved query {name} returned more than {len(result.rows)} rows; narrow it with "
                         "min_probability, status or run")
    return pd.DataFrame(result.rows, columns=result.columns)


def list_links(backend: GraphBackend, left: str = "", right: str = "", min_probability: float = 0.0,
               status: str = "", run: str = "", max_rows: int = 100_000) -> pd.DataFrame:
    """Links from records of ``left`` to records of ``right`` (empty: any), highest probability first."""
    return _frame(backend, "links_between", {"left": left, "right": right, "min_probability": min_probability,
                                             "status": status, "run": run}, max_rows)


def link_summary(backend: GraphBackend, left: str = "", right: str = "") -> pd.DataFrame:
    """One row per link run between the datasets, with counts at THRESHOLDS and review counts."""
    return _frame(backend, "links_summary", {"left": left, "right": right})


def list_runs(backend: GraphBackend, left: str = "", right: str = "") -> pd.DataFrame:
    """The link runs (parameters as JSON, link count, threshold)."""
    return _frame(backend, "links_runs", {"left": left, "right": right})


def confidence_histogram(links: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Counts of match probability in ``bins`` equal bins of [0, 1] (the last bin includes 1)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts, _ = np.histogram(links["match_probability"].astype(float), bins=edges)
    return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "links": counts})


def linked_records(backend: GraphBackend, links: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records on each side of ``links`` with their linkage fields (left, right)."""
    from linkage.records import dataset_records

    sides = []
    for side in ("left", "right"):
        uids = set(links[f"{side}_uid"])
        frames = [dataset_records(backend, d) for d in sorted(set(links[f"{side}_dataset"]))]
        records = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["uid"])
        sides.append(records[records["uid"].isin(uids)].reset_index(drop=True))
    return sides[0], sides[1]
