"""A partner service's background tasks (its outbox relay, its consumers) must not end
quietly before shutdown: the service says why and stops, so that it is restarted whole."""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace
from typing import cast

import pytest

from journey_api.runtime import (
    Runtime,
    exit_status,
    stop_the_service_if_it_ends_early,
)


async def _fails() -> None:
    raise RuntimeError("CommitFailedError after a rebalance")


async def _finish(task: asyncio.Task[None]) -> None:
    with pytest.raises(RuntimeError):
        await task


async def test_a_task_that_ends_before_shutdown_stops_the_service(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signalled: list[str] = []
    task = asyncio.create_task(_fails())
    await _finish(task)
    stop_the_service_if_it_ends_early(
        task, stop=asyncio.Event(), signal_self=lambda: signalled.append("SIGTERM")
    )
    assert signalled == ["SIGTERM"]
    assert "background task ended; stopping the service" in caplog.text
    assert "CommitFailedError after a rebalance" in caplog.text


async def test_tasks_that_end_at_shutdown_are_left_alone() -> None:
    signalled: list[str] = []
    stop = asyncio.Event()
    stop.set()
    task = asyncio.create_task(_fails())
    await _finish(task)
    stop_the_service_if_it_ends_early(task, stop=stop, signal_self=lambda: signalled.append("x"))
    assert signalled == []


async def test_a_service_stopped_by_a_task_that_ended_exits_as_a_failure() -> None:
    ended: list[str] = []
    task = asyncio.create_task(_fails())
    await _finish(task)
    stop_the_service_if_it_ends_early(
        task, stop=asyncio.Event(), ended=ended, signal_self=lambda: None
    )
    runtime = SimpleNamespace(ended_early=ended)
    # uvicorn exits 0 on the SIGTERM: the status must tell a supervisor it failed.
    assert exit_status(cast(Runtime, runtime)) == os.EX_SOFTWARE
    assert exit_status(cast(Runtime, SimpleNamespace(ended_early=[]))) == 0
    assert exit_status(None) == 0
