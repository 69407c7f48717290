"""Lexical check that a Cypher statement does not write.

This is one layer of several (the embedded engine is also opened read-only; Neo4j runs the
statement in a read transaction after EXPLAIN reports a read-only plan). It tokenises the text,
skipping string literals, comments and backquoted names, so a property called `created` or the
string 'DELETE' does not trip it, and it refuses any write or administration clause.
"""

from __future__ import annotations

import re

from graph_model.errors import WriteRefusedError

WRITE_KEYWORDS = frozenset({
    "CREATE", "MERGE", "DELETE", "DETACH", "SET", "REMOVE", "DROP", "ALTER", "COPY", "LOAD",
    "INSTALL", "ATTACH", "IMPORT", "EXPORT", "CHECKPOINT", "BEGIN", "COMMIT",
    "ROLLBACK", "FOREACH", "GRANT", "REVOKE", "DENY", "START", "STOP", "USE",
})
# Procedures are allowed only from this list (schema introspection); anything else may write.
ALLOWED_CALLS = frozenset({"show_tables", "table_info", "db.labels", "db.relationshiptypes",
                           "db.propertykeys", "db.schema.visualization", "current_setting"})

_TOKEN = re.compile(
    r"""(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      |(?P<comment>//[^\n]*|/\*.*?\*/)
      |(?P<quoted>`[^`]*`)
      |(?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      |(?P<other>\S)""",
    re.VERBOSE | re.DOTALL,
)


def words(query: str) -> list[str]:
    """Bare words of the query, outside strings, comments and backquoted names."""
    return [m.group("word") for m in _TOKEN.finditer(query) if m.group("word")]


def check_read_only(query: str, *, query_name: str | None = None) -> None:
    """Raise WriteRefusedError if the statement contains a write or admin clause."""
    tokens = words(query)
    where = f"query {query_name!r}" if query_name else "this query"
    for i, token in enumerate(tokens):
        upper = token.upper()
        if upper in WRITE_KEYWORDS and not _is_property_access(query, token):
            raise WriteRefusedError(
                f"{where} was refused: it contains {upper}, which can change the graph. "
                "Ad-hoc and saved queries run read-only; load data with `micropath load` instead."
            )
        if upper == "CALL" and i + 1 < len(tokens) and tokens[i + 1].lower() not in ALLOWED_CALLS:
            raise WriteRefusedError(
                f"{where} was refused: CALL {tokens[i + 1]} is not on the list of read-only "
                f"procedures ({', '.join(sorted(ALLOWED_CALLS))})."
            )


def _is_property_access(query: str, token: str) -> bool:
    """True when the word only appears as a property or map key (``h.set``, ``{set: 1}``)."""
    for match in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(token)}(?![A-Za-z0-9_])", query):
        before = query[: match.start()].rstrip()
        after = query[match.end():].lstrip()
        if not (before.endswith(".") or after.startswith(":")):
            return False
    return True
