"""Micropathway analytics: transitions, frequent sub-sequences, divergence and escalation times.

A *micropathway* is the ordered list of event steps of one record (``Event.position`` 1..n, ending with
the fatal incident), each step typed by its **common** event type (scheme ``micropathways``; source types
are reached through ``MAPS_TO``). Two saved queries pull the slice, identically on LadybugDB and Neo4j:

- ``slice_pathway_steps``: one row per step (record uid, position, common type code/label, minutes_before);
- ``slice_pathway_records``: one row per record that has a pathway and per common motive/method of it
  (dataset, year, number of steps, motive and method codes/labels).

Everything else is finished here in vectorised pandas/numpy (``shift``/``groupby`` on the sorted steps,
no per-record Python loops), with ``prefixspan`` for gapped sub-sequences and ``scipy`` for the normal
tail. The functions take a backend (or a :class:`PathwaySlice` already pulled, so a dashboard pulls once)
and the shared :class:`patterns.slices.Filters` (dataset, years, area, motive, method, relationship, incident
kinds, uid), and return DataFrames. docs/pathways.md gives the definitions and formulas.

Denominators: ``pathways`` is the number of filtered records that have at least one step (per group
when grouped). A record with several common motives (methods) belongs to each of those groups; coded
cases have exactly one. Grouping ``by="motive"``/``"method"`` uses the common code ('' = none in the common
scheme).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from prefixspan import PrefixSpan
from scipy.stats import norm

from graph_model.backend import GraphBackend
from graph_model.errors import MicropathError
from graph_model.vocab import get_vocabulary
from patterns.results import to_result
from patterns.slices import Filters, run_slice
from patterns.stats import benjamini_hochberg, wilson_interval

__all__ = ["Filters", "PathwaySlice", "conflict_codes", "divergence", "escalation", "escalation_times",
           "five_minute_test", "gapped", "load_slice", "ngrams", "sequences", "to_result", "transitions"]
STEPS_QUERY = "slice_pathway_steps"
RECORDS_QUERY = "slice_pathway_records"
STEP_COLUMNS = ["record_uid", "position", "type_code", "type_label", "minutes_before"]
RECORD_COLUMNS = ["record_uid", "dataset", "year", "synthetic", "steps", "motive_code", "motive", "method_code",
                  "method"]
GroupBy = Literal["motive", "method"] | None
GROUP_COLUMNS = ["group", "group_label"]
ALL = ""  # the group key when nothing is grouped
SEP = " > "  # joins the steps of a pattern or prefix in text
END = "(end)"  # a pathway that stops at a prefix (only after the fatal incident in coded data)
START = "(start)"
# escalation bands, as in the saved queries escalation_times / escalation_summary
BANDS = (("under_5_min", 0.0, 5.0), ("from_5_to_15_min", 5.0, 15.0), ("from_15_to_60_min", 15.0, 60.0),
         ("from_1_to_24_h", 60.0, 1440.0), ("over_24_h", 1440.0, math.inf))


@dataclass
class PathwaySlice:
    """The two slices, as pulled from the graph (see the module docstring)."""

    steps: pd.DataFrame
    records: pd.DataFrame
    filters: Filters = field(default_factory=Filters)


Source = GraphBackend | PathwaySlice


# ---- pulling the slice ----------------------------------------------------------------------------------
def load_slice(backend: GraphBackend, filters: Filters | None = None) -> PathwaySlice:
    """Pull the steps and records of the filtered pathways (two saved queries, see the module docstring)."""
    filters = filters or Filters()
    params = filters.params()
    steps = run_slice(backend, STEPS_QUERY, params).reindex(columns=STEP_COLUMNS)
    records = run_slice(backend, RECORDS_QUERY, params).reindex(columns=RECORD_COLUMNS)
    # a step is one row even if a source type mapped to two common types (never in the ontology today)
    steps = steps.drop_duplicates(["record_uid", "position"]).sort_values(
        ["record_uid", "position"], kind="stable").reset_index(drop=True)
    steps["position"] = steps["position"].astype("int64")
    steps["minutes_before"] = pd.to_numeric(steps["minutes_before"], errors="coerce").astype("float64")
    return PathwaySlice(steps, records.reset_index(drop=True), filters)


def _slice(source: Source, filters: Filters | None) -> PathwaySlice:
    if isinstance(source, PathwaySlice):
        if filters is not None and filters != source.filters:
            raise MicropathError("a PathwaySlice was given with different filters; pull it again with load_slice")
        return source
    return load_slice(source, filters)


def _membership(sl: PathwaySlice, by: GroupBy) -> pd.DataFrame:
    """(record_uid, group, group_label): which group(s) each record with a pathway belongs to."""
    rec = sl.records
    if by is None:
        out = pd.DataFrame({"record_uid": rec["record_uid"].unique()})
        out["group"], out["group_label"] = ALL, "all pathways"
        return out
    if by not in ("motive", "method"):
        raise MicropathError(f"by must be 'motive' or 'method', not {by!r}")
    out = rec[["record_uid", f"{by}_code", by]].drop_duplicates(["record_uid", f"{by}_code"])
    return out.set_axis(["record_uid", "group", "group_label"], axis=1).reset_index(drop=True)


@dataclass
class _Seq:
    """Steps of every (group, record) pathway, sorted by group, record, position; all keys are integers.

    ``pid`` numbers the pathways 0..P-1 (contiguous runs), ``gi`` indexes ``groups`` (one row per group:
    gi, group, group_label, pathways), ``type`` indexes ``codes``.
    """

    gi: np.ndarray
    pid: np.ndarray
    type: np.ndarray
    minutes: np.ndarray
    position: np.ndarray  # Event.position of the step
    depth: np.ndarray  # 1-based rank of the step within its pathway (= position when steps have no gaps)
    starts: np.ndarray  # index of each pathway's first step
    codes: np.ndarray  # event-type code per type index
    labels: dict[str, str]  # event-type code -> label
    groups: pd.DataFrame
    pid_record: np.ndarray  # record uid per pathway


def _sequences(sl: PathwaySlice, by: GroupBy) -> _Seq:
    steps, member = sl.steps, _membership(sl, by)
    record, records = pd.factorize(steps["record_uid"], sort=True)
    g_member, group_keys = pd.factorize(member["group"], sort=True)
    r_member = pd.Index(records).get_indexer(member["record_uid"])
    labels_of = member.drop_duplicates("group", keep="last").set_index("group")["group_label"]
    groups = pd.DataFrame({"gi": np.arange(len(group_keys)), "group": np.asarray(group_keys, dtype=object)})
    groups["group_label"] = groups["group"].map(labels_of)
    groups["pathways"] = np.bincount(g_member[r_member >= 0], minlength=len(groups)).astype("int64")
    if by is None:  # every record (of the records slice) in the one group
        idx = np.flatnonzero(np.isin(record, r_member[r_member >= 0]))
        gi = np.zeros(len(idx), dtype=np.int64)
    else:  # a record with several motives (methods) is in several groups: its steps repeat
        joined = pd.DataFrame({"r": record, "i": np.arange(len(steps))}).merge(
            pd.DataFrame({"r": r_member, "gi": g_member}), on="r")
        idx, gi = joined["i"].to_numpy(), joined["gi"].to_numpy()
    position = steps["position"].to_numpy()[idx]
    order = np.lexsort((position, record[idx], gi))
    idx, gi = idx[order], gi[order]
    rec = record[idx]
    n = len(idx)
    new = np.ones(n, dtype=bool)
    new[1:] = (gi[1:] != gi[:-1]) | (rec[1:] != rec[:-1])
    starts = np.flatnonzero(new)
    pid = np.cumsum(new) - 1
    depth = np.arange(n) - starts[pid] + 1
    type_index, codes = pd.factorize(steps["type_code"], sort=True)
    kinds = steps[["type_code", "type_label"]].drop_duplicates("type_code")
    return _Seq(gi.astype(np.int64), pid.astype(np.int64), np.asarray(type_index)[idx].astype(np.int64),
                steps["minutes_before"].to_numpy(dtype=float)[idx], position[order].astype(np.int64),
                depth.astype(np.int64), starts,
                np.asarray(codes, dtype=object), dict(zip(kinds["type_code"], kinds["type_label"], strict=True)),
                groups, np.asarray(records, dtype=object)[rec[starts]])


def _finish(frame: pd.DataFrame, seq: _Seq, by: GroupBy, order: list[str], ascending: list[bool],
            columns: list[str]) -> pd.DataFrame:
    """Attach group code/label (by ``gi``), order totally, keep ``columns`` (group columns only if by)."""
    frame = frame.merge(seq.groups[["gi", *GROUP_COLUMNS]], on="gi", how="left")
    frame = frame.sort_values(["gi", *order], ascending=[True, *ascending], kind="stable").reset_index(drop=True)
    return frame[([] if by is None else GROUP_COLUMNS) + columns]


# ---- transitions ----------------------------------------------------------------------------------------
TRANSITION_COLUMNS = ["from", "to", "from_label", "to_label", "count", "probability", "homicides", "pathways",
                      "prevalence", "from_total", "to_total", "total", "expected", "residual", "p_value",
                      "q_value", "above_chance"]


def transitions(source: Source, filters: Filters | None = None, *, by: GroupBy = None, alpha: float = 0.05,
                include_zero: bool = False) -> pd.DataFrame:
    """Lag-1 transitions between common event types, per group.

    count: occurrences of ``from`` immediately followed by ``to``; probability: count / from_total (the
    transitions out of ``from``); homicides: pathways containing the transition at least once;
    prevalence: homicides / pathways. expected = from_total * to_total / total, and residual is the
    adjusted standardised residual (Haberman 1973; Bakeman & Quera 2011)::

        z = (count - expected) / sqrt(expected * (1 - from_total / total) * (1 - to_total / total))

    (null when the variance is 0: one row or one column only). p_value is two-sided from the standard
    normal; q_value the Benjamini-Hochberg adjustment over every cell of the group's table (observed or
    not); above_chance: residual > 0 and q_value < alpha. ``include_zero`` also lists the cells of the
    table never observed (count 0).
    """
    seq = _sequences(_slice(source, filters), by)
    i = np.flatnonzero(seq.pid[1:] == seq.pid[:-1])  # step i is followed by step i+1 of its pathway
    pairs = pd.DataFrame({"gi": seq.gi[i], "pid": seq.pid[i], "a": seq.type[i], "b": seq.type[i + 1]})
    keys = ["gi", "a", "b"]
    observed = pairs.groupby(keys).size().rename("count")
    homicides = pairs.drop_duplicates(["pid", "a", "b"]).groupby(keys).size().rename("homicides")
    cells = pd.concat([observed, homicides], axis=1).reset_index()
    rows = cells.groupby(["gi", "a"])["count"].sum().rename("from_total").reset_index()
    cols = cells.groupby(["gi", "b"])["count"].sum().rename("to_total").reset_index()
    grid = rows.merge(cols, on="gi")  # every cell of each group's table
    grid = grid.merge(cells, on=keys, how="left").fillna({"count": 0, "homicides": 0})
    grid = grid.merge(grid.groupby("gi")["count"].sum().rename("total").reset_index(), on="gi")
    grid = grid.merge(seq.groups[["gi", "pathways"]], on="gi")
    for column in ("count", "homicides", "from_total", "to_total", "total", "pathways"):
        grid[column] = grid[column].astype("int64")
    x, r, c, n = (grid[k].to_numpy(dtype=float) for k in ("count", "from_total", "to_total", "total"))
    expected = r * c / n
    variance = expected * (1 - r / n) * (1 - c / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = np.where(variance > 0, (x - expected) / np.sqrt(variance), np.nan)
    grid["expected"], grid["residual"] = expected, residual
    grid["p_value"] = np.where(np.isnan(residual), np.nan, 2 * norm.sf(np.abs(residual)))
    grid["q_value"] = grid.groupby("gi")["p_value"].transform(_bh)
    grid["above_chance"] = (grid["residual"] > 0) & (grid["q_value"] < alpha)
    grid["probability"] = grid["count"] / grid["from_total"]
    grid["prevalence"] = grid["homicides"] / grid["pathways"]
    grid["from"], grid["to"] = seq.codes[grid["a"].to_numpy()], seq.codes[grid["b"].to_numpy()]
    grid["from_label"], grid["to_label"] = grid["from"].map(seq.labels), grid["to"].map(seq.labels)
    if not include_zero:
        grid = grid[grid["count"] > 0]
    return _finish(grid, seq, by, ["count", "from", "to"], [False, True, True], TRANSITION_COLUMNS)


def _bh(p: pd.Series) -> pd.Series:
    """Benjamini-Hochberg q-values of one group's cells (NaN stays NaN and is not counted as a test)."""
    values = p.to_numpy(dtype=float)
    ok = ~np.isnan(values)
    out = np.full(values.shape, np.nan)
    out[ok] = benjamini_hochberg(values[ok])
    return pd.Series(out, index=p.index)


