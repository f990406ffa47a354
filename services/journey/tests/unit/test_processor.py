"""The processor core over in-memory stores (faust tables stand in as dicts here only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from journey.processor import JourneyProcessor
from journey.rulebook import RuleBook
from journey.rules.catalogue import load
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, encode
from journey_platform.settings import find_schemas_dir

CONTRACTS = Contracts.load(find_schemas_dir())
BOOK = RuleBook.of(load(CONTRACTS).values())
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
JOURNEY = "jny_" + "b" * 26


def event(event_type: str, at: datetime, data: dict[str, Any], event_id: str) -> Event:
    return Event(
        type=event_type,
        subject=JOURNEY,
        time=at,
        data=data,
        source="referral",
        recorded_by="northshire-police",
        id=event_id,
        recorded_time=at,
    )


def tick(at: datetime) -> Event:
    return Event(
        type="uk.nrm.clock.ticked",
        subject="clock-p0",
        time=at,
        data={"partition": 0, "mode": "replay"},
        source="clock",
        recorded_by="clock",
        recorded_time=at,
    )


REFERRAL = event(
    "uk.nrm.referral.submitted",
    START,
    {
        "referral_id": "3f0c7c9e-1d2b-4c1a-9e8f-2a3b4c5d6e7f",
        "first_responder_type": "police",
        "competent_authority": "sca",
        "age_group": "adult",
        "age_band": "25-34",
        "gender": "female",
        "nationality_group": "albania",
        "exploitation_types": ["sexual"],
        "exploitation_location": "uk_only",
        "region": "london",
        "consent": "given",
        "is_re_referral": False,
        "previous_referral_count": 0,
    },
    "9b1d2c3e-4f5a-4b6c-8d7e-0f1a2b3c4d5e",
)


def processor() -> tuple[JourneyProcessor, list[Event]]:
    published: list[Event] = []

    async def emit(out: Event) -> None:
        encode(out, CONTRACTS)  # every output keeps its contract
        published.append(out)

    return JourneyProcessor(BOOK, {}, emit), published


async def test_a_tick_past_the_deadline_raises_the_overdue_flag_once() -> None:
    core, published = processor()
    await core.handle(0, REFERRAL)
    await core.handle(0, tick(START + timedelta(days=8)))
    await core.handle(0, tick(START + timedelta(days=9)))
    raised = [e for e in published if e.type == "uk.nrm.dropoff.raised"]
    assert [e.data["rule_id"] for e in raised] == ["reasonable-grounds-overdue"]
    assert raised[0].data["due_at"] == "2025-03-10T09:00:00Z"  # five working days
    assert core.counters.journeys_visited_by_ticks == 1, "the second tick had nothing due"


async def test_an_event_no_rule_reads_publishes_nothing_and_is_remembered() -> None:
    core, published = processor()
    statement = event(
        "uk.nrm.statement.given",
        START,
        {
            "case_id": "0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a",
            "statement_type": "achieving_best_evidence_interview",
        },
        "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b",
    )
    await core.handle(0, statement)
    await core.handle(0, statement)
    assert published == []
    assert core.counters.duplicates == 1


async def test_after_a_reassignment_the_latest_outputs_are_published_again_with_their_ids() -> None:
    core, published = processor()
    await core.handle(0, REFERRAL)
    await core.handle(0, tick(START + timedelta(days=8)))
    before = {e.id for e in published}
    core.forget_assignment()
    await core.handle(0, tick(START + timedelta(days=8, hours=1)))
    again = published[len(before) :]
    assert again and {e.id for e in again} <= before
