"""What the planner hands the driver: per person, the requests to make and when, and the
drop-offs those requests inject (the ground truth)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SERVICES = ("referral", "support", "prosecution")
REF = "$ref:"  # a body value naming an id minted by an earlier response of the same journey


@dataclass(frozen=True)
class Action:
    """One write to a partner API, as one agency, at one simulated moment.

    `at` is the recorded time (sent as the Simulated-Time header); `occurred` is when it
    happened (the body's occurred_at), earlier for a backdated record. `path` may name
    earlier ids as `{name}`, and body values as "$ref:name"; `captures` says which response
    fields become such names. `event` is the main event the write publishes.
    """

    at: datetime
    occurred: datetime
    service: str
    agency: str
    path: str
    body: dict[str, Any]
    event: str
    captures: tuple[tuple[str, str], ...] = ()
    wait_known: bool = False  # the service learns the journey from Kafka: retry 404


@dataclass
class JourneyPlan:
    """One generated person's journey: profile, ordered actions, injected drop-offs."""

    key: str  # the planner's own id for the person, stable for a seed
    kind: str  # "referral" or "duty_to_notify"
    profile: dict[str, Any]
    actions: list[Action] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Cohort:
    seed: int
    start: datetime
    end: datetime  # the final tick's time: the truth is judged as of this moment
    journeys: list[JourneyPlan]
    marginals: dict[str, Any]

    @property
    def requests(self) -> int:
        return sum(len(j.actions) for j in self.journeys)
