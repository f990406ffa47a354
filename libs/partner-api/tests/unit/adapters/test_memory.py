"""The record store contract on the in-memory adapter (tests/integration runs it on
PostgreSQL: test_record_store.py)."""

from __future__ import annotations

import pytest

from journey_api.adapters.memory import MemoryRecordStore
from journey_api.testing.record_store import RecordStoreContract


class TestMemoryRecordStore(RecordStoreContract):
    @pytest.fixture
    def store(self) -> MemoryRecordStore:
        return MemoryRecordStore()
