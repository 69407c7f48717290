"""Analysts' own saved queries, versioned: ``<query dir>/<name>/v<N>.cypher``.

Each version is a complete saved-query file in the library's format (``queries/registry.py``: a leading
``//`` TOML metadata block, then one read-only Cypher statement), with two extra metadata keys,
``version`` and ``saved_at`` (and ``restored_from`` when a version was restored). Saving:

- validates the metadata, the parameters (types, non-null defaults, declared = used) and read-only-ness
  with the registry's own parser, so a user query is held to the same rules as a library one;
- refuses a name that a library query already uses (user queries sit beside the library, never over it);
- never overwrites: a save writes version N+1 (the file is created exclusively), and *restoring* an earlier
  version writes it again as the newest version, so history is only ever appended to.

The folder is ``$MICROPATH_QUERY_DIR`` when set, else ``~/.local/share/micropathways/queries`` (the platform
data directory); tests and the dashboard pass their own (``UserQueryStore(folder)``).
``store.registry(library)`` is the library plus the newest version of each user query (``trusted=False``).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from platformdirs import user_data_path

from queries.registry import (
    PARAM_TYPES,
    RESULT_SHAPES,
    Registry,
    SavedQuery,
    SavedQueryError,
    default_registry,
    parse_saved_query,
)

QUERY_DIR_ENV = "MICROPATH_QUERY_DIR"
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.cypher$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def default_query_dir() -> Path:
    """``$MICROPATH_QUERY_DIR``, else the ``queries`` folder of the platform data directory."""
    env = os.environ.get(QUERY_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else user_data_path("micropathways") / "queries"


@dataclass(frozen=True)
class QueryVersion:
    """One stored version of a user query."""

    name: str
    version: int
    path: Path
    query: SavedQuery
    saved_at: str = ""
    restored_from: int | None = None


# ---- writing the metadata block ------------------------------------------------------------------
def _toml_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SavedQueryError(f"{where}: {value!r} cannot be stored; use a finite number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    raise SavedQueryError(f"{where}: a {type(value).__name__} value cannot be stored; use text, a number, "
                          "true/false or a list of those")


def render_query_file(meta: Mapping[str, Any], parameters: Mapping[str, Mapping[str, Any]],
                      chart: Mapping[str, Any], text: str) -> str:
    """A saved-query file: the ``//`` TOML block (top-level keys, ``[chart]``, ``[parameters.X]``), then text."""
    lines = [f"{key} = {_toml_value(value, key)}" for key, value in meta.items()]
    if chart:
        lines.append("[chart]")
        lines += [f"{key} = {_toml_value(value, 'chart.' + key)}" for key, value in chart.items()]
    for pname, spec in parameters.items():
        lines.append(f"[parameters.{pname}]")
        lines += [f"{key} = {_toml_value(value, f'parameters.{pname}.{key}')}" for key, value in spec.items()]
    return "".join(f"// {line}\n" for line in lines) + text.strip() + "\n"


