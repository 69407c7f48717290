"""Pattern measures on the REAL files (GVA tags, SHR circumstance by relationship) against independent answers.

The real files are loaded once per module through the real loaders (``tests.graph_checks.load_once``); the
expected figures are recomputed here from the raw CSV columns with pandas, ``re`` and scipy — never from the
loader or the graph:

- GVA (presence-only): the tags of each incident are ``incident_characteristics`` split on ``||`` (and the
  single ``|`` some rows use); a tag that is not listed is absent, so every incident is in every tag's
  denominator. Prevalence with the Wilson formula written out, every tag pair's 2x2 table counted with a
  matrix product of the incidents x tags crosstab, Fisher's exact test from scipy on those tables and the
  Benjamini–Hochberg step-up written out.
- SHR: one record per ``mapid``; its circumstances (``circumstance_code``) and victim–offender relationships
  (``relationship_code``) are the distinct codes of its rows; contrasts of circumstance between
  relationship groups counted with pandas, Fisher from scipy, BH by hand.

Counts must be equal, floats within 1e-9 (relative). The worked example of docs/patterns.md is recomputed
from the same independent figures. Most tests use the embedded engine (conformance between the engines is
tested elsewhere); the drive-by/gang pair is checked on both.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact

from cli.main import main as micropath
from graph_model.embedded import EmbeddedBackend
from loaders.base import load
from loaders.synthetic import write_bundle
from patterns import factors
from patterns.slices import Filters
from tests.conftest import BACKENDS, GVA_CSV, SHR_CSV
from tests.graph_checks import Loaded, load_once

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "patterns.md"
REL = 1e-9
DRIVE_BY, GANG, DOMESTIC = "Drive-by (car to street, car to car)", "Gang involvement", "Domestic Violence"
PAIR_KEYS = ["a", "b", "n_a", "n_b", "n_ab", "n", "support", "confidence", "lift", "p_value", "q_value"]


def close(got: Any, want: Any) -> bool:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None or (isinstance(got, float) and math.isnan(got))
    return math.isclose(float(got), float(want), rel_tol=REL, abs_tol=0.0)


def key(a: str, b: str) -> str:
    """A tag pair's row key, whichever comes first."""
    return "\x00".join(sorted((a, b)))