# ---- frequent sub-sequences -----------------------------------------------------------------------------
SEQUENCE_COLUMNS = ["kind", "length", "pattern", "pattern_labels", "homicides", "pathways", "support",
                    "occurrences"]


def ngrams(source: Source, filters: Filters | None = None, *, by: GroupBy = None, lengths: Iterable[int] = (2, 3, 4),
           min_support: float = 0.05) -> pd.DataFrame:
    """Contiguous sub-sequences (n-grams) of the pathways, per group.

    homicides: pathways containing the n-gram at least once; support = homicides / pathways (kept when
    >= min_support); occurrences: how many times it occurs in all (a pathway may repeat it).
    """
    seq = _sequences(_slice(source, filters), by)
    frames = []
    for n in sorted(set(lengths)):
        if n < 1:
            raise MicropathError(f"n-gram lengths must be at least 1, not {n}")
        start = np.arange(max(0, len(seq.pid) - n + 1))
        start = start[seq.pid[start] == seq.pid[start + n - 1]]  # all n steps in one pathway (sorted)
        grams = pd.DataFrame({"gi": seq.gi[start], "pid": seq.pid[start],
                              **{f"t{k}": seq.type[start + k] for k in range(n)}})
        keys = ["gi", *(f"t{k}" for k in range(n))]
        occurrences = grams.groupby(keys).size().rename("occurrences")
        homicides = grams.drop_duplicates(["pid", *keys[1:]]).groupby(keys).size().rename("homicides")
        out = pd.concat([homicides, occurrences], axis=1).reset_index()
        steps = [out[f"t{k}"].to_numpy() for k in range(n)]
        frames.append(pd.DataFrame({"gi": out["gi"], "kind": "contiguous", "length": n,
                                    "pattern": _join(seq, steps, labels=False),
                                    "pattern_labels": _join(seq, steps, labels=True),
                                    "homicides": out["homicides"], "occurrences": out["occurrences"]}))
    return _sequence_frame(frames, seq, by, min_support)


