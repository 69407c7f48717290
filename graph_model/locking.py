"""Coordination between `micropath load` and `micropath serve` on one embedded database.

LadybugDB allows one read-write process at a time, and read-only opens do not see a writer's
changes until they reopen. The platform therefore keeps a lock file beside the database:

* a load takes it exclusively for the whole load (waiting up to ``wait_s`` for running queries);
* a reader (serve, query, cypher) takes it shared for the duration of one query, and reopens its
  read-only handle when the database changed since it opened it.

The losing side gets a DatabaseBusyError that says what to do.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from graph_model.errors import DatabaseBusyError


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def exclusive(db_path: Path, *, wait_s: float = 30.0) -> Iterator[None]:
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DatabaseBusyError(
                        f"the embedded database {db_path} is busy: another load is running or "
                        f"queries kept it busy for {wait_s:.0f}s. Wait for the other load to "
                        "finish and run the command again."
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


@contextmanager
def shared(db_path: Path) -> Iterator[None]:
    path = lock_path(db_path)
    if not path.parent.exists():
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusyError(
                f"a load into {db_path} is in progress; results would be incomplete. "
                "Try again when `micropath load` has finished."
            ) from None
        yield
    finally:
        os.close(fd)


def db_version(db_path: Path) -> tuple[float, int]:
    """Changes whenever a writer has touched the database (mtime and size of its files)."""
    stamps = []
    for candidate in (db_path, db_path.with_name(db_path.name + ".wal")):
        if candidate.exists():
            stat = candidate.stat()
            stamps.append((stat.st_mtime, stat.st_size))
    return max(stamps) if stamps else (0.0, 0)
