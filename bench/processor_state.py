"""What a worker keeps per journey: its changelog records, and its local store on disk."""

from __future__ import annotations

from pathlib import Path
from statistics import fmean
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from journey_platform.kafka import client_options
from processor_workers import disk_bytes, nearest_rank


async def journey_state(
    kafka: str, app_id: str, data_dir: Path, journeys: frozenset[bytes]
) -> dict[str, Any]:
    """Mean and p95 size of the latest state of each of `journeys` (the log's) in
    `<app_id>-journeys-changelog`, null figures where there is no such topic; and the
    size of the workers' data dir. Other keys are partition clocks (`clock-p<n>`) or
    journeys that others sent to the shared topics meanwhile: counted, not measured."""
    topic = f"{app_id}-journeys-changelog"
    sizes = await _latest_value_sizes(kafka, topic)
    ours = sorted(n for key, n in (sizes or {}).items() if key in journeys)
    on_disk = disk_bytes(data_dir)
    return {
        "changelog_topic": topic,
        "journeys": len(ours) if sizes is not None else None,
        "other_keys": len(sizes) - len(ours) if sizes is not None else None,
        "mean_bytes_per_journey": round(fmean(ours)) if ours else None,
        "p95_bytes_per_journey": nearest_rank(ours, 0.95),
        "on_disk_mib": round(on_disk / 2**20, 1),
        "on_disk_bytes_per_key": round(on_disk / len(sizes)) if sizes else None,
    }


async def _latest_value_sizes(kafka: str, topic: str) -> dict[bytes, int] | None:
    """Value size of the latest committed record of every key (None: no such topic).

    Compaction keeps only the latest per key eventually, but not in the active segment:
    every version is read and the last one kept. Only sizes are held, not values."""
    partitions = await _partitions(kafka, topic)
    if partitions is None:
        return None
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **client_options(),
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        end = await consumer.end_offsets(assigned)
        sizes: dict[bytes, int] = {}
        while [tp for tp in assigned if await consumer.position(tp) < end[tp]]:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for batch in batches.values():
                for record in batch:
                    if record.value is None:  # a tombstone: the journey's state was deleted
                        sizes.pop(record.key, None)
                    else:
                        sizes[record.key] = len(record.value)
        return sizes
    finally:
        await consumer.stop()


async def _partitions(kafka: str, topic: str) -> list[int] | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, **client_options())
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return None
        [described] = await admin.describe_topics([topic])
        return sorted(p["partition"] for p in described["partitions"])
    finally:
        await admin.close()
