"""One fault scenario: a fresh deployment of the whole system, a running load, one fault.

Each scenario starts the system's processes (`journey run`'s `System`) as a deployment of
its own on the session's stack: ports shifted away from `journey run`'s and CI's, its own
databases, consumer groups (started at the topics' current end, so it sees only its own
records) and processor application id. After the load, it waits until every outbox is
drained and the processor and the sink have read everything, stops the processes, and
checks (checks.py). What it injected and what it counted is kept for the session summary.
"""

from __future__ import annotations

import asyncio
import os
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
from journey_cli.run import PROCESSOR_GROUP, SERVICES, Deployment, System
from journey_platform.contracts import Contracts
from journey_platform.kafka import consumer_lag
from tests.faults.load import Load, start_load
from tests.integration.kafka_helpers import end_offsets, start_group_at

JOURNEYS = int(os.environ.get("FAULTS_JOURNEYS", "300"))
# Every port of a deployment is `journey run`'s plus this: clear of it, of CI's and of the
# devstacks' (see the README); FAULTS_PORT_OFFSET moves it.
PORT_OFFSET = int(os.environ.get("FAULTS_PORT_OFFSET", "20000"))
CAUGHT_UP_WITHIN = 300.0
PARTNERS = tuple(name for name in SERVICES if name != "flags")


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
    """A running deployment and its load; the test injects the fault through it."""

    figures: Figures
    system: System
    stack: Stack
    contracts: Contracts
    load: Load
    began: datetime  # the deployment's groups start at the topics' end as of now
    since: dict[TopicPartition, int]

    @property
    def deployment(self) -> Deployment:
        return self.system.deployment

    def database(self, part: str) -> str:
        """The URL of one of this deployment's databases (a service's, or analytics')."""
        return f"{self.system.base}/{self.deployment.named(part, '_')}"

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
        await self.until(
            f"{share:.0%} of the writes acknowledged", lambda: self.load.acknowledged_share >= share
        )

    def alive(self) -> None:
        if self.load.task is not None and self.load.task.done():
            self.load.task.result()  # raises what stopped the load
        self.system.supervise()

    async def ready(self, name: str, within: float = 120) -> None:
        url = f"{self.deployment.url(name)}/readyz"
        await self.until(f"{name} ready", lambda: _answers(url) == 200, within)


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
    """Every consumer group of a deployment (each service's prefix, then its purpose)."""
    return [
        *(f"{deployment.named(name)}-journeys" for name in PARTNERS),
        f"{deployment.named('flags')}-fold",
        f"{deployment.named('analytics')}-sink",
        deployment.named(PROCESSOR_GROUP),
    ]


async def open_scenario(
    name: str,
    seed: int,
    *,
    stack: Stack,
    contracts: Contracts,
    signer: DevelopmentSigner,
    entries: dict[str, tuple[str, ...]] | None = None,
) -> Scenario:
    # Named afresh each session: an earlier session's databases may still be there.
    deployment = Deployment(port_offset=PORT_OFFSET, name=f"{name}_{seed}_{token_hex(3)}")
    ports_free(deployment)
    kafka = stack.bootstrap_servers
    began = datetime.now(UTC)
    since = await end_offsets(kafka, list(contracts.topics))
    for group in groups(deployment):
        await start_group_at(kafka, group, since)
    system = System(stack, signer, deployment)
    try:
        system.start_all()
        for service, entry in (entries or {}).items():
            system.terminate(service)
            system.start_service(service, *entry)
        # Seven processes importing at once on two shared cores: minutes, at worst.
        await asyncio.to_thread(system.wait_ready, 300)
    except BaseException:
        system.stop()
        raise
    load = start_load(
        JOURNEYS,
        seed=seed,
        run_tag=f"faults-{deployment.name}",
        urls={n: deployment.url(n) for n in PARTNERS},
        kafka=kafka,
        contracts=contracts,
        signer=signer,
    )
    return Scenario(Figures(name), system, stack, contracts, load, began, since)


async def until_quiet(scenario: Scenario) -> None:
    """Until every outbox is drained and the processor and sink have read everything,
    twice in a row a second apart (relays publish a moment after they commit)."""
    deployment, kafka = scenario.deployment, scenario.stack.bootstrap_servers
    processor_topics = scenario.contracts.consumed_by(PROCESSOR_GROUP)
    sink_topics = [*processor_topics, "journey.outcomes", "journey.dropoffs"]
    sink_topics = [t for t in sink_topics if t not in ("journey.clock",)]
    deadline = time.monotonic() + CAUGHT_UP_WITHIN
    quiet = 0
    left: Awaitable[list[int]]
    while quiet < 2:
        scenario.system.supervise()
        left = asyncio.gather(
            *(_unsent(scenario, name) for name in (*PARTNERS, "flags")),
            consumer_lag(kafka, deployment.named(PROCESSOR_GROUP), processor_topics),
            consumer_lag(kafka, f"{deployment.named('analytics')}-sink", sink_topics),
        )
        remaining = await left
        quiet = quiet + 1 if not any(remaining) else 0
        assert time.monotonic() < deadline, f"not caught up: {remaining} (outboxes, lags)"
        await asyncio.sleep(1)


async def drop_databases(scenario: Scenario) -> None:
    """A passed scenario's databases are of no more use (a failed one's are kept)."""
    conn = await asyncpg.connect(scenario.stack.database_url)
    try:
        for part in (*SERVICES, "analytics", "analytics_rebuild"):
            name = scenario.deployment.named(part, "_")
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _unsent(scenario: Scenario, service: str) -> int:
    [row] = await query(
        scenario.database(service), "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    )
    return int(row[0])


async def query(database: str, sql: str) -> list[asyncpg.Record]:
    """The rows of one query, on a connection of its own (the checks ask each once)."""
    conn = await asyncpg.connect(database)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()
