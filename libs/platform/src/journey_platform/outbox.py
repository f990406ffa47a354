"""The transactional outbox and its relay.

A service calls `Outbox.add(conn, event)` inside the transaction that writes its
business rows, so the event exists if and only if the change committed. The relay then
publishes unsent rows in `position` order and marks them sent. If the relay dies after
publishing and before marking, the rows go out again on restart: delivery is
at-least-once, and consumers de-duplicate on the event id (see `consumer.apply_once`).

Order per journey: `add` takes a transaction-scoped advisory lock on the journey, so two
transactions touching one journey get outbox positions in commit order; the relay
publishes in position order, and one partition keeps that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind

from journey_platform.contracts import Contracts
from journey_platform.db import DATABASE_UNAVAILABLE, Connection
from journey_platform.envelope import TRACEPARENT, Event, encode
from journey_platform.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE
from journey_platform.tracing import context_from, current_traceparent, messaging, tracer

log = logging.getLogger(__name__)

# One relay publishes for a database at a time: two would interleave a journey's events.
RELAY_LOCK = 0x6F7574626F78  # "outbox"
# How often the relay measures its backlog for the metrics (a count over the partial
# index of unsent rows: cheap, but not worth doing on every 0.2 s poll).
MEASURE_EVERY_SECONDS = 5.0

AfterPublish = Callable[[Sequence[asyncpg.Record]], Awaitable[None]]


# What the relay outlives by trying again (the broker or the database did not answer).
MEASURE_RETRIES: tuple[type[Exception], ...] = (*DATABASE_UNAVAILABLE, asyncpg.PostgresError)
RELAY_RETRIES: tuple[type[Exception], ...] = (*MEASURE_RETRIES, KafkaError)


class NotInTransaction(RuntimeError):
    """Outbox rows must be written in the same transaction as the change they announce."""


class Outbox:
    """Writes events into the outbox table, validated against their contracts."""

    def __init__(self, contracts: Contracts) -> None:
        self.contracts = contracts

    async def add(self, conn: Connection, event: Event) -> None:
        """Validate `event` and stage it in the caller's transaction; raises ContractViolation."""
        if not conn.is_in_transaction():
            raise NotInTransaction("Outbox.add must run inside the business transaction")
        if event.traceparent is None:
            event = replace(event, traceparent=current_traceparent())
        record = encode(event, self.contracts)  # raises before anything is written
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", event.subject)
        await conn.execute(
            """INSERT INTO outbox
                   (event_id, event_type, topic, journey_id, headers, payload, traceparent)
               VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)""",
            uuid.UUID(event.id),
            event.type,
            record.topic,
            event.subject,
            json.dumps([[name, value.decode()] for name, value in record.headers]),
            record.value,
            event.traceparent,
        )


class OutboxRelay:
    """Publishes committed outbox rows to Kafka in order, then marks them sent."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.2,
        after_publish: AfterPublish | None = None,
    ) -> None:
        self.pool = pool
        self.producer = producer
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        # Called after Kafka acknowledged a batch and before it is marked sent: the
        # window in which a crash causes redelivery. Tests use it to crash there.
        self.after_publish = after_publish
        self._tracer = tracer(__name__)

    async def publish_batch(self) -> int:
        """Publish up to one batch of unsent rows; return how many were published."""
        # Polling every 0.2 s would make a trace of database spans per poll; the trace
        # that matters is the request's, which each row's publish span continues.
        with suppress_instrumentation():
            return await self._publish_batch()

    async def _publish_batch(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK):
                return 0  # another relay holds this database's outbox
            rows = await conn.fetch(
                """SELECT position, event_id, topic, journey_id, headers, payload, traceparent,
                          event_type
                   FROM outbox WHERE sent_at IS NULL ORDER BY position LIMIT $1""",
                self.batch_size,
            )
            if not rows:
                return 0
            deliveries = [await self._send(row) for row in rows]
            await asyncio.gather(*deliveries)  # every record acknowledged by all replicas
            if self.after_publish is not None:
                await self.after_publish(rows)
            await conn.execute(
                "UPDATE outbox SET sent_at = now() WHERE position = ANY($1::bigint[])",
                [row["position"] for row in rows],
            )
        log.debug("outbox batch published", extra={"count": len(rows)})
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[object]:
        # The send span is a child of the request that wrote the row, so the trace
        # crosses the outbox; its own context then travels on as the traceparent header.
        with self._tracer.start_as_current_span(
            f"{row['topic']} publish",
            context=context_from(row["traceparent"]),
            kind=SpanKind.PRODUCER,
            attributes={
                **messaging(row["topic"], "send", message_id=str(row["event_id"])),
                "cloudevents.event_type": row["event_type"],
            },
        ):
            headers = [(n, v.encode()) for n, v in json.loads(row["headers"]) if n != TRACEPARENT]
            traceparent = current_traceparent() or row["traceparent"]
            if traceparent:
                headers.append((TRACEPARENT, traceparent.encode()))
            future: asyncio.Future[object] = await self.producer.send(
                row["topic"], value=row["payload"], key=row["journey_id"].encode(), headers=headers
            )
            return future

    async def drain(self) -> int:
        """Publish until nothing is left; for graceful shutdown and tests."""
        total = 0
        while published := await self.publish_batch():
            total += published
        return total

    async def measure(self) -> None:
        """Set the backlog metrics: unsent rows, and how long the oldest has waited."""
        with suppress_instrumentation():  # no trace per measurement
            row = await self.pool.fetchrow(
                """SELECT count(*) AS rows,
                          coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age
                   FROM outbox WHERE sent_at IS NULL"""
            )
        assert row is not None
        OUTBOX_BACKLOG.set(row["rows"])
        OUTBOX_OLDEST_AGE.set(float(row["age"]))

    async def _measure_until(self, stop: asyncio.Event) -> None:
        # A loop of its own: when Kafka is down, publishing blocks, and that is exactly
        # when the oldest row's age must keep rising for the alert to fire.
        while not stop.is_set():
            try:
                await self.measure()
            except MEASURE_RETRIES as error:
                log.warning("outbox backlog not measured", extra={"error": type(error).__name__})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), MEASURE_EVERY_SECONDS)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set, then drain what is left."""
        measuring = asyncio.create_task(self._measure_until(stop))
        while not stop.is_set():
            try:
                published = await self.publish_batch()
            except RELAY_RETRIES as error:
                # Nothing was marked sent: the batch is published again (at least once;
                # consumers de-duplicate by event id) once the database and broker answer.
                log.warning("outbox relay retrying", extra={"error": type(error).__name__})
                published = 0
            except Exception:
                # Anything else a batch meets must not end the relay either: its task has
                # nobody to notice, so the API would go on answering 201 while nothing is
                # published (the fault suite saw a busy service's relay end without a word
                # when PostgreSQL stopped under it). Nothing was marked sent, so the batch
                # goes out again; the traceback says what it was.
                log.exception("outbox relay failed; retrying")
                published = 0
            if not published:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_interval)
        await measuring
        await self.drain()
