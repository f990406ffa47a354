"""When a record was recorded: the wall clock, or, in a simulation, the simulator's clock.

The journey processor judges whether something was known by a deadline from the event's
recorded time. A simulator that plays months of journeys in minutes must therefore set
the recorded time as well as the occurred time. A deployment that opts in
(`ACCEPT_SIMULATED_TIME=true`, demos and tests only) takes it from the `Simulated-Time`
header; every other deployment refuses the header rather than silently ignore it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from journey_api.models import CLOCK_SKEW, NRM_BEGAN
from journey_api.problems import Problem

SIMULATED_TIME_HEADER = "Simulated-Time"


def recorded_time(request: Request) -> datetime:
    """Now, for the record this request writes."""
    header = request.headers.get(SIMULATED_TIME_HEADER)
    if header is None:
        return datetime.now(UTC)
    if not request.app.state.runtime.settings.accept_simulated_time:
        raise Problem(
            400,
            "Simulated time refused",
            f"This deployment does not accept the {SIMULATED_TIME_HEADER} header; it records "
            "with its own clock.",
            kind="simulated-time-refused",
        )
    try:
        moment = datetime.fromisoformat(header)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Problem(
            400,
            "Invalid simulated time",
            f"{SIMULATED_TIME_HEADER} must be an ISO 8601 timestamp with a time zone.",
            kind="invalid-simulated-time",
        )
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        raise Problem(
            400,
            "Invalid simulated time",
            f"{SIMULATED_TIME_HEADER} is in the future; a simulation replays the past.",
            kind="invalid-simulated-time",
        )
    if moment < NRM_BEGAN:
        raise Problem(
            400,
            "Invalid simulated time",
            f"{SIMULATED_TIME_HEADER} is before the NRM began ({NRM_BEGAN.date()}).",
            kind="invalid-simulated-time",
        )
    return moment.astimezone(UTC)
