"""The transactional outbox: events written in the transaction of the change they announce.

A service calls `Outbox.add(conn, event)` inside the transaction that writes its
business rows, so the event exists if and only if the change committed. The relay
(relay.py) then publishes unsent rows in `position` order and marks them sent.

Order per journey: `add` takes a transaction-scoped advisory lock on the journey, so two
transactions touching one journey get outbox positions in commit order; the relay
publishes in position order, and one partition keeps that order.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace

from journey_platform.contracts import Contracts
from journey_platform.db import Connection
from journey_platform.envelope import Event, encode
from journey_platform.tracing import current_traceparent


class NotInTransaction(RuntimeError):
    """Outbox rows must be written in the same transaction as the change they announce."""


def staging_sql(first: int = 1) -> str:
    """The statement that stages one event from parameters $first.. (`Staged.values()`),
    under its journey's lock: a statement of its own, or the body of a CTE in a larger one
    (one round trip for a whole write). The lock is a CTE of its own, which PostgreSQL
    evaluates before it makes the row, so the position is drawn with the lock held."""
    event_id, event_type, topic, journey_id, headers, payload, traceparent = (
        f"${first + i}" for i in range(7)
    )
    return f"""WITH journey_order AS (
                   SELECT pg_advisory_xact_lock(hashtextextended({journey_id}::text, 0)))
               INSERT INTO outbox
                   (event_id, event_type, topic, journey_id, headers, payload, traceparent)
               SELECT {event_id}::uuid, {event_type}::text, {topic}::text, {journey_id}::text,
                      {headers}::jsonb, {payload}::bytea, {traceparent}::text
               FROM journey_order"""  # noqa: S608 (parameter numbers)


@dataclass(frozen=True)
class Staged:
    """An event validated against its contract and encoded as its outbox row."""

    event_id: uuid.UUID
    event_type: str
    topic: str
    journey_id: str
    headers: str  # [[name, value], ...] as JSON
    payload: bytes
    traceparent: str | None

    def values(self) -> tuple[object, ...]:
        """The parameters of `staging_sql`, in order."""
        return (
            self.event_id,
            self.event_type,
            self.topic,
            self.journey_id,
            self.headers,
            self.payload,
            self.traceparent,
        )


_STAGE = staging_sql()


class Outbox:
    """Writes events into the outbox table, validated against their contracts."""

    def __init__(self, contracts: Contracts) -> None:
        self.contracts = contracts

    def stage(self, event: Event) -> Staged:
        """Validate and encode `event` (raises ContractViolation); nothing is written yet:
        `add` writes it, or a caller's own statement through `staging_sql`."""
        if event.traceparent is None:
            event = replace(event, traceparent=current_traceparent())
        record = encode(event, self.contracts)
        return Staged(
            uuid.UUID(event.id),
            event.type,
            record.topic,
            event.subject,
            json.dumps([[name, value.decode()] for name, value in record.headers]),
            record.value,
            event.traceparent,
        )

    async def add(self, conn: Connection, event: Event) -> None:
        """Validate `event` and stage it in the caller's transaction; raises ContractViolation."""
        if not conn.is_in_transaction():
            raise NotInTransaction("Outbox.add must run inside the business transaction")
        staged = self.stage(event)  # raises before anything is written
        await conn.execute(_STAGE, *staged.values())
