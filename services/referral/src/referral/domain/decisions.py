"""What the competent authority may decide, and when (Modern Slavery Statutory Guidance).

- Reasonable Grounds (RG): "are there reasonable grounds to believe the person is a
  victim?"; one decision per referral unless a reconsideration overturns it.
- Conclusive Grounds (CG): on the balance of probabilities, only after a positive RG.
- Reconsideration: of a negative RG or CG, requested by the first responder or support
  provider; a decision that overturns the original opens the way to a new decision.
- A positive RG starts the recovery period (statutory minimum 30 days in England and
  Wales, Nationality and Borders Act 2022 s.60); a CG decision or withdrawal ends it.
"""

from __future__ import annotations

from typing import Any, Literal

from journey_api.domain.errors import StateConflict
from journey_api.domain.records import Actor, Resource
from nrm_domain.agencies import AgencyType

Decision = Literal["reasonable_grounds", "conclusive_grounds"]
DECISIONS: tuple[Decision, ...] = ("reasonable_grounds", "conclusive_grounds")
DECISION_KIND: dict[str, str] = {
    "reasonable_grounds": "reasonable_grounds_decision",
    "conclusive_grounds": "conclusive_grounds_decision",
}
REQUESTED, DECIDED = "reconsideration_request", "reconsideration_decision"
WITHDRAWN = "referral_withdrawal"
RECOVERY_STARTED, RECOVERY_ENDED = "recovery_period_start", "recovery_period_end"
AUTHORITY_OF_TYPE = {
    AgencyType.COMPETENT_AUTHORITY_SCA: "sca",
    AgencyType.COMPETENT_AUTHORITY_IECA: "ieca",
}


def _latest_index(resource: Resource, kind: str, **attributes: Any) -> int:
    found = -1
    for index, record in enumerate(resource.records):
        if record.kind == kind and all(
            record.attributes.get(k) == v for k, v in attributes.items()
        ):
            found = index
    return found


def outcome(resource: Resource, decision: Decision) -> str | None:
    """The latest decision's outcome, or None if not decided yet."""
    value = resource.attribute(DECISION_KIND[decision], "outcome")
    return None if value is None else str(value)


def reconsideration_pending(resource: Resource, decision: Decision) -> bool:
    requested = _latest_index(resource, REQUESTED, decision=decision)
    return requested > _latest_index(resource, DECIDED, decision=decision)


def decision_open(resource: Resource, decision: Decision) -> bool:
    """No decision yet, or the last one was overturned on reconsideration."""
    decided = _latest_index(resource, DECISION_KIND[decision])
    if decided < 0:
        return True
    overturned = _latest_index(resource, DECIDED, decision=decision, outcome="overturned")
    return overturned > decided


def withdrawn(resource: Resource) -> bool:
    return _latest_index(resource, WITHDRAWN) >= 0


def recovery_period_open(resource: Resource) -> bool:
    return _latest_index(resource, RECOVERY_STARTED) > _latest_index(resource, RECOVERY_ENDED)


def _routed_here(resource: Resource, actor: Actor) -> None:
    routed = resource.attribute("referral", "competent_authority")
    if AUTHORITY_OF_TYPE.get(actor.agency_type) != routed:
        raise StateConflict(f"This referral is routed to the {str(routed).upper()}, not to you.")


def _active(resource: Resource) -> None:
    if withdrawn(resource):
        raise StateConflict("The referral has been withdrawn.")


def check_reasonable_grounds(resource: Resource, _: dict[str, Any], actor: Actor) -> None:
    _active(resource)
    _routed_here(resource, actor)
    if not decision_open(resource, "reasonable_grounds"):
        raise StateConflict(
            "A Reasonable Grounds decision stands; request a reconsideration first."
        )


def check_conclusive_grounds(resource: Resource, _: dict[str, Any], actor: Actor) -> None:
    _active(resource)
    _routed_here(resource, actor)
    if outcome(resource, "reasonable_grounds") != "positive":
        raise StateConflict(
            "A Conclusive Grounds decision needs a positive Reasonable Grounds decision."
        )
    if not decision_open(resource, "conclusive_grounds"):
        raise StateConflict(
            "A Conclusive Grounds decision stands; request a reconsideration first."
        )


def check_reconsideration_request(resource: Resource, attributes: dict[str, Any], _: Actor) -> None:
    decision: Decision = attributes["decision"]
    if outcome(resource, decision) != "negative":
        raise StateConflict(
            f"Only a negative {decision.replace('_', ' ')} decision can be reconsidered."
        )
    if reconsideration_pending(resource, decision):
        raise StateConflict("A reconsideration of that decision is already pending.")


def check_reconsideration_decision(
    resource: Resource, attributes: dict[str, Any], actor: Actor
) -> None:
    _routed_here(resource, actor)
    if not reconsideration_pending(resource, attributes["decision"]):
        raise StateConflict("No reconsideration of that decision is pending.")


def check_withdrawal(resource: Resource, _: dict[str, Any], __: Actor) -> None:
    _active(resource)


def check_police_referral(resource: Resource, _: dict[str, Any], actor: Actor) -> None:
    _active(resource)
    _routed_here(resource, actor)


def summary(resource: Resource) -> dict[str, Any]:
    """Where the referral stands, for partners reading it."""
    rg, cg = outcome(resource, "reasonable_grounds"), outcome(resource, "conclusive_grounds")
    if withdrawn(resource):
        status = "withdrawn"
    elif rg is None:
        status = "awaiting_reasonable_grounds"
    elif rg == "negative":
        status = "negative_reasonable_grounds"
    elif cg is None:
        status = "awaiting_conclusive_grounds"
    else:
        status = f"conclusive_grounds_{cg}"
    return {
        "status": status,
        "reasonable_grounds": rg,
        "conclusive_grounds": cg,
        "recovery_period_open": recovery_period_open(resource),
        "reconsideration_pending": [d for d in DECISIONS if reconsideration_pending(resource, d)],
    }
