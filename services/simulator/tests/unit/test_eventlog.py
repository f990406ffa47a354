"""The offline event log: valid, reproducible, and varied in the ways the processor meets."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, encode
from journey_platform.settings import find_schemas_dir
from journey_simulator.eventlog import generate

CONTRACTS = Contracts.load(find_schemas_dir())
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
JOURNEYS = 200
EVENTS = generate(JOURNEYS, seed=20250106, start=START, contracts=CONTRACTS)
JOURNEY_ID = re.compile(r"^jny_[a-z2-7]{26}$")
JOURNEY_TOPICS = {"nrm.identification", "nrm.support", "nrm.criminal-justice"}


def _by_journey(events: list[Event]) -> dict[str, list[Event]]:
    journeys: dict[str, dict[str, Event]] = defaultdict(dict)
    for event in events:
        journeys[event.subject][event.id] = event  # a duplicate delivery counts once
    return {subject: list(unique.values()) for subject, unique in journeys.items()}


def _any(event_type: str, **where: object) -> bool:
    return any(
        e.type == event_type and all(e.data.get(k) == v for k, v in where.items()) for e in EVENTS
    )


def test_every_event_is_strictly_valid_on_a_journey_topic() -> None:
    for event in EVENTS:
        record = encode(event, CONTRACTS)
        assert record.topic in JOURNEY_TOPICS
        assert event.major == 1 and event.traceparent is None
        assert event.time.tzinfo is not None and event.recorded_time >= event.time


def test_the_log_is_in_recording_order() -> None:
    keys = [(e.recorded_time, e.id) for e in EVENTS]
    assert keys == sorted(keys)


def test_the_same_seed_gives_the_same_log_and_another_seed_another() -> None:
    again = generate(JOURNEYS, seed=20250106, start=START, contracts=CONTRACTS)
    other = generate(JOURNEYS, seed=20250107, start=START, contracts=CONTRACTS)
    assert again == EVENTS
    assert other != EVENTS
    assert {e.subject for e in other}.isdisjoint({e.subject for e in EVENTS})


def test_a_few_events_are_delivered_twice_exactly() -> None:
    twice = [event_id for event_id, count in Counter(e.id for e in EVENTS).items() if count > 1]
    assert 0 < len(twice) < len(EVENTS) * 0.02
    for event_id in twice:
        first, second = (e for e in EVENTS if e.id == event_id)
        assert first == second


def test_some_events_are_recorded_long_after_they_happened() -> None:
    backdated = [e for e in EVENTS if e.recorded_time - e.time >= timedelta(days=1)]
    assert 0.02 < len(backdated) / len(EVENTS) < 0.1
    assert all(e.recorded_time - e.time <= timedelta(days=60) for e in EVENTS)


def test_journeys_have_pseudonymous_ids_and_realistic_length() -> None:
    journeys = _by_journey(EVENTS)
    assert len(journeys) == JOURNEYS
    assert all(JOURNEY_ID.match(subject) for subject in journeys)
    assert 25 <= statistics.mean(len(events) for events in journeys.values()) <= 45
    first_days = sorted(min(e.time for e in events) for events in journeys.values())
    assert first_days[0] >= START
    assert first_days[-1] - first_days[0] > timedelta(days=300), "spread over about a year"


@pytest.mark.parametrize(
    ("event_type", "where"),
    [
        ("uk.nrm.duty-to-notify.reported", {}),
        ("uk.nrm.referral.submitted", {"is_re_referral": True}),
        ("uk.nrm.referral.submitted", {"region": "scotland"}),
        ("uk.nrm.reasonable-grounds.decided", {"outcome": "negative"}),
        ("uk.nrm.reconsideration.decided", {"outcome": "overturned"}),
        ("uk.nrm.conclusive-grounds.decided", {"outcome": "positive"}),
        ("uk.nrm.referral.withdrawn", {}),
        ("uk.nrm.missing-episode.reported", {}),
        ("uk.nrm.victim-engagement.changed", {"status": "withdrew"}),
        ("uk.nrm.victim-engagement.changed", {"status": "re_engaged"}),
        ("uk.nrm.immigration-detention.entered", {}),
        ("uk.nrm.move-on-plan.agreed", {}),
        ("uk.nrm.investigation.closed", {}),
    ],
)
def test_the_log_holds_each_journey_shape(event_type: str, where: dict[str, object]) -> None:
    assert _any(event_type, **where)


def test_a_duty_to_notify_report_is_the_whole_journey() -> None:
    for events in _by_journey(EVENTS).values():
        if any(e.type == "uk.nrm.duty-to-notify.reported" for e in events):
            assert len(events) == 1


def test_ids_within_a_journey_agree() -> None:
    for events in _by_journey(EVENTS).values():
        for field in ("referral_id", "support_case_id"):
            assert len({e.data[field] for e in events if field in e.data}) <= 1, field
        started = {e.data.get("episode_id") or e.data.get("detention_id") for e in events}
        for event in events:
            if event.type in ("uk.nrm.missing-episode.ended", "uk.nrm.immigration-detention.left"):
                assert (event.data.get("episode_id") or event.data["detention_id"]) in started


def test_nothing_happens_after_a_withdrawal() -> None:
    for events in _by_journey(EVENTS).values():
        withdrawn = [e.time for e in events if e.type == "uk.nrm.referral.withdrawn"]
        if withdrawn:
            assert max(e.time for e in events) == withdrawn[0]