def bh(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg step-up, written out: q_(i) = min over j >= i of p_(j) m / j, at most 1."""
    m = len(pvalues)
    order = np.argsort(pvalues, kind="stable")
    scaled = pvalues[order] * m / np.arange(1, m + 1)
    q = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = q
    return out


def wilson(k: int, n: int) -> tuple[float, float]:
    z = NormalDist().inv_cdf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def fisher(tables: list[tuple[int, int, int, int]]) -> list[float]:
    seen: dict[tuple[int, int, int, int], float] = {}
    for t in tables:
        if t not in seen:
            seen[t] = float(fisher_exact([[t[0], t[1]], [t[2], t[3]]]).pvalue)
    return [seen[t] for t in tables]


# ---- the raw files, read independently ------------------------------------------------------------------
class GvaTruth:
    """Incidents x tags (0/1) from the raw GVA CSV, and every tag pair's figures."""

    def __init__(self, years: tuple[int, ...] = ()) -> None:
        raw = pd.read_csv(GVA_CSV, dtype=str, keep_default_na=False,
                          usecols=["incident_id", "date", "incident_characteristics"])
        pairs = [(incident, tag.strip()) for incident, cell in zip(raw["incident_id"], raw["incident_characteristics"],
                                                                    strict=True)
                 for tag in re.split(r"\|\|?", cell) if tag.strip()]
        tags = pd.DataFrame(pairs, columns=["incident", "tag"]).drop_duplicates()
        table = pd.crosstab(tags["incident"], tags["tag"]).clip(upper=1)
        # every tag the file has anywhere is "coded" (absent) for every incident of the slice
        table = table.reindex(raw["incident_id"], fill_value=0)
        if years:
            table = table[raw["date"].str[:4].astype(int).isin(years).to_numpy()]
        self.table = table.astype(np.int64)
        self.n = len(table)
        self._pairs: pd.DataFrame | None = None

    def prevalence(self) -> pd.DataFrame:
        counts = self.table.sum(axis=0)
        rows = [{"factor": tag, "n_present": int(k), "n_coded": self.n, "prevalence": k / self.n,
                 "ci_low": wilson(int(k), self.n)[0], "ci_high": wilson(int(k), self.n)[1]}
                for tag, k in counts.items()]
        return pd.DataFrame(rows).set_index("factor")

    def pairs(self) -> pd.DataFrame:
        """Every tag pair (computed once): n_a, n_b, n_ab, n, Fisher p, BH q over all pairs, support, lift."""
        if self._pairs is None:
            self._pairs = self._all_pairs()
        return self._pairs

    def _all_pairs(self) -> pd.DataFrame:
        x = self.table.to_numpy()
        both = x.T @ x
        single = x.sum(axis=0)
        labels = list(self.table.columns)
        rows = []
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                n_a, n_b, n_ab = int(single[i]), int(single[j]), int(both[i, j])
                rows.append({"key": key(labels[i], labels[j]), "first": labels[i], "n_a": n_a, "n_b": n_b,
                             "n_ab": n_ab, "n": self.n, "table": (n_ab, n_a - n_ab, n_b - n_ab,
                                                                  self.n - n_a - n_b + n_ab)})
        out = pd.DataFrame(rows)
        tested = (out["n_a"] > 0) & (out["n_a"] < self.n) & (out["n_b"] > 0) & (out["n_b"] < self.n)
        assert tested.all()  # every tag of the file occurs, none in every incident
        out["p_value"] = fisher(list(out["table"]))
        out["q_value"] = bh(out["p_value"].to_numpy())
        out["support"] = out["n_ab"] / out["n"]
        out["lift"] = out["n_ab"] * out["n"] / (out["n_a"] * out["n_b"])
        return out.set_index("key")

    def oriented(self, row: pd.Series, a: str) -> dict[str, Any]:
        """The pair's figures with ``a`` as the first factor (n_a, confidence = n_ab / n_a)."""
        n_a, n_b = (row["n_a"], row["n_b"]) if row["first"] == a else (row["n_b"], row["n_a"])
        return {"n_a": n_a, "n_b": n_b, "n_ab": row["n_ab"], "n": row["n"], "support": row["support"],
                "confidence": row["n_ab"] / n_a, "lift": row["lift"], "p_value": row["p_value"],
                "q_value": row["q_value"]}


class ShrTruth:
    """SHR circumstance (items) by relationship (groups): one record per mapid, distinct codes per record."""

    def __init__(self) -> None:
        raw = pd.read_csv(SHR_CSV, dtype=str, keep_default_na=False,
                          usecols=["mapid", "circumstance_code", "relationship_code"])
        self.records = int(raw["mapid"].nunique())
        self.items = pd.crosstab(raw["mapid"], "shr:" + raw["circumstance_code"]).clip(upper=1)
        self.groups = pd.crosstab(raw["mapid"], "shr:" + raw["relationship_code"]).clip(upper=1)
        self.groups = self.groups.reindex(self.items.index, fill_value=0)

    def contrasts(self, min_group: int = 1) -> pd.DataFrame:
        eligible = self.groups.to_numpy().any(axis=1)  # records with a relationship take part
        member = self.groups.to_numpy()[eligible]
        present = self.items.to_numpy()[eligible]
        coded = present.any(axis=1)  # a record with any circumstance has this dimension coded
        n_total = int(coded.sum())
        rows = []
        for g, group in enumerate(self.groups.columns):
            in_g = member[:, g] == 1
            if in_g.sum() < min_group:
                continue
            for f, item in enumerate(self.items.columns):
                ng = int((in_g & coded).sum())
                kg = int((in_g & (present[:, f] == 1)).sum())
                kt = int(present[:, f].sum())
                nr, kr = n_total - ng, kt - kg
                if ng == 0 or nr == 0 or kt == 0 or kt == n_total:
                    continue
                rows.append({"group": group, "item_uid": item, "n_group": ng, "present_group": kg, "n_rest": nr,
                             "present_rest": kr, "prevalence_group": kg / ng, "prevalence_rest": kr / nr,
                             "lift": (kg / ng) / (kt / n_total), "table": (kg, ng - kg, kr, nr - kr)})
        out = pd.DataFrame(rows)
        out["p_value"] = fisher(list(out["table"]))
        out["q_value"] = bh(out["p_value"].to_numpy())
        return out.set_index(["group", "item_uid"])


@pytest.fixture(scope="module")
def gva_truth() -> GvaTruth:
    return GvaTruth()


@pytest.fixture(scope="module")
def shr_truth() -> ShrTruth:
    return ShrTruth()


@pytest.fixture(scope="module", params=["embedded"])
def gva(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    yield from load_once(request, tmp_path_factory, "gva", GVA_CSV)


@pytest.fixture(scope="module", params=BACKENDS)
def gva_both(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    yield from load_once(request, tmp_path_factory, "gva", GVA_CSV)


@pytest.fixture(scope="module", params=["embedded"])
def shr(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    yield from load_once(request, tmp_path_factory, "shr", SHR_CSV)


# ---- GVA: prevalence and pairs --------------------------------------------------------------------------
@pytest.mark.parametrize("years", [(), (2015,)])
def test_gva_prevalence_counts_every_incident_and_wilson_intervals(gva: Loaded, years: tuple[int, ...]) -> None:
    truth = GvaTruth(years) if years else GvaTruth()
    filters = Filters(dataset="gva", year_from=years[0], year_to=years[-1]) if years else Filters(dataset="gva")
    got = factors.prevalence(gva.backend, filters).set_index("factor")
    want = truth.prevalence()
    assert sorted(got.index) == sorted(want.index) and len(want) > 100  # every tag of the file, none else
    assert (got["n_not_coded"] == 0).all() and (got["n_coded"] == truth.n).all()
    for tag, row in want.iterrows():
        mine = got.loc[tag]
        assert int(mine["n_present"]) == row["n_present"], tag
        for column in ("prevalence", "ci_low", "ci_high"):
            assert close(mine[column], row[column]), (tag, column, mine[column], row[column])
    if years:  # a tag that never occurs in 2015 is still absent (not "not coded") for every 2015 incident
        assert (want["n_present"] == 0).any() and truth.n < GvaTruth().n


def test_gva_pairs_match_the_crosstab_fisher_and_bh(gva: Loaded, gva_truth: GvaTruth) -> None:
    got = factors.pairs(gva.backend, Filters(dataset="gva"), min_count=0)
    want = gva_truth.pairs()
    assert len(got) == len(want) == math.comb(gva_truth.table.shape[1], 2)
    assert got["tested"].all()
    for row in got.to_dict("records"):
        expected = gva_truth.oriented(want.loc[key(row["a"], row["b"])], row["a"])
        for name, value in expected.items():
            assert (row[name] == value) if name.startswith("n") else close(row[name], value), (row["a"], row["b"], name)
    significant = got[(got["q_value"] < 0.05) & (got["lift"] > 1)]
    assert len(significant) > 100  # non-trivial: many tag pairs recur together beyond chance


def test_gva_drive_by_with_gang_involvement_on_both_engines(gva_both: Loaded, gva_truth: GvaTruth) -> None:
    matrix = factors.factor_matrix(gva_both.backend, Filters(dataset="gva"))
    pairs = factors.pairs_of(matrix).set_index(["a", "b"])
    rules = factors.rules_of(matrix).set_index(["antecedent", "consequent"])
    row = pairs.loc[(DRIVE_BY, GANG)] if (DRIVE_BY, GANG) in pairs.index else pairs.loc[(GANG, DRIVE_BY)]
    first = DRIVE_BY if (DRIVE_BY, GANG) in pairs.index else GANG
    want = gva_truth.oriented(gva_truth.pairs().loc[key(DRIVE_BY, GANG)], first)
    assert (row["n_a"], row["n_b"], row["n_ab"], row["n"]) == (want["n_a"], want["n_b"], want["n_ab"], want["n"])
    for name in ("support", "confidence", "lift", "p_value", "q_value"):
        assert close(row[name], want[name]), name
    assert want["lift"] > 3 and want["q_value"] < 1e-20  # a real, strong pattern
    for ante, cons in ((DRIVE_BY, GANG), (GANG, DRIVE_BY)):
        rule = rules.loc[(ante, cons)]
        counts = gva_truth.table[[ante, cons]].to_numpy()
        assert rule["n_both"] == int(counts.all(axis=1).sum()) and rule["n_antecedent"] == int(counts[:, 0].sum())
        assert close(rule["confidence"], counts.all(axis=1).sum() / counts[:, 0].sum())


# ---- SHR: circumstance by relationship --------------------------------------------------------------------
@pytest.mark.parametrize("min_group", [1, 100])
def test_shr_circumstance_contrasts_by_relationship(shr: Loaded, shr_truth: ShrTruth, min_group: int) -> None:
    got = factors.contrasts(shr.backend, Filters(dataset="shr"), by="relationship", items="motive",
                            group_level="source", min_group=min_group)
    want = shr_truth.contrasts(min_group)
    assert len(got) == len(want) > 500
    for row in got.to_dict("records"):
        expected = want.loc[(row["group"], row["item_uid"])]
        for name in ("n_group", "present_group", "n_rest", "present_rest"):
            assert row[name] == expected[name], (row["group"], row["item_uid"], name)
        for name in ("prevalence_group", "prevalence_rest", "lift", "p_value", "q_value"):
            assert close(row[name], expected[name]), (row["group"], row["item_uid"], name)
    strong = got[(got["q_value"] < 1e-10) & (got["lift"] > 2)]
    assert len(strong) > 20  # circumstances differ sharply between relationship groups


# ---- the worked example of docs/patterns.md ---------------------------------------------------------------
def test_the_documented_real_data_example_gives_the_documented_figures(gva: Loaded, gva_truth: GvaTruth,
                                                                     shr_truth: ShrTruth) -> None:
    doc = DOC.read_text(encoding="utf-8").split("## A worked example on real data", 1)[1]
    header, documented = [line for line in doc.splitlines() if line.startswith("| ")][:2]
    columns = [c.strip() for c in header.strip("|").split("|")]
    shown = dict(zip(columns, (c.strip() for c in documented.strip("|").split("|")), strict=True))
    pair = gva_truth.pairs().loc[key(DRIVE_BY, GANG)]
    want = gva_truth.oriented(pair, shown["a"])
    want["odds_ratio"] = pair["table"][0] * pair["table"][3] / (pair["table"][1] * pair["table"][2])
    code = factors.pairs(gva.backend, Filters(dataset="gva")).set_index(["a", "b"]).loc[(shown["a"], shown["b"])]
    for column, text in shown.items():
        if column in ("a", "b"):
            continue
        if column.startswith("n"):
            assert text == str(want[column]) == str(code[column]), column
        else:
            assert text == f"{want[column]:.3g}" == f"{code[column]:.3g}", (column, text, want[column])
    expected_both = want["n_a"] * want["n_b"] / want["n"]
    reverse = pair["n_ab"] / want["n_b"]
    assert f"{want['n_a']} × {want['n_b']} / {want['n']:,} = {expected_both:.1f}" in doc
    assert f"{100 * want['confidence']:.1f}% of" in doc and f"{100 * reverse:.1f}% of gang" in doc
    dv = gva_truth.pairs().loc[key(DOMESTIC, GANG)]
    assert (f"{dv['n_ab']} incidents where {dv['n_a'] * dv['n_b'] / dv['n']:.1f}" in doc
            and f"lift {dv['lift']:.2g}, p = {dv['p_value']:.2g}" in doc)
    contrasts = shr_truth.contrasts(min_group=100)
    assert f"({len(contrasts)} tests, BH over all)" in doc
    for group, item in (("shr:ST", "shr:81"), ("shr:FR", "shr:53")):
        row = contrasts.loc[(group, item)]
        assert f"{row['present_group']:,} of " in doc and f"{row['n_group']:,} incidents" in doc, (group, item)
        assert f"({100 * row['prevalence_group']:.1f}%)" in doc and f"{100 * row['prevalence_rest']:.2g}%" in doc
    felon = contrasts.loc[("shr:ST", "shr:81")]
    assert f"lift {felon['lift']:.3g}" in doc


# ---- the CLI contract on the real file --------------------------------------------------------------------
def test_cli_pairs_json_on_the_real_gva_file(gva: Loaded, gva_truth: GvaTruth,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert micropath(["patterns", "pairs", "--db", gva.backend.uri, "--dataset", "gva", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    want = gva_truth.pairs()
    listed = want[want["n_ab"] >= 1]  # the default --min-count 1; q-values still over every pair tested
    assert len(rows) == len(listed) > 1000
    for row in rows:
        assert set(PAIR_KEYS) <= set(row)
        assert all(isinstance(row[k], int) for k in ("n_a", "n_b", "n_ab", "n"))
        expected = gva_truth.oriented(want.loc[key(row["a"], row["b"])], row["a"])
        for name, value in expected.items():
            assert (row[name] == value) if name.startswith("n") else close(row[name], value), (row["a"], row["b"], name)


def test_the_exact_documented_commands_in_a_new_process(tmp_path: Path, gva_truth: GvaTruth) -> None:
    """`micropath patterns pairs … --format json` and `micropath pathways transitions … --format json`, run as
    commands (a new process, the database opened read-only), give the documented keys and the right values."""
    bundle = write_bundle(tmp_path / "synthetic", cases=200, seed=5)
    db = tmp_path / "graph.lbdb"
    with EmbeddedBackend(db, read_only=False) as writer:
        load("gva", GVA_CSV, writer)
        load("coded", bundle, writer)
    exe = Path(sys.executable).with_name("micropath")

    def command(*argv: str) -> list[dict[str, Any]]:
        done = subprocess.run([str(exe), *argv, "--db", f"embedded:{db}", "--format", "json"], capture_output=True,
                              text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout))

    pairs = command("patterns", "pairs", "--dataset", "gva")
    want = gva_truth.pairs()
    assert len(pairs) == int((want["n_ab"] >= 1).sum())
    for row in pairs:
        expected = gva_truth.oriented(want.loc[key(row["a"], row["b"])], row["a"])
        assert all((row[k] == v) if k.startswith("n") else close(row[k], v) for k, v in expected.items()), row
    transitions = command("pathways", "transitions", "--dataset", "synthetic-s5")
    events = pd.read_csv(bundle / "events.csv", dtype={"case_id": str}).sort_values(["case_id", "step"])
    following = events.groupby("case_id")["event_type"].shift(-1)
    steps = pd.DataFrame({"case": events["case_id"], "from": events["event_type"], "to": following}).dropna()
    counts = steps.groupby(["from", "to"]).size()
    cases = steps.drop_duplicates().groupby(["from", "to"]).size() / events["case_id"].nunique()
    assert {(r["from"], r["to"]) for r in transitions} == set(counts.index)
    for row in transitions:
        assert {"from", "to", "count", "prevalence"} <= set(row)
        assert row["count"] == counts[(row["from"], row["to"])]
        assert close(row["prevalence"], cases[(row["from"], row["to"])])
