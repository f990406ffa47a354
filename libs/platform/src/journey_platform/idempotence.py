"""Applying an event's effect at most once per consumer: the event id is claimed in
`processed_events` inside the effect's own transaction, so a redelivered event (the
outbox and consumers are at least once) changes nothing twice."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from journey_platform.consumer import BatchHandler, Handler
from journey_platform.db import Connection
from journey_platform.envelope import Event

log = logging.getLogger(__name__)
Effect = Callable[[Connection, Event], Awaitable[None]]


async def apply_once(conn: Connection, *, consumer: str, event_id: str) -> bool:
    """Claim an event for `consumer` inside the caller's transaction.

    True the first time: apply the effect in the same transaction. False if this
    consumer already applied it: do nothing. The claim and the effect commit together,
    so a crash between them leaves neither.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("apply_once must run inside the effect's transaction")
    claimed = await conn.fetchval(
        """INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING true""",
        consumer,
        uuid.UUID(event_id),
    )
    return bool(claimed)


def idempotent(pool: asyncpg.Pool, consumer: str, effect: Effect) -> Handler:
    """A handler that applies `effect` exactly once per event id, however often delivered."""

    async def handle(event: Event) -> None:
        async with pool.acquire() as conn, conn.transaction():
            if await apply_once(conn, consumer=consumer, event_id=event.id):
                await effect(conn, event)
            else:
                log.info(
                    "duplicate event skipped", extra={"event_id": event.id, "consumer": consumer}
                )

    return handle


def idempotent_batch(pool: asyncpg.Pool, consumer: str, effect: Effect) -> BatchHandler:
    """Like `idempotent`, for a whole batch in one transaction: one claim statement for
    every event id, then the effects of the new ones in order. Catching up on a long
    topic is then bounded by the effects, not by a transaction per event."""

    async def handle(events: Sequence[Event]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            claimed = {
                row["event_id"]
                for row in await conn.fetch(
                    """INSERT INTO processed_events (consumer, event_id)
                       SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id""",
                    consumer,
                    [uuid.UUID(e.id) for e in events],
                )
            }
            for event in events:
                event_id = uuid.UUID(event.id)
                if event_id in claimed:
                    claimed.discard(event_id)  # a duplicate later in the same batch is skipped
                    await effect(conn, event)

    return handle
