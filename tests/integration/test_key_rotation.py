"""`journey keys rotate` on the real PostgreSQL: identities written through the referral
API under one master key are read, during the rotation and after the old key is retired,
by a service given the new one."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from journey_api.sealing import JourneyKeys, master_key_id
from journey_cli.devstack.processes import free_port
from tests.integration.conftest import Servers
from tests.integration.journeys import Partner, referral_body, synthetic_person
from tests.integration.services import (
    RunningService,
    Tokens,
    learners_start_at_end,
    running,
    service_environment,
)

pytestmark = pytest.mark.integration

JOURNEYS = 30
BATCH = 4  # several batches, each its own transaction


def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@asynccontextmanager
async def referral(
    database_url: str, kafka: str, tokens: Tokens, key: str, previous: str | None = None
) -> AsyncIterator[RunningService]:
    from referral.config import ReferralSettings
    from referral.main import create_app

    port = free_port()
    settings = ReferralSettings.model_validate(
        {
            **service_environment(database_url, kafka, tokens.signer.jwks_file),
            "http_port": port,
            "identity_master_key": SecretStr(key),
            "identity_master_key_previous": SecretStr(previous) if previous else None,
        }
    )
    await learners_start_at_end(kafka, settings)
    app = create_app(settings)
    async with running("referral", app, port):
        yield RunningService("referral", f"http://127.0.0.1:{port}", app, database_url)


async def rotate(database_url: str, **keys: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "journey_cli",
        "keys",
        "rotate",
        "--database-url",
        database_url,
        "--batch-size",
        str(BATCH),
        env={**os.environ, **keys},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return await process.wait(), output.decode().strip()


async def read_identity(
    client: httpx.AsyncClient, service: RunningService, tokens: Tokens, referral_id: str
) -> dict[str, Any]:
    sca = Partner(client, service, tokens, "competent_authority_sca")
    identity = await sca.get(f"/v1/referrals/{referral_id}/identity")
    return dict(identity["person"])


async def test_rotation_re_seals_every_journey_key_while_the_service_reads(
    servers: Servers, kafka: str, tokens: Tokens
) -> None:
    old, new = new_master_key(), new_master_key()
    new_id = master_key_id(base64.b64decode(new))
    database_url = servers.database_url.rsplit("/", 1)[0] + f"/rotation_{uuid.uuid4().hex[:8]}"
    people: dict[str, dict[str, Any]] = {}
    async with (
        referral(database_url, kafka, tokens, old) as service,
        httpx.AsyncClient() as client,
    ):
        police = Partner(client, service, tokens, "police_force")
        for _ in range(JOURNEYS):
            person = synthetic_person()
            submitted = await police.post("/v1/referrals", referral_body(person))
            people[submitted["resource_id"]] = person
    conn = await asyncpg.connect(database_url)
    try:
        # Keys sealed before key ids were recorded (a database migrated from before) too.
        await conn.execute(
            "UPDATE journey_keys SET master_key_id = NULL WHERE journey_id IN "
            "(SELECT journey_id FROM journey_keys ORDER BY journey_id LIMIT 5)"
        )
        # A rotation stopped after its first batch, to be resumed by the command.
        async with conn.transaction():
            stopped = JourneyKeys(base64.b64decode(new), base64.b64decode(old))
            assert len(await stopped.reseal(conn, after="", limit=BATCH)) == BATCH

        # The service given both keys serves while the command runs beside it.
        async with (
            referral(database_url, kafka, tokens, new, previous=old) as service,
            httpx.AsyncClient() as client,
        ):
            rotation = asyncio.create_task(
                rotate(database_url, IDENTITY_MASTER_KEY=new, IDENTITY_MASTER_KEY_PREVIOUS=old)
            )
            reads_during = 0
            while not rotation.done() or reads_during == 0:
                referral_id = list(people)[reads_during % JOURNEYS]
                assert (
                    await read_identity(client, service, tokens, referral_id) == people[referral_id]
                )
                reads_during += 1
            code, output = await rotation
            assert (code, output) == (
                0,
                f"resealed {JOURNEYS - BATCH} journeys' keys under master key {new_id}; "
                "0 sealed by another key",
            )
            # Run again: nothing left to do.
            assert (await rotate(database_url, IDENTITY_MASTER_KEY=new))[1].startswith(
                "resealed 0 journeys' keys"
            )
        print(f"identities read during the rotation: {reads_during}")

        sealed_by = await conn.fetch("SELECT DISTINCT master_key_id FROM journey_keys")
        assert [row["master_key_id"] for row in sealed_by] == [new_id]
    finally:
        await conn.close()

    # The old key retired: everything still reads.
    async with (
        referral(database_url, kafka, tokens, new) as service,
        httpx.AsyncClient() as client,
    ):
        for referral_id, person in people.items():
            assert await read_identity(client, service, tokens, referral_id) == person


async def test_a_rotation_without_the_old_key_stops_and_says_which_to_set(
    servers: Servers, kafka: str, tokens: Tokens
) -> None:
    database_url = servers.database_url.rsplit("/", 1)[0] + f"/rotation_{uuid.uuid4().hex[:8]}"
    async with (
        referral(database_url, kafka, tokens, new_master_key()) as service,
        httpx.AsyncClient() as client,
    ):
        await Partner(client, service, tokens, "police_force").post(
            "/v1/referrals", referral_body(synthetic_person())
        )
    code, output = await rotate(database_url, IDENTITY_MASTER_KEY=new_master_key())
    assert code == 1
    assert output.startswith("journey keys rotate: journey keys sealed by master key ")
    assert output.endswith("set IDENTITY_MASTER_KEY_PREVIOUS to the key being replaced")
