"""The processor core over an in-memory store standing in for an engine's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, encode
from journey_platform.settings import find_schemas_dir
from journey_processor.core.events import JourneyEvent
from journey_processor.core.processor import JourneyProcessor
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import load

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


def journey_event(event: Event) -> JourneyEvent:
    return JourneyEvent(event.id, event.type, event.time, event.recorded_time, event.data)


class Stored(dict[tuple[int, bytes], bytes]):
    """An engine's store, as the core reads it: (partition, key) -> bytes."""

    def read(self, partition: int, key: bytes) -> bytes | None:
        return self.get((partition, key))

    def take(self, core: JourneyProcessor) -> None:
        for partition, records in core.take_changes().items():
            for key, value in records:
                self[(partition, key)] = value

    def of(self, partition: int) -> list[tuple[bytes, bytes]]:
        return [(key, value) for (p, key), value in self.items() if p == partition]


def processor(stored: Stored | None = None) -> JourneyProcessor:
    stored = stored if stored is not None else Stored()
    core = JourneyProcessor(BOOK, stored.read)
    core.assign(0, stored.of(0))
    return core


def checked(outputs: list[Event]) -> list[Event]:
    for out in outputs:
        encode(out, CONTRACTS)  # every output keeps its contract
    return outputs


def test_a_tick_past_the_deadline_raises_the_overdue_flag_once() -> None:
    core = processor()
    checked(core.apply(0, JOURNEY, journey_event(REFERRAL), None))
    published = checked(core.tick(0, START + timedelta(days=8)))
    published += checked(core.tick(0, START + timedelta(days=9)))
    raised = [e for e in published if e.type == "uk.nrm.dropoff.raised"]
    assert [e.data["rule_id"] for e in raised] == ["reasonable-grounds-overdue"]
    assert raised[0].data["due_at"] == "2025-03-10T09:00:00Z"  # five working days
    assert core.counters.journeys_visited_by_ticks == 1, "the second tick had nothing due"


def test_an_event_no_rule_reads_publishes_nothing_and_is_remembered() -> None:
    core = processor()
    statement = event(
        "uk.nrm.statement.given",
        START,
        {
            "case_id": "0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a",
            "statement_type": "achieving_best_evidence_interview",
        },
        "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b",
    )
    assert core.apply(0, JOURNEY, journey_event(statement), None) == []
    assert core.apply(0, JOURNEY, journey_event(statement), None) == []
    assert core.counters.duplicates == 1


def test_changes_are_taken_once_per_batch_with_the_clock() -> None:
    core = processor()
    core.apply(0, JOURNEY, journey_event(REFERRAL), None)
    core.apply(0, JOURNEY, journey_event(REFERRAL), None)  # a duplicate changes nothing
    core.tick(0, START + timedelta(days=1))
    changed = core.take_changes()
    assert [key for key, _ in changed[0]] == [JOURNEY.encode(), b"clock-p0"]
    assert core.take_changes() == {}, "nothing changed since"


def test_a_worker_that_takes_the_partition_over_from_the_store_carries_on() -> None:
    stored = Stored()
    first = processor(stored)
    first.apply(0, JOURNEY, journey_event(REFERRAL), None)
    first.tick(0, START + timedelta(days=1))
    stored.take(first)
    # Another worker restores from what was committed: the agenda wakes the journey.
    second = processor(stored)
    assert second.apply(0, JOURNEY, journey_event(REFERRAL), None) == [], "a duplicate"
    raised = second.tick(0, START + timedelta(days=8))
    assert [e.data["rule_id"] for e in raised if e.type == "uk.nrm.dropoff.raised"] == [
        "reasonable-grounds-overdue"
    ]


def test_a_tick_never_moves_the_clock_back() -> None:
    stored = Stored()
    core = processor(stored)
    core.tick(0, START + timedelta(days=3))
    core.tick(0, START + timedelta(days=1))
    stored.take(core)
    assert stored[(0, b"clock-p0")] == repr((START + timedelta(days=3)).timestamp()).encode()
