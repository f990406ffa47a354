"""The three partner services, running for real: uvicorn on loopback ports, each with its
own fresh PostgreSQL database, on the real Kafka; plus development tokens for any agency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from journey_api.agencies import AgencyRegistry
from journey_api.auth import SCOPES
from journey_api.config import ApiSettings
from journey_api.service import KEEP_ALIVE_SECONDS
from journey_api.tokens import DevelopmentSigner
from journey_cli.devstack.processes import free_port
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir
from referral.config import ReferralSettings
from referral.main import create_app
from tests.integration.kafka_helpers import start_at_end

AGENCIES = AgencyRegistry.load(find_schemas_dir().parent / "deploy" / "local" / "agencies.yaml")
# One agency of each type, for tests that speak "as the police", "as the SCA" and so on.
BY_TYPE = {a.type.value: a.id for a in reversed(list(AGENCIES))}


async def learners_start_at_end(kafka: str, settings: ApiSettings) -> None:
    """A partner service's learner starts at the end of each topic the catalogue says it
    consumes, not at what earlier runs left on a long-lived development broker."""
    for topic in Contracts.load(find_schemas_dir()).consumed_by(settings.service_name):
        await start_at_end(kafka, settings.consumer_group("journeys"), topic)


@dataclass
class RunningService:
    name: str
    url: str
    app: FastAPI
    database_url: str


class Tokens:
    def __init__(self, signer: DevelopmentSigner) -> None:
        self.signer = signer

    def headers(
        self, agency_id: str, *, scopes: list[str] | None = None, idempotency_key: str | None = None
    ) -> dict[str, str]:
        """Bearer token for the agency (all scopes unless given) and a fresh Idempotency-Key."""
        token = self.signer.mint(agency_id=agency_id, scopes=scopes or sorted(SCOPES))
        return {
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": idempotency_key or str(uuid.uuid4()),
        }


@asynccontextmanager
async def running(name: str, app: FastAPI, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    )
    task = asyncio.create_task(server.serve())
    async with httpx.AsyncClient() as client:
        for _ in range(400):  # started within 40 s, or fail with what the task said
            if task.done():
                task.result()
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{name} service did not become ready")
    try:
        yield
    finally:
        server.should_exit = True
        await task


def service_environment(database_url: str, kafka: str, jwks: Path) -> dict[str, object]:
    # Each test session's services are a deployment of their own: own databases and own
    # consumer groups (started at the topics' end by the fixture).
    return {
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka,
        "auth_jwks_file": jwks,
        "outbox_poll_interval_seconds": 0.05,
        "consumer_group_prefix": database_url.rsplit("/", 1)[1],
        # The simulator's tests set recorded times; other tests never send the header.
        "accept_simulated_time": True,
    }


@asynccontextmanager
async def referral_service(
    kafka: str, tokens: Tokens, database_url: str, **settings: Any
) -> AsyncIterator[RunningService]:
    """Another referral service process's worth of app, with its own consumer group (for a
    test that needs settings or a database of its own)."""
    environment = {
        **service_environment(database_url, kafka, tokens.signer.jwks_file),
        "consumer_group_prefix": f"referral-{uuid.uuid4().hex[:8]}",
        **settings,
    }
    port = free_port()
    service_settings = ReferralSettings(**environment, http_port=port)
    await learners_start_at_end(kafka, service_settings)
    app = create_app(service_settings)
    async with running("referral", app, port):
        yield RunningService("referral", f"http://127.0.0.1:{port}", app, database_url)
