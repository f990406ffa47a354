"""The clock in the log: ticks that carry "now" to every journey partition.

A tick is an event on journey.clock, sent to one partition explicitly (key and subject
`clock-p<n>`): wall-clock time from a live clock, simulated or replayed time otherwise.
Declared here once for whoever sends ticks (the processor's live clock and replays, the
simulator) and the processor that reads them.
"""

from __future__ import annotations

from datetime import datetime

from journey_platform.envelope import Event

CLOCK_TOPIC = "journey.clock"
CLOCK_TICKED = "uk.nrm.clock.ticked"


def tick_event(
    partition: int, moment: datetime, mode: str = "replay", source: str = "clock"
) -> Event:
    """A clock tick for one journey partition (send it to that partition explicitly);
    `mode` says what time it carries: live, simulated or replay."""
    return Event(
        type=CLOCK_TICKED,
        subject=f"clock-p{partition}",
        time=moment,
        data={"partition": partition, "mode": mode},
        source=source,
        recorded_by="clock",
        recorded_time=moment,
    )
