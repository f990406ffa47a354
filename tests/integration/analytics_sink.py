"""Running the analytics sink in a test until it has caught up with what was published."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from analytics.adapters.sink import Sink
from analytics.config import AnalyticsSettings
from journey_platform.contracts import Contracts
from journey_platform.kafka import client_options
from tests.integration.services import Tokens


def settings_for(database: str, kafka: str, tokens: Tokens | None = None) -> AnalyticsSettings:
    return AnalyticsSettings(
        database_url=database,
        kafka_bootstrap_servers=kafka,
        consumer_group_prefix=f"analytics-test-{uuid.uuid4().hex[:8]}",
        create_database=False,
        auth_jwks_file=tokens.signer.jwks_file if tokens else None,
    )


async def committed(kafka: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, **client_options())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items()}
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def sink_running(
    settings: AnalyticsSettings,
    contracts: Contracts,
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
) -> AsyncIterator[Sink]:
    sink = Sink(settings=settings, contracts=contracts, pool=pool, producer=producer)
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(stop))
    try:
        yield sink
    finally:
        stop.set()
        await task


async def caught_up(
    kafka: str, group: str, target: dict[TopicPartition, int], task_check: Sink, timeout: float = 60
) -> None:
    """Poll until the group has committed up to `target` everywhere (or fail with where)."""
    deadline = time.monotonic() + timeout
    while True:
        done = await committed(kafka, group)
        behind = {
            tp: (done.get(tp, -1), end) for tp, end in target.items() if done.get(tp, -1) < end
        }
        if not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"sink did not catch up: {behind}; {task_check.counters}")
        await asyncio.sleep(0.2)
