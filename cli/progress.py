"""A progress bar for loads (tqdm on stderr), fed by the backend's step callbacks."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from graph_model.writer import STEPS


class LoadProgress:
    """Callable progress sink: one tick per load step, with the rows that step wrote."""

    STEPS = STEPS

    def __init__(self, disable: bool = False) -> None:
        self.bar: Any = tqdm(total=self.STEPS, desc="loading", unit="step", disable=disable,
                             leave=False)

    def __call__(self, step: str, rows: int) -> None:
        self.bar.set_postfix_str(f"{step} ({rows:,})")
        self.bar.update(1)

    def __enter__(self) -> LoadProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
