"""Folding the journey processor's outputs into one row per journey and one per flag.

Both topics are at least once and may re-deliver old records (after a processor restart
it republishes every journey's latest outputs with their original ids), so every fold here
is order-independent: folding the same events in any order, any number of times, gives
the same row. That is what makes the sink's upserts idempotent.

- An outcome replaces the stored one only if it is newer: a later `time` (the processor
  stamps each outcome with the latest time the journey had seen), then a later recorded
  time, then a later offset on the journey's partition.
- A flag's events carry the processor's `sequence` for that flag (0, 1, 2, ...): the
  highest stands, so a raised event re-delivered after the resolution changes nothing,
  and a flag retracted and then raised again (its deadline moved) is open again. Events
  without a sequence (0) fall back to: closed beats open, then recorded later, then
  happening later, then the larger event id.
  A `retracted` resolution means the flag should never have been raised: the row stays,
  marked retracted, and every analysis leaves it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from journey_platform.dropoffs import (
    OPEN,
    RAISED_TYPE,
    RESOLVED_TYPE,
    Status,
    precedence,
    resolution_of,
    status_of,
)
from journey_platform.envelope import Event

OUTCOME = "uk.nrm.journey.outcome"
RAISED = RAISED_TYPE
RESOLVED = RESOLVED_TYPE

PROFILE_COLUMNS = (
    "first_responder_type",
    "competent_authority",
    "age_group",
    "age_band",
    "nationality_group",
    "region",
)
# Milestones of the outcome record, each stored as a `<name>_at` timestamptz column.
MILESTONES = (
    "duty_to_notify_reported",
    "referred",
    "reasonable_grounds_decided",
    "reasonable_grounds_positive",
    "conclusive_grounds_decided",
    "conclusive_grounds_positive",
    "reconsideration_requested",
    "withdrawn",
    "support_entered",
    "support_first_contact",
    "support_ended",
    "police_referral",
    "crime_recorded",
    "investigation_opened",
    "charged",
    "trial_concluded",
    "convicted",
)


def parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- outcomes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where a record sat on its topic: ties between equal times go to the later offset."""

    partition: int
    offset: int


def outcome_row(event: Event, position: Position) -> dict[str, Any]:
    """The journey_outcomes row for an outcome event (coded fields only)."""
    data = event.data
    profile: Mapping[str, Any] = data.get("profile") or {}
    milestones: Mapping[str, str] = data.get("milestones") or {}
    final: Mapping[str, Any] | None = data.get("final")
    return {
        "journey_id": event.subject,
        "event_id": event.id,
        "as_of": event.time,
        "recorded_at": event.recorded_time,
        "source_partition": position.partition,
        "source_offset": position.offset,
        "stage": data["stage"],
        "in_support": data["in_support"],
        "criminal_justice_stage": data["criminal_justice_stage"],
        "reasonable_grounds_outcome": data.get("reasonable_grounds_outcome"),
        "conclusive_grounds_outcome": data.get("conclusive_grounds_outcome"),
        **{column: profile.get(column) for column in PROFILE_COLUMNS},
        "exploitation_types": list(profile.get("exploitation_types") or []),
        **{f"{name}_at": parse_time(milestones.get(name)) for name in MILESTONES},
        "durations_days": dict(data.get("durations_days") or {}),
        "open_flags": list(data.get("open_flags") or []),
        "flags_raised": data.get("flags_raised", 0),
        "final_outcome": final["outcome"] if final else None,
        "final_at": parse_time(final["ended_at"]) if final else None,
    }


def outcome_order(row: Mapping[str, Any]) -> tuple[datetime, datetime, int]:
    return (row["as_of"], row["recorded_at"], row["source_offset"])


def newer_outcome(current: Mapping[str, Any] | None, candidate: Mapping[str, Any]) -> bool:
    """Whether `candidate` should replace the stored outcome `current`."""
    return current is None or outcome_order(candidate) > outcome_order(current)


# -- flags ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One drop-off flag as the sink knows it (a dropoff_flags row)."""

    flag_id: str
    journey_id: str
    rule_id: str
    stage: str
    severity: str
    started_by: str
    due_at: datetime
    raised_at: datetime  # when the processor first recorded it (earliest recorded time seen)
    status: Status
    resolution: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    sequence: int
    # The event the row's current state comes from, to tell a later correction.
    last_event_id: str
    last_recorded_at: datetime
    last_time: datetime

    @property
    def closed(self) -> bool:
        return self.status != OPEN

    def order(self) -> tuple[tuple[int, bool], datetime, datetime, str]:
        # The contract's precedence, then the later event (deterministic in any order).
        return (
            precedence(self.sequence, self.status),
            self.last_recorded_at,
            self.last_time,
            self.last_event_id,
        )


def flag_from(event: Event) -> Flag:
    """The flag as one dropoff.raised or dropoff.resolved event alone describes it."""
    data = event.data
    resolution = resolution_of(event.type, data)
    status = status_of(resolution)
    due_at = parse_time(data["due_at"])
    assert due_at is not None
    return Flag(
        flag_id=data["flag_id"],
        journey_id=event.subject,
        rule_id=data["rule_id"],
        stage=data["stage"],
        severity=data["severity"],
        started_by=data["started_by"],
        due_at=due_at,
        raised_at=event.recorded_time,
        status=status,
        resolution=resolution,
        resolved_at=parse_time(data.get("resolved_at")) if resolution else None,
        resolved_by=data.get("resolved_by") if resolution else None,
        sequence=int(data.get("sequence", 0)),
        last_event_id=event.id,
        last_recorded_at=event.recorded_time,
        last_time=event.time,
    )


def fold_flag(current: Flag | None, event: Event) -> Flag:
    """The flag after `event`: the higher sequence wins (then closed beats open, then the
    later event); the earliest recorded time is when it was raised. Commutative,
    associative and idempotent."""
    incoming = flag_from(event)
    if current is None:
        return incoming
    winner = max(current, incoming, key=Flag.order)
    return replace(winner, raised_at=min(current.raised_at, incoming.raised_at))