def _join(seq: _Seq, steps: list[np.ndarray], *, labels: bool) -> np.ndarray:
    """Pattern text per row from its step type indexes."""
    names = np.array([seq.labels[c] for c in seq.codes] if labels else seq.codes, dtype=object)
    text = names[steps[0]] if len(steps[0]) else np.array([], dtype=object)
    for column in steps[1:]:
        text = text + SEP + names[column]
    return np.asarray(text, dtype=object)


def _sequence_frame(frames: list[pd.DataFrame], seq: _Seq, by: GroupBy, min_support: float) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["gi", "kind", "length", "pattern", "pattern_labels", "homicides", "occurrences"])
    out = out.merge(seq.groups[["gi", "pathways"]], on="gi")
    out["homicides"] = out["homicides"].astype("int64")
    out["length"] = out["length"].astype("int64")
    out["support"] = out["homicides"] / out["pathways"]
    out = out[out["homicides"] >= _min_count(min_support, out["pathways"])]
    return _finish(out, seq, by, ["kind", "length", "homicides", "pattern"], [True, True, False, True],
                   SEQUENCE_COLUMNS)


def _min_count(min_support: float, pathways: Any) -> Any:
    """Smallest whole count whose share of ``pathways`` is at least ``min_support`` (at least 1)."""
    if not 0 <= min_support <= 1:
        raise MicropathError(f"min_support is a share between 0 and 1, not {min_support}")
    return np.maximum(1, np.ceil(np.asarray(pathways, dtype=float) * min_support - 1e-9))


