"""What a partner service's lifespan builds and its routes reach: the `Runtime`, and the
background work (relay, consumers) that runs beside the requests."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Protocol

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request
from fastapi.responses import Response

from journey_api.adapters.postgres import PostgresRecordStore
from journey_api.config import ApiSettings
from journey_api.idempotency import Work, respond_once
from journey_api.records import JourneyRecords
from journey_api.store import RecordStore
from journey_platform.consumer import EventConsumer
from journey_platform.contracts import Contracts
from journey_platform.db import Connection
from journey_platform.relay import OutboxRelay

log = logging.getLogger(__name__)


class Background(Protocol):
    """Work a service runs beside its requests until `stop` is set: an EventConsumer, or
    any loop of the same shape (such as a webhook dispatcher)."""

    async def run(self, stop: asyncio.Event) -> None: ...


class RespondOnce(Protocol):
    """How a POST runs its work at most once per Idempotency-Key (idempotency.py)."""

    async def __call__(
        self, pool: asyncpg.Pool, *, client_id: str, key: str | None, fingerprint: str, work: Work
    ) -> Response: ...


@dataclass
class Runtime:
    """What the lifespan builds; routes reach it through the `CurrentRuntime` dependency."""

    settings: ApiSettings
    contracts: Contracts
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    records: JourneyRecords
    relay: OutboxRelay
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]]
    background: list[Background] = field(default_factory=list)
    # The adapters a request reaches through a connection; journey_api.testing.memory
    # gives in-memory ones, for fast tests.
    store: Callable[[Connection], RecordStore] = PostgresRecordStore
    respond_once: RespondOnce = respond_once
    # The background tasks that ended before shutdown: the process then exits non-zero
    # (`exit_status`), so a supervisor sees a failure, not a clean stop.
    ended_early: list[str] = field(default_factory=list)

    def catching_up(self) -> bool:
        """Whether this service knows it has events from other services left to apply."""
        return any(isinstance(w, EventConsumer) and w.catching_up() for w in self.background)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


CurrentRuntime = Annotated[Runtime, Depends(get_runtime)]


ConsumersFactory = Callable[[Runtime], Sequence[Background]]


def stop_the_service_if_it_ends_early(
    task: asyncio.Task[None],
    *,
    stop: asyncio.Event,
    ended: list[str] | None = None,
    signal_self: Callable[[], None] | None = None,
) -> None:
    """A relay or consumer that ends before shutdown leaves the API answering 201 while
    nothing is published or learned, and nobody awaits its task to see why (the fault
    suite met both after a PostgreSQL stop). Say why, then stop the process (SIGTERM: a
    clean stop), so that it is restarted whole rather than running half."""
    if stop.is_set() or task.cancelled():
        return
    name = task.get_coro().__qualname__  # type: ignore[union-attr]
    log.critical(
        "background task ended; stopping the service",
        exc_info=task.exception(),
        extra={"task": name},
    )
    if ended is not None:
        ended.append(name)
    (signal_self or (lambda: os.kill(os.getpid(), signal.SIGTERM)))()


def exit_status(runtime: Runtime | None) -> int:
    """The process's exit status once the server has stopped: os.EX_SOFTWARE when it stopped
    because a background task ended early (uvicorn itself exits 0 on the SIGTERM)."""
    if runtime is not None and runtime.ended_early:
        log.critical(
            "service stopped after a background task ended", extra={"tasks": runtime.ended_early}
        )
        return os.EX_SOFTWARE  # sysexits.h: stopped because part of it failed
    return 0
