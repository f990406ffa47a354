"""Replaying a journey log through Kafka as a live system would have seen it.

Events go out in the order they were recorded, with the clock's ticks between them (one
per journey partition, `mode: replay`), so that the processor sees late-recorded events
after the deadlines they miss. Used by the integration tests and the benchmark, with the
simulator's offline log (`journey_simulator.eventlog.generate`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from aiokafka import AIOKafkaProducer

from journey_platform.clock import tick_event
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, encode

TICKS_AFTER_LAST_RECORDING = timedelta(days=400)  # long enough for every deadline to pass


def ticks(
    events: Sequence[Event],
    *,
    every: timedelta,
    partitions: int,
    until: datetime | None = None,
) -> list[tuple[int, datetime]]:
    """(partition, clock time) pairs: one tick per partition every `every` from the earliest
    event time to `until` (default: latest recorded_time + 400 days), in time order.

    The last tick falls at or after `until`, so the whole range is covered.
    """
    if every <= timedelta(0) or partitions < 1:
        raise ValueError("ticks need a positive interval and at least one partition")
    if not events:
        return []
    moment = min(event.time for event in events)
    if until is None:
        until = max(event.recorded_time for event in events) + TICKS_AFTER_LAST_RECORDING
    pairs: list[tuple[int, datetime]] = []
    while True:
        pairs += [(partition, moment) for partition in range(partitions)]
        if moment >= until:
            return pairs
        moment += every


def replay_order(
    events: Sequence[Event], *, every: timedelta, partitions: int
) -> tuple[list[Event | tuple[int, datetime]], datetime]:
    """Events in recorded order with the clock's ticks between them, as a live system
    would see them; returns the sequence and the last tick's time."""
    clock = ticks(events, every=every, partitions=partitions)
    merged: list[tuple[datetime, int, Event | tuple[int, datetime]]] = [
        (e.recorded_time, 0, e) for e in events
    ]
    merged += [(moment, 1, (partition, moment)) for partition, moment in clock]
    merged.sort(key=lambda item: (item[0], item[1]))
    return [item for _, _, item in merged], clock[-1][1]


async def send(
    producer: AIOKafkaProducer, contracts: Contracts, items: Iterable[Event | tuple[int, datetime]]
) -> None:
    pending = []
    for item in items:
        if isinstance(item, Event):
            record = encode(item, contracts)
            partition = None
        else:
            record, partition = encode(tick_event(*item), contracts), item[0]
        pending.append(
            await producer.send(
                record.topic,
                record.value,
                key=record.key,
                headers=record.headers,
                partition=partition,
            )
        )
        if len(pending) >= 5000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
