"""Render a QueryResult as a table, CSV or JSON (JSON: an array of objects keyed by column)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from graph_model.backend import QueryResult

FORMATS = ("table", "csv", "json")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_json(result: QueryResult) -> str:
    return json.dumps(result.rows, ensure_ascii=False, default=str, indent=2)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): prefix with a quote, as OWASP advises."""
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(result: QueryResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([csv_safe(_cell(row[c])) for c in result.columns])
    return buffer.getvalue()


def to_table(result: QueryResult, max_width: int = 40) -> str:
    cells = [[_cell(row[c]) for c in result.columns] for row in result.rows]
    cells = [[v if len(v) <= max_width else v[: max_width - 1] + "…" for v in row] for row in cells]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    footer = f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''}"
    footer += ", truncated: raise --max-rows to see more)" if result.truncated else ")"
    return "\n".join([*out, footer])


def render(result: QueryResult, fmt: str) -> str:
    if fmt == "json":
        return to_json(result)
    if fmt == "csv":
        return to_csv(result)
    if fmt == "table":
        return to_table(result)
    raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
