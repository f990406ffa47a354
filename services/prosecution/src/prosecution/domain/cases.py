"""When each criminal-justice record makes sense: an investigation opens once and closes
once; a charge decision follows an investigation; a trial follows a charge."""

from __future__ import annotations

from typing import Any

from journey_api.domain.errors import StateConflict
from journey_api.domain.records import Actor, Resource

Attributes = dict[str, Any]


def check_open_investigation(case: Resource, _: Attributes, __: Actor) -> None:
    if case.latest("investigation_opening") is not None:
        raise StateConflict("An investigation is already open for this case.")


def check_close_investigation(case: Resource, _: Attributes, __: Actor) -> None:
    if case.latest("investigation_opening") is None:
        raise StateConflict("No investigation has been opened.")
    if case.latest("investigation_closure") is not None:
        raise StateConflict("The investigation is already closed.")


def check_charge(case: Resource, _: Attributes, __: Actor) -> None:
    if case.latest("investigation_opening") is None:
        raise StateConflict("A charge decision needs an investigation.")
    if case.latest("charge_decision") is not None:
        raise StateConflict("A charge decision has already been recorded.")


def check_trial(case: Resource, _: Attributes, __: Actor) -> None:
    if case.attribute("charge_decision", "decision") != "charged":
        raise StateConflict("A trial outcome needs a decision to charge.")
    if case.latest("trial_outcome") is not None:
        raise StateConflict("A trial outcome has already been recorded.")


def summary(case: Resource) -> Attributes:
    return {
        "investigation": (
            "closed"
            if case.latest("investigation_closure")
            else "open"
            if case.latest("investigation_opening")
            else "not_opened"
        ),
        "victim_engagement": case.attribute("engagement_change", "status") or "engaged",
        "charge_decision": case.attribute("charge_decision", "decision"),
        "trial_outcome": case.attribute("trial_outcome", "outcome"),
    }
