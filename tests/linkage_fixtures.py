"""Small constructed datasets for the linkage tests, written as partner CSVs with a mapping file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from graph_model.backend import GraphBackend
from loaders.base import load

PROPERTIES = {"case_id": "ref", "pseudonymous_ref": "key", "year": "yr", "month": "mon", "iccs": "iccs",
              "victim_count": "victims", "victim.age": "age", "victim.sex": "sex", "suspect.age": "s_age",
              "suspect.sex": "s_sex"}
CONCEPTS = {"Method": ("mech", "micropathways"), "Area": ("borough", "gss")}


def write_source(folder: Path, dataset: str, record: str, rows: list[dict[str, Any]], *,
                 kind: str | None = None, properties: dict[str, str] | None = None,
                 concepts: dict[str, tuple[str, str]] | None = None) -> Path:
    """Write ``rows`` as ``<dataset>.csv`` and a mapping ``<dataset>.toml``; returns the mapping path."""
    folder.mkdir(parents=True, exist_ok=True)
    properties = PROPERTIES if properties is None else properties
    concepts = CONCEPTS if concepts is None else concepts
    columns = [*properties.values(), *(c for c, _ in concepts.values())]
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame.columns:
            frame[column] = ""
    frame.to_csv(folder / f"{dataset}.csv", index=False)
    lines = [f'dataset = "{dataset}"', f'file = "{dataset}.csv"', f'record = "{record}"',
             'source = "constructed for tests"', 'licence = "none"']
    if kind:
        lines.append(f'kind = "{kind}"')
    lines.append("[properties]")
    lines += [f'"{prop}" = "{column}"' for prop, column in properties.items()]
    lines.append("[concepts]")
    lines += [f'{label} = {{ column = "{column}", scheme = "{scheme}" }}' for label, (column, scheme)
              in concepts.items()]
    path = folder / f"{dataset}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_source(backend: GraphBackend, path: Path) -> None:
    load("mapped-csv", path, backend)


def row(ref: str, key: str = "", yr: int | str = 2019, mon: int | str = 1, borough: str = "E09000011",
        age: int | str = "", sex: str = "", s_age: int | str = "", s_sex: str = "", mech: str = "shooting",
        iccs: str = "0101", victims: int | str = 1) -> dict[str, Any]:
    return {"ref": ref, "key": key, "yr": yr, "mon": mon, "borough": borough, "age": age, "sex": sex,
            "s_age": s_age, "s_sex": s_sex, "mech": mech, "iccs": iccs, "victims": victims}


STATES = ("04", "06", "08")  # us-state scheme codes: Arizona, California, Colorado


def planted(seed: int = 3, n_true: int = 40, n_left_only: int = 30, n_noise: int = 40
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[tuple[str, str]]]:
    """Rows of two datasets where ``n_true`` right rows copy a left row (the true links, returned as case-id
    pairs) and the other rows are independent draws. Each row: year, month, state, victim and suspect.
    No two drawn rows share year, month, state and victim age, so the true links are unambiguous."""
    import numpy as np

    rng = np.random.default_rng(seed)
    combos = [(y, m, s, a) for y in (2014, 2015) for m in range(1, 13) for s in STATES for a in range(14, 75)]
    picked = iter(rng.choice(len(combos), size=n_true + n_left_only + n_noise, replace=False))

    def draw(prefix: str, n: int) -> list[dict[str, Any]]:
        rows = []
        for i in range(n):
            yr, mon, state, age = combos[int(next(picked))]
            rows.append(row(f"{prefix}{i:03d}", yr=yr, mon=mon, borough=state, age=age,
                            sex=str(rng.choice(["Male", "Female"], p=[0.8, 0.2])), s_age=int(rng.integers(14, 60)),
                            s_sex=str(rng.choice(["Male", "Female"], p=[0.9, 0.1])), victims=1))
        return rows

    left = draw("L", n_true + n_left_only)
    copies = [{**r, "ref": f"R{i:03d}"} for i, r in enumerate(left[:n_true])]
    right = copies + draw("N", n_noise)
    truth = {(f"L{i:03d}", f"R{i:03d}") for i in range(n_true)}
    return left, right, truth


STATE_CONCEPTS = {"Method": ("mech", "micropathways"), "Area": ("borough", "us-state")}
