"""A consumer whose effect is a row per application, so applying twice would show."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer

from journey_platform.consumer import EventConsumer
from journey_platform.contracts import Contracts
from journey_platform.db import Connection
from journey_platform.envelope import Event
from journey_platform.idempotence import idempotent


async def run_effect_consumer(
    pool: asyncpg.Pool,
    *,
    kafka: str,
    producer: AIOKafkaProducer,
    contracts: Contracts,
    event_id: str,
    deliveries: int,
    timeout: float = 60,
) -> tuple[int, int]:
    """Consume until `event_id` was delivered `deliveries` times; return (delivered, applied)."""
    await pool.execute("CREATE TABLE IF NOT EXISTS effect (event_id uuid NOT NULL)")
    delivered = 0

    async def effect(conn: Connection, event: Event) -> None:
        await conn.execute("INSERT INTO effect VALUES ($1)", uuid.UUID(event.id))

    apply = idempotent(pool, "effect-consumer", effect)

    async def handler(event: Event) -> None:
        nonlocal delivered
        if event.id == event_id:
            delivered += 1
            await apply(event)

    stop = asyncio.Event()
    consumer = EventConsumer(
        bootstrap_servers=kafka,
        group_id=f"effect-{uuid.uuid4().hex}",
        topics=["nrm.identification"],
        contracts=contracts,
        handler=handler,
        producer=producer,
    )
    task = asyncio.create_task(consumer.run(stop))
    deadline = time.monotonic() + timeout
    try:
        while delivered < deliveries and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    applied = await pool.fetchval(
        "SELECT count(*) FROM effect WHERE event_id = $1", uuid.UUID(event_id)
    )
    return delivered, int(applied)
