"""One transaction's records: decoded, run through the core, outputs produced.

A transaction takes one batch of records, or, behind a backlog, a few (`add`), each
processed under a span of its own.

Records that are not events or break their contract go to the dead-letter topic with
the reason, inside the same transaction (so exactly once too). A record whose processing
raises is a bug, not bad input: the transaction is aborted (its journey's state may be
half-changed), the record is remembered, and when the batch is read again it goes to the
dead-letter topic instead, so one bad record never stops a partition or is lost silently.

Tracing costs one span per batch, not per record: `journey.process`, a child of the first
record that carries a trace, linked to the others. Each output carries the trace of the
record that caused it, so a trace still runs from a partner's request to its flag. A
batch's flags are published in one `journey.dropoffs send` span per trace they continue
(linked to the batch span), with an event per flag naming it (`journey.flag_id`, which
Jaeger searches like a span attribute): a replayed batch raising hundreds of flags makes
a few spans, not hundreds. Outputs of a clock tick, and live ticks, carry the batch's
trace: every record the processor writes has one `traceparent`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from confluent_kafka import Message, Producer, TopicPartition
from opentelemetry.sdk.trace import SpanLimits
from opentelemetry.trace import Link, Span, SpanKind

from journey_platform.clock import CLOCK_TICKED, tick_event
from journey_platform.consumer import dead_letter_headers
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, decode_or_reason, encode
from journey_platform.tracing import (
    context_from,
    current_traceparent,
    links_to,
    messaging,
    tracer,
)
from journey_processor.core.events import JourneyEvent

if TYPE_CHECKING:
    from journey_processor.core.processor import JourneyProcessor

log = logging.getLogger(__name__)
DROPOFF = "uk.nrm.dropoff."  # + raised | resolved | retracted
TRACER = tracer(__name__)  # a proxy until telemetry starts: looked up once, not per span
# Flags (span events) per send span, within what the SDK keeps of a span's events
# (OTEL_SPAN_EVENT_COUNT_LIMIT, 128 by default): it drops the rest, and a flag's
# publication must never be unfindable.
FLAGS_PER_SPAN = min(100, SpanLimits().max_events or 100)


class ProcessingFailed(Exception):
    """The core raised on a record; the transaction must be aborted."""


@dataclass
class Record:
    """A consumed record, typed: what the rest of the engine reads of a Message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, str | bytes | None]]

    @classmethod
    def of(cls, message: Message) -> Record:
        raw = message.headers() or []
        pairs = raw.items() if isinstance(raw, dict) else raw
        return cls(
            topic=str(message.topic()),
            partition=int(message.partition() or 0),
            offset=int(message.offset() or 0),
            key=_bytes(message.key()),
            value=_bytes(message.value()),
            headers=list(pairs),  # as librdkafka gives them: a header may have no value
        )


