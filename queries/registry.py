"""Saved queries: ``.cypher`` files whose leading ``//`` comment block is TOML metadata.

Example::

    // name = "factor_prevalence"
    // title = "Prevalence of each factor"
    // description = "..."
    // result = "table"            # table | graph | chart
    // max_rows = 1000
    // timeout_s = 30
    // [parameters.dataset]
    // type = "string"
    // default = ""
    // description = "Dataset name; empty for all datasets"
    MATCH ...

A query may be marked safe for the partner role (see docs/disclosure.md) with a ``[partner]`` table::

    // [partner]
    // safe = true
    // dimensions = ["year_band", "method"]   # columns that classify (one row per combination)
    // counts = ["homicides"]                 # columns that count records (suppressed when small)
    // totals = [[], ["year_band"], ["method"]]  # published margins (default: grand total + each 1-D)
    // zero_disclosive = false                # is a zero count disclosive? true, false, or only where a
    //                                        # dimension takes given values: {status = ["present"]}

Parameters always have a non-null default: LadybugDB cannot type a null parameter, so "any" is
spelled ``''`` for strings and a wide bound for numbers (see docs/dialects.md).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from graph_model.errors import MicropathError
from graph_model.readonly import check_read_only

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
ParamType = Literal["string", "integer", "float", "boolean", "string_list"]
ResultShape = Literal["table", "graph", "chart"]
PARAM_TYPES: tuple[str, ...] = ("string", "integer", "float", "boolean", "string_list")
RESULT_SHAPES: tuple[str, ...] = ("table", "graph", "chart")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PARAM_USE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class SavedQueryError(MicropathError):
    """A saved query file is malformed, or was called with bad parameters."""


@dataclass(frozen=True)
class PartnerSpec:
    """How a partner-safe query's table is shaped, for disclosure control (disclosure/)."""

    dimensions: tuple[str, ...]
    counts: tuple[str, ...]
    totals: tuple[tuple[str, ...], ...]
    zero_disclosive: bool | tuple[tuple[str, tuple[Any, ...]], ...] = False  # or (dimension, values) pairs

    def summary(self) -> dict[str, Any]:
        zero = self.zero_disclosive
        return {"dimensions": list(self.dimensions), "counts": list(self.counts),
                "totals": [list(t) for t in self.totals],
                "zero_disclosive": zero if isinstance(zero, bool) else {d: list(v) for d, v in zero}}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParamType
    default: Any
    description: str = ""
    choices: tuple[Any, ...] = ()

    def coerce(self, value: Any, query: str) -> Any:
        """Convert a CLI/form value to the declared type, or raise naming query and parameter."""
        try:
            converted = _convert(self.type, value)
        except (TypeError, ValueError):
            raise SavedQueryError(
                f"query {query!r}: parameter {self.name!r} expects {self.type}, got {value!r}"
            ) from None
        chosen = converted if isinstance(converted, list) else [converted]
        if self.choices and any(item not in self.choices for item in chosen):
            raise SavedQueryError(
                f"query {query!r}: parameter {self.name!r} must be one of {list(self.choices)}, "
                f"got {converted!r}")
        return converted


def _int64(number: int) -> int:
    """Both engines store integers in 64 bits; a wider one is a bad parameter, not an engine error."""
    if not -(2**63) <= number < 2**63:
        raise ValueError(number)
    return number


