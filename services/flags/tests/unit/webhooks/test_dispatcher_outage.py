"""A database that drops its connections (asyncpg's InterfaceError, as when PostgreSQL
stops under the pool) must not end the dispatcher: its task has nobody to notice, and the
flags service stops itself when it ends (journey_api.service). It retries until `stop`."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import asyncpg

from flags.webhooks.dispatcher import Dispatcher
from flags.webhooks.settings import WebhookSettings


class DroppedPool:
    """Every connection it hands out is already closed."""

    def __init__(self) -> None:
        self.asked = 0

    def acquire(self) -> DroppedPool:
        self.asked += 1
        return self

    async def __aenter__(self) -> Any:
        raise asyncpg.InterfaceError("connection is closed")

    async def __aexit__(self, *_: object) -> None:
        return None


async def test_the_dispatcher_outlives_a_dropped_connection() -> None:
    pool = DroppedPool()
    dispatcher = Dispatcher(
        cast(asyncpg.Pool, pool), WebhookSettings(webhook_poll_interval_seconds=0.01)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    deadline = time.monotonic() + 10
    while pool.asked < 5 and not task.done():  # the backlog measured, then batches claimed
        assert time.monotonic() < deadline, "the dispatcher asked the pool again"
        await asyncio.sleep(0.01)
    assert not task.done(), task.exception()
    stop.set()
    await asyncio.wait_for(task, 10)
