"""Versioned SQL migrations: numbered files applied once each, in order, under a lock.

Each file runs in its own transaction together with the row that records it, so a failed
migration leaves nothing behind and re-running `migrate` is harmless. Other packages
(projections) register their own folders of SQL files under their own namespace.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

_LOCK_KEY = 7428190100  # serialises concurrent `migrate` runs


@dataclass(frozen=True)
class Migration:
    namespace: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_folder(namespace: str, folder: Path) -> list[Migration]:
    """The `NNNN_name.sql` files of a folder, sorted by their number."""
    files = sorted(p for p in folder.iterdir() if p.suffix == ".sql")
    return [Migration(namespace, p.stem, p.read_text(encoding="utf-8")) for p in files]


def event_store_migrations() -> list[Migration]:
    folder = Path(str(resources.files("events") / "sql"))
    return load_folder("events", folder)


class MigrationChanged(RuntimeError):
    """An applied migration's file was edited afterwards: write a new migration instead."""


async def migrate(dsn: str, extra: list[Migration] | None = None) -> list[str]:
    """Apply every migration not yet applied; returns the names it applied."""
    wanted = event_store_migrations() + (extra or [])
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                namespace  text NOT NULL,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (namespace, name)
            )
            """
        )
        try:
            rows = await conn.fetch("SELECT namespace, name, checksum FROM schema_migrations")
            applied = {(r["namespace"], r["name"]): r["checksum"] for r in rows}
            done: list[str] = []
            for migration in wanted:
                key = (migration.namespace, migration.name)
                if key in applied:
                    if applied[key] != migration.checksum:
                        raise MigrationChanged(
                            f"migration {migration.namespace}/{migration.name} was changed after "
                            "it was applied"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (namespace, name, checksum) "
                        "VALUES ($1, $2, $3)",
                        migration.namespace,
                        migration.name,
                        migration.checksum,
                    )
                done.append(f"{migration.namespace}/{migration.name}")
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()
