"""The one rule that keeps values copied from input files or the graph from running as spreadsheet formulas
(CSV injection), shared by every CSV the platform writes: query results (queries/formatting.py), dashboard
exports, a load's problem report (loaders/problems.py) and the audit log export (access/audit.py)."""

from __future__ import annotations

import re

# A spreadsheet reads a cell as a formula when it starts with one of these (OWASP "CSV injection"); some
# also skip leading spaces and line breaks first, so whitespace before them counts too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# A plain decimal number (optionally signed, with a fraction and exponent) is left alone: a spreadsheet
# reads it as that number, never as a formula, and negative figures must stay numbers. Only this ASCII
# form counts: "-inf", "-nan", "1_000" or "-١" are text to a spreadsheet (and "-inf" a formula to Excel).
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection) by prefixing a single quote, as OWASP advises.

    Escaped: a cell whose first character that is not white space is ``=``, ``+``, ``-`` or ``@``, and a
    cell starting with a tab, CR or LF. Left alone: plain numbers such as ``-1`` or ``+2.5e3`` (a spreadsheet
    reads them as numbers; no formula can hide in them) and everything else.
    """
    if not text or _PLAIN_NUMBER.fullmatch(text):
        return text
    if text.startswith(_FORMULA_START) or text.lstrip().startswith(_FORMULA_START):
        return "'" + text
    return text
