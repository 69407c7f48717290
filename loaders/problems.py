"""Collect every validation problem of a load and report them together.

Each problem names the file, the row (the line number in the file, header = line 1), the
column, the offending value and what was expected, so a coder can fix the source in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from graph_model.errors import MicropathError

Kind = Literal["error", "personal-data"]
MAX_KEPT = 1000  # problems kept verbatim; the rest are counted


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    kind: Kind = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        value = "" if self.value is None else f": value {_short(self.value)!r}"
        label = "personal data refused" if self.kind == "personal-data" else "error"
        return f"{where}{value} — {label}: expected {self.expected}"


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, problem: Problem) -> None:
        self.total += 1
        if len(self.items) < MAX_KEPT:
            self.items.append(problem)

    def flag(self, file: str, frame: pd.DataFrame, bad: pd.Series, column: str, expected: str,
             kind: Kind = "error") -> None:
        """Add one problem per row where ``bad`` is true. ``frame`` must carry a ``_line`` column."""
        bad = bad.fillna(False).astype(bool)
        if not bad.any():
            return
        rows = frame.loc[bad]
        values = rows[column] if column in rows.columns else pd.Series([None] * len(rows), index=rows.index)
        for line, value in zip(rows["_line"], values, strict=True):
            self.add(Problem(file, int(line), column, None if pd.isna(value) else str(value), expected, kind))

    def __bool__(self) -> bool:
        return self.total > 0

    def raise_if_any(self, what: str) -> None:
        if self.total:
            raise ValidationFailed(what, self)


class ValidationFailed(MicropathError):
    """Input failed validation; nothing was written."""

    def __init__(self, what: str, problems: Problems, shown: int = 25) -> None:
        self.problems = problems
        lines = [f"{what}: {problems.total} problem(s); nothing was written to the graph."]
        lines += [f"  - {p}" for p in problems.items[:shown]]
        if problems.total > shown:
            lines.append(f"  … and {problems.total - shown} more (use --problems FILE to write all "
                         f"{min(problems.total, MAX_KEPT)} kept problems as CSV)")
        super().__init__("\n".join(lines))

    def to_frame(self) -> pd.DataFrame:
        """Every kept problem, one row each, ready to export (``--problems FILE``): a value copied from the
        input that would start a spreadsheet formula is neutralised, as in query CSV output."""
        from graph_model.csv_safety import csv_safe  # the one CSV-injection rule, shared with query exports

        frame = pd.DataFrame([p.__dict__ for p in self.problems.items])
        for column in ("file", "column", "value", "expected"):
            if column in frame.columns:
                frame[column] = frame[column].map(lambda v: csv_safe(v) if isinstance(v, str) else v)
        return frame
