"""The record store contract on PostgreSQL, in a transaction rolled back after each test
(libs/partner-api/tests/unit/adapters/test_memory.py runs it on the in-memory adapter)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from journey_api.adapters.postgres import PostgresRecordStore
from journey_api.service import API_MIGRATIONS
from journey_api.testing.record_store import RecordStoreContract
from journey_platform.migrations import migrate


class TestPostgresRecordStore(RecordStoreContract):
    @pytest.fixture
    async def store(self, pool: asyncpg.Pool) -> AsyncIterator[PostgresRecordStore]:
        async with pool.acquire() as conn:
            await migrate(conn, ("api", API_MIGRATIONS))
            transaction = conn.transaction()
            await transaction.start()
            try:
                yield PostgresRecordStore(conn)
            finally:
                await transaction.rollback()