def _convert(kind: str, value: Any) -> Any:
    if kind == "string":
        return "" if value is None else str(value)
    if kind == "integer":
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(value)  # never truncate 2010.7 to 2010 silently
            return _int64(int(value))
        return _int64(int(str(value).strip()))
    if kind == "float":
        return float(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        raise ValueError(value)
    if kind == "string_list":
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return [str(v) for v in value]
    raise ValueError(kind)


@dataclass(frozen=True)
class SavedQuery:
    name: str
    title: str
    description: str
    text: str
    parameters: tuple[Parameter, ...] = ()
    result: ResultShape = "table"
    max_rows: int = 1000
    timeout_s: float = 30.0
    chart: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    trusted: bool = True
    partner: PartnerSpec | None = None  # set only for queries marked safe for the partner role

    @property
    def partner_safe(self) -> bool:
        return self.partner is not None

    def bind(self, values: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``values``, each coerced to its declared type."""
        declared = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise SavedQueryError(
                f"query {self.name!r} has no parameter(s) {unknown}; it takes {sorted(declared)}")
        return {name: p.coerce(values.get(name, p.default), self.name) for name, p in declared.items()}

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "result": self.result, "max_rows": self.max_rows, "timeout_s": self.timeout_s,
            **({"chart": self.chart} if self.chart else {}),
            **({"partner": self.partner.summary()} if self.partner else {}),
            "parameters": [{"name": p.name, "type": p.type, "default": p.default,
                            "description": p.description, **({"choices": list(p.choices)} if p.choices else {})}
                           for p in self.parameters],
        }


def used_parameters(text: str) -> set[str]:
    """``$names`` used in the query text, outside string literals and comments."""
    from graph_model.readonly import _TOKEN

    used = set()
    for match in _TOKEN.finditer(text):
        if match.group("other") == "$":
            rest = _PARAM_USE.match(text, match.start())
            if rest:
                used.add(rest.group(1))
    return used


def parse_saved_query(source: str, path: Path | None = None, *, trusted: bool = True) -> SavedQuery:
    where = str(path) if path else "<query>"
    header, body = [], []
    lines = source.splitlines()
    i = 0
    while i < len(lines) and lines[i].startswith("//"):
        header.append(lines[i][2:].removeprefix(" "))
        i += 1
    body = lines[i:]
    try:
        meta = tomllib.loads("\n".join(header))
    except tomllib.TOMLDecodeError as exc:
        raise SavedQueryError(f"{where}: the // metadata block is not valid TOML: {exc}") from exc
    text = "\n".join(body).strip()
    for required in ("name", "title", "description"):
        if not isinstance(meta.get(required), str) or not meta[required].strip():
            raise SavedQueryError(f"{where}: metadata needs a non-empty string {required!r}")
    if not _NAME.match(meta["name"]):
        raise SavedQueryError(f"{where}: name {meta['name']!r} must be lower_snake_case")
    if not text:
        raise SavedQueryError(f"{where}: there is no Cypher after the metadata block")
    params = []
    for pname, spec in (meta.get("parameters") or {}).items():
        if spec.get("type") not in PARAM_TYPES:
            raise SavedQueryError(f"{where}: parameter {pname!r} needs type in {PARAM_TYPES}")
        if "default" not in spec:
            raise SavedQueryError(f"{where}: parameter {pname!r} needs a default (never null)")
        param = Parameter(pname, spec["type"], spec["default"], spec.get("description", ""),
                          tuple(spec.get("choices", ())))
        param.coerce(param.default, meta["name"])
        params.append(param)
    result = meta.get("result", "table")
    if result not in RESULT_SHAPES:
        raise SavedQueryError(f"{where}: result must be one of {RESULT_SHAPES}, not {result!r}")
    max_rows, timeout_s = meta.get("max_rows", 1000), meta.get("timeout_s", 30)
    if not isinstance(max_rows, int) or max_rows < 1:
        raise SavedQueryError(f"{where}: max_rows must be a whole number of at least 1, not {max_rows!r}")
    if not isinstance(timeout_s, (int, float)) or timeout_s <= 0:
        raise SavedQueryError(f"{where}: timeout_s must be a number of seconds above 0, not {timeout_s!r}")
    query = SavedQuery(
        name=meta["name"], title=meta["title"], description=meta["description"], text=text,
        parameters=tuple(params), result=result, max_rows=max_rows,
        timeout_s=float(timeout_s), chart=dict(meta.get("chart", {})), path=path,
        trusted=trusted, partner=_partner_spec(meta.get("partner"), where, text, result),
    )
    check_read_only(text, query_name=query.name)
    declared, used = {p.name for p in params}, used_parameters(text)
    if declared != used:
        raise SavedQueryError(
            f"{where}: parameters declared but unused {sorted(declared - used)}, "
            f"used but undeclared {sorted(used - declared)}")
    return query


def _string_list(value: Any, key: str, where: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value) or \
            (not value and not allow_empty) or len(set(value)) != len(value):
        raise SavedQueryError(f"{where}: [partner] {key} must be a list of distinct column names, not {value!r}")
    return tuple(value)


def _default_totals(dimensions: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The grand total and, for a 2-D table, each dimension's totals (rows and columns)."""
    return ((),) if len(dimensions) < 2 else ((), *((d,) for d in dimensions))


def _partner_spec(meta: Any, where: str, text: str, result: str) -> PartnerSpec | None:
    """The ``[partner]`` table of the metadata, validated; None when the query is not partner-safe."""
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise SavedQueryError(f"{where}: partner must be a [partner] table, not {meta!r}")
    unknown = sorted(set(meta) - {"safe", "dimensions", "counts", "totals", "zero_disclosive"})
    if unknown:
        raise SavedQueryError(f"{where}: [partner] has unknown key(s) {unknown}; it takes safe, dimensions, "
                              "counts, totals, zero_disclosive")
    safe = meta.get("safe", False)
    if not isinstance(safe, bool):
        raise SavedQueryError(f"{where}: [partner] safe must be true or false, not {safe!r}")
    if not safe:
        return None
    if result != "table":
        raise SavedQueryError(f"{where}: a partner-safe query must have result = \"table\", not {result!r}")
    dims = _string_list(meta.get("dimensions"), "dimensions", where)
    counts = _string_list(meta.get("counts"), "counts", where)
    if set(dims) & set(counts):
        raise SavedQueryError(f"{where}: [partner] {sorted(set(dims) & set(counts))} cannot be both a "
                              "dimension and a count")
    aliases = set(re.findall(r"\bAS\s+([A-Za-z_]\w*)", text, re.IGNORECASE))
    missing = [c for c in (*dims, *counts) if c not in aliases]
    if missing:
        raise SavedQueryError(f"{where}: [partner] column(s) {missing} are not returned by the query "
                              f"(it names {sorted(aliases)})")
    raw_totals = meta.get("totals")
    if raw_totals is None:
        totals = _default_totals(dims)
    else:
        if not isinstance(raw_totals, list):
            raise SavedQueryError(f"{where}: [partner] totals must be a list of lists of dimensions")
        totals = tuple(_string_list(t, "totals entry", where, allow_empty=True) for t in raw_totals)
        bad = [list(t) for t in totals if not set(t) < set(dims)]
        if bad or len(set(totals)) != len(totals):
            raise SavedQueryError(f"{where}: [partner] totals {bad or raw_totals} must be distinct proper "
                                  f"subsets of the dimensions {list(dims)}")
    return PartnerSpec(dims, counts, totals, _zero_rule(meta.get("zero_disclosive", False), dims, where))


def _zero_rule(value: Any, dims: tuple[str, ...], where: str) -> bool | tuple[tuple[str, tuple[Any, ...]], ...]:
    if isinstance(value, bool):
        return value
    if isinstance(value, dict) and value and all(d in dims and isinstance(v, list) and v for d, v in value.items()):
        return tuple((d, tuple(v)) for d, v in sorted(value.items()))
    raise SavedQueryError(f"{where}: [partner] zero_disclosive must be true, false, or a table of dimension = "
                          f"[values where a zero is disclosive] over {list(dims)}; not {value!r}")


class Registry:
    """Saved queries from one or more folders, by name (later folders may not shadow earlier)."""

    def __init__(self, folders: list[Path] | None = None) -> None:
        self.queries: dict[str, SavedQuery] = {}
        for folder in folders or [LIBRARY_DIR]:
            for path in sorted(Path(folder).glob("*.cypher")):
                query = parse_saved_query(path.read_text(encoding="utf-8"), path)
                if query.name in self.queries:
                    raise SavedQueryError(
                        f"{path}: query name {query.name!r} is already used by {self.queries[query.name].path}")
                self.queries[query.name] = query

    def get(self, name: str) -> SavedQuery:
        try:
            return self.queries[name]
        except KeyError:
            raise SavedQueryError(
                f"no saved query named {name!r}; `micropath queries` lists the {len(self.queries)} available"
            ) from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self.queries.values(), key=lambda q: q.name))

    def __len__(self) -> int:
        return len(self.queries)

    def merged(self, extra: Iterable[SavedQuery]) -> Registry:
        """A new registry: these queries and ``extra`` (e.g. user queries) beside them, never over them.

        This registry is left as it is (``default_registry()`` is cached and shared)."""
        combined = Registry.__new__(Registry)
        combined.queries = dict(self.queries)
        for query in extra:
            if query.name in combined.queries:
                raise SavedQueryError(
                    f"{query.path or query.name}: query name {query.name!r} is already used by "
                    f"{combined.queries[query.name].path or 'another query'}; rename one of them")
            combined.queries[query.name] = query
        return combined


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    return Registry()
