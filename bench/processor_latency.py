"""End-to-end latency on a live stack: a Duty to Notify report's 201 to its drop-off flag,
and on to the reporting police force's webhook.

The referral service runs as `journey run` starts it (`python -m referral`, on a database
of its own, dropped afterwards), beside one journey-processor worker with a group of its
own started at the end of the topics and the live clock on. A police force reports an
adult who declined referral; rule `adult-declined-referral` flags that at once (the core
takes the event's recorded time as the journey's now, so no tick is waited for). The
latency is the time from the 201 reaching this process to the flag on journey.dropoffs
reaching it (read_committed: a flag counts once its transaction has committed), both on
this process's monotonic clock: outbox relay, Kafka, the worker and its commit included.

The flags service runs too (`python -m flags`, its own database and consumer group at the
end of the topics), and the police force that reported subscribes a real HTTP receiver in
this process to its flags' webhooks: `webhook_*` is the 201 to the signed `flag.raised`
delivery (the flags service's fold and its webhook dispatcher added to the above).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from journey_api.tokens import DevelopmentSigner
from journey_cli.devstack.processes import free_port
from journey_platform.contracts import Contracts
from journey_platform.kafka import client_options
from journey_platform.settings import find_schemas_dir
from processor_workers import (
    SOURCE_TOPICS,
    Processes,
    ProcessFailed,
    nearest_rank,
    worker_environment,
)
from tests.integration.journeys import days_ago
from tests.integration.kafka_helpers import end_offsets, start_group_at
from tests.integration.services import BY_TYPE, Tokens

CONTRACTS = Contracts.load(find_schemas_dir())
RULE = "adult-declined-referral"
DROPOFFS = "journey.dropoffs"
CLOCK_SECONDS = 60  # the live clock ticks, but the flag must not wait for it
SERVICE = "referral"
WORKER = "latency-w1"
FLAGS = "flags"
RECEIVER = "webhook-receiver"
FLAGS_CONSUMER = "flags"  # its name in schemas/topics.yaml


def declined_referral() -> dict[str, Any]:
    """A Duty to Notify report: an adult who declined referral into the NRM."""
    return {
        "occurred_at": days_ago(1),
        "region": "london",
        "exploitation_types": ["labour"],
        "reason_declined": "fear_of_reprisal",
    }


@dataclass(frozen=True)
class LatencyRun:
    kafka: str
    database_url: str  # any database of the server: the service gets a new one beside it
    engine: str
    app_id: str
    state: Path
    auth: Path
    reports: int
    concurrency: int
    deadline_seconds: float  # after the last 201, for the flags still missing

    @property
    def database(self) -> str:
        return self.app_id.replace("-", "_")

    @property
    def flags_group_prefix(self) -> str:
        return f"{self.app_id}-flags"


class Flags:
    """journey.dropoffs from its end: when each (journey, rule) flag first arrived here."""

    def __init__(self, kafka: str) -> None:
        self.kafka = kafka
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka,
            enable_auto_commit=False,
            isolation_level="read_committed",
            **client_options(),
        )
        self.arrived: dict[tuple[str, str], float] = {}

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[Flags]:
        await self.consumer.start()
        try:
            # Positions resolved before the first report, not lazily after it.
            ends = await end_offsets(self.kafka, [DROPOFFS])
            self.consumer.assign(list(ends))
            for tp, offset in ends.items():
                self.consumer.seek(tp, offset)
            task = asyncio.create_task(self._read())
            try:
                yield self
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            await self.consumer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100)
            now = time.monotonic()
            for record in (r for batch in batches.values() for r in batch):
                rule = json.loads(record.value).get("rule_id")
                self.arrived.setdefault((record.key.decode(), rule), now)

    def latency(self, journey: str, accepted: float) -> float | None:
        arrived = self.arrived.get((journey, RULE))
        return None if arrived is None else arrived - accepted


class Webhooks:
    """The police force's webhook endpoint, a process of its own (the receiver of the
    tests): when each journey's flag.raised first arrived, on the machine's monotonic
    clock, which this process reads too."""

    def __init__(self, processes: Processes, journal: Path) -> None:
        self.port, self.journal = free_port(), journal
        environment = {
            **os.environ,
            "WEBHOOK_RECEIVER_PORT": str(self.port),
            "WEBHOOK_RECEIVER_JOURNAL": str(journal),
        }
        processes.start(RECEIVER, "tests.integration.webhook_receiver", environment)

    def arrived(self) -> dict[str, float]:
        first: dict[str, float] = {}
        lines = self.journal.read_text().splitlines() if self.journal.exists() else []
        for line in lines:
            arrival = json.loads(line)
            body = json.loads(arrival["body"])
            if body["type"] == "flag.raised" and body["data"]["rule_id"] == RULE:
                first.setdefault(body["data"]["journey_id"], arrival["at"])
        return first

    async def subscribe(self, client: httpx.AsyncClient, url: str, tokens: Tokens) -> None:
        response = await client.post(
            f"{url}/v1/webhooks",
            json={
                "url": f"http://127.0.0.1:{self.port}/hooks/flags",
                "event_types": ["flag.raised"],
            },
            headers=tokens.headers(BY_TYPE["police_force"], scopes=["webhooks:write"]),
        )
        response.raise_for_status()


async def measure_latency(processes: Processes, run: LatencyRun) -> dict[str, Any]:
    """Start the referral service and a worker, warm up with one report, then send
    `run.reports` and time each one's flag."""
    base = run.database_url.rsplit("/", 1)[0]
    port, flags_port = free_port(), free_port()
    signer = DevelopmentSigner(run.auth)
    await start_group_at(run.kafka, run.app_id, await end_offsets(run.kafka, SOURCE_TOPICS))
    flags_topics = CONTRACTS.consumed_by(FLAGS_CONSUMER)
    await start_group_at(
        run.kafka, f"{run.flags_group_prefix}-fold", await end_offsets(run.kafka, flags_topics)
    )
    _start(processes, run, f"{base}/{run.database}", port, signer)
    _start_flags(processes, run, f"{base}/{run.database}_flags", flags_port, signer)
    webhooks = Webhooks(processes, processes.logs / f"{run.app_id}-webhooks.jsonl")
    try:
        url = f"http://127.0.0.1:{port}"
        flags_url = f"http://127.0.0.1:{flags_port}"
        async with (
            httpx.AsyncClient(base_url=url, timeout=30) as client,
            Flags(run.kafka).reading() as flags,
        ):
            await _wait_ready(processes, client, (WORKER, SERVICE))
            await _wait_ready(processes, client, (FLAGS,), url=flags_url)
            tokens = Tokens(signer)
            await webhooks.subscribe(client, flags_url, tokens)
            police = Police(client, tokens)
            warmup = await _warm_up(processes, run, police, flags)
            accepted, statuses = await _send(police, run.reports, run.concurrency)
            await _wait_until(
                processes,
                run,
                accepted,
                lambda: all(flags.latency(j, at) is not None for j, at in accepted.items()),
            )
            await _wait_until(
                processes, run, accepted, lambda: set(accepted) <= set(webhooks.arrived())
            )
    finally:
        processes.stop(WORKER, SERVICE, FLAGS, RECEIVER)
        await _drop_database(base, run.database)
        await _drop_database(base, f"{run.database}_flags")
    latencies = sorted(
        1000 * latency
        for journey, at in accepted.items()
        if (latency := flags.latency(journey, at)) is not None
    )
    arrived = webhooks.arrived()
    webhook = sorted(1000 * (arrived[j] - at) for j, at in accepted.items() if j in arrived)
    return {
        "reports": run.reports,
        "concurrency": run.concurrency,
        "accepted": len(accepted),
        "not_accepted_by_status": dict(statuses),
        "matched": len(latencies),
        "p50_ms": _ms(nearest_rank(latencies, 0.50)),
        "p99_ms": _ms(nearest_rank(latencies, 0.99)),
        "max_ms": _ms(latencies[-1] if latencies else None),
        "warmup_s": warmup,
        "webhook_matched": len(webhook),
        "webhook_p50_ms": _ms(nearest_rank(webhook, 0.50)),
        "webhook_p99_ms": _ms(nearest_rank(webhook, 0.99)),
        "webhook_max_ms": _ms(webhook[-1] if webhook else None),
        "worker_clock_seconds": CLOCK_SECONDS,
    }


