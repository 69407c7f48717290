"""Read a CSV file as strings, with errors that name the file, the line and the column."""

from __future__ import annotations

import codecs
import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

from loaders.problems import Problem, Problems


def read_csv(path: Path, *, required: list[str] | None = None, problems: Problems | None = None,
             label: str | None = None, allow_empty: bool = False) -> pd.DataFrame:
    """Read ``path`` with every column as text and a ``_line`` column (the line a record starts on).

    A missing file, bytes that are not UTF-8, repeated or missing header names, ragged rows and a file
    without data rows (unless ``allow_empty``: a header line alone is then a table of no rows) become
    problems. With a collector (``problems``) they are added to it and an empty or partial frame is
    returned, so the caller can report every file's problems together; without one,
    :class:`ValidationFailed` is raised at once.
    """
    own = problems is None
    problems = problems if problems is not None else Problems()
    name = label or path.name
    frame = _read(path, name, problems, allow_empty)
    if required and len(frame.columns) > 1:  # an unreadable file has already said why
        for column in (c for c in required if c not in frame.columns):
            problems.add(Problem(name, 1, column, None, f"a column named {column!r} in the header"))
    if own:
        problems.raise_if_any(f"cannot read {path}")
    return frame


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"_line": pd.Series([], dtype=int)})


def _read(path: Path, name: str, problems: Problems, allow_empty: bool = False) -> pd.DataFrame:
    if not path.is_file():
        problems.add(Problem(name, None, None, str(path), "an existing file"))
        return _empty()
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(_byte_problem(raw, bom_offset(raw, exc), name, "UTF-8 text (re-save the file as UTF-8)"))
        return _empty()
    if "\x00" in text:  # valid UTF-8, but no text file has NUL: UTF-16 without a BOM, or binary data
        problems.add(_byte_problem(raw, raw.index(b"\x00"), name, "UTF-8 text without NUL bytes (the file looks "
                                   "like UTF-16 or binary data; re-save it as UTF-8)"))
        return _empty()
    frame = _fast_parse(text)
    if frame is None:
        frame = _parse(text, name, problems)
    if len(frame.columns) > 1 and frame.empty and not problems.total and not allow_empty:
        problems.add(Problem(name, 2, None, None, "at least one data row after the header"))
    return frame


def line_number(before: bytes) -> int:
    """The line that starts after ``before``: lines end with \\n, \\r\\n or a lone \\r, as the parser counts them."""
    return before.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1


def bom_offset(raw: bytes, exc: UnicodeDecodeError) -> int:
    """Where in ``raw`` decoding as utf-8-sig failed (the codec counts from after a BOM)."""
    return exc.start + (len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0)


def _byte_problem(raw: bytes, start: int, name: str, expected: str) -> Problem:
    """Name the line and, where the header allows, the column holding the offending byte at ``start``."""
    line_no = line_number(raw[:start])
    marked = raw[:start].decode("utf-8", errors="replace") + "\x00" + \
        raw[start + 1:].decode("utf-8", errors="replace").replace("\x00", "")
    column = None
    try:
        with _whole_fields():
            records = csv.reader(io.StringIO(marked.removeprefix("\ufeff"), newline=""))
            header = next(records)
            cells = next(record for record in records if any("\x00" in cell for cell in record))
        index = next(i for i, cell in enumerate(cells) if "\x00" in cell)
        column = header[index].strip() if index < len(header) else None
    except (StopIteration, csv.Error):
        pass
    return Problem(name, line_no, column, repr(raw[start: start + 8]), expected)


def _fast_parse(text: str) -> pd.DataFrame | None:
    """Arrow's CSV reader when every record is one line; None (use the careful parser) otherwise.

    Arrow refuses rows with the wrong number of fields, and the row count must equal the number of
    physical lines, so anything unusual (ragged rows, blank lines, quoted newlines, repeated header
    names) falls back to :func:`_parse`, which reports it with its line.
    """
    if "\n\n" in text or "\r" in text.replace("\r\n", "\n"):
        return None
    header = next(csv.reader([text.split("\n", 1)[0]]), [])
    if not header or len({h.strip() for h in header}) != len(header):
        return None
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(use_threads=True),
            parse_options=pa_csv.ParseOptions(newlines_in_values=False),
            convert_options=pa_csv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != text.rstrip("\n").count("\n"):
        return None
    frame = table.to_pandas(types_mapper=pd.ArrowDtype).astype("string")
    frame.columns = [h.strip() for h in header]
    frame["_line"] = range(2, len(frame) + 2)
    return frame


@contextmanager
def _whole_fields() -> Iterator[None]:
    """Lift the csv module's 128 KiB field limit while parsing, as Arrow's fast path has none: the same
    file must read the same way on either path (a huge cell is then judged by the column's rules)."""
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _parse(text: str, name: str, problems: Problems) -> pd.DataFrame:
    with _whole_fields():
        return _parse_rows(text, name, problems)


def _parse_rows(text: str, name: str, problems: Problems) -> pd.DataFrame:
    # newline="" keeps carriage returns inside quoted fields (GVA notes have lone \r) as data.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.add(Problem(name, 1, None, None, "a header row"))
        return _empty()
    except csv.Error as exc:
        problems.add(Problem(name, 1, None, None, f"a readable CSV header ({exc})"))
        return _empty()
    header = [h.strip() for h in header]
    for index, column in enumerate(header):
        if column in header[:index]:
            problems.add(Problem(name, 1, column, None, f"unique column names (column {index + 1} repeats "
                                                        f"column {header.index(column) + 1})"))
    if len(set(header)) != len(header):
        return _empty()
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
