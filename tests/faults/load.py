"""The running load of a fault scenario: a simulated cohort through the partner APIs.

The simulator's planner and driver (`journey simulate`'s), in this process, against one
deployment's APIs, as the right agencies with real tokens. The driver keeps every write a
service acknowledged with 201 and retries an unavailable service as the APIs ask (503:
after Retry-After; a dropped connection: after a pause), with the same Idempotency-Key.

The clock ticks go to Kafka from a queue of their own, so a broker that is down delays
the ticks, never the writes: the APIs must keep taking writes into their outboxes then.
A tick the broker did not acknowledge is sent again (ticks only move the processor's
clock forward, so a repeat changes nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from journey_api.auth import SCOPES
from journey_api.tokens import DevelopmentSigner
from journey_platform.contracts import Contracts
from journey_platform.kafka import start_producer
from journey_simulator.driver import KafkaClock, drive, tick_event
from journey_simulator.partners import Statistics
from journey_simulator.plan import Cohort
from journey_simulator.planner import plan_cohort

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)  # 18 months, as `journey simulate` by default
# Simulated time moves a week at a time: each step's writes (about 60) go out together, 16
# journeys at once, where a day's (about 9) would leave the APIs waiting on the slowest
# journey of each of 547 steps. The processor's final flags and outcomes do not depend on
# how often the clock ticks (the oracle judges them without ticks), only on the last.
STEP = timedelta(days=7)
# How long a write may go on finding its service unavailable (a restart, a database down
# for 20 s) or the journey unknown (support learns it through Kafka, down for 20 s).
UNAVAILABLE_WITHIN = 120.0
# Journeys in flight, and connections to each API. `journey simulate`'s 16 and 3 leave the
# support API (three writes in four: a case's contacts) with three requests at a time,
# waiting on its database between them; 32 and 8 took a cohort's load from 180 s to 106-117 s
# at a load average of 8 (64 and 16, or a four-week step, no faster: the CPU is the bound).
CONCURRENCY = 32
CONNECTIONS = 8
KNOWN_WITHIN = 180.0


class QueuedClock(KafkaClock):
    """The driver's clock: ticks queued in order, sent by a task of their own."""

    def __init__(self, producer: AIOKafkaProducer, contracts: Contracts) -> None:
        super().__init__(producer, contracts)
        self.queue: asyncio.Queue[datetime] = asyncio.Queue()
        self.resent = 0
        self.sender = asyncio.create_task(self._send_all())

    async def tick(self, moment: datetime) -> None:
        self.queue.put_nowait(moment)

    async def flush(self) -> None:
        await self.queue.join()

    async def _send_all(self) -> None:
        while True:
            moment = await self.queue.get()
            while not await self._sent(moment):
                self.resent += 1
                await asyncio.sleep(1)
            self.queue.task_done()

    async def _sent(self, moment: datetime) -> bool:
        self.pending.clear()
        try:
            for partition in range(self.partitions):
                await self._send(tick_event(partition, moment))
            await KafkaClock.flush(self)  # every tick of the moment acknowledged
            return True
        except KafkaError:
            return False

    async def close(self) -> None:
        self.sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.sender


@dataclass
class Load:
    """A cohort driven in the background; `statistics.acknowledged` grows as it goes."""

    cohort: Cohort
    statistics: Statistics = field(default_factory=Statistics)
    journey_ids: dict[str, str] = field(default_factory=dict)  # plan key -> journey id
    task: asyncio.Task[None] | None = None

    @property
    def acknowledged_share(self) -> float:
        return len(self.statistics.acknowledged) / self.cohort.requests

    async def finished(self) -> None:
        assert self.task is not None
        await self.task

    async def stop(self) -> None:
        """Cancel the load if it still runs (a scenario that failed midway)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def start_load(
    journeys: int,
    *,
    seed: int,
    run_tag: str,
    urls: Mapping[str, str],
    kafka: str,
    contracts: Contracts,
    signer: DevelopmentSigner,
) -> Load:
    cohort = plan_cohort(journeys, seed=seed, start=START, end=END, run_tag=run_tag)
    load = Load(cohort)

    def token_for(agency: str) -> str:
        return signer.mint(agency_id=agency, scopes=sorted(SCOPES), lifetime_seconds=3600)

    async def run() -> None:
        producer = await start_producer(kafka, f"faults-load-{run_tag}")
        clock = QueuedClock(producer, contracts)
        try:
            ids, _ = await drive(
                cohort,
                urls=urls,
                token_for=token_for,
                clock=clock,
                run_tag=run_tag,
                step=STEP,
                concurrency=CONCURRENCY,
                connections=CONNECTIONS,
                known_within=KNOWN_WITHIN,
                unavailable_within=UNAVAILABLE_WITHIN,
                show_progress=False,
                statistics=load.statistics,
            )
            load.journey_ids.update(ids)
        finally:
            await clock.close()
            await producer.stop()

    load.task = asyncio.create_task(run())
    return load
