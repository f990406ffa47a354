"""The sink: journey outcomes, drop-off flags and the journey event log, from Kafka into
the analytics database.

One consumer group (`analytics-sink`) reads journey.outcomes, journey.dropoffs and the
three journey topics. Each fetch is one batch: every record is decoded against its
contract (a record that is not a valid event goes to the dead-letter topic with the
reason, never skipped silently), the readable ones are written in one transaction of
idempotent upserts (see analytics.folding), and only after that transaction and the
dead-letter writes are durable are the offsets committed. Delivery is at least once,
the writes are idempotent, so the effect is once.

The event log keeps the envelope only (event id, journey, type, when it happened, when
it was recorded), never the event data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeAlias

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError

from analytics.config import MIGRATIONS, AnalyticsSettings
from analytics.folding import (
    OUTCOME,
    RAISED,
    RESOLVED,
    Flag,
    Position,
    fold_flag,
    newer_outcome,
    outcome_row,
)
from journey_api.service import API_MIGRATIONS
from journey_platform.consumer import dead_letter_headers
from journey_platform.contracts import Contracts, ContractViolation
from journey_platform.db import Connection, ensure_database
from journey_platform.envelope import Event, decode
from journey_platform.kafka import start_producer
from journey_platform.migrations import migrate

log = logging.getLogger(__name__)

JOURNEY_TOPICS = frozenset({"nrm.identification", "nrm.support", "nrm.criminal-justice"})
# aiokafka ships no type information: a ConsumerRecord[bytes, bytes].
Record: TypeAlias = Any
PROGRESS_EVERY_SECONDS = 10.0


@dataclass
class Batch:
    """What one fetch adds, already folded within the batch."""

    events: list[Event] = field(default_factory=list)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    flag_events: list[Event] = field(default_factory=list)

    def add(self, record: Record, event: Event) -> None:
        if event.type == OUTCOME:
            row = outcome_row(event, Position(record.partition, record.offset))
            if newer_outcome(self.outcomes.get(event.subject), row):
                self.outcomes[event.subject] = row
        elif event.type in (RAISED, RESOLVED):
            self.flag_events.append(event)
        elif record.topic in JOURNEY_TOPICS:
            self.events.append(event)


@dataclass
class Counters:
    records: int = 0
    dead_lettered: int = 0
    batches: int = 0


async def write(conn: Connection, batch: Batch) -> None:
    """Upsert a batch inside the caller's transaction; replaying it changes nothing."""
    if batch.events:
        await _write_events(conn, batch.events)
    if batch.outcomes:
        await _write_outcomes(conn, list(batch.outcomes.values()))
    if batch.flag_events:
        await _write_flags(conn, batch.flag_events)


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
        self.consumer = AIOKafkaConsumer(
            *(topics or settings.sink_topics),
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        reported, last = time.monotonic(), 0
        try:
            while not stop.is_set():
                fetched = await self.consumer.getmany(
                    timeout_ms=200, max_records=self.settings.sink_batch_size
                )
                if fetched:
                    await self.apply(fetched)
                if time.monotonic() - reported >= PROGRESS_EVERY_SECONDS:
                    rate = (self.counters.records - last) / (time.monotonic() - reported)
                    log.info(
                        "sink progress", extra={**asdict(self.counters), "per_second": round(rate)}
                    )
                    reported, last = time.monotonic(), self.counters.records
        finally:
            await self.consumer.stop()

    async def apply(self, fetched: dict[TopicPartition, list[Record]]) -> None:
        batch = Batch()
        dead_letters = []
        for records in fetched.values():
            for record in records:
                try:
                    event = decode(
                        topic=record.topic,
                        key=record.key,
                        value=record.value,
                        headers=record.headers,
                        contracts=self.contracts,
                    )
                except ContractViolation as violation:
                    dead_letters.append(await self._dead_letter(record, str(violation)))
                    continue
                batch.add(record, event)
        async with self.pool.acquire() as conn, conn.transaction():
            await write(conn, batch)
        await asyncio.gather(*dead_letters)  # every dead letter acknowledged
        self.counters.records += sum(len(r) for r in fetched.values())
        self.counters.dead_lettered += len(dead_letters)
        self.counters.batches += 1
        try:
            # Only now, with the effect durable, may the offsets move past these records.
            await self.consumer.commit(
                {tp: records[-1].offset + 1 for tp, records in fetched.items()}
            )
        except CommitFailedError:
            # The group rebalanced: another member re-reads these records, and the
            # upserts make that harmless.
            log.warning("offset commit failed after a rebalance; records will be re-read")

    async def _dead_letter(self, record: Record, reason: str) -> asyncio.Future[Any]:
        headers = dead_letter_headers(record, group_id=self.group_id, reason=reason)
        log.warning(
            "record dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
            },
        )
        future: asyncio.Future[Any] = await self.producer.send(
            self.settings.dead_letter_topic, value=record.value, key=record.key, headers=headers
        )
        return future


async def prepare(settings: AnalyticsSettings) -> asyncpg.Pool:
    """The analytics database, created and migrated, and a pool on it."""
    if settings.create_database:
        await ensure_database(settings.database_url)
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=10)
    async with pool.acquire() as conn:
        await migrate(conn, ("api", API_MIGRATIONS), (settings.service_name, MIGRATIONS))
    return pool


async def run_sink(settings: AnalyticsSettings, stop: asyncio.Event) -> None:
    """Run the sink until `stop` is set (the `journey-analytics sink` command)."""
    contracts = Contracts.load(settings.schemas_dir)
    pool = await prepare(settings)
    producer = await start_producer(
        settings.kafka_bootstrap_servers, f"{settings.service_name}-sink"
    )
    try:
        log.info("analytics sink started", extra={"group": settings.consumer_group("sink")})
        await Sink(settings=settings, contracts=contracts, pool=pool, producer=producer).run(stop)
    finally:
        await producer.stop()
        await pool.close()
