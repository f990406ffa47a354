"""The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent.

If the relay dies after publishing and before marking, the rows go out again on restart:
delivery is at-least-once, and consumers de-duplicate on the event id (see
`idempotence.apply_once`).

Sent rows are kept for a retention period (`outbox_retention_seconds`), then the relay
purges them, so the table holds the backlog and the recent past, not every event ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind

from journey_platform.db import DATABASE_UNAVAILABLE
from journey_platform.envelope import TRACEPARENT
from journey_platform.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE
from journey_platform.tracing import context_from, current_traceparent, messaging, tracer

log = logging.getLogger(__name__)

# One relay publishes for a database at a time: two would interleave a journey's events.
RELAY_LOCK = 0x6F7574626F78  # "outbox"
# How often the relay measures its backlog for the metrics (a count over the partial
# index of unsent rows: cheap, but not worth doing on every 0.2 s poll).
MEASURE_EVERY_SECONDS = 5.0
# How often the relay purges sent rows past their retention, and how many at most per
# statement (a short transaction: the writes adding rows never wait long on it).
PURGE_EVERY_SECONDS = 60.0
PURGE_BATCH = 5000

AfterPublish = Callable[[Sequence[asyncpg.Record]], Awaitable[None]]


# What the relay outlives by trying again (the broker or the database did not answer).
MEASURE_RETRIES: tuple[type[Exception], ...] = (*DATABASE_UNAVAILABLE, asyncpg.PostgresError)
RELAY_RETRIES: tuple[type[Exception], ...] = (*MEASURE_RETRIES, KafkaError)


class OutboxRelay:
    """Publishes committed outbox rows to Kafka in order, then marks them sent."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.2,
        retention: float = 3 * 24 * 3600,
        purge_every: float = PURGE_EVERY_SECONDS,
        after_publish: AfterPublish | None = None,
    ) -> None:
        self.pool = pool
        self.producer = producer
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retention = timedelta(seconds=retention)  # how long sent rows are kept
        self.purge_every = purge_every
        # Called after Kafka acknowledged a batch and before it is marked sent: the
        # window in which a crash causes redelivery. Tests use it to crash there.
        self.after_publish = after_publish
        self._tracer = tracer(__name__)
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Rows were committed to the outbox: publish them now, not at the next poll. A
        journey referred must reach the other services within a client's patience; polling
        alone added up to a whole poll interval to every event (bench/journey_propagation.py)."""
        self._woken.set()

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

    async def purge(self) -> int:
        """Delete the rows sent longer ago than the retention period; return how many.
        Without it the outbox would keep every event ever published."""
        purged = 0
        with suppress_instrumentation():
            while True:
                status = await self.pool.execute(
                    """DELETE FROM outbox WHERE position = ANY(ARRAY(
                           SELECT position FROM outbox WHERE sent_at < now() - $1::interval
                           ORDER BY sent_at LIMIT $2))""",
                    self.retention,
                    PURGE_BATCH,
                )
                deleted = int(status.rpartition(" ")[2])
                purged += deleted
                if deleted < PURGE_BATCH:
                    return purged

    async def _measure_until(self, stop: asyncio.Event) -> None:
        # A loop of its own: when Kafka is down, publishing blocks, and that is exactly
        # when the oldest row's age must keep rising for the alert to fire.
        next_purge = time.monotonic()
        while not stop.is_set():
            try:
                await self.measure()
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + self.purge_every
                    await self.purge()
            except MEASURE_RETRIES as error:
                log.warning(
                    "outbox backlog not measured or purged", extra={"error": type(error).__name__}
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), MEASURE_EVERY_SECONDS)

    async def _pause(self, stop: asyncio.Event) -> None:
        """Until the poll interval has passed, a write wakes the relay, or `stop` is set."""
        waits = [asyncio.ensure_future(self._woken.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(
                waits, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiting in waits:
                waiting.cancel()
        self._woken.clear()  # a wake during the next publish sets it again: none is lost

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
                await self._pause(stop)
        await measuring
        await self.drain()
