"""The journey processor's core: journey events and clock ticks in, flags and outcomes out.

No Kafka and no faust here: an engine decodes each record, hands it to `apply` or `tick`
with its partition, publishes the events returned, and after each batch takes the
changed states (`take_changes`) to write to its changelog and local store. The same core
runs under every engine, in the benchmarks and in the property tests.

State per partition (journey topics are co-partitioned, so partition n of every topic
holds the same journeys):

- journey id -> the journey's state (journey_processor.core.state.JourneyState), read
  from the engine's store on first use and then kept decoded in a write-back cache;
- `clock-p<n>` -> the partition's latest tick.

A tick visits only the journeys due by then: a heap per partition of when each journey
next needs a tick, built when the partition is assigned, so ticks cost nothing for
journeys with nothing pending.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from journey_platform.envelope import Event
from journey_processor.core.events import JourneyEvent
from journey_processor.core.outputs import outputs
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.state import NEVER, JourneyState

log = logging.getLogger(__name__)

PROCESSOR = "journey-processor"  # the catalogue's name for this consumer
CLOCK_PREFIX = b"clock-p"

# Reads a journey's stored state (or a partition's clock) back: (partition, key) -> bytes.
Read = Callable[[int, bytes], bytes | None]


def clock_key(partition: int) -> bytes:
    return CLOCK_PREFIX + str(partition).encode()


@dataclass
class Counters:
    events: int = 0
    duplicates: int = 0
    ticks: int = 0
    journeys_visited_by_ticks: int = 0
    published: int = 0


@dataclass
class _Partition:
    """What the core keeps in memory for one assigned partition."""

    clock: float = float("-inf")
    clock_changed: bool = False
    cache: dict[str, JourneyState] = field(default_factory=dict)  # decoded states
    dirty: set[str] = field(default_factory=set)  # changed since the last take_changes
    wakeups: dict[str, float] = field(default_factory=dict)  # journey -> next wakeup
    due: list[tuple[float, str]] = field(default_factory=list)  # heap of (wakeup, journey)


class JourneyProcessor:
    """The step function over many journeys, partition by partition."""

    def __init__(self, book: RuleBook, read: Read, cache_limit: int = 50_000) -> None:
        self.book, self.read, self.cache_limit = book, read, cache_limit
        self.counters = Counters()
        self._partitions: dict[int, _Partition] = {}

    # -- assignment --------------------------------------------------------------------

    def assign(self, partition: int, stored: Iterable[tuple[bytes, bytes]]) -> None:
        """Take a partition on, given every key and value stored for it: builds its agenda."""
        held = _Partition()
        for key, raw in stored:
            if key.startswith(CLOCK_PREFIX):
                held.clock = float(raw)
                continue
            state = JourneyState.loads(raw)
            wakeup = state.next_wakeup(self.book)
            if wakeup != NEVER:
                held.wakeups[state.journey_id] = wakeup
                held.due.append((wakeup, state.journey_id))
        heapq.heapify(held.due)
        self._partitions[partition] = held
        log.info("partition assigned", extra={"partition": partition, "due": len(held.due)})

    def revoke(self, partition: int) -> None:
        """Forget a partition: it moved, or its uncommitted changes were aborted."""
        self._partitions.pop(partition, None)

    @property
    def assigned(self) -> frozenset[int]:
        return frozenset(self._partitions)

    # -- the step ----------------------------------------------------------------------

    def apply(
        self, partition: int, journey_id: str, event: JourneyEvent, traceparent: str | None
    ) -> list[Event]:
        """One journey event: the flags and outcome it changes, as events to publish."""
        held = self._partitions[partition]
        state = self._load(partition, held, journey_id)
        state.now = max(state.now, held.clock)
        changes = state.apply(event, self.book)
        self.counters.events += 1
        if changes.duplicate:
            self.counters.duplicates += 1
            return []
        self._touch(partition, held, state)
        published = list(outputs(state, changes, traceparent))
        self.counters.published += len(published)
        return published

    def tick(self, partition: int, moment: datetime) -> list[Event]:
        """A clock tick: the partition's clock moves on (never back), due journeys wake."""
        held = self._partitions[partition]
        self.counters.ticks += 1
        now = max(moment.timestamp(), held.clock)
        if now != held.clock:
            held.clock, held.clock_changed = now, True
        published: list[Event] = []
        while held.due and held.due[0][0] <= now:
            wakeup, journey_id = heapq.heappop(held.due)
            if held.wakeups.get(journey_id) != wakeup:
                continue  # superseded by a later entry
            state = self._load(partition, held, journey_id)
            changes = state.tick(datetime.fromtimestamp(now, UTC), self.book)
            self.counters.journeys_visited_by_ticks += 1
            self._touch(partition, held, state)
            published += outputs(state, changes, None)
        self.counters.published += len(published)
        return published

    def take_changes(self) -> dict[int, list[tuple[bytes, bytes]]]:
        """Every state and clock changed since the last call, encoded once, by partition:
        what the engine writes to its changelog (and, once committed, its local store)."""
        changed: dict[int, list[tuple[bytes, bytes]]] = {}
        for partition, held in self._partitions.items():
            records = [(j.encode(), held.cache[j].dumps()) for j in sorted(held.dirty)]
            if held.clock_changed:
                records.append((clock_key(partition), repr(held.clock).encode()))
            if records:
                changed[partition] = records
            held.dirty.clear()
            held.clock_changed = False
            if len(held.cache) > self.cache_limit:
                held.cache.clear()  # nothing is dirty now: the store has it all
        return changed

    # -- state -------------------------------------------------------------------------

    def _load(self, partition: int, held: _Partition, journey_id: str) -> JourneyState:
        state = held.cache.get(journey_id)
        if state is None:
            raw = self.read(partition, journey_id.encode())
            state = JourneyState.loads(raw) if raw is not None else JourneyState(journey_id)
            held.cache[journey_id] = state
        return state

    def _touch(self, partition: int, held: _Partition, state: JourneyState) -> None:
        state.partition = partition
        held.dirty.add(state.journey_id)
        wakeup = state.next_wakeup(self.book)
        if wakeup == NEVER:
            held.wakeups.pop(state.journey_id, None)
        elif held.wakeups.get(state.journey_id) != wakeup:
            held.wakeups[state.journey_id] = wakeup
            heapq.heappush(held.due, (wakeup, state.journey_id))
