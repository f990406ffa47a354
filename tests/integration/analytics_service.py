"""The analytics service, run in the test process on a database of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from analytics.config import AnalyticsSettings
from analytics.main import create_app
from journey_cli.devstack.processes import free_port
from tests.integration.conftest import Servers
from tests.integration.services import (
    RunningService,
    Tokens,
    running,
    service_environment,
)


@asynccontextmanager
async def analytics_service(
    servers: Servers, kafka: str, tokens: Tokens, name: str
) -> AsyncIterator[RunningService]:
    """The service on a fresh database (migrated by its start-up), dropped afterwards."""
    database = f"{name}_{uuid.uuid4().hex[:8]}"
    database_url = f"{servers.database_url.rsplit('/', 1)[0]}/{database}"
    port = free_port()
    settings = AnalyticsSettings.model_validate(
        {**service_environment(database_url, kafka, tokens.signer.jwks_file), "http_port": port}
    )
    app = create_app(settings)
    try:
        async with running("analytics", app, port):
            yield RunningService("analytics", f"http://127.0.0.1:{port}", app, database_url)
    finally:
        admin = await asyncpg.connect(servers.database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def last_audit(database_url: str, action: str) -> asyncpg.Record | None:
    """The latest audit_log row of this action (who, and the coded resource)."""
    conn = await asyncpg.connect(database_url)
    try:
        row: asyncpg.Record | None = await conn.fetchrow(
            "SELECT agency_id, resource_id FROM audit_log WHERE action = $1 "
            "ORDER BY audit_id DESC LIMIT 1",
            action,
        )
        return row
    finally:
        await conn.close()