def _start(
    processes: Processes, run: LatencyRun, database_url: str, port: int, signer: DevelopmentSigner
) -> None:
    """The worker (its group already at the end of the topics) and the referral service,
    as `journey run` starts it."""
    worker = worker_environment(
        run.kafka,
        engine=run.engine,
        app_id=run.app_id,
        instance=WORKER,
        data_dir=run.state / WORKER,
        clock_seconds=CLOCK_SECONDS,
    )
    processes.start(WORKER, "journey_processor", worker)
    service = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": run.kafka,
        "HTTP_PORT": str(port),
        "AUTH_JWKS_FILE": str(signer.jwks_file),
    }
    processes.start(SERVICE, "referral", service)


def _start_flags(
    processes: Processes, run: LatencyRun, database_url: str, port: int, signer: DevelopmentSigner
) -> None:
    """The flags service, as `journey run` starts it, its group at the end of the topics."""
    service = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": run.kafka,
        "HTTP_PORT": str(port),
        "AUTH_JWKS_FILE": str(signer.jwks_file),
        "CONSUMER_GROUP_PREFIX": run.flags_group_prefix,
    }
    processes.start(FLAGS, "flags", service)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(frozen=True)
class Police:
    """A police force reporting through the referral API (police forces hold the Duty)."""

    client: httpx.AsyncClient
    tokens: Tokens

    async def report(self) -> tuple[int, str | None, float]:
        """POST one report: the status, the journey it opened, and when the answer came."""
        response = await self.client.post(
            "/v1/duty-to-notify-reports",
            json=declined_referral(),
            headers=self.tokens.headers(BY_TYPE["police_force"]),
        )
        answered = time.monotonic()
        journey = response.json()["journey_id"] if response.status_code == 201 else None
        return response.status_code, journey, answered


