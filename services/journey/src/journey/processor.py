"""The journey processor's core: journey events and clock ticks in, flags and outcomes out.

Independent of faust so that it reads plainly: the faust application (journey.app) hands
it each record with its partition, and gives it two key-value stores that faust backs
with changelog topics:

- journey id -> the journey's state (journey.state.JourneyState);
- "clock-p<n>" -> the latest tick seen on partition n.

A tick visits only the journeys due by then: an in-memory heap per partition of when each
journey next needs a tick, rebuilt from the table after every assignment, so ticks cost
nothing for journeys with nothing pending.

Outputs are at least once, with stable ids. Faust flushes the producer before it commits
offsets, so only records after the last commit can have lost their outputs, and those
are redelivered after a crash. When a partition is first seen after an assignment (which
a restart is), its journeys' latest outputs are published again with the ids they were
first published with; consumers de-duplicate on the CloudEvents id, and journey.outcomes
is compacted.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import SpanKind

from journey.oracle import JourneyEvent
from journey.rulebook import RuleBook
from journey.state import NEVER, Changes, Dropoff, JourneyState
from journey_platform.envelope import Event, rfc3339
from journey_platform.tracing import context_from, current_traceparent, tracer

log = logging.getLogger(__name__)

JOURNEY_TOPICS = ("nrm.identification", "nrm.support", "nrm.criminal-justice")
CLOCK_TOPIC = "journey.clock"
CLOCK_TICKED = "uk.nrm.clock.ticked"
SOURCE = "journey-processor"
PROCESSOR = "journey-processor"

Store = MutableMapping[bytes, bytes]
Emit = Callable[[Event], Awaitable[None]]


def _clock_key(partition: int) -> bytes:
    return f"clock-p{partition}".encode()


@dataclass
class Counters:
    events: int = 0
    duplicates: int = 0
    ticks: int = 0
    journeys_visited_by_ticks: int = 0
    published: int = 0
    republished: int = 0


@dataclass
class JourneyProcessor:
    book: RuleBook
    journeys: Store
    emit: Emit
    counters: Counters = field(default_factory=Counters)
    # When each journey next needs a tick, and per partition a heap of (time, journey):
    # kept in memory, rebuilt from the journeys after every assignment.
    _wakeups: dict[str, float] = field(default_factory=dict)
    _due: dict[int, list[tuple[float, str]]] = field(default_factory=dict)
    _clocks: dict[int, float] = field(default_factory=dict)  # a cache of the table's clocks
    _synced: bool = False

    def forget_assignment(self) -> None:
        """Partitions moved: rebuild the agenda (and republish) when the next record comes."""
        self._synced = False

    async def handle(self, partition: int, event: Event) -> None:
        """One decoded record from a journey topic or the clock topic."""
        if not self._synced:
            await self._resync()
        if event.type == CLOCK_TICKED:
            await self._tick(partition, event.time)
            return
        with tracer(__name__).start_as_current_span(
            "journey.process",
            context=context_from(event.traceparent),
            kind=SpanKind.CONSUMER,
            attributes={"cloudevents.event_id": event.id, "cloudevents.event_type": event.type},
        ):
            await self._apply(partition, event)

    async def _apply(self, partition: int, event: Event) -> None:
        state = self._load(event.subject)
        state.now = max(state.now, self._clock(partition))
        changes = state.apply(
            JourneyEvent(event.id, event.type, event.time, event.recorded_time, event.data),
            self.book,
        )
        self.counters.events += 1
        if changes.duplicate:
            self.counters.duplicates += 1
            return
        await self._publish(state, changes)
        self._save(partition, state)

    async def _tick(self, partition: int, now: datetime) -> None:
        self.counters.ticks += 1
        moment = max(now.timestamp(), self._clock(partition))
        self.journeys[_clock_key(partition)] = repr(moment).encode()
        self._clocks[partition] = moment
        due = self._due.setdefault(partition, [])
        while due and due[0][0] <= moment:
            wakeup, journey_id = heapq.heappop(due)
            if self._wakeups.get(journey_id) != wakeup:
                continue  # superseded by a later entry
            state = self._load(journey_id)
            changes = state.tick(datetime.fromtimestamp(moment, UTC), self.book)
            self.counters.journeys_visited_by_ticks += 1
            await self._publish(state, changes)
            self._save(partition, state)

    async def _resync(self) -> None:
        """Rebuild the agenda from the journeys this worker holds, and publish their latest
        outputs again (a crash may have lost them)."""
        self._wakeups.clear()
        self._due.clear()
        self._clocks.clear()
        for key, raw in list(self.journeys.items()):
            if key.startswith(b"clock-"):
                continue
            state = JourneyState.loads(raw)
            self._schedule(state)
            republished = state.latest(self.book)
            self.counters.republished += len(republished.dropoffs) + (
                republished.outcome is not None
            )
            await self._publish(state, republished)
        self._synced = True
        log.info("agenda rebuilt", extra={"journeys": len(self._wakeups)})

    # -- state -------------------------------------------------------------------------

    def _clock(self, partition: int) -> float:
        """The partition's clock; read from the table once per assignment, not per record."""
        if partition not in self._clocks:
            stored = self.journeys.get(_clock_key(partition))
            self._clocks[partition] = float(stored) if stored is not None else float("-inf")
        return self._clocks[partition]

    def _load(self, journey_id: str) -> JourneyState:
        raw = self.journeys.get(journey_id.encode())
        return JourneyState.loads(raw) if raw is not None else JourneyState(journey_id)

    def _save(self, partition: int, state: JourneyState) -> None:
        state.partition = partition
        self.journeys[state.journey_id.encode()] = state.dumps()
        self._schedule(state)

    def _schedule(self, state: JourneyState) -> None:
        wakeup = state.next_wakeup(self.book)
        if wakeup == NEVER:
            self._wakeups.pop(state.journey_id, None)
        elif self._wakeups.get(state.journey_id) != wakeup and state.partition is not None:
            self._wakeups[state.journey_id] = wakeup
            heapq.heappush(self._due.setdefault(state.partition, []), (wakeup, state.journey_id))

    # -- outputs -----------------------------------------------------------------------

    async def _publish(self, state: JourneyState, changes: Changes) -> None:
        for event in outputs(state, changes):
            self.counters.published += 1
            await self.emit(event)


