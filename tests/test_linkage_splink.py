"""Probabilistic linkage with Splink: exact link sets on a constructed case, and Splink's outputs checked
against its own documented model (Fellegi-Sunter as the Splink docs state it):

* each comparison puts a pair in one level: null (gamma -1), exact (the highest gamma), within each
  tolerance, else (gamma 0);
* the Bayes factor of a level is m/u (1 for the null level), with the m and u Splink reports;
* match weight = log2(prior / (1 - prior)) + sum of log2 Bayes factors;
* match probability = 2^w / (1 + 2^w);
* the prior estimated from deterministic rules = pairs meeting the rule / all pairs / recall;
* predict(threshold_match_probability=p) keeps exactly the pairs with probability >= p.

Expected values are computed here from the input tables and Splink's saved model, not by linkage/.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graph_model.backend import GraphBackend
from linkage.runs import RunSpec, run_link_rows, run_links
from linkage.splink_model import splink_links
from tests.linkage_fixtures import STATE_CONCEPTS, load_source, planted, write_source

BLOCK = ["year", "area_state"]
COMPARE = ["month", "victim_age", "victim_sex", "suspect_age", "suspect_sex"]
TOLERANCES = {"month": (1,), "victim_age": (1, 3), "suspect_age": (1, 3)}


def records(rows: list[dict[str, object]], dataset: str) -> pd.DataFrame:
    """The linkage table of constructed rows (what linkage.records reads from the graph)."""
    frame = pd.DataFrame(rows)
    return pd.DataFrame({"uid": dataset + ":" + frame["ref"], "year": frame["yr"], "month": frame["mon"],
                         "area_state": "us-state:" + frame["borough"], "victim_age": frame["age"],
                         "victim_sex": frame["sex"], "suspect_age": frame["s_age"],
                         "suspect_sex": frame["s_sex"]})


@pytest.fixture(scope="module")
def case() -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    left, right, truth = planted()
    return (records(left, "a"), records(right, "b"), {(f"a:{x}", f"b:{y}") for x, y in truth})


def test_links_at_a_high_threshold_are_exactly_the_planted_pairs(case: tuple) -> None:
    left, right, truth = case
    result = splink_links(left, right, block=BLOCK, compare=COMPARE, threshold=0.9, seed=7)
    assert set(zip(result.links["left_uid"], result.links["right_uid"], strict=True)) == truth
    assert (result.links["match_probability"] >= 0.9).all()
    full = "|".join(BLOCK + COMPARE)
    assert set(result.links["agreed_fields"]) == {full}  # copies agree on everything


def _gamma(a: object, b: object, name: str) -> int:
    if pd.isna(a) or pd.isna(b):
        return -1
    tolerances = TOLERANCES.get(name, ())
    top = len(tolerances) + 1
    if a == b:
        return top
    for i, tolerance in enumerate(tolerances):
        if abs(float(a) - float(b)) <= tolerance:  # type: ignore[arg-type]
            return top - 1 - i
    return 0


def _bayes_factors(model: dict) -> dict[str, dict[int, float]]:
    """Per comparison, gamma -> m/u from the saved model (non-null levels count down to 0)."""
    out: dict[str, dict[int, float]] = {}
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        out[comparison["output_column_name"]] = {
            len(levels) - 1 - i: lv["m_probability"] / lv["u_probability"] for i, lv in enumerate(levels)}
    return out


def test_weights_and_probabilities_follow_splinks_documented_model(case: tuple) -> None:
    left, right, _ = case
    result = splink_links(left, right, block=BLOCK, compare=COMPARE, threshold=1e-300, seed=7)
    p, model = result.predictions, result.model
    assert len(p) > 500  # many pairs of every kind, not only the copies
    prior = model["probability_two_random_records_match"]
    factors = _bayes_factors(model)
    a = left.set_index("uid")
    b = right.set_index("uid")
    weights = np.full(len(p), math.log2(prior / (1 - prior)))
    for name in BLOCK + COMPARE:
        expected_gamma = [_gamma(a.at[x, name], b.at[y, name], name) for x, y in zip(p["uid_l"], p["uid_r"],
                                                                                       strict=True)]
        assert p[f"gamma_{name}"].tolist() == expected_gamma, name
        bf = np.array([1.0 if g == -1 else factors[name][g] for g in expected_gamma])
        np.testing.assert_allclose(p[f"bf_{name}"].to_numpy(dtype=float), bf, rtol=1e-9)
        weights += np.log2(bf)
    np.testing.assert_allclose(p["match_weight"].to_numpy(dtype=float), weights, rtol=1e-9, atol=1e-9)
    odds = np.exp2(weights)
    np.testing.assert_allclose(p["match_probability"].to_numpy(dtype=float), odds / (1 + odds), rtol=1e-9)
    # pairs in a block only: every prediction agrees on the blocking fields
    assert (p["year_l"] == p["year_r"]).all() and (p["area_state_l"] == p["area_state_r"]).all()


def test_prior_is_exact_agreement_over_all_pairs_divided_by_recall(case: tuple) -> None:
    left, right, _ = case
    result = splink_links(left, right, block=BLOCK, compare=COMPARE, threshold=0.5, recall=0.6)
    agreeing = len(left.merge(right, on=BLOCK + COMPARE))
    expected = agreeing / (len(left) * len(right)) / 0.6
    assert result.model["probability_two_random_records_match"] == pytest.approx(expected, rel=1e-9)


def test_threshold_keeps_exactly_the_pairs_at_or_above_it(case: tuple) -> None:
    left, right, _ = case
    low = splink_links(left, right, block=BLOCK, compare=COMPARE, threshold=1e-300, seed=7).links
    high = splink_links(left, right, block=BLOCK, compare=COMPARE, threshold=0.5, seed=7).links
    expected = low[low["match_probability"] >= 0.5].reset_index(drop=True)
    pd.testing.assert_frame_equal(high, expected)


def test_same_seed_same_model_and_links(case: tuple) -> None:
    left, right, _ = case
    one = splink_links(left, right, block=BLOCK, compare=COMPARE, threshold=0.5, seed=11)
    two = splink_links(left, right, block=BLOCK, compare=COMPARE, threshold=0.5, seed=11)
    assert json.dumps(one.model, sort_keys=True) == json.dumps(two.model, sort_keys=True)
    pd.testing.assert_frame_equal(one.links, two.links)


def test_splink_run_in_the_graph_is_exact_idempotent_and_atomic(backend: GraphBackend, tmp_path: Path) -> None:
    left, right, truth = planted()
    load_source(backend, write_source(tmp_path, "series-a", "Homicide", left, concepts=STATE_CONCEPTS))
    load_source(backend, write_source(tmp_path, "series-b", "Incident", right, kind="homicide",
                                      concepts=STATE_CONCEPTS))
    spec = RunSpec("series-a", "series-b", "splink", block=tuple(BLOCK), compare=tuple(COMPARE), threshold=0.9,
                   seed=7)
    outcome = run_links(backend, spec)
    expected = {(f"series-a:{x}", f"series-b:{y}") for x, y in truth}
    stored = run_link_rows(backend, spec.uid)
    assert set(zip(stored["from"], stored["to"], strict=True)) == expected
    assert set(stored["link_method"]) == {"probabilistic"} and (stored["threshold"] == 0.9).all()
    by_pair = outcome.links.set_index(["left_uid", "right_uid"])
    for _, link in stored.iterrows():
        assert link["match_probability"] == pytest.approx(by_pair.at[(link["from"], link["to"]), "match_probability"])
        assert link["match_weight"] == pytest.approx(by_pair.at[(link["from"], link["to"]), "match_weight"])
    model = backend.run_read("MATCH (k:LinkRun) WHERE k.uid = $u RETURN k.model AS m", {"u": spec.uid}).rows
    assert json.loads(model[0]["m"]) == outcome.model
    again = run_links(backend, spec)
    assert again.report.rels_written == 0 and again.report.nodes_written == 0
    assert len(run_link_rows(backend, spec.uid)) == len(expected)
