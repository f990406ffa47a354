"""Plain SQL migrations: numbered files applied once each, in order, under a lock.

The platform's own tables (outbox, processed events) come first; then each service's
`migrations/` folder. Each file runs in its own transaction with its record in
`schema_migrations`, so a failed file leaves nothing half-applied.
"""

from __future__ import annotations

from pathlib import Path

from journey_platform.db import Connection

PLATFORM_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK = 0x6A6F75726E6579  # "journey": one migrator at a time per database


async def migrate(conn: Connection, *folders: tuple[str, Path]) -> list[str]:
    """Apply pending migrations from (component, folder) pairs; return what was applied."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   component text NOT NULL, version text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now(),
                   PRIMARY KEY (component, version))"""
        )
        for component, folder in (("platform", PLATFORM_MIGRATIONS), *folders):
            done = {
                row["version"]
                for row in await conn.fetch(
                    "SELECT version FROM schema_migrations WHERE component = $1", component
                )
            }
            for path in sorted(folder.glob("*.sql")):
                if path.stem in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute(
                        "INSERT INTO schema_migrations (component, version) VALUES ($1, $2)",
                        component,
                        path.stem,
                    )
                applied.append(f"{component}/{path.stem}")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK)
    return applied
