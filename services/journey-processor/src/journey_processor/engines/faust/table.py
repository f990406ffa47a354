"""The core over a faust table: what the faust agent calls for each record.

faust backs the table `journeys` with its own changelog, so state is written back after
every record. Outputs are at least once, with stable ids: faust flushes the producer
before it commits offsets, but the table's changelog can run ahead of the committed
offsets, so a record read again after a crash may find its state already applied and
publish nothing. Hence, when partitions move (a restart is a move), every journey's
latest outputs are published again with the ids they were first published with;
consumers de-duplicate on the CloudEvents id.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping

from opentelemetry.trace import SpanKind

from journey_platform.clock import CLOCK_TICKED
from journey_platform.envelope import Event
from journey_platform.tracing import context_from, current_traceparent, tracer
from journey_processor.core.events import JourneyEvent
from journey_processor.core.outputs import outputs
from journey_processor.core.processor import CLOCK_PREFIX, JourneyProcessor
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.state import JourneyState

log = logging.getLogger(__name__)

Emit = Callable[[Event], Awaitable[None]]


class TableProcessor:
    def __init__(self, book: RuleBook, journeys: MutableMapping[bytes, bytes], emit: Emit) -> None:
        self.book, self.journeys, self.emit = book, journeys, emit
        self.core = JourneyProcessor(book, lambda _, key: self.journeys.get(key))
        self._synced = False

    def forget_assignment(self) -> None:
        """Partitions moved: rebuild the agenda (and republish) when the next record comes."""
        self._synced = False

    async def handle(self, partition: int, event: Event) -> None:
        if not self._synced:
            await self._resync()
        if partition not in self.core.assigned:
            self.core.assign(partition, [])
        if event.type == CLOCK_TICKED:
            published = self.core.tick(partition, event.time)
        else:
            with tracer(__name__).start_as_current_span(
                "journey.process",
                context=context_from(event.traceparent),
                kind=SpanKind.CONSUMER,
                attributes={"cloudevents.event_id": event.id},
            ):
                journey_event = JourneyEvent(
                    event.id, event.type, event.time, event.recorded_time, event.data
                )
                published = self.core.apply(
                    partition, event.subject, journey_event, current_traceparent()
                )
        for output in published:
            await self.emit(output)
        for records in self.core.take_changes().values():
            for key, value in records:
                self.journeys[key] = value

    async def _resync(self) -> None:
        """Rebuild every partition's agenda from the table, and publish each journey's
        latest outputs again (a crash may have lost them)."""
        by_partition: dict[int, list[tuple[bytes, bytes]]] = defaultdict(list)
        for key, raw in list(self.journeys.items()):
            if key.startswith(CLOCK_PREFIX):
                by_partition[int(key[len(CLOCK_PREFIX) :])].append((key, raw))
                continue
            state = JourneyState.loads(raw)
            if state.partition is not None:
                by_partition[state.partition].append((key, raw))
            for output in outputs(state, state.latest(self.book), None):
                await self.emit(output)
        for partition in self.core.assigned:
            self.core.revoke(partition)
        for partition, stored in by_partition.items():
            self.core.assign(partition, stored)
        self._synced = True
        log.info("agenda rebuilt", extra={"partitions": sorted(by_partition)})