def parameter_specs(parameters: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Parameter specs in file order (type, default, description, choices), checked for shape only."""
    specs: dict[str, dict[str, Any]] = {}
    for pname, spec in parameters.items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", pname):
            raise SavedQueryError(f"parameter name {pname!r} must be letters, digits and _ (as in ${pname})")
        if spec.get("type") not in PARAM_TYPES:
            raise SavedQueryError(f"parameter {pname!r}: type must be one of {list(PARAM_TYPES)}, "
                                  f"not {spec.get('type')!r}")
        if spec.get("default") is None:
            raise SavedQueryError(f"parameter {pname!r} needs a default (never null: '' means any text, "
                                  "a wide bound any number)")
        out = {"type": spec["type"], "default": spec["default"], "description": str(spec.get("description", ""))}
        if spec.get("choices"):
            out["choices"] = list(spec["choices"])
        specs[pname] = out
    return specs


# ---- the store -----------------------------------------------------------------------------------
class UserQueryStore:
    """Versioned user queries in ``folder`` (see the module docstring)."""

    def __init__(self, folder: Path | str | None = None, *, library: Registry | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_query_dir()
        self._library = library

    @property
    def library(self) -> Registry:
        return self._library if self._library is not None else default_registry()

    def names(self) -> list[str]:
        """User queries that have at least one version, sorted."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir()
                      if p.is_dir() and _NAME.match(p.name) and self._numbers(p.name))

    def _numbers(self, name: str) -> list[int]:
        folder = self.folder / name
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_FILE.match(p.name)))

    def versions(self, name: str) -> list[QueryVersion]:
        """Every version of ``name``, oldest first (an unknown name is an error saying what exists)."""
        numbers = self._numbers(name)
        if not numbers:
            raise SavedQueryError(f"no user query named {name!r} in {self.folder}; "
                                  f"saved user queries: {self.names() or 'none'}")
        return [self.version(name, n) for n in numbers]

    def version(self, name: str, number: int | None = None) -> QueryVersion:
        """Version ``number`` of ``name`` (the newest when None)."""
        numbers = self._numbers(name)
        if not numbers:
            raise SavedQueryError(f"no user query named {name!r} in {self.folder}; "
                                  f"saved user queries: {self.names() or 'none'}")
        chosen = numbers[-1] if number is None else int(number)
        path = self.folder / name / f"v{chosen}.cypher"
        if chosen not in numbers:
            raise SavedQueryError(f"user query {name!r} has no version {chosen}; it has versions {numbers}")
        return _read_version(path, name, chosen)

    def latest(self) -> list[SavedQuery]:
        """The newest version of every user query."""
        return [self.version(name).query for name in self.names()]

    def registry(self, library: Registry | None = None) -> Registry:
        """``library`` (default: the store's) with the newest version of each user query beside it."""
        return (library if library is not None else self.library).merged(self.latest())

    def save(self, name: str, *, title: str, description: str, text: str,
             parameters: Mapping[str, Mapping[str, Any]] | None = None, result: str = "table",
             max_rows: int = 1000, timeout_s: float = 30.0, chart: Mapping[str, Any] | None = None,
             restored_from: int | None = None) -> QueryVersion:
        """Validate and store a new version of ``name`` (version 1 for a new name); returns it."""
        name = (name or "").strip()
        if not _NAME.match(name):
            raise SavedQueryError(f"query name {name!r} must be lower_snake_case: a letter, then letters, "
                                  "digits or _ (e.g. knife_cases_by_year)")
        if name in self.library.queries:
            raise SavedQueryError(f"the name {name!r} is a library query ({self.library.get(name).title!r}); "
                                  "choose another name for your query")
        if result not in RESULT_SHAPES:
            raise SavedQueryError(f"result must be one of {list(RESULT_SHAPES)}, not {result!r}")
        numbers = self._numbers(name)
        number = (numbers[-1] + 1) if numbers else 1
        meta: dict[str, Any] = {"name": name, "title": title.strip(), "description": description.strip(),
                                "result": result, "max_rows": max_rows, "timeout_s": timeout_s,
                                "version": number, "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}
        if restored_from is not None:
            meta["restored_from"] = int(restored_from)
        source = render_query_file(meta, parameter_specs(parameters or {}), dict(chart or {}), text)
        path = self.folder / name / f"v{number}.cypher"
        parse_saved_query(source, path, trusted=False)  # the library's rules: raises before anything is written
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x", encoding="utf-8") as out:  # never overwrite a version
                out.write(source)
        except FileExistsError:
            raise SavedQueryError(f"{path} was written by someone else just now; save again to make the "
                                  "next version") from None
        return _read_version(path, name, number)

    def restore(self, name: str, number: int) -> QueryVersion:
        """Make version ``number`` the newest again, by saving a copy of it as a new version."""
        old = self.version(name, number)
        q = old.query
        return self.save(name, title=q.title, description=q.description, text=q.text,
                         parameters={p.name: _spec(p) for p in q.parameters}, result=q.result,
                         max_rows=q.max_rows, timeout_s=q.timeout_s, chart=q.chart, restored_from=number)


def _spec(param: Any) -> dict[str, Any]:
    spec = {"type": param.type, "default": param.default, "description": param.description}
    if param.choices:
        spec["choices"] = list(param.choices)
    return spec


def _read_version(path: Path, name: str, number: int) -> QueryVersion:
    import tomllib

    source = path.read_text(encoding="utf-8")
    query = parse_saved_query(source, path, trusted=False)
    if query.name != name:
        raise SavedQueryError(f"{path}: the file names the query {query.name!r}, but it is stored under "
                              f"{name!r}; rename the folder or fix the name line")
    header = []
    for line in source.splitlines():
        if not line.startswith("//"):
            break
        header.append(line[2:].removeprefix(" "))
    meta = tomllib.loads("\n".join(header))  # parse_saved_query has checked it is valid TOML
    restored = meta.get("restored_from")
    return QueryVersion(name, number, path, query, str(meta.get("saved_at", "")),
                        int(restored) if isinstance(restored, int) else None)
