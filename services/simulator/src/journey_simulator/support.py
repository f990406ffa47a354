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
from journey_simulator.timeline import DAY, HOUR, Journey
from journey_simulator.vocabulary import (
    ADULT_ACCOMMODATION,
    CLIFF_EDGE_ENDINGS,
    CONTACT_INITIATORS,
    CONTACT_MODES,
    EARLY_SUPPORT_ENDINGS,
    LEGAL_MATTERS,
    MISSING_OUTCOMES,
    MOVE_ON_DESTINATIONS,
    NEED_AREAS,
    PRIORITIES,
    RISK_LEVELS,
    SUPPORT_DECLINED_REASONS,
)

CASE = "/v1/support-cases/{case}"
ROUTE_OF_REGION = {"scotland": "scotland", "northern_ireland": "northern_ireland"}


class Case:
    """One support case being planned."""

    def __init__(self, j: Journey, provider: str) -> None:
        self.j, self.provider = j, provider

    def add(
        self,
        at: datetime,
        suffix: str,
        body: dict[str, object],
        event: str,
        *,
        recorded: datetime | None = None,
        captures: tuple[tuple[str, str], ...] = (),
    ) -> Action | None:
        return self.j.add(
            at,
            "support",
            self.provider,
            f"{CASE}/{suffix}",
            dict(body),
            f"uk.nrm.{event}",
            recorded=recorded,
            captures=captures,
        )


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
    cal = j.cal
    if not j.chance(cal.assumption("support_requested_share")):
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
    if requested is None:
        return None
    case = Case(j, provider)
    offer = case.add(
        requested.at + j.hours(2, 48), "offers", {"support_route": route}, "support.offered"
    )
    if offer is None:
        return None
    if j.chance(cal.assumption("support_declined_share")):
        case.add(
            offer.at + j.hours(1, 48),
            "decline",
            {"reason": j.pick(SUPPORT_DECLINED_REASONS)},
            "support.declined",
        )
        return None
    accepted = case.add(offer.at + j.hours(1, 24), "acceptance", {}, "support.accepted")
    if accepted is None:
        return None
    # Each record follows the one before it as recorded (the service checks the order).
    if j.chance(cal.assumption("no_first_contact_share")):
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
        if j.chance(cal.assumption("legal_representation_late_share")):
            secured = decision.occurred + j.days(90, 240)
        else:  # in time: at most 45 days after the RG decision (the rule allows 60)
            secured = max(
                min(legal_request.at + j.days(3, 20), decision.occurred + j.days(40, 45)),
                legal_request.at + HOUR,
            )
        if ending is None or secured < ending - DAY:
            legal = case.add(
                secured,
                "legal-representation",
                {"matter": matter, "legal_aid": j.chance(0.8)},
                "legal-representation.secured",
            )
    stop = min(ending or j.end, j.end)
    _missing_episodes(j, person, case, first.at, stop, accommodation)
    _contacts(j, case, first, end_record)
    if ending is not None and stay is not None:
        case.add(
            ending - j.hours(1, 6),
            "accommodation-departures",
            {"stay_id": "$ref:stay", "reason": "moved_on"},
            "accommodation.left",
        )
    return legal


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


def _contacts(j: Journey, case: Case, first: Action, ending: Action | None) -> None:
    """Contacts every 8-12 days from the first contact until support ends, now and then a
    20-40 day gap; each contact (and the first) starts the 14-day no-contact rule."""
    low, high = j.cal.assumption("contact_interval_days")
    gap_share = j.cal.assumption("contact_gap_share")
    stop = j.end if ending is None else ending.occurred
    previous: Action = first
    moment = first.occurred
    while True:
        gap = j.chance(gap_share)
        if gap and 12 * DAY <= stop - moment <= 16 * DAY:
            # A gap across the end of support (or of the window) would put the 14-day
            # deadline within two days of it: no gap here, so the truth keeps its margin.
            gap = False
        moment += j.days(20, 40) if gap else j.days(low, high)
        if moment >= stop - DAY:
            break
        contact = case.add(
            moment,
            "contacts",
            {
                "contact_mode": j.pick(CONTACT_MODES),
                "initiated_by": j.pick(CONTACT_INITIATORS),
            },
            "support.contact-recorded",
        )
        if contact is None:
            break
        _answered(j, previous, contact.occurred, contact.at)
        previous = contact
    if ending is not None:
        _answered(j, previous, ending.occurred, ending.at)  # support ending calls it off
    else:
        _answered(j, previous, None, None)


def _answered(j: Journey, start: Action, when: datetime | None, recorded: datetime | None) -> None:
    due = start.occurred + 14 * DAY
    if due > j.end:
        return
    if when is not None and recorded is not None and when <= due and recorded <= due:
        return
    j.inject("no-support-contact")


def _missing_episodes(
    j: Journey, person: Person, case: Case, since: datetime, until: datetime, accommodation: str
) -> None:
    cal = j.cal
    if person.is_child:
        if not j.chance(cal.figure("children_in_care_missing_share")):
            return
        low, high = cal.assumption("missing_child_episodes")
        count = j.rng.randint(low, high)
    elif j.chance(cal.assumption("missing_adults_share")):
        count = 1
    else:
        return
    if until - since < 3 * DAY:
        return
    for index in range(count):
        went = since + DAY + (until - since - 2 * DAY) * j.rng.random()
        went = went.replace(microsecond=0)
        name = f"episode{index}"
        reported = case.add(
            went,
            "missing-episodes",
            {
                "from_accommodation_type": accommodation,
                "risk_level": j.pick(RISK_LEVELS),
            },
            "missing-episode.reported",
            captures=((name, "attributes.episode_id"),),
        )
        if reported is None:
            continue
        j.inject("missing-episode")
        hours = j.rng.randint(6, 120)
        back = went + hours * HOUR
        case.add(  # often written up a day or more after the person returned
            back,
            "missing-episode-ends",
            {
                "episode_id": f"$ref:{name}",
                "outcome": j.pick(MISSING_OUTCOMES),
                "duration_hours": hours,
            },
            "missing-episode.ended",
            recorded=back + j.days(0.5, 3),
        )