def gapped(source: Source, filters: Filters | None = None, *, by: GroupBy = None, min_support: float = 0.05,
           min_length: int = 2, max_length: int = 4, closed: bool = False) -> pd.DataFrame:
    """Gapped sub-sequences (steps in this order, other steps allowed between) by PrefixSpan, per group.

    Support counts each pathway once (homicides / pathways), as PrefixSpan does. Identical pathways are
    mined once with their multiplicity as the support weight (prefixspan's ``key``/``bound`` hooks; a
    weighted count is anti-monotone, so it is a valid bound). ``closed`` keeps only closed patterns
    (no super-pattern with the same support). occurrences is not defined for gapped patterns (null).
    """
    seq = _sequences(_slice(source, filters), by)
    if min_length < 1 or max_length < min_length:
        raise MicropathError(f"need 1 <= min_length <= max_length, not {min_length}..{max_length}")
    types = seq.type.tolist()
    ends = [*seq.starts[1:].tolist(), len(types)] if len(types) else []
    unique = pd.DataFrame({"gi": seq.gi[seq.starts],
                           "seq": [tuple(types[s:e]) for s, e in zip(seq.starts.tolist(), ends, strict=True)]})
    weights = unique.groupby(["gi", "seq"], sort=True).size().rename("w").reset_index()
    totals = seq.groups.set_index("gi")["pathways"]
    frames = []
    for gi, block in weights.groupby("gi", sort=True):
        db = [list(s) for s in block["seq"]]
        w = block["w"].to_list()

        def weighted(_patt: list[int], matches: list[tuple[int, int]], w: list[int] = w) -> int:
            return sum(w[i] for i, _ in matches)

        miner = PrefixSpan(db)
        miner.minlen, miner.maxlen = min_length, max_length
        found = miner.frequent(int(_min_count(min_support, int(totals[gi]))), closed=closed, key=weighted,
                               bound=weighted)
        if not found:
            continue
        frames.append(pd.DataFrame({
            "gi": gi, "kind": "gapped", "length": [len(p) for _, p in found],
            "pattern": [SEP.join(seq.codes[t] for t in p) for _, p in found],
            "pattern_labels": [SEP.join(seq.labels[seq.codes[t]] for t in p) for _, p in found],
            "homicides": [support for support, _ in found], "occurrences": None}))
    return _sequence_frame(frames, seq, by, min_support)


