"""The history a what-if replays, read from the topics, and one what-if run over it.

The journey topics, the clock's ticks and the flags actually published (journey.dropoffs)
are read with a plain reader and no consumer group. The analytics database keeps no event
data (only the envelope: the rules read fields such as a decision's outcome), so the
topics are the only store of the history that can be replayed. `evaluate` is the one
implementation behind `journey whatif` and `POST /v1/whatif`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from analytics.domain.period import Period
from analytics.domain.whatif import RuleDifference, differences, flags_of, one_way, replay
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, decode_or_reason
from journey_platform.kafka import client_options, read_to_end
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import load

CLOCK, FLAGS = "journey.clock", "journey.dropoffs"
Overrides = Mapping[str, Mapping[str, int]]  # rule id -> within (hours, days, working_days)


@dataclass
class History:
    events: list[Event]
    ticks: list[datetime]
    flags: list[Event]


async def _read(bootstrap: str, topics: Sequence[str], contracts: Contracts) -> list[Event]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    ]
    events: list[Event] = []
    async for batch in read_to_end(bootstrap, partitions):
        for record in batch:
            decoded = decode_or_reason(record, contracts)
            if isinstance(decoded, Event):  # an unreadable record is the dead letters' business
                events.append(decoded)
    return events


async def history(
    bootstrap: str, contracts: Contracts, period: Period, until: datetime | None = None
) -> History:
    """The journeys whose first event falls in the period: their events, the clock's ticks
    from the first of them (up to `until`, if given), and the flags actually published."""
    events = await _read(bootstrap, sorted(contracts.recorded_topics()), contracts)
    first: dict[str, datetime] = {}
    for event in events:
        first[event.subject] = min(first.get(event.subject, event.time), event.time)
    start, end = period.bounds()
    chosen = {
        j for j, t in first.items() if (start is None or t >= start) and (end is None or t < end)
    }
    ticks = sorted({e.time for e in await _read(bootstrap, [CLOCK], contracts)})
    earliest = min((first[j] for j in chosen), default=None)
    return History(
        events=[e for e in events if e.subject in chosen],
        ticks=[
            t
            for t in ticks
            if earliest is not None and t >= earliest and (until is None or t <= until)
        ],
        flags=[e for e in await _read(bootstrap, [FLAGS], contracts) if e.subject in chosen],
    )


def book(contracts: Contracts, deployed: Overrides, override: Overrides) -> RuleBook:
    """The catalogue under the deployment's thresholds, then the override's; an override
    the catalogue does not allow raises CatalogueError (a ValueError) saying why."""
    return RuleBook.of(load(contracts, overrides={**deployed, **override}).values())


def structural(
    contracts: Contracts, deployed: Overrides, override: Overrides
) -> dict[str, frozenset[str]]:
    """Per overridden rule, the differences its new deadline cannot make (whatif.one_way)."""
    before = load(contracts, overrides=deployed)
    after = load(contracts, overrides={**deployed, **override})
    found = {}
    for rule_id in override:
        was, now = before[rule_id].within, after[rule_id].within
        if was is not None and now is not None:
            found[rule_id] = one_way(was, now)
    return found


async def evaluate(
    *,
    bootstrap: str,
    contracts: Contracts,
    chosen: RuleBook,
    period: Period,
    until: datetime | None,
) -> tuple[dict[str, RuleDifference], dict[str, float]]:
    """The differences per rule, before disclosure control (analytics.domain.whatif.answer), and
    how long reading and replaying took, over how many events and ticks (for the operator:
    a count of events in a small period is about few people, so the API does not serve
    it). The replay, pure CPU, runs off the event loop."""
    began = time.perf_counter()
    found = await history(bootstrap, contracts, period, until)
    read = time.perf_counter()
    whatif = await asyncio.to_thread(replay, found.events, found.ticks, chosen)
    rules = differences(flags_of(found.flags), whatif)
    done = time.perf_counter()
    timing = {
        "read_seconds": read - began,
        "replay_seconds": done - read,
        "events": len(found.events),
        "ticks": len(found.ticks),
    }
    return rules, timing
