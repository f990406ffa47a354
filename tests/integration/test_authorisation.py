"""The authorisation matrix on the real services: PostgreSQL, Kafka, uvicorn.

The matrix is written once, in tests/authorisation (the expected tables by hand in
tables.py, the cells in cells.py), and every cell of it runs as a unit test on the
in-memory apps (tests/authorisation/test_in_memory.py). Here runs the subset that proves
the PostgreSQL and Kafka wiring under each outcome: the first cell of each outcome class
(`one_per_outcome`), i.e. for every endpoint one agency type allowed (its write
committed, or its read shown) and one refused, a read hidden from an agency not on the
journey; per service, a missing scope and a missing or garbage token; each kind of
invalid token once; and the cells written out by hand.

Journeys and resources are made once for the module (a fresh resource per allowed cell
where its state matters), so each test is one request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.authorisation.cells import *  # noqa: F403 (the matrix's tests, collected here)
from tests.authorisation.cells import CELLS, one_per_outcome, parametrize
from tests.authorisation.scene import Api
from tests.authorisation.world import World, arrange
from tests.integration.services import RunningService, Tokens

pytestmark = pytest.mark.integration


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize(metafunc, one_per_outcome)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> AsyncIterator[World]:
    async def take_part(service: str, journey_id: str, agencies: Iterable[str]) -> None:
        """Reads are gated by taking part alone; the domain gives e.g. the CPS no record
        in the referral service, so its "participant" cells are arranged here directly."""
        conn = await asyncpg.connect(partner_services[service].database_url)
        try:
            await conn.executemany(
                """INSERT INTO journey_participants (journey_id, agency_id) VALUES ($1, $2)
                   ON CONFLICT DO NOTHING""",
                [(journey_id, agency) for agency in agencies],
            )
        finally:
            await conn.close()

    clients = {
        name: httpx.AsyncClient(base_url=service.url, timeout=30)
        for name, service in partner_services.items()
    }
    try:
        api = Api(clients, tokens, take_part)
        yield await arrange(api, one_per_outcome(CELLS["test_write"]))
    finally:
        for client in clients.values():
            await client.aclose()
