"""`journey migrate`, the one-shot the compose stack and the chart run before the services."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from journey_cli.migrate import SERVICES, prepare
from journey_platform.contracts import Contracts
from journey_platform.kafka import client_options
from tests.integration.conftest import Servers

pytestmark = pytest.mark.integration


@pytest.fixture
async def databases(servers: Servers) -> AsyncIterator[dict[str, str]]:
    """A fresh database name per service (not yet created); dropped afterwards."""
    server = servers.database_url.rsplit("/", 1)[0]
    suffix = uuid.uuid4().hex[:8]
    environ = {f"{s.upper()}_DATABASE_URL": f"{server}/migrate_{s}_{suffix}" for s in SERVICES}
    yield environ
    admin = await asyncpg.connect(servers.database_url)
    try:
        for url in environ.values():
            await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_it_creates_each_database_migrates_it_once_and_the_topics(
    databases: dict[str, str], kafka: str, contracts: Contracts
) -> None:
    environ = {**databases, "KAFKA_BOOTSTRAP_SERVERS": kafka}

    first = await prepare(list(SERVICES), environ)
    again = await prepare(list(SERVICES), environ)

    assert again == []
    for service in SERVICES:
        assert f"{service}: api/0001_partner_api" in first
        assert any(change.startswith(f"{service}: {service}/0001_") for change in first)
        conn = await asyncpg.connect(databases[f"{service.upper()}_DATABASE_URL"])
        try:
            components = {
                row["component"]
                for row in await conn.fetch("SELECT DISTINCT component FROM schema_migrations")
            }
            outbox = await conn.fetchval("SELECT to_regclass('outbox') IS NOT NULL")
        finally:
            await conn.close()
        assert components == {"platform", "api", service}
        assert outbox
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, **client_options())
    await admin.start()
    try:
        assert set(contracts.topics) <= set(await admin.list_topics())
    finally:
        await admin.close()
