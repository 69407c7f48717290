"""Probabilistic linkage with Splink 4 (Fellegi-Sunter model, DuckDB backend).

Records are compared only within blocks (pairs that agree exactly on the blocking fields, e.g. year
and state). Each compared field has Splink comparison levels (linkage/fields.py); Splink estimates:

* the prior, ``probability_two_random_records_match``, from the pairs that agree on every field
  (blocking and compared) divided by the recall the user expects of that exact rule;
* the u probabilities from random pairs (``estimate_u_using_random_sampling``, seeded);
* the m probabilities by expectation maximisation in two sessions: one blocked on the blocking
  fields (estimates the other fields), one blocked on the first two other fields (estimates the
  blocking fields). Blocking fields are compared too, so that their agreement counts in the weight.

A pair's match weight is log2 of the prior odds plus the log2 Bayes factor m/u of the level each
comparison falls in; its match probability is 2^w / (1 + 2^w). DuckDB runs on one thread so that
sampling and EM give the same model on every run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from linkage.fields import comparable, field
from linkage.records import LinkageError

LEFT, RIGHT = "left", "right"


@dataclass
class SplinkResult:
    links: pd.DataFrame        # left_uid, right_uid, match_weight, match_probability, agreed_fields
    predictions: pd.DataFrame  # Splink's predict() output as it returned it (gamma_, bf_, _l/_r columns)
    model: dict[str, Any]      # Splink's saved model (save_model_to_json)


def comparison(name: str) -> Any:
    """The Splink comparison for linkage field ``name``."""
    spec = field(name)
    if not spec.numeric or not spec.tolerances:
        return cl.ExactMatch(name)
    levels: list[Any] = [cll.NullLevel(name), cll.ExactMatchLevel(name),
              *(cll.AbsoluteDifferenceLevel(name, d) for d in spec.tolerances), cll.ElseLevel()]
    return cl.CustomComparison(levels, output_column_name=name,
                               comparison_description=f"{name}: exact, within {spec.tolerances}, else")


def splink_links(left: pd.DataFrame, right: pd.DataFrame, *, block: list[str], compare: list[str],
                 threshold: float, seed: int = 1, recall: float = 0.7,
                 max_pairs: float = 1e6) -> SplinkResult:
    """Train a Splink model on the two record tables and predict links at ``threshold`` or above."""
    _check(left, right, block, compare, threshold, recall)
    con = duckdb.connect()
    con.execute("SET threads TO 1")
    try:
        a, b = _shared_blocks(comparable(left, block + compare), comparable(right, block + compare), block)
        con.register("left_records", a)
        con.register("right_records", b)
        settings = SettingsCreator(
            link_type="link_only", unique_id_column_name="uid",
            comparisons=[comparison(n) for n in block + compare],
            blocking_rules_to_generate_predictions=[block_on(*block)],
            retain_matching_columns=True, retain_intermediate_calculation_columns=True)
        linker = Linker(["left_records", "right_records"], settings, DuckDBAPI(connection=con),
                        set_up_basic_logging=False, input_table_aliases=[LEFT, RIGHT])
        _quiet()
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*block, *compare)], recall=recall)
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        for rule in (block_on(*block), block_on(*compare[:2])):
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        predictions = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
        model = json.loads(json.dumps(linker.misc.save_model_to_json(), default=str))
        model.pop("linker_uid", None)  # random per Linker; the rest is the same on every run
        model["splink_version"] = splink.__version__
    finally:
        con.close()
    return SplinkResult(_links(predictions, block, compare), predictions, model)


def _check(left: pd.DataFrame, right: pd.DataFrame, block: list[str], compare: list[str],
           threshold: float, recall: float) -> None:
    if not block:
        raise LinkageError("a Splink run needs at least one blocking field (--block), e.g. year,area_state: "
                           "only pairs that agree on it are compared")
    if not compare:
        raise LinkageError("a Splink run needs fields to compare (--fields), e.g. month,victim_age,victim_sex")
    if set(block) & set(compare):
        raise LinkageError(f"fields {sorted(set(block) & set(compare))} are given both in --block and in "
                           "--fields; blocking fields are compared too, so name each field once")
    if not 0.0 < threshold < 1.0:
        raise LinkageError(f"threshold {threshold} must be a match probability strictly between 0 and 1")
    if not 0.0 < recall <= 1.0:
        raise LinkageError(f"recall {recall} must be in (0, 1]: the share of true matches that agree exactly "
                           "on every field")
    for side, frame in ((LEFT, left), (RIGHT, right)):
        if frame.empty:
            raise LinkageError(f"the {side} dataset has no records after filtering: nothing to link")


def _shared_blocks(a: pd.DataFrame, b: pd.DataFrame, block: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Only records whose blocking values occur on the other side can link; the others are left out, so
    they do not dilute the prior or the u probabilities (e.g. GVA states that SHR does not cover)."""
    shared = a[block].dropna().drop_duplicates().merge(b[block].dropna().drop_duplicates(), on=block)
    if shared.empty:
        raise LinkageError(f"no value of the blocking fields {block} occurs in both datasets: nothing can link")
    return (a.merge(shared, on=block).sort_values("uid", ignore_index=True),
            b.merge(shared, on=block).sort_values("uid", ignore_index=True))


def _quiet() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _links(predictions: pd.DataFrame, block: list[str], compare: list[str]) -> pd.DataFrame:
    """One row per predicted pair, left record first, with the fields that agreed."""
    if predictions.empty:
        return pd.DataFrame(columns=["left_uid", "right_uid", "match_weight", "match_probability",
                                     "agreed_fields"])
    swapped = predictions["source_dataset_l"] != LEFT
    left_uid = predictions["uid_l"].where(~swapped, predictions["uid_r"])
    right_uid = predictions["uid_r"].where(~swapped, predictions["uid_l"])
    agreed: list[list[str]] = [[] for _ in range(len(predictions))]
    for name in block + compare:
        gamma = predictions[f"gamma_{name}"].to_numpy()
        top = _exact_level(name)
        tolerances = field(name).tolerances
        for i, g in enumerate(gamma):
            if g == top:
                agreed[i].append(name)
            elif field(name).numeric and 0 < g < top:
                agreed[i].append(f"{name}~{tolerances[top - 1 - g]}")
    out = pd.DataFrame({"left_uid": left_uid.astype(str).to_numpy(), "right_uid": right_uid.astype(str).to_numpy(),
                        "match_weight": predictions["match_weight"].astype(float).to_numpy(),
                        "match_probability": predictions["match_probability"].astype(float).to_numpy(),
                        "agreed_fields": ["|".join(a) for a in agreed]})
    return out.sort_values(["left_uid", "right_uid"], ignore_index=True)


def _exact_level(name: str) -> int:
    """Splink's gamma of the exact-match level: levels count down from it to 0 (else); null is -1."""
    spec = field(name)
    return len(spec.tolerances) + 1 if spec.numeric and spec.tolerances else 1
