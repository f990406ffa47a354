"""A drop-off flag's state, folded from the journey processor's `journey.dropoffs` events.

The order of a flag's events is the contract's (journey_platform.dropoffs): an older event
arriving late, or one delivered again, changes nothing. A flag retracted and raised again
(its deadline moved) is open again. A retracted flag should never have been raised: it
leaves every list, though its history stays.

Each change of status (opened, or closed) is a `FlagTransition`: what the agencies
concerned are told about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from journey_platform.dropoffs import OPEN, Status, precedence, status_of


@dataclass(frozen=True)
class DropoffEvent:
    """One uk.nrm.dropoff.raised or uk.nrm.dropoff.resolved event, as the fold reads it."""

    event_id: str
    flag_id: str
    journey_id: str
    rule_id: str
    stage: str
    severity: str
    due_at: datetime
    sequence: int
    time: datetime  # the envelope time: when it became due, or was resolved
    recorded_time: datetime  # when the processor recorded it
    resolution: str | None  # None: raised; else the dropoff.resolved schema's resolution
    resolved_at: datetime | None = None

    @property
    def status(self) -> Status:
        return status_of(self.resolution)

    @property
    def kind(self) -> str:
        """The history row's kind: raised, resolved or retracted."""
        return "raised" if self.status == OPEN else self.status


@dataclass(frozen=True)
class Flag:
    flag_id: str
    journey_id: str
    rule_id: str
    stage: str
    severity: str
    due_at: datetime
    sequence: int
    status: Status
    raised_at: datetime  # when the processor last raised it (recorded it as open)
    resolved_at: datetime | None
    resolution: str | None


@dataclass(frozen=True)
class FlagTransition:
    """A flag opened or closed: the notice each agency concerned gets (no personal data).

    `agencies`: the agencies currently taking part in the journey to whose type the rule
    is relevant (relevance.py): the ones to tell.
    """

    kind: Literal["raised", "resolved"]
    flag_id: str
    journey_id: str
    rule_id: str
    resolution: str | None  # None when raised; "retracted" among the dropoff.resolved values
    occurred_at: datetime  # the dropoff event's time: when it became due, or was resolved
    # When the system recorded the change: from this moment the agencies can know, so
    # time to act counts from it (a flag raised late is due before it is raised).
    recorded_at: datetime
    agencies: frozenset[str]

    @property
    def event_type(self) -> str:
        """Its webhook event type: flag.raised or flag.resolved."""
        return f"flag.{self.kind}"


Change = Literal["raised", "resolved"]


def fold(current: Flag | None, event: DropoffEvent) -> tuple[Flag, Change | None]:
    """The flag after `event` and whether its status changed ("raised", "resolved", or
    None). A flag first seen closed opens nothing: nobody was told it was open."""
    if current is not None and precedence(event.sequence, event.status) <= precedence(
        current.sequence, current.status
    ):
        return current, None
    raised_at = event.recorded_time if event.status == OPEN else None
    after = Flag(
        flag_id=event.flag_id,
        journey_id=event.journey_id,
        rule_id=event.rule_id,
        stage=event.stage,
        severity=event.severity,
        due_at=event.due_at,
        sequence=event.sequence,
        status=event.status,
        raised_at=raised_at or (current.raised_at if current else event.recorded_time),
        resolved_at=event.resolved_at,
        resolution=event.resolution,
    )
    was_open = current is not None and current.status == OPEN
    if after.status == OPEN and not was_open:
        return after, "raised"
    if after.status != OPEN and was_open:
        return after, "resolved"
    return after, None
