"""Consuming events: decode and validate each record, dead-letter what cannot be read,
apply the rest (at most once, with `journey_platform.idempotence`), and commit offsets
only after the effect is durable.

Nothing is dropped silently and nothing crashes on bad input: a record that is not a
valid event goes, unchanged, to the dead-letter topic with the original topic,
partition, offset and the reason in headers, and the consumer commits past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from opentelemetry.trace import SpanKind

from journey_platform.contracts import Contracts
from journey_platform.db import DATABASE_UNAVAILABLE
from journey_platform.envelope import Event, decode_or_reason
from journey_platform.kafka import client_options
from journey_platform.metrics import CONSUMER_LAG, DEAD_LETTERS
from journey_platform.settings import KafkaSecurity
from journey_platform.tracing import context_from, links_to, messaging, tracer

log = logging.getLogger(__name__)
# How long a consumer waits before reading again what it could not apply while its
# database did not answer.
DATABASE_RETRY_SECONDS = 1.0

Handler = Callable[[Event], Awaitable[None]]
BatchHandler = Callable[[Sequence[Event]], Awaitable[None]]


class RejectedEvent(Exception):
    """Raised by a handler for a well-formed event it can never apply (it is dead-lettered)."""


class Origin(Protocol):
    """Where a consumed record came from (an aiokafka ConsumerRecord or a faust Message)."""

    topic: str
    partition: int
    offset: int
    headers: Any


# Why a record was dead-lettered, as a code from a closed list: the metric's label and
# the `dlq_reason` header. The free-text reason stays in `dlq_error`.
REASON_CODES = ("envelope", "body", "unknown-type", "rejected", "processing-failed")


def reason_code(reason: str) -> str:
    """The code of a dead-letter reason (see `decode_or_reason` and the consumers)."""
    if reason.startswith("envelope"):
        return "envelope"
    if reason.startswith("rejected by handler"):
        return "rejected"
    if reason.startswith("processing failed"):
        return "processing-failed"
    if reason.startswith(("unknown event type", "no schema for")) or "is on no topic" in reason:
        return "unknown-type"
    return "body"  # the data: not JSON, or breaking its event type's schema


def expect_dead_letters(group: str, topics: Iterable[str]) -> None:
    """Create a consumer's dead-letter series at 0 before any record fails: a counter
    that first appears at 1 shows no increase() in Prometheus, and the alert on any dead
    letter would miss the first one."""
    for topic in topics:
        for code in REASON_CODES:
            DEAD_LETTERS.labels(group=group, topic=topic, reason=code)


def dead_letter_headers(record: Origin, *, group_id: str, reason: str) -> list[tuple[str, bytes]]:
    """The original headers plus where the record came from and why it was rejected; the
    rejection is logged and counted here, once for every consumer."""
    code = reason_code(reason)
    log.warning(
        "record dead-lettered",
        extra={
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "reason": reason,
        },
    )
    DEAD_LETTERS.labels(group=group_id, topic=record.topic, reason=code).inc()
    original = record.headers or ()
    return [
        *(original.items() if isinstance(original, Mapping) else original),
        ("dlq_original_topic", record.topic.encode()),
        ("dlq_original_partition", str(record.partition).encode()),
        ("dlq_original_offset", str(record.offset).encode()),
        ("dlq_consumer_group", group_id.encode()),
        ("dlq_error", reason.encode()),
        ("dlq_reason", code.encode()),
        ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
    ]


class EventConsumer:
    """One consumer group's loop over some topics, with a dead-letter topic for bad records."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        topics: Sequence[str],
        contracts: Contracts,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        producer: AIOKafkaProducer,
        dead_letter_topic: str = "journey.deadletter",
        security: KafkaSecurity | None = None,
    ) -> None:
        self.group_id = group_id
        self.topics = list(topics)
        self.contracts = contracts
        if (handler is None) == (batch_handler is None):
            raise ValueError("give a handler or a batch_handler")
        # A batch handler cannot reject single events: it suits effects that accept any
        # valid event, such as learning which journeys exist.
        self.handler = handler
        self.batch_handler = batch_handler
        self.producer = producer
        self.dead_letter_topic = dead_letter_topic
        self.consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            **client_options(security),
        )
        self._tracer = tracer(__name__)
        # Records fetched and not yet applied, or seen on the broker beyond the position at
        # the last fetch: the consumer knows it is catching up (`catching_up`).
        self._behind = False
        expect_dead_letters(group_id, self.topics)

    def catching_up(self) -> bool:
        """Whether this consumer has records it knows of and has not applied yet. (A record
        written since its last fetch is not known here: false does not mean up to date.)"""
        return self._behind

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        try:
            while not stop.is_set():
                batches = await self.consumer.getmany(timeout_ms=200, max_records=500)
                self._behind = self._behind or any(batches.values())
                for partition, records in batches.items():
                    try:
                        await self._apply(partition, records)
                    except DATABASE_UNAVAILABLE as error:
                        # Nothing was committed: read the same records again once the
                        # database answers (each effect applies once, however redelivered).
                        log.warning(
                            "database unavailable; records will be read again",
                            extra={"group": self.group_id, "error": type(error).__name__},
                        )
                        self.consumer.seek(partition, records[0].offset)
                        await asyncio.sleep(DATABASE_RETRY_SECONDS)
                self._behind = await record_lag(self.consumer, self.group_id) > 0
        finally:
            await self.consumer.stop()

    async def _apply(
        self, partition: TopicPartition, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> None:
        readable = [(r, e) for r in records if (e := await self._decode(r))]
        if self.batch_handler is not None:
            await self._handle_batch(partition.topic, readable)
        else:
            for record, event in readable:
                await self._handle(record, event)
        # Commit only after every effect and dead-letter write is durable; the position
        # also steps over any transaction markers after the records.
        position = await self.consumer.position(partition)
        await self.consumer.commit({partition: position})

    async def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Event | None:
        """The record as an event, or None once it has been dead-lettered."""
        event = decode_or_reason(record, self.contracts)
        if isinstance(event, str):
            await self._dead_letter(record, event)
            return None
        return event

    async def _handle(self, record: ConsumerRecord[bytes, bytes], event: Event) -> None:
        assert self.handler is not None
        with self._tracer.start_as_current_span(
            f"{record.topic} process",
            context=context_from(event.traceparent),
            kind=SpanKind.CONSUMER,
            attributes={
                **messaging(
                    record.topic,
                    "process",
                    group=self.group_id,
                    message_id=event.id,
                    partition=record.partition,
                ),
                "messaging.kafka.offset": record.offset,
                "cloudevents.event_type": event.type,
            },
        ):
            try:
                await self.handler(event)
            except RejectedEvent as rejection:
                await self._dead_letter(record, f"rejected by handler: {rejection}")

    async def _handle_batch(
        self, topic: str, readable: Sequence[tuple[ConsumerRecord[bytes, bytes], Event]]
    ) -> None:
        assert self.batch_handler is not None
        if not readable:
            return
        # One span for the batch, linked to the traces of the events in it.
        with self._tracer.start_as_current_span(
            f"{topic} process",
            kind=SpanKind.CONSUMER,
            links=links_to(event.traceparent for _, event in readable),
            attributes=messaging(topic, "process", group=self.group_id, count=len(readable)),
        ):
            await self.batch_handler([event for _, event in readable])

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str) -> None:
        headers = dead_letter_headers(record, group_id=self.group_id, reason=reason)
        await self.producer.send_and_wait(
            self.dead_letter_topic, value=record.value, key=record.key, headers=headers
        )


async def record_lag(consumer: AIOKafkaConsumer, group: str) -> int:
    """Set the lag gauge of every partition assigned to `consumer`: the high watermark the
    last fetch saw minus the position; return the total. A partition not fetched from yet
    is left unset (its position may still be resetting, and asking for it would wait)."""
    total = 0
    for partition in consumer.assignment():
        highwater = consumer.highwater(partition)
        if highwater is not None:
            lag = highwater - await consumer.position(partition)
            set_lag(group, partition.topic, partition.partition, lag)
            total += max(0, lag)
    return total


def set_lag(group: str, topic: str, partition: int, lag: int) -> None:
    CONSUMER_LAG.labels(group=group, topic=topic, partition=str(partition)).set(max(0, lag))


def forget_lag(group: str, topic: str, partition: int) -> None:
    """A partition no longer assigned here: its new owner reports its lag."""
    with contextlib.suppress(KeyError):
        CONSUMER_LAG.remove(group, topic, str(partition))
