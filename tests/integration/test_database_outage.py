"""While a partner service cannot reach its PostgreSQL: writes and reads get 503
problem+json with Retry-After, /readyz fails and /livez answers, and nothing is half
written; once the database answers again, the same request (same Idempotency-Key) is
written exactly once.

The outage is a network partition (a proxy between the service and the database is cut),
so the PostgreSQL every other test uses keeps running. The fault suite (tests/faults)
stops the server itself under load.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from journey_api.problem_handlers import RETRY_AFTER_SECONDS
from tests.integration.conftest import Servers
from tests.integration.journeys import referral_body, synthetic_person
from tests.integration.services import BY_TYPE, Tokens, referral_service
from tests.integration.severable import Severable

pytestmark = pytest.mark.integration
POLICE = BY_TYPE["police_force"]
RECOVERY_SECONDS = 120  # a deadline for the pool to reconnect, not a target


@pytest.fixture
async def database(servers: Servers) -> AsyncIterator[str]:
    name = f"referral_outage_{uuid.uuid4().hex[:8]}"
    yield f"{servers.database_url.rsplit('/', 1)[0]}/{name}"
    admin = await asyncpg.connect(servers.database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def through(proxy: Severable, database_url: str) -> str:
    parts = urlsplit(database_url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{proxy.port}" if credentials else f"127.0.0.1:{proxy.port}"
    return parts._replace(netloc=netloc).geturl()


async def counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("journey_records", "outbox", "idempotency_keys")
        }
    finally:
        await conn.close()


async def test_an_unreachable_database_gives_503_with_retry_after_and_loses_nothing(
    database: str, kafka: str, tokens: Tokens
) -> None:
    target = urlsplit(database)
    proxy = Severable(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.mend()
    async with (
        referral_service(kafka, tokens, through(proxy, database)) as referral,
        httpx.AsyncClient(base_url=referral.url, timeout=30) as client,
    ):
        written = await client.post(
            "/v1/referrals", json=referral_body(synthetic_person()), headers=tokens.headers(POLICE)
        )
        assert written.status_code == 201, written.text
        before = await counts(database)

        await proxy.sever()
        retried = tokens.headers(POLICE)  # the client will send this request again, as is
        body = referral_body(synthetic_person())
        refused = await client.post("/v1/referrals", json=body, headers=retried)
        read = await client.get("/v1/referrals", headers=tokens.headers(POLICE))
        ready, live = await client.get("/readyz"), await client.get("/livez")
        for response in (refused, read):
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
            assert response.json()["type"].endswith("/unavailable")
        assert "nothing was written" in refused.json()["detail"]
        assert "Idempotency-Key" in refused.json()["detail"]
        assert ready.status_code == 503 and live.status_code == 200

        await proxy.mend()
        deadline = time.monotonic() + RECOVERY_SECONDS
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "not ready again after the database came back"
            await asyncio.sleep(0.2)
        assert await counts(database) == before, "the refused request left rows behind"

        again = await client.post("/v1/referrals", json=body, headers=retried)
        assert again.status_code == 201, again.text
        replayed = await client.post("/v1/referrals", json=body, headers=retried)
        assert replayed.json() == again.json(), "the same key answers with the first response"
    after = await counts(database)
    assert after == {table: n + 1 for table, n in before.items()}, (before, after)
