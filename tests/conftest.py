"""Shared fixtures: paths to the real data and fresh embedded databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph_model.embedded import EmbeddedBackend

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
LONDON_CSV = SHARED_DATA / "london_mps_homicide_victims_2003_2024.csv"
SHR_CSV = SHARED_DATA / "shr_western_states_1976_2018.csv"
GVA_CSV = SHARED_DATA / "gva_fatal_incidents_2014_2015.csv"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "graph.lbdb"


@pytest.fixture
def writable_db(db_path: Path) -> Iterator[EmbeddedBackend]:
    backend = EmbeddedBackend(db_path, read_only=False)
    try:
        yield backend
    finally:
        backend.close()
