"""Batch-idempotent consumers on real PostgreSQL: each event id applied once, in order."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from journey_platform.contracts import Contracts
from journey_platform.db import Connection
from journey_platform.envelope import Event
from journey_platform.idempotence import idempotent_batch
from tests.integration.events import example_event

pytestmark = pytest.mark.integration


async def test_duplicates_within_and_across_batches_are_applied_once(
    pool: asyncpg.Pool, contracts: Contracts
) -> None:
    await pool.execute("CREATE TABLE effect (n serial, event_id uuid NOT NULL)")

    async def effect(conn: Connection, event: Event) -> None:
        await conn.execute("INSERT INTO effect (event_id) VALUES ($1)", uuid.UUID(event.id))

    handle = idempotent_batch(pool, "learner", effect)
    a, b, c = (example_event(contracts, "uk.nrm.support.accepted") for _ in range(3))
    await handle([a, a, b])
    await handle([b, a, c])  # redelivered after a crash, plus one new event
    applied = [
        str(r["event_id"]) for r in await pool.fetch("SELECT event_id FROM effect ORDER BY n")
    ]
    assert applied == [a.id, b.id, c.id]


async def test_a_failing_effect_rolls_back_the_claims_of_the_whole_batch(
    pool: asyncpg.Pool, contracts: Contracts
) -> None:
    async def fails_on_second(conn: Connection, event: Event) -> None:
        if event.id == second.id:
            raise RuntimeError("database hiccup")

    first, second = (example_event(contracts, "uk.nrm.support.accepted") for _ in range(2))
    with pytest.raises(RuntimeError):
        await idempotent_batch(pool, "learner", fails_on_second)([first, second])
    assert await pool.fetchval("SELECT count(*) FROM processed_events") == 0
