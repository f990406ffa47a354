"""Whether the stack's parts answer: `journey devstack status`, and the wait after `up`
until each does and the catalogued topics exist."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from typing import TYPE_CHECKING

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from journey_cli.devstack.processes import StackError
from journey_platform.contracts import Contracts
from journey_platform.kafka import client_options, ensure_topics
from journey_platform.settings import find_schemas_dir

if TYPE_CHECKING:
    from journey_cli.devstack import Stack


async def status(stack: Stack) -> dict[str, str]:
    """Each part of the stack: up or down, and where."""
    kafka_ok, postgres_ok = await asyncio.gather(kafka_answers(stack), postgres_answers(stack))
    states = {
        "kafka": f"{'up' if kafka_ok else 'down'} at {stack.bootstrap_servers}",
        "postgres": f"{'up' if postgres_ok else 'down'} at {stack.database_url}",
    }
    if stack.jaeger:
        jaeger_ok = await asyncio.to_thread(answers, f"{stack.jaeger.url}/api/services")
        states["jaeger"] = f"{'up' if jaeger_ok else 'down'} at {stack.jaeger.url}"
    else:
        states["traces"] = f"sent to {stack.otlp_endpoint} (not started here)"
    prometheus_ok = await asyncio.to_thread(answers, f"{stack.prometheus.url}/-/ready")
    states["prometheus"] = f"{'up' if prometheus_ok else 'down'} at {stack.prometheus.url}"
    if stack.kube.running() or stack.kube_requested():
        kube_ok = await asyncio.to_thread(stack.kube.ready)
        states["kube"] = f"{'up' if kube_ok else 'down'} at {stack.kube.url}"
    return states


async def kafka_answers(stack: Stack) -> bool:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=stack.bootstrap_servers,
        request_timeout_ms=3000,
        **client_options(stack.kafka_admin),
    )
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        await admin.close()


async def postgres_answers(stack: Stack) -> bool:
    try:
        conn = await asyncpg.connect(stack.database_url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def wait_and_prepare(stack: Stack, *, within: float) -> None:
    """Until every part answers, with the catalogued topics (and their ACLs) in place."""
    deadline = time.monotonic() + within
    while not await postgres_answers(stack):
        if time.monotonic() > deadline:
            raise StackError(f"PostgreSQL at {stack.database_url} does not answer")
        await asyncio.sleep(0.5)
    while not await kafka_answers(stack):
        if time.monotonic() > deadline:
            raise StackError(f"Kafka at {stack.bootstrap_servers} does not answer")
        await asyncio.sleep(0.5)
    contracts = Contracts.load(find_schemas_dir())
    await ensure_topics(stack.bootstrap_servers, contracts, security=stack.kafka_admin)
    if stack.kafka and stack.kafka.secured:
        await asyncio.to_thread(stack.kafka.secured.grant, stack.bootstrap_servers, contracts)
    checks = [(f"{stack.prometheus.url}/-/ready", "Prometheus")]
    if stack.jaeger:
        checks.append((f"{stack.jaeger.url}/api/services", "Jaeger"))
    for url, what in checks:
        while not await asyncio.to_thread(answers, url):
            if time.monotonic() > deadline:
                raise StackError(f"{what} at {url} does not answer")
            await asyncio.sleep(0.25)


def answers(url: str) -> bool:
    """True if a GET of `url` (a loopback address built here) returns 200."""
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False
