"""Seeded SYNTHETIC coded bundles for demos, tests and benchmarks (``micropath synth``).

Nothing here describes a real person or case: every value is drawn from a numpy Generator seeded
with ``seed`` (the same seed writes byte-identical files), and the bundle says SYNTHETIC in
``bundle.toml`` (``synthetic = true``, the description) and in a README.txt beside the data.

Calibration (what the figures are meant to resemble, not reproduce):
- factor prevalences among cases where the factor was coded: the VRU's first phase (50 London cases,
  docs: /work/shared/docs/mission.md): mental health 29/50, drugs 26/50 (addiction history 22/50,
  drugs taken in the lead-up 10/50), alcohol 16/50, gang involvement 14/50, social media 14/50;
  domestic abuse 17% as in the Met's published victims file; the other factors plausible guesses;
- co-occurrence: the factors are thresholds of one correlated normal vector (a Gaussian copula),
  so gang involvement, social media, weapon carrying and prior conflict go together, alcohol goes
  with the night-time economy, domestic abuse with prior conflict and not with gangs; "drugs" is
  addiction history OR drugs in the lead-up (their skos:broader); social media rises over the years
  and gang involvement is commoner in some boroughs;
- relationship, motive and method follow the factors (domestic abuse -> partner or family; robbery
  -> theft or gain; gang -> sharp instrument or shooting), about half sharp instrument overall, as
  in the Met's file; years 2015-2024 and boroughs weighted like the Met's recorded homicides;
- coding: older cases more often coded under frame 1 (social_media and night_time_economy then
  not_recorded), about 5% of other values not_recorded, coders C01..C12, of whom C07 codes mental
  health present less often and C11 leaves more values not_recorded (coder effects to find);
- micropathways of 2-8 events ending in the fatal incident: many quick outbursts (under five
  minutes), a cluster of escalations around five minutes, and some long build-ups (hours to days,
  usually a prior dispute or online provocation days before);
- coding frame 3 (``coding_frame=3``, off by default): the 18 further factors the ontology adds in frame 3
  (30 in all) are coded too. Most cases that frame 2 would code are coded under frame 3 (15% of those up to
  2021 stay under frame 2, so both earlier frames leave the new factors not coded); each new factor is a
  threshold of a normal correlated with one of the factors above (``FRAME_3_FACTORS``: online threats with
  social media, coercive control with domestic abuse, ...). These draws come from their own random stream,
  so the frame-2 files of a seed are unchanged;
- double coding (``reliability.csv``): 10% of the cases coded again, independently, by another coder,
  for every factor and the method, motive and relationship. The second coder sees the same invented
  truth and errs at rates that differ by variable (``SECOND_CODING``): mental health and social media
  are hard to agree on (Cohen's kappa about 0.4-0.5), drugs taken in the lead-up and prior conflict
  middling, the method almost always agreed; C07 under-codes mental health and C11 leaves more values
  not_recorded as second coder too. It is drawn from its own random stream, so the other files are the
  same with or without it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from graph_model.errors import MicropathError
from graph_model.vocab import get_vocabulary
from loaders.shapes import load_shapes

FORMAT = "coded"
CODING_FRAME = 2  # the default frame of a bundle
FRAME_3_STREAM = 0xF3A3  # coding_frame=3 draws its frames and factors from its own stream (seed, this)
FRAME_2_KEPT = 0.15  # with coding_frame=3: share of cases up to 2021 still coded under frame 2
FRAME_2_KEPT_UNTIL = 2021
CODERS = np.array([f"C{i:02d}" for i in range(1, 13)])
UNDER_CODER, UNDER_RATE = "C07", 0.3  # codes mental health present as absent 30% of the time
LAX_CODER = "C11"
NOT_RECORDED_RATE, LAX_NOT_RECORDED_RATE = 0.045, 0.10  # ~5% overall

# Share of cases with each factor present, among cases where it was coded.
FACTOR_TARGETS: dict[str, float] = {
    "mental_health": 29 / 50,
    "drugs": 26 / 50,  # derived: addiction history or drugs in the lead-up (not a latent of its own)
    "drug_addiction_history": 22 / 50,
    "drugs_in_lead_up": 10 / 50,
    "alcohol": 16 / 50,
    "gang_involvement": 14 / 50,
    "social_media": 14 / 50,
    "domestic_abuse": 0.17,
    "weapon_carrying": 0.30,
    "prior_conflict": 0.45,
    "night_time_economy": 0.15,
    "robbery": 0.10,
}
LATENT = ("mental_health", "drug_addiction_history", "drugs_in_lead_up", "alcohol", "gang_involvement",
          "social_media", "domestic_abuse", "weapon_carrying", "prior_conflict", "night_time_economy",
          "robbery")
# Correlations of the latent normals (positive definite; checked when the bundle is drawn).
_CORRELATION = {
    ("mental_health", "drug_addiction_history"): 0.35, ("mental_health", "drugs_in_lead_up"): 0.15,
    ("mental_health", "alcohol"): 0.15, ("mental_health", "gang_involvement"): -0.25,
    ("mental_health", "social_media"): -0.10, ("mental_health", "domestic_abuse"): 0.15,
    ("mental_health", "weapon_carrying"): -0.10, ("mental_health", "night_time_economy"): -0.10,
    ("drug_addiction_history", "alcohol"): 0.20, ("drug_addiction_history", "prior_conflict"): 0.10,
    ("drug_addiction_history", "robbery"): 0.20,
    ("drugs_in_lead_up", "alcohol"): 0.35, ("drugs_in_lead_up", "gang_involvement"): 0.15,
    ("drugs_in_lead_up", "weapon_carrying"): 0.10, ("drugs_in_lead_up", "night_time_economy"): 0.30,
    ("drugs_in_lead_up", "robbery"): 0.25,
    ("alcohol", "gang_involvement"): -0.15, ("alcohol", "social_media"): -0.10,
    ("alcohol", "domestic_abuse"): 0.15, ("alcohol", "night_time_economy"): 0.55,
    ("gang_involvement", "social_media"): 0.60, ("gang_involvement", "domestic_abuse"): -0.45,
    ("gang_involvement", "weapon_carrying"): 0.60, ("gang_involvement", "prior_conflict"): 0.40,
    ("gang_involvement", "robbery"): 0.15,
    ("social_media", "domestic_abuse"): -0.20, ("social_media", "weapon_carrying"): 0.40,
    ("social_media", "prior_conflict"): 0.40,
    ("domestic_abuse", "weapon_carrying"): -0.30, ("domestic_abuse", "prior_conflict"): 0.45,
    ("domestic_abuse", "night_time_economy"): -0.40, ("domestic_abuse", "robbery"): -0.30,
    ("weapon_carrying", "prior_conflict"): 0.20, ("weapon_carrying", "robbery"): 0.25,
    ("prior_conflict", "night_time_economy"): -0.20, ("prior_conflict", "robbery"): -0.35,
}
# Frame-3 factors: target prevalence among cases coding them, the factor whose latent normal they follow,
# and the correlation with it.
FRAME_3_FACTORS: dict[str, tuple[float, str, float]] = {
    "mental_health_services": (0.25, "mental_health", 0.65),
    "missed_mental_health_care": (0.12, "mental_health", 0.55),
    "alcohol_addiction_history": (0.12, "alcohol", 0.60),
    "drug_dealing": (0.15, "gang_involvement", 0.50),
    "county_lines": (0.05, "gang_involvement", 0.55),
    "criminal_exploitation": (0.06, "gang_involvement", 0.45),
    "online_threats": (0.12, "social_media", 0.70),
    "messages_deleted": (0.06, "social_media", 0.50),
    "previous_violence": (0.40, "prior_conflict", 0.35),
    "domestic_abuse_reported": (0.10, "domestic_abuse", 0.75),
    "coercive_control": (0.08, "domestic_abuse", 0.75),
    "relationship_breakdown": (0.12, "domestic_abuse", 0.60),
    "money_dispute": (0.12, "robbery", 0.25),
    "public_place": (0.45, "night_time_economy", 0.30),
    "victim_home": (0.35, "domestic_abuse", 0.60),
    "night_time": (0.40, "night_time_economy", 0.50),
    "bystanders_present": (0.35, "night_time_economy", 0.40),
    "group_confrontation": (0.25, "gang_involvement", 0.50),
}
FACTOR_TARGETS.update({code: target for code, (target, _, _) in FRAME_3_FACTORS.items()})
SOCIAL_MEDIA_TREND = 0.35  # latent shift per 4.5 years from the middle of 2015-2024
GANG_BOROUGH_SHIFT = 0.35

YEARS = np.arange(2015, 2025)
# The Met's recorded homicides per year 2015-2023; 2024 (part-year in the file) set to the mean.
YEAR_WEIGHTS = np.array([120, 117, 141, 138, 153, 133, 134, 108, 109, 128], dtype=float)
FRAME_1_SHARE = {2015: 0.6, 2016: 0.6, 2017: 0.6, 2018: 0.35, 2019: 0.35, 2020: 0.1, 2021: 0.1}
# The Met's recorded homicides per borough 2015-2024 (E12000007: borough not recorded).
AREA_WEIGHTS = {
    "E09000001": 1, "E09000002": 39, "E09000003": 33, "E09000004": 23, "E09000005": 66, "E09000006": 14,
    "E09000007": 30, "E09000008": 52, "E09000009": 47, "E09000010": 41, "E09000011": 54, "E09000012": 38,
    "E09000013": 19, "E09000014": 58, "E09000015": 19, "E09000016": 19, "E09000017": 35, "E09000018": 32,
    "E09000019": 43, "E09000020": 17, "E09000021": 15, "E09000022": 55, "E09000023": 41, "E09000024": 14,
    "E09000025": 52, "E09000026": 46, "E09000027": 15, "E09000028": 54, "E09000029": 11, "E09000030": 42,
    "E09000031": 39, "E09000032": 38, "E09000033": 37, "E12000007": 39,
}
# Where gang involvement is commoner (+) or rarer (-) in the synthetic data.
GANG_HIGHER = {"E09000005", "E09000008", "E09000012", "E09000014", "E09000019", "E09000022", "E09000023",
               "E09000025", "E09000028", "E09000030", "E09000031"}
GANG_LOWER = {"E09000001", "E09000006", "E09000016", "E09000021", "E09000024", "E09000027", "E09000029"}

AGE_GROUPS = np.array(["0 to 12", "13 to 19", "20 to 24", "25 to 34", "35 to 44", "45 to 54", "55 to 64",
                       "65 and over"])
LONDON_AGES = [0.056, 0.136, 0.163, 0.218, 0.160, 0.119, 0.069, 0.079]

# Micropathway steps in their usual order.
SLOTS = ("prior_dispute", "online_provocation", "substance_use", "planned_meeting", "chance_encounter",
         "verbal_argument", "threat", "robbery_attempt", "physical_altercation", "weapon_retrieved",
         "pursuit", "intervention_attempt", "fatal_incident")
BACKGROUND = ("prior_dispute", "online_provocation", "substance_use")  # hours or days before
MAX_PRIOR_EVENTS = 7
UNKNOWN_MINUTES_RATE = 0.02

# Double coding: the share of cases coded a second time, and how the second coder errs per factor:
# (P(codes absent | present in the invented truth), P(codes present | absent)). "drugs" follows the
# second coder's own addiction-history and lead-up values (its skos:narrower factors).
RELIABILITY_SHARE = 0.10
RELIABILITY_STREAM = 0x5EC0  # the double coding draws from its own stream (seed, this)
SECOND_CODING: dict[str, tuple[float, float]] = {
    "mental_health": (0.30, 0.20),
    "social_media": (0.45, 0.14),
    "drug_addiction_history": (0.10, 0.05),
    "drugs_in_lead_up": (0.20, 0.06),
    "prior_conflict": (0.15, 0.08),
    "alcohol": (0.08, 0.03),
    "gang_involvement": (0.06, 0.02),
    "domestic_abuse": (0.05, 0.01),
    "weapon_carrying": (0.10, 0.04),
    "night_time_economy": (0.10, 0.03),
    "robbery": (0.08, 0.01),
    **{code: (0.12, 0.04) for code in FRAME_3_FACTORS},  # frame 3: one middling error rate
}
# Chance that the second coder picks the same method / motive / relationship, and what they pick instead.
SAME_CODE = {"method": 0.95, "motive": 0.88, "relationship": 0.90}
CONFUSED_WITH: dict[str, dict[str, list[str]]] = {
    "method": {"sharp_instrument": ["other", "blunt_instrument"], "shooting": ["other"],
               "blunt_instrument": ["hitting_kicking", "other"], "hitting_kicking": ["blunt_instrument",
                                                                                     "strangulation"],
               "strangulation": ["hitting_kicking"], "burning": ["other"], "poisoning_drugs": ["other"],
               "other": ["blunt_instrument", "not_known"], "not_known": ["other"]},
    "motive": {"quarrel_revenge_temper": ["not_known", "other", "irrational_act"],
               "theft_gain": ["quarrel_revenge_temper", "other"], "terrorism": ["other"],
               "restrain_arrest": ["quarrel_revenge_temper"], "arson": ["other"],
               "irrational_act": ["quarrel_revenge_temper", "other"], "other": ["quarrel_revenge_temper",
                                                                               "not_known"],
               "not_known": ["quarrel_revenge_temper", "other"]},
    "relationship": {"son_daughter": ["other_family"], "parent": ["other_family"],
                     "partner_ex_partner": ["friend_acquaintance", "other_known"],
                     "other_family": ["son_daughter", "parent"],
                     "friend_acquaintance": ["other_known", "stranger"],
                     "other_known": ["friend_acquaintance", "stranger"],
                     "stranger": ["not_known", "other_known"], "not_known": ["stranger"],
                     "no_suspect_charged": ["not_known"]},
}


def write_bundle(out: Path, *, cases: int, seed: int, name: str | None = None,
                 coding_frame: int = CODING_FRAME) -> Path:
    """Write a SYNTHETIC coded bundle of ``cases`` homicides to the folder ``out``; returns it.

    ``coding_frame`` 3 codes the 18 factors the ontology adds in frame 3 too (30 factors; module docstring).
    """
    if coding_frame not in (CODING_FRAME, 3):
        raise MicropathError(f"coding_frame must be {CODING_FRAME} or 3, not {coding_frame}")
    if cases < 1:
        raise MicropathError(f"--cases must be at least 1, not {cases}")
    if seed < 0:
        raise MicropathError(f"--seed must be zero or more, not {seed}")
    name = name or f"synthetic-s{seed}"
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) or len(name) > 64:
        raise MicropathError(f"dataset name {name!r} must be lower-kebab-case, e.g. synthetic-demo")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = _Generator(cases, seed, coding_frame).tables()
    shapes = load_shapes(FORMAT)
    for file, frame in tables.items():
        frame[shapes[file].column_names].to_csv(out / file, index=False, lineterminator="\n", na_rep="")
    (out / "bundle.toml").write_text(_bundle_toml(name, cases, seed, coding_frame), encoding="utf-8")
    (out / "README.txt").write_text(_readme(name, cases, seed), encoding="utf-8")
    return out


def _bundle_toml(name: str, cases: int, seed: int, coding_frame: int = CODING_FRAME) -> str:
    return (
        "# SYNTHETIC data written by `micropath synth`: no real person or case is described here.\n"
        f'name = "{name}"\n'
        f'source = "micropathways synthetic generator (loaders/synthetic.py), seed {seed}"\n'
        'licence = "CC0-1.0 (synthetic data)"\n'
        "synthetic = true\n"
        f"coding_frame_version = {coding_frame}\n"
        f'description = "SYNTHETIC coded bundle of {cases} invented homicides (seed {seed}), calibrated to '
        'the VRU first-phase factor prevalences; for demos, tests and benchmarks only."\n'
    )


def _readme(name: str, cases: int, seed: int) -> str:
    return (
        "SYNTHETIC DATA - NOT REAL HOMICIDES\n"
        "===================================\n\n"
        f"This folder is a coded bundle named {name!r} of {cases} invented homicide cases, written by\n"
        f"`micropath synth --cases {cases} --seed {seed}` (loaders/synthetic.py). Every value was drawn\n"
        "at random from a seeded generator; no real person, case or place-and-time is described.\n"
        "The prevalences and patterns are calibrated to published figures so that demos and\n"
        "benchmarks have something realistic to find. Never present them as findings.\n"
        "reliability.csv holds an invented second coding of a tenth of the cases by other coders,\n"
        "with planted disagreement, to try the coding-reliability measures on.\n\n"
        "Load it with: micropath load coded <this folder>\n"
        "The format is described in docs/coded-format.md.\n"
    )


# ---- the generator ----------------------------------------------------------------------------------
def _pick(rng: np.random.Generator, n: int, rules: list[tuple[np.ndarray, list[str], list[float]]],
          default: tuple[list[str], list[float]]) -> np.ndarray:
    """A categorical value per row: the first rule whose mask holds decides the distribution."""
    out = np.empty(n, dtype=object)
    todo = np.ones(n, dtype=bool)
    for mask, values, probs in [*rules, (np.ones(n, dtype=bool), *default)]:
        rows = np.flatnonzero(todo & mask)
        out[rows] = rng.choice(np.array(values, dtype=object), size=len(rows), p=_norm(probs))
        todo[rows] = False
    return out


def _norm(probs: list[float]) -> np.ndarray:
    array = np.asarray(probs, dtype=float)
    return array / array.sum()


def _log_uniform(rng: np.random.Generator, low: float, high: float, size: int | tuple[int, ...]) -> np.ndarray:
    return np.exp(rng.uniform(math.log(low), math.log(high), size))


def _upper_tail(x: np.ndarray) -> np.ndarray:
    """P(Z > x) for a standard normal Z."""
    erfc = np.frompyfunc(math.erfc, 1, 1)
    return 0.5 * np.asarray(erfc(np.asarray(x, dtype=float) / math.sqrt(2)), dtype=float)


def _threshold(target: float, shifts: np.ndarray, weights: np.ndarray) -> float:
    """t with sum(w * P(Z + shift > t)) / sum(w) = target (bisection)."""
    low, high = -10.0, 10.0
    for _ in range(80):
        middle = (low + high) / 2
        share = float(np.sum(weights * _upper_tail(middle - shifts)) / np.sum(weights))
        low, high = (middle, high) if share > target else (low, middle)
    return (low + high) / 2


def correlation_matrix() -> np.ndarray:
    matrix = np.eye(len(LATENT))
    for (a, b), value in _CORRELATION.items():
        i, j = LATENT.index(a), LATENT.index(b)
        matrix[i, j] = matrix[j, i] = value
    matrix[LATENT.index("drug_addiction_history"), LATENT.index("drugs_in_lead_up")] = \
        matrix[LATENT.index("drugs_in_lead_up"), LATENT.index("drug_addiction_history")] = _addiction_lead_up_rho()
    return matrix


def _addiction_lead_up_rho() -> float:
    """The latent correlation making P(addiction and lead-up) = 22/50 + 10/50 - 26/50 (= 6/50).

    "drugs" is addiction history OR drugs in the lead-up, so its prevalence is fixed by their overlap.
    """
    pa, pb = FACTOR_TARGETS["drug_addiction_history"], FACTOR_TARGETS["drugs_in_lead_up"]
    both = pa + pb - FACTOR_TARGETS["drugs"]
    a, b = NormalDist().inv_cdf(1 - pa), NormalDist().inv_cdf(1 - pb)
    x = np.linspace(a, 9.0, 4001)
    density = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    low, high = -0.95, 0.95
    for _ in range(50):
        rho = (low + high) / 2
        joint = float(np.trapezoid(density * _upper_tail((b - rho * x) / math.sqrt(1 - rho * rho)), x))
        low, high = (rho, high) if joint < both else (low, rho)
    return (low + high) / 2


class _Generator:
    def __init__(self, cases: int, seed: int, coding_frame: int = CODING_FRAME) -> None:
        self.n = cases
        self.seed = seed
        self.coding_frame = coding_frame
        self.rng = np.random.default_rng(seed)
        vocab = get_vocabulary()
        concepts = sorted(vocab.scheme_concepts("Factor", "micropathways"), key=lambda c: c.code)
        self.added_in_frame = {c.code: int(c.get("added_in_frame") or 1) for c in concepts}  # type: ignore[call-overload]
        # a bundle coded under frame F lists only the factors of frames up to F (the others: no row)
        self.factors = [c.code for c in concepts if self.added_in_frame[c.code] <= coding_frame]
        missing = sorted(set(self.factors) - set(FACTOR_TARGETS))
        if missing:
            raise MicropathError(f"the synthetic generator has no target prevalence for factors {missing}; "
                                 "add them to loaders/synthetic.py FACTOR_TARGETS")
        missing = sorted(set(self.factors) - set(SECOND_CODING) - {"drugs"})
        if missing:
            raise MicropathError(f"the synthetic generator has no second-coding error rates for factors {missing}; "
                                 "add them to loaders/synthetic.py SECOND_CODING")

    def tables(self) -> dict[str, pd.DataFrame]:
        rng, n = self.rng, self.n
        width = max(6, len(str(n)))
        self.case_id = np.array([f"SYN-{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
        self.year = rng.choice(YEARS, size=n, p=_norm(list(YEAR_WEIGHTS)))
        areas = np.array(sorted(AREA_WEIGHTS))
        self.area = rng.choice(areas, size=n, p=_norm([AREA_WEIGHTS[a] for a in areas]))
        frame_1 = np.array([FRAME_1_SHARE.get(int(y), 0.0) for y in YEARS])[self.year - YEARS[0]]
        self.frame = np.where(rng.random(n) < frame_1, 1, CODING_FRAME)
        self.coder = CODERS[rng.integers(0, len(CODERS), n)]
        self.truth = self._latent_factors()
        if self.coding_frame >= 3:
            self._frame_3()
        cases = self._cases()
        tables = {
            "cases.csv": cases,
            "victims.csv": self._people(victims=True),
            "suspects.csv": self._people(victims=False),
            "factors.csv": self._factor_rows(),
            "events.csv": self._events(),
        }
        tables["reliability.csv"] = self._second_coding(cases)
        return tables

    # -- factors ------------------------------------------------------------------------------------
    def _latent_factors(self) -> dict[str, np.ndarray]:
        rng, n = self.rng, self.n
        chol = np.linalg.cholesky(correlation_matrix())
        latent = rng.standard_normal((n, len(LATENT))) @ chol.T
        shifts = {name: np.zeros(n) for name in LATENT}
        shifts["social_media"] = SOCIAL_MEDIA_TREND * (self.year - 2019.5) / 4.5
        shifts["gang_involvement"] = np.where(np.isin(self.area, list(GANG_HIGHER)), GANG_BOROUGH_SHIFT,
                                              np.where(np.isin(self.area, list(GANG_LOWER)),
                                                       -GANG_BOROUGH_SHIFT, 0.0))
        truth: dict[str, np.ndarray] = {}
        self.latent = {name: latent[:, index] for index, name in enumerate(LATENT)}
        under = float(np.mean(self.coder == UNDER_CODER))
        for index, name in enumerate(LATENT):
            target = FACTOR_TARGETS[name]
            if name == "mental_health":  # undo, on average, what the under-coding coder removes
                target = min(target / (1 - UNDER_RATE * under), 0.999)
            relevant = self.frame >= self.added_in_frame.get(name, 1)  # calibrate where it is coded
            if not relevant.any():
                relevant = np.ones(n, dtype=bool)
            values, counts = np.unique(np.round(shifts[name][relevant], 9), return_counts=True)
            threshold = _threshold(target, values, counts.astype(float))
            truth[name] = latent[:, index] + shifts[name] > threshold
        truth["drugs"] = truth["drug_addiction_history"] | truth["drugs_in_lead_up"]
        return truth

    def _frame_3(self) -> None:
        """Frame-3 cases and the frame-3 factors' truth, from their own stream (module docstring)."""
        extra = self.extra = np.random.default_rng(np.random.SeedSequence([self.seed, FRAME_3_STREAM]))
        n = self.n
        kept = (self.year <= FRAME_2_KEPT_UNTIL) & (extra.random(n) < FRAME_2_KEPT)
        self.frame = np.where((self.frame == CODING_FRAME) & ~kept, self.coding_frame, self.frame)
        for code, (target, anchor, rho) in FRAME_3_FACTORS.items():
            latent = rho * self.latent[anchor] + math.sqrt(1 - rho * rho) * extra.standard_normal(n)
            self.truth[code] = latent > NormalDist().inv_cdf(1 - target)

    def _factor_rows(self) -> pd.DataFrame:
        n = self.n
        columns = []
        for code in self.factors:
            # frame-3 factors draw from their own stream: every other file of the seed stays the same
            rng = self.extra if code in FRAME_3_FACTORS else self.rng
            present = self.truth[code].copy()
            if code == "mental_health":
                present &= ~((self.coder == UNDER_CODER) & (rng.random(n) < UNDER_RATE))
            value = np.where(present, "present", "absent").astype(object)
            rate = np.where(self.coder == LAX_CODER, LAX_NOT_RECORDED_RATE, NOT_RECORDED_RATE)
            value[rng.random(n) < rate] = "not_recorded"
            value[self.frame < self.added_in_frame[code]] = "not_recorded"
            columns.append(value)
        values = np.stack(columns, axis=1)  # cases x factors
        k = len(self.factors)
        return pd.DataFrame({
            "case_id": np.repeat(self.case_id, k),
            "factor": np.tile(np.array(self.factors, dtype=object), n),
            "value": values.reshape(-1),
            "coder": np.repeat(self.coder, k),
        })

    # -- double coding ------------------------------------------------------------------------------
    def _second_coding(self, cases: pd.DataFrame) -> pd.DataFrame:
        """An independent second coding of a sample of cases by another coder (reliability.csv)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, RELIABILITY_STREAM]))
        n = self.n
        k = max(1, round(n * RELIABILITY_SHARE))
        sample = np.sort(rng.choice(n, size=k, replace=False))
        first = np.searchsorted(CODERS, self.coder[sample])
        coder = CODERS[(first + rng.integers(1, len(CODERS), k)) % len(CODERS)]  # never the first coder
        frame = self.frame[sample]
        seen: dict[str, np.ndarray] = {}
        for code in (c for c in SECOND_CODING if c in self.truth):  # frame-3 factors only when coded
            truth = self.truth[code][sample]
            miss, extra = SECOND_CODING[code]
            draw = rng.random(k)
            seen[code] = np.where(truth, draw >= miss, draw < extra)
        seen["mental_health"] &= ~((coder == UNDER_CODER) & (rng.random(k) < UNDER_RATE))
        seen["drugs"] = seen["drug_addiction_history"] | seen["drugs_in_lead_up"]
        columns = []
        for code in self.factors:
            value = np.where(seen[code], "present", "absent").astype(object)
            rate = np.where(coder == LAX_CODER, LAX_NOT_RECORDED_RATE, NOT_RECORDED_RATE)
            value[rng.random(k) < rate] = "not_recorded"
            value[frame < self.added_in_frame[code]] = "not_recorded"
            columns.append(value)
        for variable in SAME_CODE:
            first_value = cases[variable].to_numpy()[sample]
            other = np.array([rng.choice(CONFUSED_WITH[variable][v]) for v in first_value], dtype=object)
            columns.append(np.where(rng.random(k) < SAME_CODE[variable], first_value, other))
        variables = [*self.factors, *SAME_CODE]
        values = np.stack(columns, axis=1)  # sampled cases x variables
        return pd.DataFrame({
            "case_id": np.repeat(self.case_id[sample], len(variables)),
            "variable": np.tile(np.array(variables, dtype=object), k),
            "value": values.reshape(-1),
            "coder": np.repeat(coder, len(variables)),
        })

    # -- cases --------------------------------------------------------------------------------------
    def _cases(self) -> pd.DataFrame:
        rng, n, t = self.rng, self.n, self.truth
        gang, da, rob = t["gang_involvement"], t["domestic_abuse"], t["robbery"]
        drink = t["alcohol"] | t["night_time_economy"]
        self.relationship = _pick(rng, n, [
            (da, ["partner_ex_partner", "other_family", "son_daughter", "parent", "friend_acquaintance"],
             [0.68, 0.10, 0.09, 0.10, 0.03]),
            (gang, ["stranger", "other_known", "friend_acquaintance", "not_known", "no_suspect_charged"],
             [0.33, 0.25, 0.22, 0.05, 0.15]),
            (rob, ["stranger", "friend_acquaintance", "other_known", "no_suspect_charged"],
             [0.55, 0.15, 0.15, 0.15]),
        ], (["friend_acquaintance", "stranger", "other_known", "other_family", "parent", "son_daughter",
             "not_known", "no_suspect_charged"], [0.36, 0.22, 0.13, 0.05, 0.04, 0.03, 0.05, 0.12]))
        motive = _pick(rng, n, [
            (rob, ["theft_gain", "quarrel_revenge_temper", "other", "not_known"], [0.80, 0.10, 0.05, 0.05]),
            (gang, ["quarrel_revenge_temper", "not_known", "other", "theft_gain"], [0.80, 0.12, 0.05, 0.03]),
            (t["mental_health"] & ~drink, ["quarrel_revenge_temper", "irrational_act", "other", "not_known"],
             [0.50, 0.30, 0.10, 0.10]),
        ], (["quarrel_revenge_temper", "not_known", "other", "theft_gain", "arson", "restrain_arrest",
             "terrorism", "irrational_act"], [0.70, 0.12, 0.10, 0.04, 0.015, 0.01, 0.005, 0.01]))
        method = _pick(rng, n, [
            (gang, ["sharp_instrument", "shooting", "blunt_instrument", "hitting_kicking", "other", "not_known"],
             [0.62, 0.28, 0.03, 0.03, 0.02, 0.02]),
            (da, ["sharp_instrument", "strangulation", "blunt_instrument", "hitting_kicking", "burning",
                  "poisoning_drugs", "other", "not_known"], [0.45, 0.20, 0.12, 0.12, 0.03, 0.02, 0.04, 0.02]),
            (drink, ["sharp_instrument", "hitting_kicking", "blunt_instrument", "shooting", "other", "not_known"],
             [0.42, 0.35, 0.12, 0.03, 0.05, 0.03]),
        ], (["sharp_instrument", "shooting", "hitting_kicking", "blunt_instrument", "strangulation", "burning",
             "poisoning_drugs", "other", "not_known"], [0.52, 0.08, 0.10, 0.08, 0.04, 0.01, 0.03, 0.08, 0.06]))
        no_suspect = self.relationship == "no_suspect_charged"
        solved = np.where(no_suspect, np.where(rng.random(n) < 0.85, "false", ""),
                          _pick(rng, n, [], (["true", "false", ""], [0.94, 0.03, 0.03])))
        month = rng.integers(1, 13, n).astype(object)
        month[rng.random(n) < 0.02] = ""
        return pd.DataFrame({
            "case_id": self.case_id, "year": self.year, "month": month, "area_code": self.area,
            "solved": solved, "method": method, "motive": motive, "relationship": self.relationship,
            "coding_frame_version": self.frame, "coder": self.coder,
        })

    def _people(self, *, victims: bool) -> pd.DataFrame:
        rng, n, t = self.rng, self.n, self.truth
        gang, da = t["gang_involvement"], t["domestic_abuse"]
        if victims:
            count = rng.choice([1, 2, 3], size=n, p=[0.965, 0.03, 0.005])
        else:
            group = rng.choice([1, 2, 3, 4], size=n, p=[0.45, 0.25, 0.18, 0.12])
            count = np.where(gang, group, rng.choice([1, 2, 3, 4], size=n, p=[0.78, 0.13, 0.06, 0.03]))
            count = np.where(self.relationship == "no_suspect_charged", 0, count)
        case = np.repeat(np.arange(n), count)
        position = np.arange(len(case)) - np.repeat(np.cumsum(count) - count, count) + 1
        rows = len(case)
        g, d, rel = gang[case], da[case], self.relationship[case]
        partner = rel == "partner_ex_partner"
        ages = list(AGE_GROUPS)
        if victims:
            age = _pick(rng, rows, [
                (rel == "son_daughter", ages, [0.55, 0.15, 0.10, 0.10, 0.10, 0, 0, 0]),
                (rel == "parent", ages, [0, 0, 0, 0, 0.05, 0.20, 0.30, 0.45]),
                (g, ages, [0, 0.40, 0.35, 0.20, 0.05, 0, 0, 0]),
                (d, ages, [0, 0.02, 0.08, 0.30, 0.27, 0.18, 0.09, 0.06]),
            ], (ages, LONDON_AGES))
            sex = _pick(rng, rows, [
                (d & partner, ["Female", "Male", "Unknown"], [0.85, 0.149, 0.001]),
                (d, ["Female", "Male", "Unknown"], [0.55, 0.449, 0.001]),
                (g, ["Male", "Female", "Unknown"], [0.96, 0.039, 0.001]),
            ], (["Male", "Female", "Unknown"], [0.80, 0.198, 0.002]))
        else:
            age = _pick(rng, rows, [
                (g, ages, [0, 0.35, 0.40, 0.20, 0.05, 0, 0, 0]),
                (d, ages, [0, 0.01, 0.08, 0.32, 0.30, 0.17, 0.07, 0.05]),
            ], (ages, [0.01, 0.12, 0.22, 0.30, 0.18, 0.10, 0.045, 0.025]))
            sex = _pick(rng, rows, [
                (d & partner, ["Male", "Female", "Unknown"], [0.95, 0.049, 0.001]),
            ], (["Male", "Female", "Unknown"], [0.90, 0.09, 0.01]))
        age[rng.random(rows) < 0.02] = ""
        return pd.DataFrame({"case_id": self.case_id[case], "position": position, "age_group": age, "sex": sex})

    # -- micropathways ------------------------------------------------------------------------------
    def _events(self) -> pd.DataFrame:
        rng, n, t = self.rng, self.n, self.truth
        gang, da, rob, nte = t["gang_involvement"], t["domestic_abuse"], t["robbery"], t["night_time_economy"]
        drink = t["alcohol"] | nte
        lead_up = t["drugs_in_lead_up"]
        kind, total = self._escalation()
        long, medium = kind == "long", kind == "medium"
        # events hours or days before (a dispute, online provocation) belong to long build-ups only
        chance = {
            "prior_dispute": long * np.where(t["prior_conflict"] | da, 0.8, 0.3),
            "online_provocation": long * np.where(t["social_media"], 0.8, 0.05),
            "substance_use": (long | medium) * np.where(t["alcohol"] | lead_up, 0.6, 0.08),
            "planned_meeting": np.where(rob | (lead_up & gang), 0.4, 0.1),
            "chance_encounter": np.where(nte, 0.6, np.where(gang, 0.45, 0.2)),
            "verbal_argument": np.where(rob, 0.3, 0.8),
            "threat": np.where(da, 0.45, np.where(gang, 0.35, 0.2)),
            "robbery_attempt": np.where(rob, 0.85, 0.01),
            "physical_altercation": np.where(drink, 0.75, np.where(da, 0.6, 0.45)),
            "weapon_retrieved": np.where(t["weapon_carrying"], 0.6, 0.15),
            "pursuit": np.where(gang, 0.35, 0.05),
            "intervention_attempt": np.where(nte, 0.3, 0.06),
            "fatal_incident": np.ones(n),
        }
        probs = np.stack([np.broadcast_to(chance[s], (n,)) for s in SLOTS], axis=1)
        include = rng.random((n, len(SLOTS))) < probs
        planned, met = SLOTS.index("planned_meeting"), SLOTS.index("chance_encounter")
        include[:, met] &= ~include[:, planned]
        background = [SLOTS.index(s) for s in BACKGROUND]
        no_background = long & ~include[:, background].any(axis=1)
        include[no_background, SLOTS.index("prior_dispute")] = True  # a long build-up starts somewhere
        prior = include[:, :-1]
        prior[prior.sum(axis=1) == 0, SLOTS.index("verbal_argument")] = True
        scores = np.where(prior, rng.random(prior.shape), -1.0)
        scores[:, background] += 1.0  # keep the start of a long build-up when trimming
        rank = np.argsort(np.argsort(-scores, axis=1), axis=1)  # 0 = kept first
        prior &= rank < MAX_PRIOR_EVENTS
        include[:, :-1] = prior
        # usual order, with some steps swapped in some cases
        order_key = np.tile(np.arange(len(SLOTS), dtype=float), (n, 1))
        order_key[:, SLOTS.index("threat")] += np.where(rng.random(n) < 0.35, 2.5, 0.0)
        order_key[:, SLOTS.index("pursuit")] -= np.where(rng.random(n) < 0.5, 1.4, 0.0)
        order_key[~include] = np.inf
        order = np.argsort(order_key, axis=1, kind="stable")
        count = include.sum(axis=1)
        kept = np.arange(len(SLOTS)) < count[:, None]
        event_type = np.array(SLOTS, dtype=object)[order][kept]
        # minutes before the fatal incident: the first step at the pathway's total length; in a long
        # build-up the confrontation itself (after the background events) is short
        confrontation = np.where(long, np.where(rng.random(n) < 0.6, rng.uniform(0.5, 4.5, n),
                                                np.clip(rng.normal(5.5, 0.8, n), 4.5, 7.5)), total)
        times = confrontation[:, None] * rng.uniform(0.05, 1.0, (n, len(SLOTS)))
        times[:, background] = confrontation[:, None] + (total - confrontation)[:, None] * rng.uniform(
            0.05, 1.0, (n, len(background)))
        times[:, -1] = 0.0
        ordered = -np.sort(-np.where(include, times, -np.inf), axis=1)  # descending, in step order
        ordered[:, 0] = total
        minutes = np.round(ordered[kept], 1)
        case = np.repeat(np.arange(n), count)
        step = np.cumsum(kept, axis=1)[kept]
        text = np.where(minutes == np.floor(minutes), minutes.astype(np.int64).astype(str),
                        np.char.mod("%.1f", minutes)).astype(object)
        last = step == count[case]
        text[~last & (rng.random(len(text)) < UNKNOWN_MINUTES_RATE)] = ""
        other_coder = CODERS[rng.integers(0, len(CODERS), n)]
        coder = np.where(rng.random(n) < 0.85, self.coder, other_coder)
        return pd.DataFrame({"case_id": self.case_id[case], "step": step, "event_type": event_type,
                             "minutes_before": text, "coder": coder[case]})

    def _escalation(self) -> tuple[np.ndarray, np.ndarray]:
        """Per case: the kind of escalation, and minutes from the first event to the fatal incident."""
        rng, n, t = self.rng, self.n, self.truth
        drink = t["alcohol"] | t["night_time_economy"]
        kinds = ["quick", "five", "medium", "long"]
        kind = _pick(rng, n, [
            (t["domestic_abuse"], kinds, [0.20, 0.15, 0.20, 0.45]),
            (t["social_media"], kinds, [0.25, 0.25, 0.15, 0.35]),
            (t["gang_involvement"], kinds, [0.30, 0.25, 0.15, 0.30]),
            (t["prior_conflict"] & ~drink, kinds, [0.30, 0.20, 0.15, 0.35]),
            (drink, kinds, [0.55, 0.20, 0.15, 0.10]),
            (t["robbery"], kinds, [0.50, 0.25, 0.20, 0.05]),
        ], (kinds, [0.45, 0.25, 0.15, 0.15]))
        total = np.select(
            [kind == "quick", kind == "five", kind == "medium"],
            [rng.uniform(0.5, 4.5, n), np.clip(rng.normal(5.5, 0.8, n), 4.5, 7.5), _log_uniform(rng, 10, 120, n)],
            _log_uniform(rng, 120, 43200, n))  # two hours to thirty days
        return kind, total
