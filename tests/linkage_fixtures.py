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