def sequences(source: Source, filters: Filters | None = None, *, by: GroupBy = None, min_support: float = 0.05,
              max_length: int = 4, kind: Literal["contiguous", "gapped", "both"] = "both",
              closed: bool = False) -> pd.DataFrame:
    """Frequent contiguous (n = 2..max_length) and gapped (length 2..max_length) sub-sequences, one table."""
    if kind not in ("contiguous", "gapped", "both"):
        raise MicropathError(f"kind must be contiguous, gapped or both, not {kind!r}")
    sl = _slice(source, filters)
    frames = []
    if kind in ("contiguous", "both"):
        frames.append(ngrams(sl, by=by, lengths=range(2, max_length + 1), min_support=min_support))
    if kind in ("gapped", "both"):
        frames.append(gapped(sl, by=by, min_support=min_support, max_length=max_length, closed=closed))
    if len(frames) == 1:
        return frames[0]
    keys = ([] if by is None else ["group"]) + ["kind", "length", "homicides", "pattern"]
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(keys, ascending=[True] * (len(keys) - 2) + [False, True], kind="stable").reset_index(
        drop=True)


# ---- divergence -----------------------------------------------------------------------------------------
DIVERGENCE_COLUMNS = ["depth", "prefix", "prefix_pathways", "prefix_share", "branches", "entropy", "next",
                      "next_label", "next_pathways", "next_share"]


