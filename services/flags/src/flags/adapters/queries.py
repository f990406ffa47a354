"""Reading flags as an agency may see them: on journeys it takes part in, of rules
relevant to its type, never retracted ones in a list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from flags.adapters.folding import FLAG_COLUMNS
from journey_platform.db import Connection


@dataclass(frozen=True)
class FlagFilter:
    status: str | None = None
    rule_id: str | None = None
    stage: str | None = None
    severity: str | None = None
    due_before: datetime | None = None  # exclusive
    due_after: datetime | None = None  # inclusive
    journey_id: str | None = None


@dataclass(frozen=True)
class After:
    """Where a page starts: after this (due_at, flag_id)."""

    due_at: datetime
    flag_id: uuid.UUID


async def page(
    conn: Connection,
    *,
    agency_id: str,
    rules: frozenset[str],
    where: FlagFilter,
    after: After | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Up to `limit` + 1 flags, most overdue first (due_at ascending, then flag_id)."""
    return await conn.fetch(
        f"""SELECT {FLAG_COLUMNS} FROM flags f
            WHERE f.status <> 'retracted' AND f.rule_id = ANY($1::text[])
              AND EXISTS (SELECT 1 FROM journey_participants p
                          WHERE p.journey_id = f.journey_id AND p.agency_id = $2)
              AND ($3::text IS NULL OR f.status = $3)
              AND ($4::text IS NULL OR f.rule_id = $4)
              AND ($5::text IS NULL OR f.stage = $5)
              AND ($6::text IS NULL OR f.severity = $6)
              AND ($7::timestamptz IS NULL OR f.due_at < $7)
              AND ($8::timestamptz IS NULL OR f.due_at >= $8)
              AND ($9::text IS NULL OR f.journey_id = $9)
              AND ($10::timestamptz IS NULL OR (f.due_at, f.flag_id) > ($10, $11::uuid))
            ORDER BY f.due_at, f.flag_id LIMIT $12""",
        sorted(rules),
        agency_id,
        where.status,
        where.rule_id,
        where.stage,
        where.severity,
        where.due_before,
        where.due_after,
        where.journey_id,
        after.due_at if after else None,
        after.flag_id if after else None,
        limit + 1,
    )


async def one(conn: Connection, flag_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {FLAG_COLUMNS} FROM flags WHERE flag_id = $1", flag_id)


async def history(conn: Connection, flag_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT kind, sequence, at, resolution FROM flag_history
           WHERE flag_id = $1 ORDER BY sequence, recorded_at""",
        flag_id,
    )
    return [dict(r) for r in rows]


async def acknowledgements(conn: Connection, flag_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT acknowledgement_id, flag_id, journey_id, action, agency_id,
                  acknowledged_at, note_nonce, note_ciphertext
           FROM acknowledgements WHERE flag_id = $1 ORDER BY acknowledged_at""",
        flag_id,
    )
