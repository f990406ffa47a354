"""Applying consumed events to PostgreSQL, each exactly once (idempotent_batch):

- the journey topics teach who takes part in each journey (domain/participants.py);
- journey.dropoffs is folded into one row per flag (domain/flags.py) plus its history;
  a change of status calls `on_transition` in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from flags import webhooks
from flags.domain.flags import DropoffEvent, Flag, FlagTransition, fold
from flags.domain.participants import participants
from flags.domain.relevance import concerns
from journey_api.agencies import AgencyRegistry
from journey_platform.db import Connection
from journey_platform.dropoffs import resolution_of
from journey_platform.envelope import Event
from journey_platform.idempotence import Effect

DROPOFF_TYPES = ("uk.nrm.dropoff.raised", "uk.nrm.dropoff.resolved")


async def on_transition(conn: Connection, transition: FlagTransition) -> None:
    """A flag opened or closed, inside the transaction that applied it: the one place
    that tells the agencies concerned. Their webhook deliveries commit with the flag, so
    a flag is never recorded without its notices, nor a notice sent for a flag not kept."""
    await webhooks.enqueue(conn, transition)


def applying(registry: AgencyRegistry) -> Effect:
    """The effect of one consumed event, by its type."""

    async def apply(conn: Connection, event: Event) -> None:
        if event.type in DROPOFF_TYPES:
            await apply_dropoff(conn, registry, event)
        else:
            await learn_participants(conn, registry, event)

    return apply


async def learn_participants(conn: Connection, registry: AgencyRegistry, event: Event) -> None:
    named = participants(
        registry, event_type=event.type, recorded_by=event.recorded_by, data=event.data
    )
    joined = await conn.fetch(
        """INSERT INTO journey_participants (journey_id, agency_id)
           SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING agency_id""",
        event.subject,
        sorted(named),
    )
    if joined:
        await tell_newcomers(conn, registry, event.subject, {r["agency_id"] for r in joined})


async def tell_newcomers(
    conn: Connection, registry: AgencyRegistry, journey_id: str, newcomers: set[str]
) -> None:
    """Agencies that have just joined a journey are told about its open flags that concern
    them, oldest first. A flag is often read before the event that names its agencies
    (they come on different topics, with no order between them: an immediate flag is
    published a moment after the very event that makes its reporter a participant), and
    an agency that joins later has the open flags to act on all the same."""
    kinds = {a: agency.type for a in newcomers if (agency := registry.get(a)) is not None}
    rows = await conn.fetch(
        """SELECT flag_id, rule_id, due_at, raised_at FROM flags
           WHERE journey_id = $1 AND status = 'open' ORDER BY raised_at, flag_id""",
        journey_id,
    )
    for row in rows:
        told = frozenset(a for a, kind in kinds.items() if concerns(kind, row["rule_id"]))
        if told:
            transition = FlagTransition(
                kind="raised",
                flag_id=str(row["flag_id"]),
                journey_id=journey_id,
                rule_id=row["rule_id"],
                resolution=None,
                occurred_at=row["due_at"],  # a raise's time, as on its dropoff event
                recorded_at=row["raised_at"],
                agencies=told,
            )
            await on_transition(conn, transition)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def dropoff_event(event: Event) -> DropoffEvent:
    data = event.data
    resolution = resolution_of(event.type, data)
    due_at = _time(data["due_at"])
    assert due_at is not None  # required by both contracts
    return DropoffEvent(
        event_id=event.id,
        flag_id=data["flag_id"],
        journey_id=event.subject,
        rule_id=data["rule_id"],
        stage=data["stage"],
        severity=data["severity"],
        due_at=due_at,
        sequence=int(data.get("sequence", 0)),
        time=event.time,
        recorded_time=event.recorded_time,
        resolution=resolution,
        resolved_at=_time(data.get("resolved_at")) if resolution else None,
    )


async def apply_dropoff(conn: Connection, registry: AgencyRegistry, event: Event) -> None:
    dropoff = dropoff_event(event)
    await conn.execute(
        """INSERT INTO flag_history
               (event_id, flag_id, sequence, kind, at, resolution, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        uuid.UUID(dropoff.event_id),
        uuid.UUID(dropoff.flag_id),
        dropoff.sequence,
        dropoff.kind,
        dropoff.time,
        dropoff.resolution,
        dropoff.recorded_time,
    )
    row = await conn.fetchrow(
        f"SELECT {FLAG_COLUMNS} FROM flags WHERE flag_id = $1 FOR UPDATE",
        uuid.UUID(dropoff.flag_id),
    )
    current = flag_from_row(row) if row else None
    after, change = fold(current, dropoff)
    if after is current:
        return
    await _store(conn, after)
    if change is not None:
        agencies = await concerned(conn, registry, after.journey_id, after.rule_id)
        transition = FlagTransition(
            kind=change,
            flag_id=after.flag_id,
            journey_id=after.journey_id,
            rule_id=after.rule_id,
            resolution=after.resolution,
            occurred_at=dropoff.time,
            recorded_at=dropoff.recorded_time,
            agencies=agencies,
        )
        await on_transition(conn, transition)


async def concerned(
    conn: Connection, registry: AgencyRegistry, journey_id: str, rule_id: str
) -> frozenset[str]:
    """The agencies taking part in the journey to whose type the rule is relevant."""
    rows = await conn.fetch(
        "SELECT agency_id FROM journey_participants WHERE journey_id = $1", journey_id
    )
    found = (registry.get(r["agency_id"]) for r in rows)
    return frozenset(a.id for a in found if a is not None and concerns(a.type, rule_id))


FLAG_COLUMNS = (
    "flag_id, journey_id, rule_id, stage, severity, due_at, sequence, status, raised_at, "
    "resolved_at, resolution"
)


def flag_from_row(row: asyncpg.Record) -> Flag:
    return Flag(**{**dict(row), "flag_id": str(row["flag_id"])})


async def _store(conn: Connection, flag: Flag) -> None:
    await conn.execute(
        """INSERT INTO flags (flag_id, journey_id, rule_id, stage, severity, due_at, sequence,
                              status, raised_at, resolved_at, resolution)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (flag_id) DO UPDATE SET
               rule_id = EXCLUDED.rule_id, stage = EXCLUDED.stage,
               severity = EXCLUDED.severity, due_at = EXCLUDED.due_at,
               sequence = EXCLUDED.sequence, status = EXCLUDED.status,
               raised_at = EXCLUDED.raised_at, resolved_at = EXCLUDED.resolved_at,
               resolution = EXCLUDED.resolution, updated_at = now()""",
        uuid.UUID(flag.flag_id),
        flag.journey_id,
        flag.rule_id,
        flag.stage,
        flag.severity,
        flag.due_at,
        flag.sequence,
        flag.status,
        flag.raised_at,
        flag.resolved_at,
        flag.resolution,
    )
