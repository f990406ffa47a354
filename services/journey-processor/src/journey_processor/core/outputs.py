"""What the processor publishes: journey.dropoffs and journey.outcomes events, built from a
journey's changes. Event ids are the state's stable ids, so a re-run publishes the same ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from journey_platform.envelope import Event, rfc3339
from journey_processor.core.state import Changes, Dropoff, JourneyState

SOURCE = "journey-processor"
PROCESSOR = "journey-processor"


def outputs(state: JourneyState, changes: Changes, traceparent: str | None) -> Iterable[Event]:
    """The journey.dropoffs and journey.outcomes events for a journey's changes, carrying
    the trace context of what caused them."""
    known = changes.dropoffs and state.now != float("-inf")
    now = datetime.fromtimestamp(state.now, UTC) if known else None
    for dropoff in changes.dropoffs:
        yield Event(
            type=f"uk.nrm.dropoff.{dropoff.kind}",
            subject=state.journey_id,
            time=dropoff.time,
            data=dropoff_data(dropoff),
            source=SOURCE,
            recorded_by=PROCESSOR,
            id=dropoff.event_id,
            recorded_time=max(now or dropoff.time, dropoff.time),
            traceparent=traceparent,
        )
    if changes.outcome is not None and changes.outcome_id is not None:
        moment = datetime.fromtimestamp(max(state.latest_event_time(), state.now), UTC)
        yield Event(
            type="uk.nrm.journey.outcome",
            subject=state.journey_id,
            time=moment,
            data=changes.outcome,
            source=SOURCE,
            recorded_by=PROCESSOR,
            id=changes.outcome_id,
            recorded_time=moment,
            traceparent=traceparent,
        )


def dropoff_data(dropoff: Dropoff) -> dict[str, Any]:
    data: dict[str, Any] = {
        "flag_id": dropoff.flag_id,
        "rule_id": dropoff.rule.id,
        "stage": str(dropoff.rule.stage),
        "severity": str(dropoff.rule.severity),
        "started_by": dropoff.started_by,
        "due_at": rfc3339(dropoff.due_at),
        "sequence": dropoff.sequence,
    }
    if dropoff.kind == "resolved":
        assert dropoff.resolved_at is not None
        data |= {
            "resolved_at": rfc3339(dropoff.resolved_at),
            "resolution": dropoff.resolution,
            "resolved_by": dropoff.resolved_by,
        }
    return data
