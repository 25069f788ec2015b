"""Read models built from the event log: one module per projection, run by projections/runner.py."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from events.migrations import Migration, load_folder


def migrations() -> list[Migration]:
    """The runner's own tables (generations and checkpoints), namespace `projections`."""
    return load_folder("projections", Path(str(resources.files("projections") / "sql")))
