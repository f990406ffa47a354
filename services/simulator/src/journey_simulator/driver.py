"""The driver: a planned cohort through the partner APIs over HTTP, in simulated time.

Simulated time moves in steps (a day by default). Within a step every due action is posted,
journeys concurrently (at most `concurrency` at once), each journey's actions in order and
carrying the ids earlier responses minted; each request carries its simulated recorded
time in the `Simulated-Time` header, and its occurred time in the body. Then a clock tick
for the step's end goes to every partition of `journey.clock`, so the journey processor's
"now" follows. The final tick falls on the window's end, the moment the truth is judged at.

The support and prosecution services learn a journey from Kafka a moment after its
referral, so a request that opens a case there is retried while it answers 404 (polling,
with a deadline). A service that is unavailable (a dropped connection, or 503 while its
database is down) is retried as the APIs ask clients to: after Retry-After, with the same
Idempotency-Key, for up to `unavailable_within` seconds. Any other answer but 2xx stops
the simulation with the response body. Every write a service acknowledged with 201 is
kept (`Statistics.acknowledged`), so a fault test can look for each one downstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from opentelemetry.trace import SpanKind
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from journey_platform import clock
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, encode
from journey_platform.tracing import current_traceparent, messaging, tracer
from journey_simulator.partners import Partners, SimulationError, Statistics
from journey_simulator.plan import Action, Cohort, JourneyPlan

# Connections per service. httpcore walks its whole pool (a poll() per idle connection) on
# every request, so a small pool costs the client less CPU; the services, each one process
# on a shared 2-core machine, go no faster with more requests in flight.
CONNECTIONS = 3


class Clock(Protocol):
    async def tick(self, moment: datetime) -> None: ...

    async def flush(self) -> None: ...


class KafkaClock:
    """Ticks `uk.nrm.clock.ticked` (mode `simulated`) to every partition of journey.clock.

    A tick is handed to the (idempotent, ordered) producer without waiting for the
    broker, so a simulated day costs no round trip; `flush` waits for every tick sent.
    """

    def __init__(self, producer: Any, contracts: Contracts) -> None:
        self.producer, self.contracts = producer, contracts
        self.partitions = contracts.topics["journey.clock"].partitions
        self.pending: list[asyncio.Future[Any]] = []
        self.sent = 0

    async def tick(self, moment: datetime) -> None:
        # One trace per tick, across its partitions: the flags a deadline raises at this
        # tick are found in it.
        with tracer(__name__).start_as_current_span(
            "journey.clock send",
            kind=SpanKind.PRODUCER,
            attributes=messaging("journey.clock", "send", count=self.partitions),
        ):
            traceparent = current_traceparent()
            for partition in range(self.partitions):
                await self._send(replace(tick_event(partition, moment), traceparent=traceparent))
        if len(self.pending) >= 600:
            await self.flush()

    async def _send(self, event: Event) -> None:
        partition = event.data["partition"]
        record = encode(event, self.contracts)
        self.pending.append(
            await self.producer.send(
                record.topic,
                record.value,
                key=record.key,
                headers=record.headers,
                partition=partition,
            )
        )

    async def flush(self) -> None:
        await asyncio.gather(*self.pending)  # raises if the broker refused one
        self.sent += len(self.pending)
        self.pending.clear()


def tick_event(partition: int, moment: datetime) -> Event:
    """A simulated clock tick for one journey partition (sent to that partition explicitly)."""
    return clock.tick_event(partition, moment, mode="simulated", source="journey-simulator")


def _field(document: Mapping[str, Any], dotted: str) -> str:
    value: Any = document
    for part in dotted.split("."):
        value = value[part]
    return str(value)


@dataclass
class Progressed:
    """Where one journey has got to: the next action and the ids minted so far."""

    plan: JourneyPlan
    next: int = 0
    refs: dict[str, str] = field(default_factory=dict)


class Driver:
    def __init__(
        self,
        cohort: Cohort,
        partners: Partners,
        clock: Clock,
        *,
        step: timedelta = timedelta(days=1),
        concurrency: int = 32,
        progress: Progress | None = None,
    ) -> None:
        if step <= timedelta(0):
            raise ValueError("the step must be positive")
        self.cohort, self.partners, self.clock = cohort, partners, clock
        self.step, self.progress = step, progress
        self.limit = asyncio.Semaphore(concurrency)
        self.journeys = [Progressed(plan) for plan in cohort.journeys]
        self.steps = max(1, -(-(cohort.end - cohort.start) // step))
        self.due: dict[int, list[Progressed]] = defaultdict(list)
        for journey in self.journeys:
            self._schedule(journey)

    @property
    def statistics(self) -> Statistics:
        return self.partners.statistics

    def journey_ids(self) -> dict[str, str]:
        return {j.plan.key: j.refs["journey"] for j in self.journeys if "journey" in j.refs}

    def _step_of(self, moment: datetime) -> int:
        """The step whose tick is the first at or after `moment`."""
        elapsed = moment - self.cohort.start
        return min(max(0, -(-elapsed // self.step) - 1), self.steps - 1)

    def _tick_time(self, step: int) -> datetime:
        return min(self.cohort.start + (step + 1) * self.step, self.cohort.end)

    def _schedule(self, journey: Progressed) -> None:
        if journey.next < len(journey.plan.actions):
            self.due[self._step_of(journey.plan.actions[journey.next].at)].append(journey)

    async def run(self) -> Statistics:
        task = None
        if self.progress is not None:
            task = self.progress.add_task(
                "simulating", total=self.steps, date="", started=0, rate=0.0
            )
        for step in range(self.steps):
            until = self._tick_time(step)
            await asyncio.gather(*(self._advance(j, until) for j in self.due.pop(step, [])))
            await self.clock.tick(until)
            self.statistics.ticks += 1
            if self.progress is not None and task is not None:
                self.progress.update(
                    task,
                    completed=step + 1,
                    date=until.date().isoformat(),
                    started=self.statistics.journeys_started,
                    rate=self.statistics.requests_per_second,
                )
        await self.clock.flush()
        self.statistics.finished = time.monotonic()
        return self.statistics

    async def _advance(self, journey: Progressed, until: datetime) -> None:
        async with self.limit:
            actions = journey.plan.actions
            while journey.next < len(actions) and actions[journey.next].at <= until:
                await self._send(journey, journey.next, actions[journey.next])
                journey.next += 1
        self._schedule(journey)

    async def _send(self, journey: Progressed, index: int, action: Action) -> None:
        response = await self.partners.post(journey.plan, index, action, journey.refs)
        if index == 0:
            self.statistics.journeys_started += 1
        for name, dotted in action.captures:
            value = _field(response, dotted)
            if name == "journey" and journey.refs.get(name, value) != value:
                raise SimulationError(
                    f"{journey.plan.key}: the re-referral landed on journey {value}, not "
                    f"{journey.refs[name]} (is another run using the same run tag?)"
                )
            journey.refs[name] = value


def progress_bar(journeys: int) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[date]}"),
        TextColumn(f"journeys started {{task.fields[started]:,}}/{journeys:,}"),
        TextColumn("{task.fields[rate]:.0f} requests/s"),
        TimeElapsedColumn(),
    )


async def drive(
    cohort: Cohort,
    *,
    urls: Mapping[str, str],
    token_for: Callable[[str], str],
    clock: Clock,
    run_tag: str,
    step: timedelta = timedelta(days=1),
    concurrency: int = 16,
    connections: int = CONNECTIONS,
    known_within: float = 60.0,
    unavailable_within: float = 5.0,
    show_progress: bool = True,
    statistics: Statistics | None = None,
) -> tuple[dict[str, str], Statistics]:
    """Drive `cohort` through the APIs; return each plan's journey id and the statistics
    (kept in `statistics` as they grow, if given, for a caller watching the progress)."""
    # A client per service, each with a pool of `connections` (see CONNECTIONS).
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    statistics = Statistics() if statistics is None else statistics
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            service: await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=60, limits=limits)
            )
            for service, url in urls.items()
        }
        partners = Partners(
            clients,
            token_for,
            run_tag=run_tag,
            known_within=known_within,
            statistics=statistics,
            unavailable_within=unavailable_within,
        )
        progress = progress_bar(len(cohort.journeys)) if show_progress else None
        driver = Driver(
            cohort, partners, clock, step=step, concurrency=concurrency, progress=progress
        )
        if progress is None:
            await driver.run()
        else:
            with progress:
                await driver.run()
    return driver.journey_ids(), statistics