class Batch:
    def __init__(
        self,
        messages: Sequence[Message],
        *,
        core: JourneyProcessor,
        producer: Producer,
        contracts: Contracts,
        settings_group: str,
        dead_letter_topic: str,
        validate_outputs: bool,
        poison: dict[tuple[str, int, int], str],
    ) -> None:
        self.core, self.producer, self.contracts = core, producer, contracts
        self.group, self.dead_letter_topic = settings_group, dead_letter_topic
        self.validate_outputs, self.poison = validate_outputs, poison
        self.records: list[Record] = []
        self._pending: list[Record] = []  # added, not processed yet
        # Where to seek back to after an abort, and the offsets the transaction commits.
        self._first: dict[tuple[str, int], int] = {}
        self._after: dict[tuple[str, int], int] = {}
        self.add(messages)
        # Flags published, by (raised | resolved | retracted, rule): counted in the
        # metrics once the transaction commits, so an aborted batch is not counted twice.
        self.flags: Counter[tuple[str, str]] = Counter()
        self.traceparent: str | None = None  # the batch span's, for the changelog records
        self._batch_link: list[Link] = []  # to the batch span, from each send span
        # The open `journey.dropoffs send` span of each trace flags continue, its
        # traceparent (what those flags carry) and how many flags it holds.
        self._sends: dict[str | None, tuple[Span, str | None, int]] = {}

    def add(self, messages: Sequence[Message]) -> None:
        """More records for the same transaction (processed by the next `process`)."""
        records = [Record.of(m) for m in messages if not _failed(m)]
        for record in records:
            where = (record.topic, record.partition)
            self._first.setdefault(where, record.offset)
            self._after[where] = record.offset + 1
        self.records += records
        self._pending += records

    @property
    def first_offsets(self) -> list[TopicPartition]:
        return [TopicPartition(t, p, o) for (t, p), o in self._first.items()]

    @property
    def offsets(self) -> list[TopicPartition]:
        return [TopicPartition(t, p, o) for (t, p), o in self._after.items()]

    def process(self, live_ticks: Sequence[int] = ()) -> None:
        """Run the records added since the last call through the core, under one span."""
        pending, self._pending = self._pending, []
        decoded = [(record, self._decode(record)) for record in pending]
        traced = [e.traceparent for _, e in decoded if isinstance(e, Event) and e.traceparent]
        with TRACER.start_as_current_span(
            "journey.process",
            context=context_from(traced[0] if traced else None),
            kind=SpanKind.CONSUMER,
            links=links_to(traced[1:]),
            attributes=messaging(
                ",".join(sorted({r.topic for r in pending})) or "journey.clock",
                "process",
                group=self.group,
                count=len(decoded),
            ),
        ) as span:
            self.traceparent = current_traceparent()
            batch = span.get_span_context()
            # A flag's span is in the trace of what caused it, linked to the batch that
            # decided it (a batch is a child of only one of its records' traces).
            self._batch_link = [Link(batch)] if batch.is_valid else []
            ours = batch.trace_id
            try:
                for record, event in decoded:
                    if isinstance(event, str):
                        self._dead_letter(record, event)
                    else:
                        self._apply(record, event, _continue(event.traceparent, ours))
                now = datetime.now(UTC)
                for partition in live_ticks:
                    self._produce(tick_event(partition, now, mode="live"), partition)
            finally:
                for send, _, _ in self._sends.values():
                    send.end()
                self._sends.clear()  # the next `process` is a span of its own

    # -- records -----------------------------------------------------------------------

    def _decode(self, record: Record) -> Event | str:
        """The event, or why the record goes to the dead-letter topic."""
        known = self.poison.get((record.topic, record.partition, record.offset))
        return known if known is not None else decode_or_reason(record, self.contracts)

    def _apply(self, record: Record, event: Event, traceparent: str | None) -> None:
        partition = record.partition
        try:
            if event.type == CLOCK_TICKED:
                outputs = self.core.tick(partition, event.time)
            else:
                journey_event = JourneyEvent(
                    event.id, event.type, event.time, event.recorded_time, event.data
                )
                outputs = self.core.apply(partition, event.subject, journey_event, traceparent)
        except Exception as error:
            where = (record.topic, partition, record.offset)
            self.poison[where] = f"processing failed: {type(error).__name__}"
            log.exception("processing failed", extra={"event_id": event.id})
            raise ProcessingFailed(str(error)) from error
        for output in outputs:
            self._produce(output, partition)

    def _produce(self, event: Event, partition: int) -> None:
        if event.traceparent is None:  # an output of a tick: the batch's trace
            event = replace(event, traceparent=self.traceparent)
        if not event.type.startswith(DROPOFF):
            self._send(event, partition)
            return
        # A flag is what a partner acts on: its publication is in the trace of what
        # caused it, as an event of that trace's send span, found by the flag's id.
        kind, rule = event.type.removeprefix(DROPOFF), str(event.data["rule_id"])
        span, traceparent = self._send_span(event.traceparent)
        span.add_event(
            "flag published",
            {
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
                "journey.rule_id": rule,
                "journey.flag_id": str(event.data["flag_id"]),
            },
        )
        self._send(replace(event, traceparent=traceparent), partition)
        self.flags[kind, rule] += 1

    def _send_span(self, cause: str | None) -> tuple[Span, str | None]:
        """The send span for one more flag continuing the trace `cause`: the open one, or
        a new one when there is none or it holds as many events as a span keeps."""
        span, traceparent, flags = self._sends.get(cause, (None, None, 0))
        if span is None or flags == FLAGS_PER_SPAN:
            if span is not None:
                span.end()
            span = TRACER.start_span(
                "journey.dropoffs send",
                context=context_from(cause),
                kind=SpanKind.PRODUCER,
                links=self._batch_link,
                attributes=messaging("journey.dropoffs", "send"),
            )
            traceparent, flags = _traceparent(span), 0
        span.set_attribute("messaging.batch.message_count", flags + 1)
        self._sends[cause] = (span, traceparent, flags + 1)
        return span, traceparent

    def _send(self, event: Event, partition: int) -> None:
        record = encode(event, self.contracts, validate=self.validate_outputs)
        # Outputs are co-partitioned with the journey topics: same partition number.
        self.producer.produce(
            record.topic,
            record.value,
            record.key,
            partition=partition,
            headers=list(record.headers),
        )

    def _dead_letter(self, record: Record, reason: str) -> None:
        headers = dead_letter_headers(record, group_id=self.group, reason=reason)
        self.producer.produce(
            self.dead_letter_topic, record.value, record.key, headers=list(headers)
        )


def _bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _failed(message: Message) -> bool:
    error = message.error()
    if error is not None:
        log.warning("consumer error", extra={"error": str(error)})
    return error is not None


def _traceparent(span: Span) -> str | None:
    """The W3C traceparent of `span` (what the propagator would inject were it current)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def _continue(traceparent: str | None, batch_trace: int) -> str | None:
    """The trace an output carries: this batch's span where the record is in its trace
    (so the span sits between the request and the flag), else the record's own."""
    try:
        ours = traceparent is not None and int(traceparent.split("-")[1], 16) == batch_trace
    except (IndexError, ValueError):
        ours = False  # not a W3C traceparent: passed on as it came
    return current_traceparent() if ours else traceparent
