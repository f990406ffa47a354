"""Support after a positive Reasonable Grounds decision: request, offer, acceptance, first
contact, regular contacts, accommodation, legal help, missing episodes and the ending.

Adults are supported under the Modern Slavery Victim Care Contract (MSVCC) by a support
provider, children by their council. Contacts are the main cost of a simulation (one
request per 8-12 simulated days in support), so support lasts only as long as the
journey gives it reason to: it ends early for some (before the Conclusive Grounds
decision: a drop-off), soon after a negative CG, and 50-100 days after a positive one
(or within 45 days without a move-on plan: the cliff edge).
"""

from __future__ import annotations

from datetime import datetime

from journey_simulator.people import COUNCILS, SUPPORT_PROVIDERS, Person
from journey_simulator.plan import Action
from journey_simulator.support_case import Case, contacts, missing_episodes
from journey_simulator.timeline import DAY, HOUR, Journey
from journey_simulator.vocabulary import (
    ADULT_ACCOMMODATION,
    CLIFF_EDGE_ENDINGS,
    CONTACT_MODES,
    EARLY_SUPPORT_ENDINGS,
    LEGAL_MATTERS,
    MOVE_ON_DESTINATIONS,
    NEED_AREAS,
    PRIORITIES,
    SUPPORT_DECLINED_REASONS,
)

ROUTE_OF_REGION = {"scotland": "scotland", "northern_ireland": "northern_ireland"}


def plan_support(
    j: Journey,
    person: Person,
    decision: Action,
    conclusive_at: datetime,
    conclusive: Action | None,
) -> Action | None:
    """Plan support after the positive RG `decision`; `conclusive_at` is when the CG
    decision comes (perhaps after the end: then `conclusive` is None). Returns the record
    of legal representation secured, if it was."""
    requested = _request(j, person, decision)
    if requested is None:
        return None
    case, route, request = requested
    accepted = _accepted(j, case, request, route)
    first = None if accepted is None else _first_contact(j, case, accepted)
    if first is None:
        return None
    accommodation = "local_authority_care" if person.is_child else j.pick(ADULT_ACCOMMODATION)
    stay = case.add(
        first.at + j.hours(0, 24),
        "accommodation-stays",
        {"accommodation_type": accommodation},
        "accommodation.entered",
        captures=(("stay", "attributes.stay_id"),),
    )
    case.add(
        first.at + j.days(1, 10),
        "needs-assessments",
        {
            "need_areas": sorted(j.rng.sample(NEED_AREAS, j.rng.randint(1, 3))),
            "priority": j.pick(PRIORITIES),
        },
        "needs-assessment.completed",
    )
    matter = j.pick(LEGAL_MATTERS)
    legal_request = case.add(
        first.at + j.days(1, 14),
        "legal-representation-requests",
        {"matter": matter},
        "legal-representation.requested",
    )
    end_record = _ending(j, case, first, conclusive_at, conclusive)
    ending = None if end_record is None else end_record.occurred
    legal = None
    if legal_request is not None:
        legal = _legal_representation(j, case, decision, legal_request, matter, ending)
    stop = min(ending or j.end, j.end)
    missing_episodes(j, person, case, first.at, stop, accommodation)
    contacts(j, case, first, end_record)
    if ending is not None and stay is not None:
        case.add(
            ending - j.hours(1, 6),
            "accommodation-departures",
            {"stay_id": "$ref:stay", "reason": "moved_on"},
            "accommodation.left",
        )
    return legal


def _request(j: Journey, person: Person, decision: Action) -> tuple[Case, str, Action] | None:
    """The competent authority's request for support, if made: the case, its route and the
    request."""
    if not j.chance(j.cal.assumption("support_requested_share")):
        return None
    route = (
        "local_authority_child"
        if person.is_child
        else ROUTE_OF_REGION.get(person.region, "msvcc_adult")
    )
    provider = j.rng.choice(COUNCILS if person.is_child else SUPPORT_PROVIDERS)
    requested = j.add(
        decision.at + j.hours(4, 72),
        "support",
        person.competent_authority,
        "/v1/support-cases",
        {"journey_id": "$ref:journey", "support_route": route, "provider_agency_id": provider},
        "uk.nrm.support.requested",
        captures=(("case", "resource_id"),),
        wait_known=True,
    )
    return None if requested is None else (Case(j, provider), route, requested)


