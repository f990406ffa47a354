"""The fault suite's deployment of the whole system, and one scenario on it: a load, a fault.

The session starts the system's long-lived processes once (`journey run`'s `System`: the
partner APIs, the flags service, the analytics sink and service) as a deployment of its
own on the devstack: ports shifted away from `journey run`'s and CI's, its own databases,
and consumer groups started at the topics' current end. Each scenario then drives a
cohort of fresh journeys through it and starts a journey processor of its own (its own
application id, so its own group, changelog and clock: every cohort replays the same 18
simulated months, and a processor's clock never goes back), started at the topics' end as
of the scenario's start. A fault kills or stops what the scenario names, which it brings
back; nothing else is restarted between scenarios, unless a failed scenario left a
process dead. After the load, the scenario waits until every outbox is drained and the
processor and the sink have read everything, stops its processor, and checks what it
wrote (checks.py). What it injected and what it counted is kept for the session summary.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from secrets import token_hex

import asyncpg
from aiokafka import TopicPartition

from journey_api.tokens import DevelopmentSigner
from journey_cli.devstack import Stack
from journey_cli.system import PROCESSOR_GROUP, SERVICES, Deployment, System
from journey_platform.contracts import Contracts
from journey_platform.kafka import consumer_lag
from tests.faults.load import Load, start_load
from tests.integration.kafka_helpers import end_offsets, start_group_at

JOURNEYS = int(os.environ.get("FAULTS_JOURNEYS", "300"))
# Every port of a deployment is `journey run`'s plus this: clear of it, of CI's and of the
# devstacks' (see the README); FAULTS_PORT_OFFSET moves it.
PORT_OFFSET = int(os.environ.get("FAULTS_PORT_OFFSET", "20000"))
# A load or a catch-up may crawl on a busy machine (CI beside other work, a restarted
# broker recovering its logs): a wait fails when nothing moved for this long, never after
# a fixed total, which a slow machine alone would exceed.
STALLED_AFTER = 180.0
PARTNERS = tuple(name for name in SERVICES if name != "flags")
LAST_POSITION = "SELECT coalesce(max(position), 0) FROM journey_records"


@dataclass
class Figures:
    """What a scenario printed: the fault, and what was acknowledged and found."""

    scenario: str
    injected: str = ""
    acknowledged: int = 0
    found: int = 0
    copies: int = 0  # records of acknowledged writes beyond the first (redeliveries)
    journeys: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        extra = "; ".join(self.notes)
        return (
            f"{self.scenario}: injected {self.injected}; {self.acknowledged:,} writes "
            f"acknowledged (201), {self.found:,} found on their topics ({self.copies:,} "
            f"redelivered copies); {self.journeys} journeys; {self.seconds:.0f} s"
            + (f"; {extra}" if extra else "")
        )


@dataclass
class Scenario:
    """A scenario's load on the session's deployment; the test injects the fault through it."""

    figures: Figures
    system: System
    stack: Stack
    contracts: Contracts
    load: Load
    began: datetime  # the scenario's processor starts at the topics' end as of now
    since: dict[TopicPartition, int]
    # Each partner database's last journey record before the scenario: its own come after.
    positions: dict[str, int]
    replaced: tuple[str, ...] = ()  # services run through another entry for this scenario

    @property
    def deployment(self) -> Deployment:
        return self.system.deployment

    def database(self, part: str) -> str:
        """The URL of one of this deployment's databases (a service's, or analytics')."""
        return _database(self.system, part)

    def said(self, injected: str) -> None:
        self.figures.injected = injected

    async def until(self, what: str, holds: Callable[[], bool], within: float = 300) -> None:
        """Poll until `holds`; fail if a process died or the deadline passed."""
        deadline = time.monotonic() + within
        while not holds():
            self.alive()
            assert time.monotonic() < deadline, f"never: {what}"
            await asyncio.sleep(0.1)

    async def until_acknowledged(self, share: float) -> None:
        """Until the load is `share` of the way: the moment to inject a fault."""
        progress = Progress()
        while self.load.acknowledged_share < share:
            self.alive()
            acknowledged = len(self.load.statistics.acknowledged)
            assert not progress.stalled(acknowledged), (
                f"no write acknowledged for {STALLED_AFTER:.0f} s ({acknowledged:,} so far, "
                f"the fault waits for {share:.0%})"
            )
            await asyncio.sleep(0.1)

    def alive(self) -> None:
        if self.load.task is not None and self.load.task.done():
            self.load.task.result()  # raises what stopped the load
        self.system.supervise()

    async def ready(self, name: str, within: float = 300) -> None:
        url = f"{self.deployment.url(name)}/readyz"
        await self.until(f"{name} ready", lambda: _answers(url) == 200, within)


class Progress:
    """When a measure of progress (higher is further) last moved past its best."""

    def __init__(self) -> None:
        self.best: int | None = None
        self.moved = time.monotonic()

    def stalled(self, measure: int) -> bool:
        if self.best is None or measure > self.best:
            self.best, self.moved = measure, time.monotonic()
        return time.monotonic() - self.moved > STALLED_AFTER


