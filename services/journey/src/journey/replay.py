"""Replaying a journey log through Kafka as a live system would have seen it.

Events go out in the order they were recorded, with the clock's ticks between them (one
per journey partition, `mode: replay`), so that the processor sees late-recorded events
after the deadlines they miss. Used by the integration tests and the benchmark.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from aiokafka import AIOKafkaProducer

from journey.synthetic import ticks
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, encode


def tick_event(partition: int, moment: datetime, mode: str = "replay") -> Event:
    """A clock tick for one journey partition (send it to that partition explicitly)."""
    return Event(
        type="uk.nrm.clock.ticked",
        subject=f"clock-p{partition}",
        time=moment,
        data={"partition": partition, "mode": mode},
        source="clock",
        recorded_by="clock",
        recorded_time=moment,
    )


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
