"""How every consumer of `journey.dropoffs` orders a flag's events (the contract's rule,
written once for the flags service and the analytics sink).

The processor numbers a flag's events from 0 (`sequence`) across raised and resolved: the
highest sequence is the flag's state. At the same sequence (events without one count as
0), closed beats open. A `retracted` resolution means the flag should never have been
raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

RAISED_TYPE = "uk.nrm.dropoff.raised"
RESOLVED_TYPE = "uk.nrm.dropoff.resolved"

Status = Literal["open", "resolved", "retracted"]
OPEN: Status = "open"
RESOLVED: Status = "resolved"
RETRACTED: Status = "retracted"


def resolution_of(event_type: str, data: Mapping[str, Any]) -> str | None:
    """None for a raise; else the dropoff.resolved schema's resolution."""
    resolution = data.get("resolution") if event_type == RESOLVED_TYPE else None
    return None if resolution is None else str(resolution)


def status_of(resolution: str | None) -> Status:
    if resolution is None:
        return OPEN
    return RETRACTED if resolution == RETRACTED else RESOLVED


def precedence(sequence: int, status: Status) -> tuple[int, bool]:
    """Sort key of a flag's events: the greatest is its state."""
    return sequence, status != OPEN
