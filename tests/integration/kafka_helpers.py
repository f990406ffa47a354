"""Reading topics in tests: poll with a deadline, never sleep."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition

from journey_platform.contracts import Contracts
from journey_platform.kafka import client_options, read_to_end
from journey_platform.settings import find_schemas_dir

# aiokafka ships no type information: records are typed loosely here.
Record: TypeAlias = Any


def header(record: Record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return str(value.decode())
    return None


async def collect(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Record]], bool],
    keep: Callable[[Record], bool] = lambda _: True,
    timeout: float = 60,
) -> list[Record]:
    """Read `topic` from the beginning, keeping matching records, until `until` holds.

    Raises AssertionError with what was seen if the deadline passes first.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",  # what an aborted transaction wrote never counts
        **client_options(),
    )
    await consumer.start()
    kept: list[Record] = []
    try:
        deadline = time.monotonic() + timeout
        while not until(kept):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out on {topic}; kept {len(kept)} records")
            batches = await consumer.getmany(timeout_ms=250)
            kept.extend(r for records in batches.values() for r in records if keep(r))
    finally:
        await consumer.stop()
    return kept


async def read_all(
    bootstrap: str, topic: str, since: dict[TopicPartition, int] | None = None
) -> list[Record]:
    """Every committed record on `topic` (from the `since` offsets, if given) up to its last
    stable offsets when the call starts."""
    count = Contracts.load(find_schemas_dir()).topics[topic].partitions
    partitions = [TopicPartition(topic, p) for p in range(count)]
    return [r async for batch in read_to_end(bootstrap, partitions, since=since) for r in batch]


async def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
    """The current end offset of every partition of `topics`."""
    catalogue = Contracts.load(find_schemas_dir()).topics
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **client_options())
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p) for topic in topics for p in range(catalogue[topic].partitions)
        ]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def start_at_end(bootstrap: str, group: str, topic: str) -> None:
    """Commit the topic's current end offsets for a new consumer group.

    A test session's services are a fresh deployment with groups of their own; starting
    them at the end of the topic (deterministically, not with a racy 'latest' reset)
    spares them replaying what earlier runs left on a long-lived development broker.
    """
    await start_group_at(bootstrap, group, await end_offsets(bootstrap, [topic]))


async def start_group_at(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit these offsets for a new consumer group: where its first member starts."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **client_options()
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def transaction_open(bootstrap: str, partitions: Sequence[TopicPartition]) -> bool:
    """Whether a transaction holds one of `partitions` open: its last stable offset (the
    end a read_committed reader sees) is behind its end."""
    ends: list[dict[TopicPartition, int]] = []
    for isolation in ("read_uncommitted", "read_committed"):
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, isolation_level=isolation, **client_options()
        )
        await consumer.start()
        try:
            ends.append(await consumer.end_offsets(list(partitions)))
        finally:
            await consumer.stop()
    end, stable = ends
    return any(stable[tp] < end[tp] for tp in end)
