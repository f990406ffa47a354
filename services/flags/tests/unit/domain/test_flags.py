"""Folding a flag's dropoff events by sequence."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from flags.domain.flags import DropoffEvent, Flag, fold

DUE = datetime(2025, 3, 10, 9, tzinfo=UTC)


def event(sequence: int, resolution: str | None = None, *, due: datetime = DUE) -> DropoffEvent:
    at = due + timedelta(hours=sequence)
    return DropoffEvent(
        event_id=f"e{sequence}",
        flag_id="0b6f7d0e-5c1e-5f6a-9d3b-1a2b3c4d5e6f",
        journey_id="jny_abcdefghijklmnopqrstuvwxyz",
        rule_id="missing-episode",
        stage="support",
        severity="critical",
        due_at=due,
        sequence=sequence,
        time=at,
        recorded_time=at,
        resolution=resolution,
        resolved_at=at if resolution else None,
    )


def fold_all(*events: DropoffEvent) -> tuple[Flag | None, list[str | None]]:
    flag: Flag | None = None
    changes: list[str | None] = []
    for each in events:
        flag, change = fold(flag, each)
        changes.append(change)
    return flag, changes


def test_raised_then_resolved_opens_then_closes() -> None:
    flag, changes = fold_all(event(0), event(1, "cleared"))
    assert flag is not None
    assert (flag.status, flag.resolution, flag.sequence) == ("resolved", "cleared", 1)
    assert changes == ["raised", "resolved"]
    assert flag.raised_at == event(0).recorded_time


def test_an_older_sequence_arriving_late_changes_nothing() -> None:
    flag, changes = fold_all(event(0), event(1, "cleared"), event(0))
    assert flag is not None and flag.status == "resolved"
    assert changes == ["raised", "resolved", None]


def test_the_same_event_twice_changes_nothing() -> None:
    _, changes = fold_all(event(0), event(0))
    assert changes == ["raised", None]


def test_retracted_then_raised_again_under_the_same_flag_id_is_open_again() -> None:
    later = DUE + timedelta(days=3)  # the deadline moved
    flag, changes = fold_all(event(0), event(1, "retracted"), event(2, due=later))
    assert flag is not None
    assert (flag.status, flag.due_at, flag.resolution) == ("open", later, None)
    assert changes == ["raised", "resolved", "raised"]
    assert flag.raised_at == event(2, due=later).recorded_time


def test_a_retraction_is_a_resolved_transition_marked_retracted() -> None:
    flag, changes = fold_all(event(0), event(1, "retracted"))
    assert flag is not None and (flag.status, flag.resolution) == ("retracted", "retracted")
    assert changes == ["raised", "resolved"]


def test_a_flag_first_seen_closed_tells_nobody() -> None:
    flag, changes = fold_all(event(1, "arrived_late"))
    assert flag is not None and flag.status == "resolved"
    assert changes == [None]


def test_any_arrival_order_ends_in_the_highest_sequence() -> None:
    events = [event(0), event(1, "retracted"), event(2), event(3, "cleared")]
    for order in itertools.permutations(events):
        flag, _ = fold_all(*order)
        assert flag is not None
        assert (flag.sequence, flag.status, flag.resolution) == (3, "resolved", "cleared")
