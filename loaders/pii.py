"""Keep personal data out of the graph.

Two checks: column names that denote personal data (names, dates of birth, addresses, phone
numbers, e-mail, free-text narratives, precise coordinates), and values that look like phone
numbers, e-mail addresses, full UK postcodes or exact dates of birth. Coded input that has either
is refused; the real public sources have such columns removed before mapping, and the loader
reports which columns it stripped.
"""

from __future__ import annotations

import re

import pandas as pd

from loaders.problems import Problem, Problems

# Column names (normalised to lower snake case) that denote personal data, with the reason.
_PII_COLUMN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|_)(first|last|given|family|full|sur|middle|maiden|nick)?_?name(s)?$"), "a person's name"),
    (re.compile(r"(^|_)(dob|date_of_birth|birth_?date|born)($|_)"), "a date of birth"),
    (re.compile(r"(^|_)(address|street|addr|postcode|post_code|zip|zip_code|house_number)($|_)"), "an address"),
    (re.compile(r"(^|_)(phone|telephone|mobile|tel|cell)(_?number|_?no)?($|_)"), "a phone number"),
    (re.compile(r"(^|_)e_?mail($|_)"), "an e-mail address"),
    (re.compile(r"(^|_)(notes?|narrative|description|free_?text|summary|comments?|details)($|_)"),
     "a free-text narrative that may identify people"),
    (re.compile(r"(^|_)(lat|latitude|lon|lng|long|longitude|coordinates?|easting|northing|grid_ref)($|_)"),
     "a location finer than an area"),
    (re.compile(r"(^|_)(nhs|ni|national_insurance|passport|licence|license|pnc|cro)_?(number|no)$"),
     "a personal identifier"),
)

_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Linear on any input: a match starts only where a run of local-part characters starts, and the
    # possessive runs never backtrack ("[\w.+-]+@" alone is quadratic: a 1 MB cell took half an hour).
    (re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++\.[\w.-]+"), "an e-mail address"),
    (re.compile(r"(?<!\d)(?:\+44\s?7\d{3}|07\d{3})\s?\d{3}\s?\d{3}(?!\d)"), "a UK mobile number"),
    (re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?!\d)"), "a phone number"),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b"), "a full UK postcode"),
)


def normalise(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")


# "<place>_name" columns name places, not people (SHR's cnty_name, msa_name; a borough_name).
_PLACE_NAME = re.compile(r"(^|_)(cnty|county|msa|city|town|borough|area|place|state|region|country|district|"
                         r"agency|force|dataset|scheme|offence|method|motive|factor|event|file)_?name(s)?$")


def personal_column(column: str) -> str | None:
    """The reason a column name looks like personal data, or None."""
    name = normalise(column)
    if _PLACE_NAME.search(name):
        return None
    for pattern, reason in _PII_COLUMN_PATTERNS:
        if pattern.search(name):
            return reason
    return None


def refuse_personal_columns(file: str, columns: list[str], problems: Problems) -> None:
    for column in columns:
        reason = personal_column(column)
        if reason:
            problems.add(Problem(file, None, column, None,
                                 f"no personal data: this column looks like {reason}; remove it "
                                 "from the file (the graph never stores it)", "personal-data"))


REDACTED = ", redacted)"


def redact(value: str | None) -> str | None:
    """Keep two characters and the length: enough to find the cell, not enough to repeat the data."""
    if value is None or value.endswith(REDACTED):
        return value
    return f"{value[:2]}… ({len(value)} characters{REDACTED}"


def refuse_personal_values(file: str, frame: pd.DataFrame, columns: list[str], problems: Problems) -> None:
    """Flag string values that look like contact details or postcodes, and redact them in ``frame``.

    Each distinct value is tested once (a million rows hold few distinct values). The problem names
    the file, line and column and shows the value redacted, so no message or problems CSV repeats it;
    the flagged cells in ``frame`` are redacted too.
    """
    for column in columns:
        values = frame[column].astype("string")
        distinct = pd.Series(values.dropna().unique(), dtype="string")
        reasons = pd.Series(pd.NA, index=distinct.index, dtype="string")
        for pattern, reason in _VALUE_PATTERNS:
            hit = distinct.str.contains(pattern, na=False) & reasons.isna()
            reasons[hit] = reason
        suspicious = dict(zip(distinct[reasons.notna()], reasons[reasons.notna()], strict=True))
        if not suspicious:
            continue
        flagged = values.isin(list(suspicious)).fillna(False).astype(bool)
        for line, value in zip(frame.loc[flagged, "_line"], values[flagged], strict=True):
            problems.add(Problem(file, int(line), column, redact(str(value)),
                                 f"no personal data: the value looks like {suspicious[value]}", "personal-data"))
        frame.loc[flagged, column] = values[flagged].map(redact)
