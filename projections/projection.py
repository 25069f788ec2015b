"""What a projection is: a named, versioned read model built from some event types.

A projection declares its tables (created in a schema of its own for each build, see
projections/runner.py) and how a batch of events changes them. It never reads the log, never
keeps a checkpoint and never opens a transaction: the runner does all of that, so that a
projection's writes and its checkpoint always commit together.

Readers use the serving views `rm.<table>`, which point at the active build of each table.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import asyncpg

from events.types import Event, RecordedEvent, type_name

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class Projection(ABC):
    """One read model. Subclasses set the class attributes and write `schema_sql` and `apply`.

    Bump `version` whenever the tables or the way events change them differ: the runner then
    builds the new version beside the old one, which keeps serving until the new one has caught
    up and takes over.
    """

    name: ClassVar[str]
    version: ClassVar[int]
    consumes: ClassVar[tuple[type[Event], ...]]
    tables: ClassVar[tuple[str, ...]]
    """The tables `schema_sql` creates; each is served as the view `rm.<table>`."""

    @abstractmethod
    def schema_sql(self, schema: str) -> str:
        """DDL creating this projection's tables (and their indexes) in `schema`."""

    @abstractmethod
    async def apply(
        self, conn: asyncpg.Connection, schema: str, events: Sequence[RecordedEvent]
    ) -> None:
        """Apply a batch of events (in log order) to the tables in `schema`, on `conn`, inside
        the runner's transaction. Raise to refuse an event: the runner stops before it."""

    @classmethod
    def event_types(cls) -> list[str]:
        return [type_name(t) for t in cls.consumes]

    @classmethod
    def check(cls) -> None:
        """Refuse a declaration the runner could not build safely (names end up in SQL)."""
        for label, value in [("name", cls.name), *(("table", t) for t in cls.tables)]:
            if not _NAME.match(value):
                raise ValueError(f"projection {label} {value!r} must match {_NAME.pattern}")
        if cls.version < 1:
            raise ValueError(f"projection {cls.name}: version must be >= 1")
        if not cls.consumes:
            raise ValueError(f"projection {cls.name} consumes no event type")
