"""One journey of the offline log as it is drawn: its id, random stream and events so far,
and the agencies that record them."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from journey_platform.envelope import Event
from journey_simulator.calibration import Calibration
from journey_simulator.people import (
    COUNCILS,
    FIRST_RESPONDER_TYPE,
    POLICE_FORCES,
    RESPONDER_AGENCIES,
    SUPPORT_PROVIDERS,
    Person,
)
from journey_simulator.vocabulary import Weighted

SOURCE = "journey-simulator"  # the envelope's `source`: where these events came from
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
BACKDATED_SHARE = 0.05  # recorded a day to two months after the fact


def seconds(count: float) -> timedelta:
    return timedelta(seconds=round(count))


class Journey:
    """One journey's id, random stream and events so far.

    Nothing that would happen after `observed_until` (the end of the log, or a withdrawal)
    is recorded: the journey is still going, or stopped, when the log ends.
    """

    def __init__(self, rng: random.Random, cal: Calibration, observed_until: datetime) -> None:
        self.rng, self.cal, self.observed_until = rng, cal, observed_until
        self.id = "jny_" + "".join(BASE32[rng.getrandbits(5)] for _ in range(26))
        self.events: list[Event] = []

    def record(self, kind: str, at: datetime, by: str, **data: Any) -> None:
        """Record `uk.nrm.<kind>` as happening `at`, by agency `by`, if the log still runs."""
        if at > self.observed_until:
            return
        self.events.append(
            Event(
                type=f"uk.nrm.{kind}",
                subject=self.id,
                time=at,
                data=data,
                source=SOURCE,
                recorded_by=by,
                id=self.new_id(),
                recorded_time=at + self._recording_delay(),
            )
        )

    def _recording_delay(self) -> timedelta:
        if self.chance(BACKDATED_SHARE):
            return self.days(1, 60)
        return self.hours(0.05, 8)

    def has(self, kind: str) -> bool:
        return any(event.type == f"uk.nrm.{kind}" for event in self.events)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- drawing ----------------------------------------------------------------------------

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def pick(self, values: Weighted) -> str:
        return values.draw(self.rng)

    def hours(self, low: float, high: float) -> timedelta:
        return seconds(self.rng.uniform(low, high) * 3600)

    def days(self, low: float, high: float) -> timedelta:
        return seconds(self.rng.uniform(low, high) * 86400)

    def long_tail(self, median_days: float, spread: float) -> timedelta:
        """A log-normal delay: mostly near the median, now and then far beyond it."""
        return seconds(self.rng.lognormvariate(math.log(median_days), spread) * 86400)

    def between(self, first: datetime, last: datetime) -> datetime:
        return first + seconds(self.rng.uniform(0, (last - first).total_seconds()))


@dataclass(frozen=True)
class Cast:
    """The agencies that record one journey's events (ids from the development registry)."""

    first_responder: str
    first_responder_type: str  # as the referral service records it
    authority: str  # the competent authority: "sca" or "ieca", also their agency ids
    support_provider: str
    police: str


def cast_of(journey: Journey, person: Person) -> Cast:
    choice = journey.rng.choice
    return Cast(
        first_responder=choice(RESPONDER_AGENCIES[person.responder_type]),
        first_responder_type=FIRST_RESPONDER_TYPE[person.responder_type],
        authority=person.competent_authority,
        # Children are looked after by the council; adults by a Victim Care Contract provider.
        support_provider=choice(COUNCILS if person.is_child else SUPPORT_PROVIDERS),
        police=choice(POLICE_FORCES),
    )
