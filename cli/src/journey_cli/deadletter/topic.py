"""Reading the dead-letter topic and publishing replays: a reader with no consumer group
(nothing committed, no consumer's position disturbed) and the platform's idempotent
producer. The caller bounds the time (asyncio.timeout); every poll returns within 500 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from journey_cli.deadletter.records import (
    DeadLetter,
    DeadLetterId,
    Record,
    Refused,
    Replay,
    printable,
)
from journey_platform.kafka import client_options, read_to_end, start_producer


def _reader(bootstrap_servers: str) -> AIOKafkaConsumer:
    # No group: nothing is committed, and reading never disturbs a consumer's position.
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        **client_options(),
    )


async def read_dead_letters(
    bootstrap_servers: str, *, topic: str, partitions: int
) -> list[DeadLetter]:
    """Every dead letter on `topic` up to its end when the call starts, described by its
    headers; each record's key and value are dropped as soon as it is read."""
    assigned = [TopicPartition(topic, p) for p in range(partitions)]
    return [
        DeadLetter.of(record)
        async for batch in read_to_end(bootstrap_servers, assigned)
        for record in batch
    ]


async def fetch(
    bootstrap_servers: str, *, topic: str, partitions: int, ids: Sequence[DeadLetterId]
) -> list[Record]:
    """The records at exactly these ids, in the order given; Refused if one is not there."""
    for id_ in ids:  # before the consumer starts (aiokafka 0.14 fails to stop one never assigned)
        if id_.partition >= partitions:
            raise Refused(f"no dead letter {id_}: {topic} has partitions 0 to {partitions - 1}")
    consumer = _reader(bootstrap_servers)
    await consumer.start()
    try:
        return [
            await _fetch_one(consumer, TopicPartition(topic, id_.partition), id_) for id_ in ids
        ]
    finally:
        await consumer.stop()


async def _fetch_one(
    consumer: AIOKafkaConsumer, partition: TopicPartition, id_: DeadLetterId
) -> Record:
    consumer.assign([partition])
    first = (await consumer.beginning_offsets([partition]))[partition]
    end = (await consumer.end_offsets([partition]))[partition]
    if not first <= id_.offset < end:
        held = f"offsets {first} to {end - 1}" if end > first else "nothing"
        raise Refused(
            f"no dead letter {id_}: {partition.topic}'s partition {id_.partition} holds {held}"
        )
    consumer.seek(partition, id_.offset)
    while await consumer.position(partition) < end:
        batch = await consumer.getmany(partition, timeout_ms=500, max_records=1)
        if records := batch.get(partition):
            if records[0].offset == id_.offset:
                return records[0]
            break
    # read_committed skips transaction markers and what aborted transactions wrote.
    raise Refused(f"no dead letter {id_}: that offset holds no committed record")


async def publish(bootstrap_servers: str, replays: Sequence[Replay]) -> list[str]:
    """Publish each replay with an idempotent, acks=all producer; a line for each."""
    producer = await start_producer(bootstrap_servers, "journey-deadletter-replay")
    lines = []
    try:
        for replay in replays:
            sent = await producer.send_and_wait(
                replay.topic,
                value=replay.value,
                key=replay.key,
                headers=replay.headers,
                partition=replay.partition,
            )
            lines.append(
                f"replayed {replay.id} -> {replay.topic}[{sent.partition}]@{sent.offset}  "
                f"{printable(replay.event_type)}  {printable(replay.event_id)}"
            )
    finally:
        await producer.stop()
    return lines
