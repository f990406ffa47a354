"""When each support record makes sense.

A support case opens on a request naming the provider; the provider offers support, the
person accepts or declines it, and from acceptance the provider records contact,
accommodation, assessments and legal help until support ends. Missing episodes may be
reported at any time, since people go missing before, during and after support.
"""

from __future__ import annotations

from typing import Any

from journey_api.domain.errors import StateConflict
from journey_api.domain.records import Actor, Resource

Attributes = dict[str, Any]


def ended(case: Resource) -> bool:
    return case.latest("support_end") is not None


def answer(case: Resource) -> str | None:
    """'accepted' or 'declined' after the latest offer, or None if unanswered."""
    offers = [i for i, r in enumerate(case.records) if r.kind == "support_offer"]
    if not offers:
        return None
    for record in case.records[offers[-1] :]:
        if record.kind == "support_acceptance":
            return "accepted"
        if record.kind == "support_decline":
            return "declined"
    return None


def _open(case: Resource) -> None:
    if ended(case):
        raise StateConflict("Support has ended for this case.")


def check_end(case: Resource, _: Attributes, __: Actor) -> None:
    _open(case)


def check_offer(case: Resource, _: Attributes, __: Actor) -> None:
    _open(case)
    if answer(case) == "accepted":
        raise StateConflict("Support was already accepted.")


def check_answer(case: Resource, _: Attributes, __: Actor) -> None:
    _open(case)
    if case.latest("support_offer") is None:
        raise StateConflict("No support has been offered yet.")
    if answer(case) is not None:
        raise StateConflict("The latest offer has already been answered.")


def check_in_support(case: Resource, _: Attributes, __: Actor) -> None:
    _open(case)
    if answer(case) != "accepted":
        raise StateConflict("Support has not been accepted.")


def _open_ids(case: Resource, opened: str, closed: str, field: str) -> set[str]:
    started = {r.attributes[field] for r in case.all(opened)}
    return started - {r.attributes[field] for r in case.all(closed)}


def check_leave_accommodation(case: Resource, attributes: Attributes, _: Actor) -> None:
    if str(attributes["stay_id"]) not in _open_ids(
        case, "accommodation_entry", "accommodation_exit", "stay_id"
    ):
        raise StateConflict("No open accommodation stay with that stay_id in this case.")


def check_end_missing(case: Resource, attributes: Attributes, _: Actor) -> None:
    if str(attributes["episode_id"]) not in _open_ids(
        case, "missing_episode", "missing_episode_end", "episode_id"
    ):
        raise StateConflict("No open missing episode with that episode_id in this case.")


def summary(case: Resource) -> Attributes:
    return {
        "status": "ended"
        if ended(case)
        else (answer(case) or ("offered" if case.latest("support_offer") else "requested")),
        "first_contact_made": case.latest("first_contact") is not None,
        "open_accommodation_stays": sorted(
            _open_ids(case, "accommodation_entry", "accommodation_exit", "stay_id")
        ),
        "open_missing_episodes": sorted(
            _open_ids(case, "missing_episode", "missing_episode_end", "episode_id")
        ),
        "legal_representation_secured": case.latest("legal_representation") is not None,
    }
