from __future__ import annotations

from journey_platform.dropoffs import (
    OPEN,
    RAISED_TYPE,
    RESOLVED,
    RESOLVED_TYPE,
    RETRACTED,
    precedence,
    resolution_of,
    status_of,
)


def test_a_resolution_only_counts_on_a_resolved_event() -> None:
    assert resolution_of(RESOLVED_TYPE, {"resolution": "cleared"}) == "cleared"
    assert resolution_of(RAISED_TYPE, {"resolution": "cleared"}) is None
    assert [status_of(r) for r in (None, "cleared", "retracted")] == [OPEN, RESOLVED, RETRACTED]


def test_the_higher_sequence_wins_and_at_the_same_sequence_closed_beats_open() -> None:
    ordered = [precedence(0, OPEN), precedence(0, RESOLVED), precedence(1, OPEN)]
    assert sorted(ordered) == ordered
    assert precedence(0, RETRACTED) == precedence(0, RESOLVED)
