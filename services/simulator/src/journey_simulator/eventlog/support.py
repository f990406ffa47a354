"""Support in the offline log, after a positive Reasonable Grounds decision: request,
offer, acceptance, first contact, regular contacts, accommodation, needs and legal help,
missing episodes, and the ending (early, after a negative Conclusive Grounds decision, a
planned move on, or the cliff edge).

Adults are supported under the Modern Slavery Victim Care Contract (MSVCC) by a support
provider, children by their council. Shares: `calibration.json`, as the planner's
`support` module draws them; timings are this log's own, some near the rules' deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from journey_simulator.eventlog.record import Cast, Journey
from journey_simulator.people import Person
from journey_simulator.support import ROUTE_OF_REGION
from journey_simulator.vocabulary import (
    ADULT_ACCOMMODATION,
    CLIFF_EDGE_ENDINGS,
    CONTACT_INITIATORS,
    CONTACT_MODES,
    EARLY_SUPPORT_ENDINGS,
    LEGAL_MATTERS,
    MISSING_OUTCOMES,
    MISSING_REPORTERS,
    MOVE_ON_DESTINATIONS,
    MOVED_TO,
    NEED_AREAS,
    PRIORITIES,
    RISK_LEVELS,
    SUPPORT_DECLINED_REASONS,
)

# How a stay ends when support does, by the reason support ended.
STAY_ENDING = {"missing": "missing", "detained": "detained", "move_on_completed": "moved_on"}
CONTACT_GAP_DAYS = (14.5, 45)  # a gap in contact: just past the 14-day rule, or far past


@dataclass(frozen=True)
class Standing:
    """Where a decision finally stands (after any reconsideration), and since when."""

    at: datetime
    positive: bool


@dataclass
class SupportCase:
    """One support case; its events stop when support ends (or the log does)."""

    journey: Journey
    id: str
    provider: str
    ends: datetime
    end_reason: str | None = None

    def record(self, kind: str, at: datetime, **data: Any) -> None:
        """Record an event of this case (unless support has ended by then)."""
        self.by_provider(kind, at, support_case_id=self.id, **data)

    def by_provider(self, kind: str, at: datetime, **data: Any) -> None:
        """Record an event the provider reports while support lasts, not of the case as such."""
        if at <= self.ends:
            self.journey.record(kind, at, self.provider, **data)

    def end(self, at: datetime, reason: str) -> None:
        if at < self.ends:
            self.ends, self.end_reason = at, reason


def support(
    j: Journey, person: Person, cast: Cast, since: datetime, conclusion: Standing | None
) -> None:
    """Support from the positive RG decision at `since`; `conclusion` is where the CG
    decision stands (None: not decided while the log runs)."""
    cal = j.cal
    if not j.chance(cal.assumption("support_requested_share")):
        return
    case = SupportCase(j, j.new_id(), cast.support_provider, j.observed_until)
    route = (
        "local_authority_child"
        if person.is_child
        else ROUTE_OF_REGION.get(person.region, "msvcc_adult")
    )
    requested = since + j.hours(4, 72)
    j.record(
        "support.requested",
        requested,
        cast.authority,  # the competent authority asks, as in the support service
        support_case_id=case.id,
        requested_by=f"competent_authority_{cast.authority}",
        support_route=route,
    )
    offered = requested + j.hours(2, 48)
    case.record("support.offered", offered, support_route=route)
    if j.chance(cal.assumption("support_declined_share")):
        reason = j.pick(SUPPORT_DECLINED_REASONS)
        case.record("support.declined", offered + j.hours(1, 48), reason=reason)
        return
    accepted = offered + j.hours(1, 24)
    case.record("support.accepted", accepted)
    first_contact = _first_contact(case, accepted)
    if first_contact is None:
        case.end(accepted + j.days(14, 60), "disengaged")
    else:
        stay = "local_authority_care" if person.is_child else j.pick(ADULT_ACCOMMODATION)
        # Endings are settled in time order before the events they cut short are recorded.
        _ends_early(case, first_contact, conclusion)
        _missing_episodes(case, person, stay, first_contact, conclusion)
        _after_conclusive_grounds(case, conclusion)
        _stays(case, stay, first_contact)
        _needs_and_legal_help(case, first_contact)
        _contacts(case, first_contact)
    if case.end_reason is not None:
        case.record("support.ended", case.ends, reason=case.end_reason)


def _first_contact(case: SupportCase, accepted: datetime) -> datetime | None:
    """Usually within the 48 hours; otherwise days late, or never."""
    j = case.journey
    roll = j.rng.random()
    missed = j.cal.assumption("no_first_contact_share")
    if roll < missed / 3:
        return None
    contacted = accepted + (j.days(2, 21) if roll < missed else j.hours(1, 47))
    case.record("support.first-contact-made", contacted, contact_mode=j.pick(CONTACT_MODES))
    return contacted


def _ends_early(case: SupportCase, first_contact: datetime, conclusion: Standing | None) -> None:
    """Some support ends before any Conclusive Grounds decision: disengaged, left, ..."""
    j = case.journey
    if j.chance(j.cal.assumption("support_ends_early_share")):
        last = conclusion.at if conclusion else j.observed_until
        ended = j.between(first_contact, max(last, first_contact))
        case.end(ended, j.pick(EARLY_SUPPORT_ENDINGS))


def _after_conclusive_grounds(case: SupportCase, conclusion: Standing | None) -> None:
    """Support ends some days after a negative decision, or moves on after a positive one."""
    if conclusion is None or conclusion.at >= case.ends:
        return  # still in support when the log ends, or support ended already
    if conclusion.positive:
        _move_on(case, conclusion.at)
    else:
        case.end(conclusion.at + case.journey.days(9, 14), "conclusive_grounds_negative")


def _move_on(case: SupportCase, confirmed: datetime) -> None:
    """After a positive Conclusive Grounds decision: a planned move on, or a cliff edge."""
    j = case.journey
    if j.chance(j.cal.assumption("cliff_edge_share")):
        case.end(confirmed + j.days(5, 44), j.pick(CLIFF_EDGE_ENDINGS))
        return
    assessed = confirmed + j.days(10, 35)
    extension = j.rng.randint(30, 180) if j.chance(0.6) else 0
    case.record(
        "recovery-needs-assessment.completed",
        assessed,
        outcome="support_extended" if extension else "support_not_extended",
        extension_days=extension,
    )
    support_days = 45 + extension
    case.record(
        "move-on-plan.agreed",
        assessed + j.days(0, 10),
        support_days=support_days,
        destination=j.pick(MOVE_ON_DESTINATIONS),
    )
    case.end(confirmed + timedelta(days=support_days) + j.days(0, 7), "move_on_completed")


def _missing_episodes(
    case: SupportCase, person: Person, stay: str, since: datetime, conclusion: Standing | None
) -> None:
    """Some go missing (children in care far more often), before any move on; someone not
    found ends their support."""
    j, cal = case.journey, case.journey.cal
    if person.is_child and j.chance(cal.figure("children_in_care_missing_share")):
        episodes = j.rng.randint(*cal.assumption("missing_child_episodes"))
    elif not person.is_child and j.chance(cal.assumption("missing_adults_share")):
        episodes = 1
    else:
        return
    latest = min(conclusion.at, case.ends) if conclusion else case.ends
    went = since
    for _ in range(episodes):
        went = j.between(went, max(latest, went))
        episode_id = j.new_id()
        case.by_provider(
            "missing-episode.reported",
            went,
            episode_id=episode_id,
            reported_by=j.pick(MISSING_REPORTERS),
            from_accommodation_type=stay,
            risk_level=j.pick(RISK_LEVELS),
        )
        if not j.chance(0.85):
            case.end(went + j.days(14, 28), "missing")
            return
        duration = j.long_tail(1.5, 1.2)
        case.by_provider(
            "missing-episode.ended",
            went + duration,
            episode_id=episode_id,
            outcome=j.pick(MISSING_OUTCOMES),
            duration_hours=int(duration.total_seconds() // 3600),
        )
        went += duration


def _stays(case: SupportCase, stay: str, moved_in: datetime) -> None:
    """The accommodation the person lives in while in support, with a planned move or two."""
    j = case.journey
    stay_id = j.new_id()
    case.record("accommodation.entered", moved_in, stay_id=stay_id, accommodation_type=stay)
    if j.chance(0.25):
        moved = j.between(moved_in, min(case.ends, moved_in + timedelta(days=365)))
        case.record("accommodation.left", moved, stay_id=stay_id, reason="planned_move")
        stay_id = j.new_id()
        case.record(
            "accommodation.entered", moved, stay_id=stay_id, accommodation_type=j.pick(MOVED_TO)
        )
    if case.end_reason is not None:
        reason = STAY_ENDING.get(case.end_reason, "other")
        case.record("accommodation.left", case.ends, stay_id=stay_id, reason=reason)


def _needs_and_legal_help(case: SupportCase, first_contact: datetime) -> None:
    j = case.journey
    assessed = first_contact + j.days(2, 14)
    needs = j.rng.sample(NEED_AREAS, j.rng.randint(1, 4))
    case.record(
        "needs-assessment.completed", assessed, need_areas=needs, priority=j.pick(PRIORITIES)
    )
    if not j.chance(0.85):
        return
    matter = j.pick(LEGAL_MATTERS)
    requested = assessed + j.days(0, 10)
    case.record("legal-representation.requested", requested, matter=matter)
    if j.chance(0.2):
        return  # no legal adviser found
    late = j.chance(j.cal.assumption("legal_representation_late_share"))
    wait = j.days(61, 240) if late else j.days(3, 30)
    case.record(
        "legal-representation.secured", requested + wait, matter=matter, legal_aid=j.chance(0.85)
    )


def _contacts(case: SupportCase, first_contact: datetime) -> None:
    """Contacts every few days while in support, with the odd gap of weeks."""
    j = case.journey
    low, high = j.cal.assumption("offline_contact_interval_days")
    gap_share = j.cal.assumption("contact_gap_share")
    contacted = first_contact
    while True:
        contacted += j.days(*CONTACT_GAP_DAYS) if j.chance(gap_share) else j.days(low, high)
        if contacted >= case.ends:
            return
        case.record(
            "support.contact-recorded",
            contacted,
            contact_mode=j.pick(CONTACT_MODES),
            initiated_by=j.pick(CONTACT_INITIATORS),
        )
