"""The outbox relay's loop, with its batches faked: what it outlives."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from journey_platform.relay import OutboxRelay


async def test_a_batch_that_fails_unexpectedly_does_not_end_the_relay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    relay = OutboxRelay(pool=Any, producer=Any, poll_interval=0.01)  # type: ignore[arg-type]
    attempts: list[str] = []

    async def publish_batch() -> int:
        attempts.append("batch")
        if len(attempts) == 1:
            raise RuntimeError("a pool holder released twice")
        stop.set()  # the second batch went out: the relay is alive
        return 0

    async def measure() -> None:
        return None

    async def purge() -> int:
        return 0

    relay.publish_batch = publish_batch  # type: ignore[method-assign]
    relay.measure = measure  # type: ignore[method-assign]
    relay.purge = purge  # type: ignore[method-assign]
    await asyncio.wait_for(relay.run(stop), timeout=10)
    assert len(attempts) >= 2
    assert "outbox relay failed; retrying" in caplog.text
    assert "a pool holder released twice" in caplog.text
