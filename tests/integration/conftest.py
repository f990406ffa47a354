"""Real Kafka and PostgreSQL for integration tests, chosen by fixture, never by editing tests.

1. KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL set (as `make test` does): use those servers.
2. Otherwise, where a Docker API answers (Docker, or podman's service: `make
   test-containers`): testcontainers' Kafka and PostgreSQL, as docker-compose.yml runs
   them (tests/integration/containers.py).
3. Otherwise: the no-Docker local stack (`journey devstack`), stopped again afterwards
   if this session started it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from journey_api.tokens import DevelopmentSigner
from journey_cli.devstack.processes import free_port
from journey_platform.contracts import Contracts
from journey_platform.kafka import ensure_topics, start_producer
from journey_platform.logs import JsonFormatter
from journey_platform.migrations import migrate
from journey_platform.settings import find_schemas_dir
from tests.integration.containers import HOST, compose_service, docker_answers
from tests.integration.kafka_helpers import start_at_end
from tests.integration.services import (
    RunningService,
    Tokens,
    learners_start_at_end,
    running,
    service_environment,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Servers:
    bootstrap_servers: str
    database_url: str


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    bootstrap, database = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    if bootstrap and database:
        yield Servers(bootstrap, database)
    elif docker_answers():
        with compose_service("kafka") as kafka, compose_service("postgres") as postgres:
            # The compose file's PostgreSQL trusts its clients: development data only.
            yield Servers(f"{HOST}:{kafka}", f"postgresql://postgres@{HOST}:{postgres}/postgres")
    else:
        from journey_cli.devstack import Stack

        stack = Stack.from_environment()
        started = stack.up()
        try:
            yield Servers(stack.bootstrap_servers, stack.database_url)
        finally:
            if started:
                stack.down()


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    return Contracts.load(find_schemas_dir())


@pytest.fixture(scope="session")
async def kafka(servers: Servers, contracts: Contracts) -> str:
    """The bootstrap servers, with every catalogued topic created."""
    await ensure_topics(servers.bootstrap_servers, contracts)
    return servers.bootstrap_servers


@pytest.fixture(scope="session")
async def producer(kafka: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = await start_producer(kafka, "integration-tests")
    yield producer
    await producer.stop()


@pytest.fixture
async def database(servers: Servers) -> AsyncIterator[str]:
    """A fresh, migrated database for one test; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(servers.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = servers.database_url.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield url
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database, min_size=1, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture(scope="session", autouse=True)
def spans() -> InMemorySpanExporter:
    """Every finished span of the session, kept in memory so tests can follow a trace, and
    sent to the real trace backend too when there is one (`make test` runs Jaeger), so
    the privacy test can scan what Jaeger holds after the whole run."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "integration-tests"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return exporter


class _KeptLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("any"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


SERVICE_LOGS = _KeptLines()


@pytest.fixture(scope="session")
def service_logs() -> list[str]:
    """Every log line the partner services wrote during the session, as JSON."""
    return SERVICE_LOGS.lines


@pytest.fixture(scope="session")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Tokens:
    return Tokens(DevelopmentSigner(tmp_path_factory.mktemp("auth")))


@pytest.fixture(scope="session")
async def partner_services(
    servers: Servers, kafka: str, tokens: Tokens, spans: InMemorySpanExporter
) -> AsyncIterator[dict[str, RunningService]]:
    """referral, support and prosecution, each on its own fresh database, for the session."""
    from prosecution.config import ProsecutionSettings
    from prosecution.main import create_app as prosecution_app
    from referral.config import ReferralSettings
    from referral.main import create_app as referral_app
    from support.config import SupportSettings
    from support.main import create_app as support_app

    run = uuid.uuid4().hex[:8]
    base = servers.database_url.rsplit("/", 1)[0]
    builders: dict[str, tuple[Any, Any]] = {
        "referral": (ReferralSettings, referral_app),
        "support": (SupportSettings, support_app),
        "prosecution": (ProsecutionSettings, prosecution_app),
    }
    running_services: dict[str, RunningService] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name, (settings_class, create_app) in builders.items():
            database_url = f"{base}/{name}_{run}"
            port = free_port()
            settings = settings_class(
                **service_environment(database_url, kafka, tokens.signer.jwks_file),
                http_port=port,
            )
            await learners_start_at_end(kafka, settings)
            app = create_app(settings)
            await stack.enter_async_context(running(name, app, port))
            running_services[name] = RunningService(
                name, f"http://127.0.0.1:{port}", app, database_url
            )
        # The services configured JSON logging on the root logger; keep every line they
        # write from here on, so the privacy test can scan it.
        logging.getLogger().addHandler(SERVICE_LOGS)
        yield running_services
        logging.getLogger().removeHandler(SERVICE_LOGS)


@pytest.fixture(scope="module")
async def flags_service(
    servers: Servers,
    kafka: str,
    contracts: Contracts,
    tokens: Tokens,
    partner_services: dict[str, RunningService],
) -> AsyncIterator[RunningService]:
    """The flags service on its own fresh database, its consumer group at the topics' end,
    its timeline links pointing at this session's partner services. One per test module:
    a service started at the session's beginning would have to fold everything the
    modules before had published (the processor's tests publish tens of thousands of
    records) before it saw a test's own, which in CI took longer than any test waits."""
    from flags.adapters.consumers import CONSUMER
    from flags.config import FlagsSettings
    from flags.main import create_app

    database_url = servers.database_url.rsplit("/", 1)[0] + f"/flags_{uuid.uuid4().hex[:8]}"
    port = free_port()
    environment: dict[str, Any] = {
        **service_environment(database_url, kafka, tokens.signer.jwks_file),
        **{f"{name}_api_url": s.url for name, s in partner_services.items()},
    }
    settings = FlagsSettings(**environment, http_port=port)
    for topic in contracts.consumed_by(CONSUMER):
        await start_at_end(kafka, settings.consumer_group("fold"), topic)
    app = create_app(settings)
    # Building the app configured logging afresh: keep capturing every service's lines.
    logging.getLogger().addHandler(SERVICE_LOGS)
    async with running("flags", app, port):
        yield RunningService("flags", f"http://127.0.0.1:{port}", app, database_url)
