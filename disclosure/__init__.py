"""Disclosure control for the partner role: small-count suppression with secondary suppression
(suppression), which role may run what (policy), and partner releases of saved queries (release).
See docs/disclosure.md."""

from disclosure.suppression import (
    DEFAULT_THRESHOLD,
    IS_MARGIN,
    MARKER,
    STATUS,
    TOTAL,
    DisclosureError,
    SuppressedTable,
    TableSpec,
    suppress_family,
    suppress_table,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "IS_MARGIN",
    "MARKER",
    "STATUS",
    "TOTAL",
    "DisclosureError",
    "SuppressedTable",
    "TableSpec",
    "suppress_family",
    "suppress_table",
]