async def _wait_ready(
    processes: Processes,
    client: httpx.AsyncClient,
    names: tuple[str, ...],
    within: float = 120,
    *,
    url: str = "",
) -> None:
    """Until the service at `url` (the client's own by default) answers /readyz; `names`
    are the processes that must stay up meanwhile, the last of them the service."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        processes.check(*names)
        with contextlib.suppress(httpx.TransportError):
            if (await client.get(f"{url}/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    service = names[-1]
    raise ProcessFailed(f"{service} not ready within {within:.0f} s; see {processes.log(service)}")


async def _warm_up(
    processes: Processes, run: LatencyRun, police: Police, flags: Flags
) -> float | None:
    """One report until its flag arrives: the worker has joined its group and the service
    its connections. Seconds taken, or None if no flag came within a few clock ticks."""
    began = time.monotonic()
    status, journey, answered = await police.report()
    if journey is None:
        raise ProcessFailed(f"{SERVICE} answered {status}; see {processes.log(SERVICE)}")
    deadline = began + max(120, 3 * CLOCK_SECONDS)
    while flags.latency(journey, answered) is None and time.monotonic() < deadline:
        processes.check(WORKER, SERVICE)
        await asyncio.sleep(0.05)
    return None if flags.latency(journey, answered) is None else round(time.monotonic() - began, 1)


async def _send(
    police: Police, reports: int, concurrency: int
) -> tuple[dict[str, float], Counter[int]]:
    """`reports` reports from `concurrency` clients, each waiting for its answer before
    the next; when each journey's 201 arrived, and the statuses of the others."""
    accepted: dict[str, float] = {}
    refused: Counter[int] = Counter()
    remaining = iter(range(reports))

    async def client() -> None:
        for _ in remaining:
            status, journey, answered = await police.report()
            if journey is None:
                refused[status] += 1
            else:
                accepted[journey] = answered

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return accepted, refused


async def _wait_until(
    processes: Processes, run: LatencyRun, accepted: dict[str, float], arrived: Callable[[], bool]
) -> None:
    """Poll until `arrived()`, or `run.deadline_seconds` after the last 201 (what is still
    missing then is reported as unmatched), failing at once if a process stopped."""
    deadline = max(accepted.values(), default=time.monotonic()) + run.deadline_seconds
    while time.monotonic() < deadline:
        if arrived():
            return
        processes.check(WORKER, SERVICE, FLAGS, RECEIVER)
        await asyncio.sleep(0.05)


async def _drop_database(base: str, name: str) -> None:
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
