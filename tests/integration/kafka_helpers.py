"""Reading topics in tests: poll with a deadline, never sleep."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer

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
