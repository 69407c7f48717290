"""`micropath reliability …` (being built: registers no command yet)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_parser(sub: Any, db_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the subcommand on sub; db_arg adds the shared --db option."""
