"""What a service learns from another service's event: the journey, its facts, and who
takes part in it (on the in-memory store; the PostgreSQL one passes the same suite)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from journey_api.adapters.memory import MemoryRecordStore
from journey_api.learning import learn_journey
from journey_platform.envelope import Event


def _event(event_type: str, **data: Any) -> Event:
    return Event(event_type, "jny_1", datetime(2025, 1, 1, tzinfo=UTC), data, "tests", "met-police")


def _known(event: Event) -> dict[str, Any] | None:
    return {"seen": event.type} if event.type == "uk.nrm.referral.submitted" else None


async def test_by_default_the_agency_that_recorded_the_event_takes_part() -> None:
    store = MemoryRecordStore()
    await learn_journey(store, _event("uk.nrm.referral.submitted"), _known)
    assert store.journeys == {"jny_1": {"seen": "uk.nrm.referral.submitted"}}
    assert await store.takes_part("jny_1", "met-police")


async def test_the_service_may_name_who_takes_part_instead() -> None:
    store = MemoryRecordStore()
    event = _event("uk.nrm.referral.submitted", provider="haven-support")
    await learn_journey(store, event, _known, lambda e: [e.data["provider"]])
    assert await store.takes_part("jny_1", "haven-support")
    assert not await store.takes_part("jny_1", "met-police")


async def test_an_event_without_facts_teaches_nothing() -> None:
    store = MemoryRecordStore()
    await learn_journey(store, _event("uk.nrm.support.offered"), _known)
    assert store.journeys == {} and store.participants == set()