def _answers(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def ports_free(deployment: Deployment) -> None:
    names = [*SERVICES, "analytics"]
    ports = [deployment.http_port(n) for n in names]
    metrics_names = [*names, "journey-processor", "analytics-sink"]
    ports += [p for n in metrics_names if (p := deployment.metrics_port(n))]
    taken = []
    for port in ports:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(port)
    assert not taken, f"ports {taken} are taken; set FAULTS_PORT_OFFSET to move the suite"


def groups(deployment: Deployment) -> list[str]:
    """The consumer groups of the session's processes (each service's prefix, then its
    purpose); each scenario's processor has one of its own."""
    return [
        *(f"{deployment.named(name)}-journeys" for name in PARTNERS),
        f"{deployment.named('flags')}-fold",
        f"{deployment.named('analytics')}-sink",
    ]


async def open_system(stack: Stack, contracts: Contracts, signer: DevelopmentSigner) -> System:
    """The session's deployment, every process of it answering but the processor."""
    # Named afresh each session: an earlier session's databases may still be there.
    deployment = Deployment(port_offset=PORT_OFFSET, name=f"faults_{token_hex(3)}")
    ports_free(deployment)
    kafka = stack.bootstrap_servers
    since = await end_offsets(kafka, list(contracts.topics))
    for group in groups(deployment):
        await start_group_at(kafka, group, since)
    system = System(stack, signer, deployment)
    try:
        system.start_all_but_the_processor()
        # Six processes importing at once on two shared cores: minutes, at worst.
        await asyncio.to_thread(system.wait_ready, 300)
    except BaseException:
        system.stop()
        raise
    return system


async def open_scenario(
    name: str,
    seed: int,
    *,
    system: System,
    contracts: Contracts,
    signer: DevelopmentSigner,
    entries: dict[str, tuple[str, ...]] | None = None,
) -> Scenario:
    """A processor of the scenario's own and a running load; `entries` runs a service
    through another module for this scenario (put back by `close_scenario`)."""
    figures = Figures(name)
    if restarted := _whole_again(system):
        figures.notes.append(f"restarted {', '.join(restarted)}, left dead by a failed scenario")
    for service, entry in (entries or {}).items():
        system.terminate(service)
        system.start_service(service, *entry)
    if restarted or entries:
        await asyncio.to_thread(system.wait_ready, 300)
    kafka = system.stack.bootstrap_servers
    began = datetime.now(UTC)
    since = await end_offsets(kafka, list(contracts.topics))
    positions = {
        service: int((await query(_database(system, service), LAST_POSITION))[0][0])
        for service in PARTNERS
    }
    app_id = f"{system.deployment.named(PROCESSOR_GROUP)}-{name}_{seed}"
    await start_group_at(kafka, app_id, since)
    system.start_processor(app_id)
    load = start_load(
        JOURNEYS,
        seed=seed,
        run_tag=f"faults-{app_id}",
        urls={n: system.deployment.url(n) for n in PARTNERS},
        kafka=kafka,
        contracts=contracts,
        signer=signer,
    )
    replaced = tuple(entries or ())
    return Scenario(
        figures, system, system.stack, contracts, load, began, since, positions, replaced
    )


def _whole_again(system: System) -> list[str]:
    """Start again what a failed scenario left dead, so that its failure is its own."""
    dead = [
        name
        for name, process in system.processes.items()
        if name != "journey-processor" and process.poll() is not None
    ]
    for name in dead:
        system.restart(name)
    return dead


async def close_scenario(scenario: Scenario) -> None:
    """Stop the scenario's processor (its state goes with it) and run every service
    through its own module again."""
    system = scenario.system
    if system.processes["journey-processor"].poll() is None:
        system.terminate("journey-processor")
    shutil.rmtree(system.processor_data_dir, ignore_errors=True)
    restored = [
        service
        for service in scenario.replaced
        if system.module(service) != service or system.processes[service].poll() is not None
    ]
    for service in restored:
        if system.processes[service].poll() is None:
            system.terminate(service)
        system.start_service(service)
    if restored:
        await asyncio.to_thread(system.wait_ready, 300)


async def until_quiet(scenario: Scenario) -> None:
    """Until every outbox is drained and the processor and sink have read everything,
    twice in a row a second apart (relays publish a moment after they commit); fails if
    what is left stops shrinking."""
    deployment, kafka = scenario.deployment, scenario.stack.bootstrap_servers
    processor_topics = scenario.contracts.consumed_by(PROCESSOR_GROUP)
    sink_topics = [*processor_topics, "journey.outcomes", "journey.dropoffs"]
    sink_topics = [t for t in sink_topics if t not in ("journey.clock",)]
    progress = Progress()
    quiet = 0
    left: Awaitable[list[int]]
    while quiet < 2:
        scenario.system.supervise()
        left = asyncio.gather(
            *(_unsent(scenario, name) for name in (*PARTNERS, "flags")),
            consumer_lag(kafka, scenario.system.processor_app_id, processor_topics),
            consumer_lag(kafka, f"{deployment.named('analytics')}-sink", sink_topics),
        )
        remaining = await left
        quiet = quiet + 1 if not any(remaining) else 0
        assert not progress.stalled(-sum(remaining)), (
            f"not caught up, nothing moved for {STALLED_AFTER:.0f} s: {remaining} (outboxes, lags)"
        )
        await asyncio.sleep(1)


async def drop_databases(system: System) -> None:
    """A passed session's databases are of no more use (a failed one's are kept)."""
    conn = await asyncpg.connect(system.stack.database_url)
    try:
        for part in (*SERVICES, "analytics", "analytics_rebuild"):
            name = system.deployment.named(part, "_")
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _database(system: System, part: str) -> str:
    return f"{system.base}/{system.deployment.named(part, '_')}"


async def _unsent(scenario: Scenario, service: str) -> int:
    [row] = await query(
        scenario.database(service), "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    )
    return int(row[0])


async def query(database: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """The rows of one query, on a connection of its own (the checks ask each once)."""
    conn = await asyncpg.connect(database)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()
