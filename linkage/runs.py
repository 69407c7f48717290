"""Link runs: make links between the records of two datasets and write them to the graph atomically.

A run is named by its parameters: ``uid = "linkrun:" + sha256(canonical JSON)[:16]``, so running
again with the same parameters addresses the same run. The run's links are LINKED_TO relationships
(left record -> right record) whose ``run`` is that uid; the run itself is a LinkRun node. Writing a
run is one ``write_bundle`` (one transaction on either engine): graph_model/writer.py replaces the
run's proposed links with the new ones, leaves identical links alone and keeps review decisions
(accepted / rejected), so a re-run with the same parameters on the same data changes nothing.

Reviews are also one ``write_bundle``: the reviewed links with their new status, without the run
node, so that nothing else of the run is touched.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from graph_model.backend import GraphBackend, LoadReport
from graph_model.bundle import GraphBundle
from graph_model.schema import get_schema
from linkage.deterministic import deterministic_links
from linkage.fields import apply_filters, parse_fields
from linkage.records import LinkageError, dataset_records

METHODS = ("deterministic", "splink")
LINK = "LINKED_TO"
PROPOSED, ACCEPTED, REJECTED = "proposed", "accepted", "rejected"
DECISIONS = (ACCEPTED, REJECTED)
REVIEWER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


@dataclass(frozen=True)
class RunSpec:
    """What a link run is asked to do; the uid is a hash of exactly this."""

    left: str
    right: str
    method: str
    keys: tuple[str, ...] = ()                 # deterministic
    block: tuple[str, ...] = ()                # splink: blocking fields
    compare: tuple[str, ...] = ()              # splink: compared fields
    threshold: float | None = None             # splink: minimum match probability
    seed: int = 1
    recall: float = 0.7
    max_pairs: float = 5e6
    filters: dict[str, str] = field(default_factory=dict)        # both sides
    left_filters: dict[str, str] = field(default_factory=dict)
    right_filters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise LinkageError(f"unknown link method {self.method!r}; use one of {list(METHODS)}")
        if self.left == self.right:
            raise LinkageError(f"left and right are both {self.left!r}: link two different datasets")
        if self.method == "deterministic":
            parse_fields(list(self.keys))
        else:
            parse_fields(list(self.block) + list(self.compare))
            if self.threshold is None:
                raise LinkageError("a Splink run needs --threshold, the minimum match probability (e.g. 0.8)")

    def parameters(self) -> dict[str, Any]:
        """The parameters that define the run (those that do not apply to the method are left out)."""
        out = asdict(self)
        drop = ("block", "compare", "threshold", "seed", "recall", "max_pairs") \
            if self.method == "deterministic" else ("keys",)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items() if k not in drop}

    @property
    def parameters_json(self) -> str:
        return json.dumps(self.parameters(), sort_keys=True, separators=(",", ":"))

    @property
    def uid(self) -> str:
        return "linkrun:" + hashlib.sha256(self.parameters_json.encode()).hexdigest()[:16]


@dataclass
class RunOutcome:
    spec: RunSpec
    links: pd.DataFrame          # left_uid, right_uid, match_weight, match_probability, agreed_fields
    left_records: int
    right_records: int
    report: LoadReport
    model: dict[str, Any] | None = None


def run_links(backend: GraphBackend, spec: RunSpec) -> RunOutcome:
    """Compute the run's links from the graph and write them (one transaction)."""
    left = _side(backend, spec.left, {**spec.filters, **spec.left_filters}, "left")
    right = _side(backend, spec.right, {**spec.filters, **spec.right_filters}, "right")
    model = None
    if spec.method == "deterministic":
        links = deterministic_links(left, right, list(spec.keys))
        links["match_weight"] = None
        links["match_probability"] = 1.0
    else:
        from linkage.splink_model import splink_links  # Splink is imported only when used

        assert spec.threshold is not None
        result = splink_links(left, right, block=list(spec.block), compare=list(spec.compare),
                              threshold=spec.threshold, seed=spec.seed, recall=spec.recall,
                              max_pairs=spec.max_pairs)
        links, model = result.links, result.model
    bundle = run_bundle(spec, links, left, right, model)
    report = backend.write_bundle(bundle)
    return RunOutcome(spec, links, len(left), len(right), report, model)


def _side(backend: GraphBackend, dataset: str, filters: dict[str, str], side: str) -> pd.DataFrame:
    return apply_filters(dataset_records(backend, dataset), filters, f"{side} ({dataset})")