def divergence(source: Source, filters: Filters | None = None, *, by: GroupBy = None,
               min_support: float = 0.01, max_depth: int | None = None) -> pd.DataFrame:
    """Branch points of the prefix tree of pathways (from the first step), per group.

    Every pathway is a path from the root ((start)) of a tree whose nodes are prefixes. A prefix reached
    by prefix_pathways pathways (prefix_share of the group's pathways, at least min_support) is a branch
    point when they continue in two or more ways (branches): a next step, or (end) for pathways that stop
    there. One row per (branch point, next): next_pathways of them continue with next, next_share =
    next_pathways / prefix_pathways; entropy is the Shannon entropy (bits) of the next-step shares,
    -sum(p * log2 p): 0 when everyone continues alike, log2(branches) when the ways are equally common.
    """
    seq = _sequences(_slice(source, filters), by)
    n_groups = len(seq.groups)  # node ids 0..n_groups-1 are the roots, one per group
    node = np.full(len(seq.pid), -1, dtype=np.int64)
    parent = np.full(len(seq.pid), -1, dtype=np.int64)
    next_id = n_groups
    for d in range(1, int(seq.depth.max(initial=0)) + 1):  # one vectorised pass per depth
        rows = np.flatnonzero(seq.depth == d)
        parent[rows] = seq.gi[rows] if d == 1 else node[rows - 1]  # sorted: the row before is the parent
        ids, _ = pd.factorize(parent[rows] * (len(seq.codes) + 1) + seq.type[rows], sort=True)
        node[rows] = next_id + ids
        next_id += int(ids.max(initial=-1)) + 1
    child = pd.DataFrame({"node": node, "parent": parent, "type": seq.type, "depth": seq.depth, "gi": seq.gi}) \
        .groupby("node", sort=True).agg(parent=("parent", "first"), type=("type", "first"),
                                        depth=("depth", "first"), gi=("gi", "first"), reach=("node", "size"))
    roots = pd.DataFrame({"depth": 0, "gi": seq.groups["gi"].to_numpy(), "reach": seq.groups["pathways"].to_numpy()},
                         index=pd.RangeIndex(n_groups))
    tree = pd.concat([roots, child[["depth", "gi", "reach"]]])  # every node: depth, group, pathways reaching it
    edges = child.reset_index()[["parent", "type", "reach"]].rename(columns={"reach": "next_pathways"})
    stopped = tree["reach"] - edges.groupby("parent")["next_pathways"].sum().reindex(tree.index, fill_value=0)
    stopped = stopped[stopped > 0]  # pathways that end at this prefix
    edges = pd.concat([edges, pd.DataFrame({"parent": stopped.index.to_numpy(), "type": len(seq.codes),
                                            "next_pathways": stopped.to_numpy()})], ignore_index=True)
    at = tree.loc[edges["parent"].to_numpy()]
    edges["depth"] = at["depth"].to_numpy().astype("int64")
    edges["gi"] = at["gi"].to_numpy().astype("int64")
    edges["prefix_pathways"] = at["reach"].to_numpy().astype("int64")
    edges["next_pathways"] = edges["next_pathways"].astype("int64")
    edges["branches"] = edges.groupby("parent")["type"].transform("size").astype("int64")
    edges["next_share"] = edges["next_pathways"] / edges["prefix_pathways"]
    edges["plogp"] = -edges["next_share"] * np.log2(edges["next_share"])
    edges["entropy"] = edges.groupby("parent")["plogp"].transform("sum").clip(lower=0.0)
    edges = edges.merge(seq.groups[["gi", "pathways"]], on="gi")
    edges["prefix_share"] = edges["prefix_pathways"] / edges["pathways"]
    keep = (edges["branches"] >= 2) & (edges["prefix_pathways"] >= _min_count(min_support, edges["pathways"]))
    if max_depth is not None:
        keep &= edges["depth"] <= max_depth
    edges = edges[keep].copy()
    names = np.array([*seq.codes, END], dtype=object)
    edges["prefix"] = _prefix_text(edges["parent"].to_numpy(), child, seq.codes, n_groups)
    edges["next"] = names[edges["type"].to_numpy()]
    edges["next_label"] = [END if c == END else seq.labels[c] for c in edges["next"]]
    return _finish(edges, seq, by, ["depth", "prefix_pathways", "prefix", "next_pathways", "next"],
                   [True, False, True, False, True], DIVERGENCE_COLUMNS)


