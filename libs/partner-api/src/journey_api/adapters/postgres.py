"""The record store on PostgreSQL: the `journeys`, `journey_records` and
`journey_participants` tables, and a record's whole write as one statement
(record_statement.py) with its outbox row, audit row and stored answer."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from journey_api.audit import audit as audit_row
from journey_api.auth import Principal
from journey_api.domain.records import Recorded
from journey_api.record_statement import WRITE, WRITE_AND_ANSWER, parameters
from journey_api.store import RecordQuery, RecordWrite
from journey_platform.db import Connection
from journey_platform.outbox import NotInTransaction

_COLUMNS = (
    "record_id, journey_id, resource_id, kind, attributes, occurred_at, recorded_at, agency_id"
)


def _recorded(row: asyncpg.Record) -> Recorded:
    return Recorded(
        record_id=row["record_id"],
        journey_id=row["journey_id"],
        resource_id=row["resource_id"],
        kind=row["kind"],
        attributes=json.loads(row["attributes"]),
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        agency_id=row["agency_id"],
    )


class PostgresRecordStore:
    """The records as one connection sees them, in its transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def add_journey(self, journey_id: str) -> None:
        await self.conn.execute("INSERT INTO journeys (journey_id) VALUES ($1)", journey_id)

    async def learn_journey(self, journey_id: str, facts: dict[str, Any], agency_id: str) -> None:
        await self.conn.execute(
            """INSERT INTO journeys (journey_id, facts) VALUES ($1, $2::jsonb)
               ON CONFLICT (journey_id) DO UPDATE SET facts = journeys.facts || EXCLUDED.facts""",
            journey_id,
            json.dumps(facts),
        )
        await self.conn.execute(
            """INSERT INTO journey_participants (journey_id, agency_id) VALUES ($1, $2)
               ON CONFLICT DO NOTHING""",
            journey_id,
            agency_id,
        )

    async def journey_is_known(self, journey_id: str) -> bool:
        return bool(
            await self.conn.fetchval("SELECT true FROM journeys WHERE journey_id = $1", journey_id)
        )

    async def takes_part(self, journey_id: str, agency_id: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT true FROM journey_participants WHERE journey_id = $1 AND agency_id = $2",
                journey_id,
                agency_id,
            )
        )

    async def lock(self, resource_id: uuid.UUID) -> None:
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", str(resource_id)
        )

    async def records_of(self, resource_id: uuid.UUID) -> list[Recorded]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM journey_records WHERE resource_id = $1 ORDER BY position",
            resource_id,
        )
        return [_recorded(r) for r in rows]

    async def timeline(self, journey_id: str) -> list[Recorded]:
        rows = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM journey_records WHERE journey_id = $1
                ORDER BY occurred_at, position""",
            journey_id,
        )
        return [_recorded(r) for r in rows]

    async def page(self, query: RecordQuery) -> tuple[list[Recorded], int | None]:
        rows = await self.conn.fetch(
            f"""SELECT position, {_COLUMNS} FROM journey_records r
                WHERE kind = $1 AND position > $2
                  AND ($3::text IS NULL OR r.journey_id = $3)
                  AND ($4::timestamptz IS NULL OR r.occurred_at >= $4)
                  AND ($5::timestamptz IS NULL OR r.occurred_at < $5)
                  AND EXISTS (SELECT 1 FROM journey_participants p
                              WHERE p.journey_id = r.journey_id AND p.agency_id = $6)
                ORDER BY position LIMIT $7""",
            query.kind,
            query.after,
            query.journey_id,
            query.occurred_from,
            query.occurred_to,
            query.agency_id,
            query.limit + 1,
        )
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        return [_recorded(r) for r in rows], (int(rows[-1]["position"]) if more else None)

    async def write(self, write: RecordWrite) -> None:
        if not self.conn.is_in_transaction():  # the record and its event commit together
            raise NotInTransaction("a record must be written in the request's transaction")
        values = parameters(write.recorded, write.staged, write.by, write.participants)
        answers = write.answers
        if answers is None or answers.answered:
            await self.conn.execute(WRITE, *values)
        else:
            answer = answers.answer_values(201, write.recorded.as_json())
            await self.conn.execute(WRITE_AND_ANSWER, *values, *answer)
            answers.answered = True

    async def audit(
        self,
        by: Principal,
        *,
        action: str,
        journey_id: str | None,
        resource_id: str | None = None,
        outcome: str = "ok",
    ) -> None:
        await audit_row(
            self.conn,
            by,
            action=action,
            journey_id=journey_id,
            resource_id=resource_id,
            outcome=outcome,
        )

    async def spend_token(self, by: Principal) -> bool:
        await self.conn.execute("DELETE FROM spent_tokens WHERE expires_at < now()")
        spent_now = await self.conn.fetchval(
            """INSERT INTO spent_tokens (client_id, token_id, expires_at)
               VALUES ($1, $2, to_timestamp($3))
               ON CONFLICT DO NOTHING RETURNING true""",
            by.client_id,
            by.token_id,
            by.expires_at,
        )
        return bool(spent_now)