def outputs(state: JourneyState, changes: Changes) -> Iterable[Event]:
    """The journey.dropoffs and journey.outcomes events for a journey's changes."""
    traceparent = current_traceparent()
    now = datetime.fromtimestamp(state.now, UTC) if state.now != float("-inf") else None
    for dropoff in changes.dropoffs:
        yield Event(
            type=f"uk.nrm.dropoff.{dropoff.kind}",
            subject=state.journey_id,
            time=dropoff.time,
            data=dropoff_data(dropoff),
            source=SOURCE,
            recorded_by=PROCESSOR,
            id=dropoff.event_id,
            recorded_time=max(now or dropoff.time, dropoff.time),
            traceparent=traceparent,
        )
    if changes.outcome is not None and changes.outcome_id is not None:
        latest = max((h[1] for h in state.events.values() if h is not None), default=state.now)
        moment = datetime.fromtimestamp(max(latest, state.now), UTC)
        yield Event(
            type="uk.nrm.journey.outcome",
            subject=state.journey_id,
            time=moment,
            data=changes.outcome,
            source=SOURCE,
            recorded_by=PROCESSOR,
            id=changes.outcome_id,
            recorded_time=moment,
            traceparent=traceparent,
        )


def dropoff_data(dropoff: Dropoff) -> dict[str, Any]:
    data: dict[str, Any] = {
        "flag_id": dropoff.flag_id,
        "rule_id": dropoff.rule.id,
        "stage": str(dropoff.rule.stage),
        "severity": str(dropoff.rule.severity),
        "started_by": dropoff.started_by,
        "due_at": rfc3339(dropoff.due_at),
        "sequence": dropoff.sequence,
    }
    if dropoff.kind == "resolved":
        assert dropoff.resolved_at is not None
        data |= {
            "resolved_at": rfc3339(dropoff.resolved_at),
            "resolution": dropoff.resolution,
            "resolved_by": dropoff.resolved_by,
        }
    return data
