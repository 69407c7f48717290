"""Read a CSV file as strings, with errors that name the file and the line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from loaders.problems import Problem, Problems


def read_csv(path: Path, *, required: list[str] | None = None, problems: Problems | None = None,
             label: str | None = None) -> pd.DataFrame:
    """Read ``path`` with every column as text and a ``_line`` column (the file's line number).

    Encoding errors, ragged rows and missing required columns become problems; when no collector
    is given they raise :class:`ValidationFailed` at once.
    """
    own = problems is None
    problems = problems if problems is not None else Problems()
    name = label or path.name
    if not path.exists():
        problems.add(Problem(name, None, None, str(path), "an existing file"))
        problems.raise_if_any(f"cannot read {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.add(Problem(name, line, None, repr(raw[exc.start: exc.start + 8]),
                             "UTF-8 text (re-save the file as UTF-8)"))
        problems.raise_if_any(f"cannot read {path}")
        raise AssertionError("unreachable") from exc
    frame = _parse(text, name, problems)
    if required:
        missing = [c for c in required if c not in frame.columns]
        for column in missing:
            problems.add(Problem(name, 1, column, None, f"a column named {column!r} in the header"))
    if own:
        problems.raise_if_any(f"cannot read {path}")
    return frame


def _parse(text: str, name: str, problems: Problems) -> pd.DataFrame:
    # newline="" keeps carriage returns inside quoted fields (GVA notes have lone \r) as data.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.add(Problem(name, 1, None, None, "a header row"))
        return pd.DataFrame({"_line": pd.Series([], dtype=int)})
    except csv.Error as exc:
        problems.add(Problem(name, 1, None, None, f"a readable CSV header ({exc})"))
        return pd.DataFrame({"_line": pd.Series([], dtype=int)})
    header = [h.strip() for h in header]
    rows, lines = [], []
    end_of_previous = reader.line_num
    try:
        for record in reader:
            line = end_of_previous + 1  # the line a record starts on (quoted fields may span lines)
            end_of_previous = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                problems.add(Problem(name, line, None, ",".join(record)[:60],
                                     f"{len(header)} fields as in the header, found {len(record)}"))
                continue
            rows.append(record)
            lines.append(line)
    except csv.Error as exc:
        problems.add(Problem(name, reader.line_num, None, None, f"well-formed CSV ({exc})"))
    frame = pd.DataFrame(rows, columns=header, dtype="string")
    frame["_line"] = lines
    return frame
