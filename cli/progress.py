"""A progress bar for loads (tqdm on stderr), fed by the backend's step callbacks.

One tick per load step; within a long step (a staged Neo4j load commits in batches of 10,000 rows) the
backend reports the rows committed so far (``writer.ROWS_SO_FAR``) and the bar shows them without ticking."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from graph_model.writer import ROWS_SO_FAR, STEPS


class LoadProgress:
    """Callable progress sink: one tick per load step, with the rows that step wrote."""

    STEPS = STEPS

    def __init__(self, disable: bool = False, file: Any = None) -> None:
        self.bar: Any = tqdm(total=self.STEPS, desc="loading", unit="step", disable=disable,
                             leave=False, file=file)  # file: stderr unless given

    def __call__(self, step: str, rows: int) -> None:
        if step == ROWS_SO_FAR:
            self.bar.set_postfix_str(f"{rows:,} rows committed", refresh=True)
            return
        self.bar.set_postfix_str(f"{step} ({rows:,})")
        self.bar.update(1)

    def __enter__(self) -> LoadProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
