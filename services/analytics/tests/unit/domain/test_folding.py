"""Folding the noisy journey.dropoffs and journey.outcomes topics."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.domain.folding import Flag, Position, fold_flag, newer_outcome, outcome_row
from journey_platform.envelope import Event

T0 = datetime(2025, 3, 10, 9, tzinfo=UTC)
FLAG_ID = str(uuid.uuid4())
JOURNEY = "jny_testjourney"


def dropoff(kind: str, recorded: datetime, **extra: Any) -> Event:
    data: dict[str, Any] = {
        "flag_id": FLAG_ID,
        "rule_id": "reasonable-grounds-overdue",
        "stage": "identification",
        "severity": "high",
        "started_by": "start-event",
        "due_at": "2025-03-10T09:00:00Z",
        **extra,
    }
    return Event(
        type=f"uk.nrm.dropoff.{kind}",
        subject=JOURNEY,
        time=T0,
        data=data,
        source="journey-processor",
        recorded_by="journey-processor",
        recorded_time=recorded,
    )


RAISED = dropoff("raised", T0, sequence=0)
RESOLVED = dropoff(
    "resolved",
    T0 + timedelta(days=2),
    resolved_at="2025-03-12T09:00:00Z",
    resolution="arrived_late",
    resolved_by="decision-event",
    sequence=1,
)
RETRACTED = dropoff(
    "resolved",
    T0 + timedelta(hours=1),
    resolved_at="2025-03-10T10:00:00Z",
    resolution="retracted",
    resolved_by=None,
    sequence=1,
)


def fold(*events: Event) -> Flag:
    flag: Flag | None = None
    for event in events:
        flag = fold_flag(flag, event)
    assert flag is not None
    return flag


def test_a_raised_flag_is_open() -> None:
    flag = fold(RAISED)
    assert (flag.status, flag.resolution, flag.resolved_at) == ("open", None, None)


def test_raise_then_retract_is_retracted() -> None:
    flag = fold(RAISED, RETRACTED)
    assert (flag.status, flag.resolution) == ("retracted", "retracted")


def test_a_resolved_flag_redelivered_as_raised_stays_resolved() -> None:
    flag = fold(RAISED, RESOLVED, RAISED)
    assert flag.status == "resolved" and flag.resolution == "arrived_late"
    assert flag.resolved_at == T0 + timedelta(days=2)
    assert flag.raised_at == T0


def test_a_raise_redelivered_after_a_retraction_stays_retracted() -> None:
    assert fold(RAISED, RETRACTED, RAISED, RETRACTED).status == "retracted"


def test_duplicates_change_nothing() -> None:
    once = fold(RAISED, RESOLVED)
    assert fold(RAISED, RAISED, RESOLVED, RESOLVED, RAISED) == once


def test_a_later_resolution_corrects_an_earlier_one() -> None:
    corrected = dropoff(
        "resolved",
        T0 + timedelta(days=3),
        resolved_at="2025-03-11T09:00:00Z",
        resolution="met_in_time_recorded_late",
        resolved_by="backdated-decision",
        sequence=2,
    )
    assert fold(RAISED, RESOLVED, corrected).resolution == "met_in_time_recorded_late"
    assert fold(RAISED, corrected, RESOLVED).resolution == "met_in_time_recorded_late"


def test_the_fold_does_not_depend_on_arrival_order() -> None:
    events = [RAISED, RESOLVED, RETRACTED, RAISED]
    results = {fold(*order) for order in itertools.permutations(events)}
    assert len(results) == 1


def outcome(time: datetime, offset: int, stage: str) -> dict[str, Any]:
    data = {
        "stage": stage,
        "in_support": False,
        "criminal_justice_stage": "none",
        "reasonable_grounds_outcome": None,
        "conclusive_grounds_outcome": None,
        "profile": {"region": "london", "exploitation_types": ["labour"]},
        "milestones": {"referred": "2025-03-03T09:00:00Z"},
        "durations_days": {},
        "open_flags": [],
        "flags_raised": 0,
        "final": None,
    }
    event = Event(
        type="uk.nrm.journey.outcome",
        subject=JOURNEY,
        time=time,
        data=data,
        source="journey-processor",
        recorded_by="journey-processor",
        recorded_time=time,
    )
    return outcome_row(event, Position(0, offset))


def test_an_older_outcome_never_overwrites_a_newer_one() -> None:
    older = outcome(T0, 5, "awaiting_reasonable_grounds")
    newer = outcome(T0 + timedelta(days=1), 6, "awaiting_conclusive_grounds")
    assert newer_outcome(older, newer)
    assert not newer_outcome(newer, older)
    # A republished older outcome at a later offset is still older.
    assert not newer_outcome(newer, outcome(T0, 99, "awaiting_reasonable_grounds"))
    # The same record again changes nothing.
    assert not newer_outcome(newer, newer)


def test_an_outcome_row_flattens_the_profile_and_milestones() -> None:
    row = outcome(T0, 1, "awaiting_reasonable_grounds")
    assert row["region"] == "london" and row["exploitation_types"] == ["labour"]
    assert row["referred_at"] == datetime(2025, 3, 3, 9, tzinfo=UTC)
    assert row["convicted_at"] is None and row["final_outcome"] is None


def test_a_flag_raised_again_after_its_retraction_is_open_in_any_arrival_order() -> None:
    """The processor retracts a flag and raises it again when its deadline moves."""
    again = dropoff("raised", T0 + timedelta(days=10), sequence=2, due_at="2025-03-11T09:00:00Z")
    for events in ((RAISED, RETRACTED, again), (again, RAISED, RETRACTED), (RETRACTED, again)):
        flag = fold(*events)
        assert (flag.status, flag.due_at.day) == ("open", 11)


def test_without_a_sequence_closed_beats_open() -> None:
    """Events from before the processor numbered them: a resolution is never undone."""
    old = [
        dropoff(e.type.rsplit(".", 1)[1], e.recorded_time, **{**e.data, "sequence": 0})
        for e in (RAISED, RESOLVED)
    ]
    later_raise = dropoff("raised", T0 + timedelta(days=10), sequence=0)
    assert fold(old[0], old[1], later_raise).status == "resolved"
