"""What one fetch of the sink adds, and how it is written: idempotent, order-independent
upserts (see analytics.domain.folding), inside the caller's transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import asyncpg

from analytics.domain.folding import (
    OUTCOME,
    RAISED,
    RESOLVED,
    Flag,
    Position,
    fold_flag,
    newer_outcome,
    outcome_row,
)
from journey_platform.db import Connection
from journey_platform.envelope import Event

# The events that record a person's gender (coded), for the Home Office's tables.
GENDERED = frozenset({"uk.nrm.referral.submitted", "uk.nrm.duty-to-notify.reported"})
# aiokafka ships no type information: a ConsumerRecord[bytes, bytes].
Record: TypeAlias = Any


@dataclass
class Batch:
    """What one fetch adds, already folded within the batch."""

    recorded_topics: frozenset[str]  # where partners' records are: Contracts.recorded_topics()
    events: list[Event] = field(default_factory=list)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    flag_events: list[Event] = field(default_factory=list)
    genders: dict[str, Event] = field(default_factory=dict)  # journey -> latest gendered

    def add(self, record: Record, event: Event) -> None:
        if event.type == OUTCOME:
            row = outcome_row(event, Position(record.partition, record.offset))
            if newer_outcome(self.outcomes.get(event.subject), row):
                self.outcomes[event.subject] = row
        elif event.type in (RAISED, RESOLVED):
            self.flag_events.append(event)
        elif record.topic in self.recorded_topics:
            self.events.append(event)
            if event.type in GENDERED and event.data.get("gender"):
                current = self.genders.get(event.subject)
                if current is None or (event.time, event.id) > (current.time, current.id):
                    self.genders[event.subject] = event


async def write(conn: Connection, batch: Batch) -> None:
    """Upsert a batch inside the caller's transaction; replaying it changes nothing."""
    if batch.events:
        await _write_events(conn, batch.events)
    if batch.outcomes:
        await _write_outcomes(conn, list(batch.outcomes.values()))
    if batch.flag_events:
        await _write_flags(conn, batch.flag_events)
    if batch.genders:
        await _write_genders(conn, list(batch.genders.values()))


async def _write_genders(conn: Connection, events: Sequence[Event]) -> None:
    await conn.execute(
        """INSERT INTO journey_gender AS g (journey_id, gender, event_id, occurred_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::timestamptz[])
           ON CONFLICT (journey_id) DO UPDATE
           SET gender = EXCLUDED.gender, event_id = EXCLUDED.event_id,
               occurred_at = EXCLUDED.occurred_at
           WHERE (EXCLUDED.occurred_at, EXCLUDED.event_id) > (g.occurred_at, g.event_id)""",
        [e.subject for e in events],
        [e.data["gender"] for e in events],
        [uuid.UUID(e.id) for e in events],
        [e.time for e in events],
    )


async def _write_events(conn: Connection, events: Sequence[Event]) -> None:
    await conn.execute(
        """INSERT INTO journey_events (event_id, journey_id, activity, occurred_at, recorded_at)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[],
                                $4::timestamptz[], $5::timestamptz[])
           ON CONFLICT (event_id) DO NOTHING""",
        [uuid.UUID(e.id) for e in events],
        [e.subject for e in events],
        [e.type for e in events],
        [e.time for e in events],
        [e.recorded_time for e in events],
    )


def _upsert(table: str, columns: Sequence[str], key: str, casts: dict[str, str]) -> str:
    values = ", ".join(f"${i}{casts.get(c, '')}" for i, c in enumerate(columns, 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) "  # noqa: S608 - fixed names
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


async def _write_outcomes(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    # Only a newer outcome replaces the stored one (see folding.newer_outcome).
    statement = _upsert("journey_outcomes", columns, "journey_id", {"durations_days": "::jsonb"})
    statement += (
        " WHERE (journey_outcomes.as_of, journey_outcomes.recorded_at,"
        " journey_outcomes.source_offset)"
        " < (EXCLUDED.as_of, EXCLUDED.recorded_at, EXCLUDED.source_offset)"
    )
    await conn.executemany(
        statement,
        [
            [
                json.dumps(row[c], sort_keys=True) if c == "durations_days" else row[c]
                for c in columns
            ]
            for row in rows
        ],
    )


FLAG_COLUMNS = (
    "flag_id",
    "journey_id",
    "rule_id",
    "stage",
    "severity",
    "started_by",
    "due_at",
    "raised_at",
    "status",
    "resolution",
    "resolved_at",
    "resolved_by",
    "sequence",
    "last_event_id",
    "last_recorded_at",
    "last_time",
)


def _flag(row: asyncpg.Record) -> Flag:
    values = {c: row[c] for c in FLAG_COLUMNS}
    values["flag_id"], values["last_event_id"] = str(row["flag_id"]), str(row["last_event_id"])
    return Flag(**values)


async def _write_flags(conn: Connection, events: Sequence[Event]) -> None:
    flag_ids = sorted({e.data["flag_id"] for e in events})
    stored = await conn.fetch(
        "SELECT * FROM dropoff_flags WHERE flag_id = ANY($1::uuid[]) FOR UPDATE",
        [uuid.UUID(f) for f in flag_ids],
    )
    before: dict[str, Flag] = {str(row["flag_id"]): _flag(row) for row in stored}
    after = dict(before)
    for event in events:
        flag_id = event.data["flag_id"]
        after[flag_id] = fold_flag(after.get(flag_id), event)
    changed = [flag for flag_id, flag in after.items() if before.get(flag_id) != flag]
    if not changed:
        return
    await conn.executemany(
        _upsert("dropoff_flags", FLAG_COLUMNS, "flag_id", {}),
        [
            [
                uuid.UUID(getattr(flag, c))
                if c in ("flag_id", "last_event_id")
                else getattr(flag, c)
                for c in FLAG_COLUMNS
            ]
            for flag in changed
        ],
    )
