"""The changelog: a compacted topic holding the latest state of every journey and clock.

`<app id>-journeys-changelog`, one partition per journey partition (partition n holds the
state of the journeys on partition n of the journey topics), created by the worker as
Kafka Streams does. Records are written inside the same transaction as the outputs and
the consumed offsets, so the changelog holds exactly the state that produced what was
published; restoring reads committed records only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]  # re-exported

log = logging.getLogger(__name__)

RESTORE_BATCH = 5000


def changelog_topic(app_id: str) -> str:
    return f"{app_id}-journeys-changelog"


def ensure_changelog(admin: AdminClient, topic: str, partitions: int) -> None:
    """Create the changelog unless it exists; an existing one must have `partitions`."""
    metadata = admin.list_topics(timeout=30)
    if topic in metadata.topics:
        found = len(metadata.topics[topic].partitions)
        if found != partitions:
            raise RuntimeError(
                f"{topic} has {found} partitions; the journey topics have {partitions}"
            )
        return
    spec = NewTopic(
        topic,
        num_partitions=partitions,
        replication_factor=-1,  # the broker's default
        config={"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"},
    )
    for name, future in admin.create_topics([spec]).items():
        try:
            future.result()
        except KafkaException as error:
            if "TOPIC_ALREADY_EXISTS" not in str(error):  # another worker won the race
                raise
        log.info("changelog created", extra={"topic": name})


def restore(
    consumer: Consumer,
    topic: str,
    partition: int,
    start: int,
    apply: Callable[[list[tuple[bytes, bytes]], int], None],
    timeout: float = 300.0,
) -> int:
    """Read committed records of one changelog partition from `start` to its end, handing
    them to `apply(records, next_offset)` in batches; return the offset reached.

    The end is the last stable offset (read_committed): a transaction another worker left
    open holds the restore back until it ends or times out, which is the point: state a
    zombie wrote is never read before its fate is known.
    """
    tp = TopicPartition(topic, partition)
    low, end = consumer.get_watermark_offsets(tp, timeout=30, cached=False)
    position = max(start, low)
    if position >= end:
        return position
    consumer.assign([TopicPartition(topic, partition, position)])
    deadline = time.monotonic() + timeout
    try:
        while position < end:
            messages = consumer.consume(RESTORE_BATCH, timeout=0.5)
            records = []
            for message in messages:
                if message.error():
                    raise KafkaException(message.error())
                key, value, offset = message.key(), message.value(), message.offset()
                assert isinstance(key, bytes) and isinstance(value, bytes) and offset is not None
                records.append((key, value))
                position = offset + 1
            [reached] = consumer.position([tp])
            position = max(position, reached.offset)  # past transaction markers
            apply(records, position)
            if time.monotonic() > deadline:
                raise TimeoutError(f"restoring {topic}[{partition}] stuck at {position} < {end}")
    finally:
        consumer.unassign()
    log.info("partition restored", extra={"partition": partition, "from": start, "to": position})
    return position