def run_bundle(spec: RunSpec, links: pd.DataFrame, left: pd.DataFrame, right: pd.DataFrame,
               model: dict[str, Any] | None) -> GraphBundle:
    """The bundle that restates the run: its LinkRun node and every link (an empty frame when none)."""
    bundle = GraphBundle(dataset=f"links:{spec.uid}")
    bundle.add_nodes("LinkRun", pd.DataFrame([{
        "uid": spec.uid, "left_dataset": spec.left, "right_dataset": spec.right,
        "link_method": _method_name(spec), "threshold": _threshold(spec), "parameters": spec.parameters_json,
        "model": json.dumps(model, sort_keys=True) if model else None, "link_count": len(links),
        "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }]))
    labels_left = dict(zip(left["uid"], left["label"], strict=True))
    labels_right = dict(zip(right["uid"], right["label"], strict=True))
    frame = pd.DataFrame({
        "from": links["left_uid"], "to": links["right_uid"], "run": spec.uid,
        "link_method": _method_name(spec), "match_probability": links["match_probability"].astype(float),
        "match_weight": pd.to_numeric(links["match_weight"], errors="coerce"),
        "agreed_fields": links["agreed_fields"], "threshold": _threshold(spec), "status": PROPOSED,
    })
    pair_of = list(zip(links["left_uid"].map(labels_left), links["right_uid"].map(labels_right), strict=True))
    pairs = {(a, b) for a in set(labels_left.values()) for b in set(labels_right.values())}
    for src, dst in sorted(pairs):
        rows = frame[[p == (src, dst) for p in pair_of]]
        bundle.add_rels(LINK, src, dst, rows.reset_index(drop=True))
    return bundle.conform(get_schema())


def _threshold(spec: RunSpec) -> float:
    """The run's threshold; a deterministic run links only exact agreement, i.e. probability 1."""
    return 1.0 if spec.threshold is None else float(spec.threshold)


def _method_name(spec: RunSpec) -> str:
    return "deterministic" if spec.method == "deterministic" else "probabilistic"


# ---- reviews --------------------------------------------------------------------------------------
def review_links(backend: GraphBackend, run: str, pairs: list[tuple[str, str]], status: str,
                 reviewer: str) -> LoadReport:
    """Accept or reject links of ``run`` (pairs of left uid, right uid), in one transaction."""
    if status not in DECISIONS:
        raise LinkageError(f"status {status!r}: a review decision is one of {list(DECISIONS)}")
    if not REVIEWER.fullmatch(reviewer) or "@" in reviewer:
        raise LinkageError(f"reviewer {reviewer!r} must be a pseudonymous id (letters, digits, '_', '.', '-'; "
                           "at most 40; not a name or an e-mail address)")
    current = run_link_rows(backend, run)
    wanted = set(pairs)
    chosen = current[[(f, t) in wanted for f, t in zip(current["from"], current["to"], strict=True)]]
    missing = wanted - set(zip(chosen["from"], chosen["to"], strict=True))
    if missing:
        raise LinkageError(f"run {run} has no link(s) {sorted(missing)[:5]}; list them with "
                           f"`micropath link list --run {run}`")
    bundle = GraphBundle(dataset=f"review:{run}")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for (src, dst), rows in chosen.groupby(["_src", "_dst"]):
        rows = rows.drop(columns=["_src", "_dst"]).assign(status=status, reviewer=reviewer, reviewed_at=stamp)
        bundle.add_rels(LINK, str(src), str(dst), rows.reset_index(drop=True))
    return backend.write_bundle(bundle.conform(get_schema()))


def run_link_rows(backend: GraphBackend, run: str) -> pd.DataFrame:
    """Every link of ``run`` with all its properties, plus the endpoint labels (_src, _dst)."""
    schema = get_schema()
    names = [p.name for p in schema.rel(LINK).properties]
    returns = ", ".join(f"r.{n} AS p_{n}" for n in names)
    frames = []
    for src, dst in schema.rel(LINK).pairs:
        query = (f"MATCH (a:{schema.check_label(src)})-[r:{LINK}]->(b:{schema.check_label(dst)}) "
                 f"WHERE r.run = $run RETURN a.uid AS f, b.uid AS t, {returns}")
        result = backend.run_read(query, {"run": run}, max_rows=5_000_000, tag="link rows of a run")
        frame = pd.DataFrame(result.rows, columns=result.columns)
        frames.append(frame.assign(_src=src, _dst=dst))
    out = pd.concat(frames, ignore_index=True)
    return out.rename(columns={"f": "from", "t": "to", **{f"p_{n}": n for n in names}})
