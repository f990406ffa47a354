"""The sink: journey outcomes, drop-off flags and the journey event log, from Kafka into
the analytics database.

One consumer group (`analytics-sink`) reads journey.outcomes, journey.dropoffs and the
three journey topics. Each fetch is one batch: every record is decoded against its
contract (a record that is not a valid event goes to the dead-letter topic with the
reason, never skipped silently), the readable ones are written in one transaction of
idempotent upserts (see analytics.domain.folding), and only after that transaction and the
dead-letter writes are durable are the offsets committed. Delivery is at least once,
the writes are idempotent, so the effect is once.

The event log keeps the envelope only (event id, journey, type, when it happened, when
it was recorded), never the event data; of that, only the coded gender of a referral or
Duty to Notify report is kept (`journey_gender`), for the Home Office's quarterly tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind

from analytics.adapters.batch import Batch, Record, write
from analytics.config import MIGRATIONS, AnalyticsSettings
from journey_api.service import API_MIGRATIONS
from journey_platform.consumer import (
    DATABASE_RETRY_SECONDS,
    dead_letter_headers,
    expect_dead_letters,
    record_lag,
)
from journey_platform.contracts import Contracts
from journey_platform.db import DATABASE_UNAVAILABLE, create_pool, ensure_database
from journey_platform.envelope import decode_or_reason
from journey_platform.kafka import client_options, start_producer
from journey_platform.metrics import FLAGS_OPEN, SINK_RECORDS
from journey_platform.migrations import migrate
from journey_platform.tracing import links_to, messaging, tracer

# The sink process's name in its log lines and spans, as before it moved under adapters/
# (`__main__` logs its stop under it too).
NAME = "analytics.sink"
log = logging.getLogger(NAME)

PROGRESS_EVERY_SECONDS = 10.0
# How often the open-flags gauge is recounted (a GROUP BY over the flags table).
COUNT_OPEN_FLAGS_EVERY_SECONDS = 15.0


@dataclass
class Counters:
    records: int = 0
    dead_lettered: int = 0
    batches: int = 0


class Sink:
    """The consumer loop: fetch, decode (dead-letter the unreadable), write, commit."""

    def __init__(
        self,
        *,
        settings: AnalyticsSettings,
        contracts: Contracts,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        topics: Iterable[str] | None = None,
    ) -> None:
        self.settings = settings
        self.contracts = contracts
        self.pool = pool
        self.producer = producer
        self.group_id = settings.consumer_group("sink")
        self.counters = Counters()
        topics = list(topics or settings.sink_topics)
        expect_dead_letters(self.group_id, topics)
        self.consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **client_options(settings.kafka_security),
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        reported, last = time.monotonic(), 0
        counted = 0.0
        try:
            while not stop.is_set():
                fetched = await self.consumer.getmany(
                    timeout_ms=200, max_records=self.settings.sink_batch_size
                )
                if fetched:
                    await self._apply_when_database_answers(fetched)
                await record_lag(self.consumer, self.group_id)
                if time.monotonic() - counted >= COUNT_OPEN_FLAGS_EVERY_SECONDS:
                    with contextlib.suppress(*DATABASE_UNAVAILABLE):  # counted next time
                        await self.count_open_flags()
                    counted = time.monotonic()
                if time.monotonic() - reported >= PROGRESS_EVERY_SECONDS:
                    rate = (self.counters.records - last) / (time.monotonic() - reported)
                    log.info(
                        "sink progress", extra={**asdict(self.counters), "per_second": round(rate)}
                    )
                    reported, last = time.monotonic(), self.counters.records
        finally:
            await self.consumer.stop()

    async def _apply_when_database_answers(
        self, fetched: dict[TopicPartition, list[Record]]
    ) -> None:
        """Apply a fetch; while the database does not answer, nothing is committed, and the
        same records are read again after a pause (the upserts make that harmless)."""
        try:
            await self.apply(fetched)
        except DATABASE_UNAVAILABLE as error:
            log.warning(
                "database unavailable; records will be read again",
                extra={"error": type(error).__name__},
            )
            for tp, records in fetched.items():
                self.consumer.seek(tp, records[0].offset)
            await asyncio.sleep(DATABASE_RETRY_SECONDS)

    async def count_open_flags(self) -> None:
        """Set the open-flags gauge from the table (the sink holds every flag's state)."""
        with suppress_instrumentation():  # a periodic count, not a trace of its own
            rows = await self.pool.fetch(
                "SELECT rule_id, count(*) AS open FROM dropoff_flags"
                " WHERE status = 'open' GROUP BY rule_id"
            )
        FLAGS_OPEN.clear()  # a rule with no open flag left reads 0 by absence
        for row in rows:
            FLAGS_OPEN.labels(rule=row["rule_id"]).set(row["open"])

    async def apply(self, fetched: dict[TopicPartition, list[Record]]) -> None:
        batch = Batch(self.contracts.recorded_topics())
        dead_letters = []
        traced = []
        for records in fetched.values():
            for record in records:
                event = decode_or_reason(record, self.contracts)
                if isinstance(event, str):
                    dead_letters.append(await self._dead_letter(record, event))
                    continue
                batch.add(record, event)
                traced.append(event.traceparent)
        # The write in one span, linked to the traces of (some of) the batch's events.
        with tracer(NAME).start_as_current_span(
            "analytics-sink process",
            kind=SpanKind.CONSUMER,
            links=links_to(traced),
            attributes=messaging(
                ",".join(sorted({tp.topic for tp in fetched})),
                "process",
                group=self.group_id,
                count=sum(len(rs) for rs in fetched.values()),
            ),
        ):
            await self._write(fetched, batch, dead_letters)
        for tp, rs in fetched.items():
            SINK_RECORDS.labels(topic=tp.topic).inc(len(rs))

    async def _write(
        self,
        fetched: dict[TopicPartition, list[Record]],
        batch: Batch,
        dead_letters: list[asyncio.Future[Any]],
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await write(conn, batch)
        await asyncio.gather(*dead_letters)  # every dead letter acknowledged
        self.counters.records += sum(len(r) for r in fetched.values())
        self.counters.dead_lettered += len(dead_letters)
        self.counters.batches += 1
        try:
            # Only now, with the effect durable, may the offsets move past these records.
            # The position, not the last offset + 1: it also steps over the transaction
            # markers the processor's commits leave, so a caught-up sink shows no lag.
            await self.consumer.commit({tp: await self.consumer.position(tp) for tp in fetched})
        except CommitFailedError:
            # The group rebalanced: another member re-reads these records, and the
            # upserts make that harmless.
            log.warning("offset commit failed after a rebalance; records will be re-read")

    async def _dead_letter(self, record: Record, reason: str) -> asyncio.Future[Any]:
        headers = dead_letter_headers(record, group_id=self.group_id, reason=reason)
        future: asyncio.Future[Any] = await self.producer.send(
            self.settings.dead_letter_topic, value=record.value, key=record.key, headers=headers
        )
        return future


async def prepare(settings: AnalyticsSettings) -> asyncpg.Pool:
    """The analytics database, created and migrated, and a pool on it."""
    if settings.create_database:
        await ensure_database(settings.database_url)
    pool = await create_pool(
        settings.database_url,
        statement_span_ms=settings.db_statement_span_ms,
        min_size=1,
        max_size=10,
    )
    async with pool.acquire() as conn:
        await migrate(conn, ("api", API_MIGRATIONS), (settings.service_name, MIGRATIONS))
    return pool


async def run_sink(settings: AnalyticsSettings, stop: asyncio.Event) -> None:
    """Run the sink until `stop` is set (the `journey-analytics sink` command)."""
    contracts = Contracts.load(settings.schemas_dir)
    pool = await prepare(settings)
    producer = await start_producer(
        settings.kafka_bootstrap_servers, f"{settings.service_name}-sink", settings.kafka_security
    )
    try:
        log.info("analytics sink started", extra={"group": settings.consumer_group("sink")})
        await Sink(settings=settings, contracts=contracts, pool=pool, producer=producer).run(stop)
    finally:
        await producer.stop()
        await pool.close()