def _prefix_text(parents: np.ndarray, child: pd.DataFrame, codes: np.ndarray, n_groups: int) -> list[str]:
    """The steps from the root to each node, joined by SEP (START for a root)."""
    parent_of, type_of = child["parent"].to_dict(), child["type"].to_dict()
    memo: dict[int, str] = {}

    def text(n: int) -> str:
        if n < n_groups:
            return START
        if n not in memo:
            up, code = parent_of[n], str(codes[type_of[n]])
            memo[n] = code if up < n_groups else text(up) + SEP + code
        return memo[n]

    return [text(int(p)) for p in parents]


# ---- escalation -----------------------------------------------------------------------------------------
def conflict_codes() -> frozenset[str]:
    """Common event types flagged mp:conflictEvent true in the ontology."""
    return frozenset(c.code for c in get_vocabulary().scheme_concepts("EventType", "micropathways")
                     if c.get("conflict_event"))


ESCALATION_TIME_COLUMNS = ["record_uid", "first_conflict_step", "first_conflict", "first_conflict_label", "minutes"]
ESCALATION_COLUMNS = ["pathways", "homicides", "share_with_conflict", "known", "not_known", "median", "q1", "q3",
                      "mean", "min", "max", *(b for b, _, _ in BANDS), "share_under_5_min", "around_5_min",
                      "share_around_5_min", "around_5_ci_low", "around_5_ci_high"]
FIVE_MINUTE_COLUMNS = ["known", "window_low", "window_high", "in_window", "share_in_window", "ci_low", "ci_high",
                       "below_low", "below", "above_high", "above", "p_below", "p_above", "p_value", "cluster"]


def escalation_times(source: Source, filters: Filters | None = None, *, by: GroupBy = None) -> pd.DataFrame:
    """Per pathway with a conflict step: its first conflict step and minutes from it to the fatal incident.

    The first conflict step is the earliest step whose common type has mp:conflictEvent true; minutes is
    its minutes_before (null when not known). Pathways without a conflict step are not listed.
    """
    seq = _sequences(_slice(source, filters), by)
    return _finish(_first_conflicts(seq), seq, by, ["record_uid"], [True], ESCALATION_TIME_COLUMNS)


def _first_conflicts(seq: _Seq) -> pd.DataFrame:
    conflict = np.isin(seq.codes, sorted(conflict_codes()))
    rows = np.flatnonzero(conflict[seq.type]) if len(seq.type) else np.zeros(0, np.int64)
    first = rows[np.r_[True, seq.pid[rows][1:] != seq.pid[rows][:-1]]] if len(rows) else rows
    out = pd.DataFrame({"gi": seq.gi[first], "record_uid": seq.pid_record[seq.pid[first]],
                        "first_conflict_step": seq.position[first], "first_conflict": seq.codes[seq.type[first]],
                        "minutes": seq.minutes[first]})
    out["first_conflict_label"] = out["first_conflict"].map(seq.labels)
    return out


