"""Pattern tables as :class:`QueryResult` rows: the one DataFrame → QueryResult converter of the patterns layer.

The CLI renders them with ``queries.formatting.render`` (table, csv, json) and the dashboard shows them, so
every value is a plain Python value: numpy scalars become ``int`` / ``float`` / ``bool``, arrays and lists
become lists, and NaN, infinities, ``pd.NA`` and ``NaT`` become ``None`` (JSON ``null``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from graph_model.backend import QueryResult


def plain(value: Any) -> Any:
    """One cell as a plain, JSON-ready Python value (see the module docstring)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value


def to_result(frame: pd.DataFrame) -> QueryResult:
    """A DataFrame as a QueryResult: columns as strings, one dict of plain values per row."""
    columns = [str(c) for c in frame.columns]
    rows = [{c: plain(v) for c, v in zip(columns, record, strict=True)}
            for record in frame.itertuples(index=False, name=None)]
    return QueryResult(columns, rows, backend="patterns")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of :func:`to_result` (JSON-ready dicts)."""
    return to_result(frame).rows
