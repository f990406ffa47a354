"""The clock in the log: ticks that carry "now" to every journey partition.

A tick is an event on journey.clock, sent to one partition explicitly (key and subject
`clock-p<n>`): wall-clock time from a live clock, simulated or replayed time otherwise.
"""

from __future__ import annotations

from datetime import datetime

from journey_platform.envelope import Event

CLOCK_TOPIC = "journey.clock"
CLOCK_TICKED = "uk.nrm.clock.ticked"


def tick_event(partition: int, moment: datetime, mode: str = "replay") -> Event:
    """A clock tick for one journey partition (send it to that partition explicitly)."""
    return Event(
        type=CLOCK_TICKED,
        subject=f"clock-p{partition}",
        time=moment,
        data={"partition": partition, "mode": mode},
        source="clock",
        recorded_by="clock",
        recorded_time=moment,
    )