def escalation(source: Source, filters: Filters | None = None, *, by: GroupBy = None,
               around: tuple[float, float] = (3.0, 7.0), confidence: float = 0.95) -> pd.DataFrame:
    """Distribution of escalation times (first conflict step -> fatal incident, minutes) per group.

    pathways: pathways in the group; homicides: those with a conflict step (share_with_conflict); known /
    not_known: whether the first conflict step's time is known. Over the known times: median, q1, q3
    (linear interpolation, as percentileCont), mean, min, max; counts in the bands of escalation_summary
    (under_5_min: m < 5; from_5_to_15_min: 5 <= m < 15; ...; over_24_h: m >= 1440); share_under_5_min =
    under_5_min / known; around_5_min: around[0] <= m <= around[1] (5 +/- 2 minutes by default) with its
    share of known and a Wilson score interval (confidence).
    """
    seq = _sequences(_slice(source, filters), by)
    times = _first_conflicts(seq)
    m = times["minutes"]
    low, high = around
    flags = pd.DataFrame({"gi": times["gi"], "homicides": 1, "known": m.notna().astype("int64"),
                          "around_5_min": ((m >= low) & (m <= high)).astype("int64"),
                          **{b: ((m >= lo) & (m < hi)).astype("int64") for b, lo, hi in BANDS}})
    counts = flags.groupby("gi").sum()
    by_group = times.groupby("gi")["minutes"]
    stats = pd.DataFrame({"median": by_group.median(), "q1": by_group.quantile(0.25), "q3": by_group.quantile(0.75),
                          "mean": by_group.mean(), "min": by_group.min(), "max": by_group.max()})
    out = seq.groups[["gi", "pathways"]].merge(counts.join(stats).reset_index(), on="gi", how="left")
    for column in ("homicides", "known", "around_5_min", *(b for b, _, _ in BANDS)):
        out[column] = out[column].fillna(0).astype("int64")
    out["not_known"] = out["homicides"] - out["known"]
    out["share_with_conflict"] = out["homicides"] / out["pathways"]
    known = out["known"].where(out["known"] > 0)
    out["share_under_5_min"] = out["under_5_min"] / known
    out["share_around_5_min"] = out["around_5_min"] / known
    out["around_5_ci_low"], out["around_5_ci_high"] = wilson_interval(out["around_5_min"], out["known"], confidence)
    return _finish(out, seq, by, [], [], ESCALATION_COLUMNS)


def five_minute_test(source: Source, filters: Filters | None = None, *, by: GroupBy = None,
                     window: tuple[float, float] = (3.0, 7.0), alpha: float = 0.05,
                     confidence: float = 0.95) -> pd.DataFrame:
    """Is there a cluster of escalation times around five minutes? One row per group.

    Escalation times span seconds to weeks, so the test works on the logarithmic time scale: the window
    [low, high] (5 +/- 2 minutes by default) is compared with its two neighbours of the same log-width,
    below = [low^2/high, low) and above = (high, high^2/low] (for 3-7: [1.29, 3) and (7, 16.33]). With no
    cluster (a density of log-time that falls or rises steadily through the window) at least one
    neighbour holds as many times as the window. Each comparison is an exact one-sided binomial test
    (scipy.stats.binomtest) of in_window out of in_window + neighbour against 1/2; the cluster claim needs
    both, so p_value is the larger p (an intersection-union test, level alpha without correction) and
    cluster = p_value < alpha. share_in_window = in_window / known, with a Wilson interval.
    """
    from scipy.stats import binomtest

    low, high = window
    if not 0 < low < high:
        raise MicropathError(f"the window needs 0 < low < high, not {window}")
    seq = _sequences(_slice(source, filters), by)
    times = _first_conflicts(seq)
    m = times["minutes"]
    below_low, above_high = low * low / high, high * high / low
    flags = pd.DataFrame({"gi": times["gi"], "known": m.notna().astype("int64"),
                          "in_window": ((m >= low) & (m <= high)).astype("int64"),
                          "below": ((m >= below_low) & (m < low)).astype("int64"),
                          "above": ((m > high) & (m <= above_high)).astype("int64")})
    out = seq.groups[["gi"]].merge(flags.groupby("gi").sum().reset_index(), on="gi", how="left").fillna(0)
    for column in ("known", "in_window", "below", "above"):
        out[column] = out[column].astype("int64")
    out["window_low"], out["window_high"], out["below_low"], out["above_high"] = low, high, below_low, above_high
    out["share_in_window"] = out["in_window"] / out["known"].where(out["known"] > 0)
    out["ci_low"], out["ci_high"] = wilson_interval(out["in_window"], out["known"], confidence)

    def one_sided(k: int, other: int) -> float:
        return float(binomtest(k, k + other, 0.5, alternative="greater").pvalue) if k + other else 1.0

    out["p_below"] = [one_sided(k, o) for k, o in zip(out["in_window"], out["below"], strict=True)]
    out["p_above"] = [one_sided(k, o) for k, o in zip(out["in_window"], out["above"], strict=True)]
    out["p_value"] = out[["p_below", "p_above"]].max(axis=1)
    out["cluster"] = out["p_value"] < alpha
    return _finish(out, seq, by, [], [], FIVE_MINUTE_COLUMNS)