def _accepted(j: Journey, case: Case, requested: Action, route: str) -> Action | None:
    """The provider's offer and the person's answer: the acceptance, or None."""
    offer = case.add(
        requested.at + j.hours(2, 48), "offers", {"support_route": route}, "support.offered"
    )
    if offer is None:
        return None
    if j.chance(j.cal.assumption("support_declined_share")):
        case.add(
            offer.at + j.hours(1, 48),
            "decline",
            {"reason": j.pick(SUPPORT_DECLINED_REASONS)},
            "support.declined",
        )
        return None
    return case.add(offer.at + j.hours(1, 24), "acceptance", {}, "support.accepted")


def _first_contact(j: Journey, case: Case, accepted: Action) -> Action | None:
    # Each record follows the one before it as recorded (the service checks the order).
    if j.chance(j.cal.assumption("no_first_contact_share")):
        first_at = accepted.at + j.days(4, 10)
    else:  # at most 20 hours after acceptance: the rule allows 48
        first_at = accepted.at + j.hours(0.5, 16)
    first = case.add(
        first_at,
        "first-contact",
        {"contact_mode": j.pick(CONTACT_MODES)},
        "support.first-contact-made",
    )
    j.expect("no-first-contact", accepted, accepted.occurred + 48 * HOUR, first)
    return first


def _legal_representation(
    j: Journey,
    case: Case,
    decision: Action,
    request: Action,
    matter: str,
    ending: datetime | None,
) -> Action | None:
    """Legal representation secured, in time or late, unless support ends first."""
    if j.chance(j.cal.assumption("legal_representation_late_share")):
        secured = decision.occurred + j.days(90, 240)
    else:  # in time: at most 45 days after the RG decision (the rule allows 60)
        secured = max(
            min(request.at + j.days(3, 20), decision.occurred + j.days(40, 45)),
            request.at + HOUR,
        )
    if ending is not None and secured >= ending - DAY:
        return None
    return case.add(
        secured,
        "legal-representation",
        {"matter": matter, "legal_aid": j.chance(0.8)},
        "legal-representation.secured",
    )


def _ending(
    j: Journey, case: Case, first: Action, conclusive_at: datetime, conclusive: Action | None
) -> Action | None:
    """The end of support (None: not within the window), with the drop-offs it injects."""
    cal = j.cal
    if j.chance(cal.assumption("support_ends_early_share")):
        leaves = first.occurred + j.days(60, 400)
        if leaves < conclusive_at - 2 * DAY:
            ended = case.add(
                leaves, "end", {"reason": j.pick(EARLY_SUPPORT_ENDINGS)}, "support.ended"
            )
            if ended is None:
                return None
            # Support ends after a positive RG with the CG decision still to come.
            j.inject("support-ended-conclusive-grounds-pending")
            return ended
    if conclusive is None:
        return None  # still in support at the end, awaiting the CG decision
    decided = conclusive.occurred
    if conclusive.body["outcome"] == "negative":
        ended = case.add(
            decided + j.days(5, 9),
            "end",
            {"reason": "conclusive_grounds_negative"},
            "support.ended",
        )
        return ended
    if j.chance(cal.assumption("cliff_edge_share")):
        ended = case.add(
            decided + j.days(5, 30),
            "end",
            {"reason": j.pick(CLIFF_EDGE_ENDINGS)},
            "support.ended",
        )
        if ended is None:
            return None
        j.inject("move-on-cliff-edge")  # within 45 days, no RNA or move-on plan
        return ended
    if j.chance(0.5):
        case.add(
            decided + j.days(3, 20),
            "recovery-needs-assessments",
            {"outcome": "support_extended", "extension_days": 90},
            "recovery-needs-assessment.completed",
        )
    case.add(
        decided + j.days(5, 25),
        "move-on-plans",
        {
            "support_days": j.rng.randint(45, 90),
            "destination": j.pick(MOVE_ON_DESTINATIONS),
        },
        "move-on-plan.agreed",
    )
    return case.add(
        decided + j.days(50, 100), "end", {"reason": "move_on_completed"}, "support.ended"
    )
