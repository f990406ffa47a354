"""Identification in the offline log: a Duty to Notify report, or a referral with its
Reasonable and Conclusive Grounds decisions, reconsiderations, the recovery period,
immigration detention and withdrawal; support and criminal justice branch off from here."""

from __future__ import annotations

from datetime import datetime, timedelta

from journey_platform.calendar import add_working_days, nation_of
from journey_platform.envelope import Event
from journey_simulator.eventlog.justice import criminal_justice
from journey_simulator.eventlog.record import Cast, Journey, cast_of
from journey_simulator.eventlog.support import Standing, support
from journey_simulator.people import (
    FIRST_RESPONDER_TYPE,
    IECA,
    RESPONDER_OF_AGENCY,
    Person,
    draw_person,
    duty_to_notify_body,
)
from journey_simulator.vocabulary import (
    DETENTION_ENDINGS,
    DETENTION_REASONS,
    RECONSIDERATION_REQUESTERS,
    WITHDRAWAL_REASONS,
)
from nrm_domain import recovery

# Only this log's: withdrawn at any point (the calibration's share is of withdrawals before
# the first decision), and decisions that never come while the log runs.
WITHDRAWN_SHARE = 0.03
RG_STUCK_SHARE, CG_STUCK_SHARE = 0.01, 0.05


def journey(j: Journey, begins: datetime) -> list[Event]:
    """Every event of one journey that begins at `begins`."""
    if j.chance(j.cal.duty_to_notify_share):
        _duty_to_notify(j, begins)
    else:
        _referral(j, begins)
    return j.events


def _duty_to_notify(j: Journey, at: datetime) -> None:
    """An adult who declined to be referred: the only event of their journey."""
    agency, body = duty_to_notify_body(j.rng, j.cal)
    responder_type = FIRST_RESPONDER_TYPE[RESPONDER_OF_AGENCY[agency]]
    j.record(
        "duty-to-notify.reported",
        at,
        agency,
        notification_id=j.new_id(),
        first_responder_type=responder_type,
        **body,
    )


def _referral(j: Journey, referred: datetime) -> None:
    person = draw_person(j.rng, j.cal, key="", run_tag="", referred=referred)
    cast = cast_of(j, person)
    referral_id = j.new_id()
    withdrawn: datetime | None = None
    if j.chance(WITHDRAWN_SHARE):
        withdrawn = referred + j.days(2, 400)
        if withdrawn < j.observed_until:
            j.observed_until = withdrawn
        else:
            withdrawn = None
    _submitted(j, person, cast, referral_id, referred)
    if j.chance(j.cal.assumption("police_referral_share")):
        criminal_justice(j, person, cast, referral_id, referred)
    if j.chance(j.cal.assumption("detention_share")[cast.authority]):
        _detention(j, referred + j.days(0, 200))
    positive_from = _reasonable_grounds(j, person, cast, referral_id, referred)
    if positive_from is not None:
        _recovery(j, person, cast, referral_id, positive_from)
    if withdrawn is not None:
        _withdrawal(j, cast, referral_id, withdrawn)


def _submitted(j: Journey, person: Person, cast: Cast, referral_id: str, at: datetime) -> None:
    repeat = j.chance(j.cal.re_referral_published_share)
    previous = j.rng.choice((1, 1, 1, 2, 2, 3)) if repeat else 0
    j.record(
        "referral.submitted",
        at,
        cast.first_responder,
        referral_id=referral_id,
        first_responder_type=cast.first_responder_type,
        competent_authority=cast.authority,
        age_group=person.age_group,
        age_band=person.age_band(at.date()),
        gender=person.gender,
        nationality_group=person.nationality_group,
        exploitation_types=list(person.exploitation_types),
        exploitation_location=person.exploitation_location,
        region=person.region,
        consent="not_required_child" if person.is_child else "given",
        is_re_referral=previous > 0,
        previous_referral_count=previous,
    )


def _reasonable_grounds(
    j: Journey, person: Person, cast: Cast, referral_id: str, referred: datetime
) -> datetime | None:
    """Decide Reasonable Grounds; return when a positive decision stands, if it does."""
    if j.chance(RG_STUCK_SHARE):
        return None
    nation = nation_of(person.region)
    late = j.chance(j.cal.assumption("rg_late_share")[cast.authority])
    # In time: within the 5 working day target (now and then a few hours past it); late:
    # a day to weeks past it.
    working_days = j.rng.randint(6, 40) if late else j.rng.randint(1, 5)
    decided = add_working_days(referred, working_days, nation) + j.hours(0, 6)
    positive = j.chance(j.cal.rg_positive_share)
    _decided(j, cast, referral_id, "reasonable-grounds", decided, positive)
    if positive:
        return decided
    standing = _reconsideration(j, cast, referral_id, "reasonable_grounds", decided)
    return standing.at if standing and standing.positive else None


def _decided(
    j: Journey, cast: Cast, referral_id: str, kind: str, at: datetime, positive: bool
) -> None:
    extra = {}
    if kind == "conclusive-grounds":
        extra["trafficking_status"] = "actual" if positive else "not_a_victim"
    j.record(
        f"{kind}.decided",
        at,
        cast.authority,
        referral_id=referral_id,
        competent_authority=cast.authority,
        outcome="positive" if positive else "negative",
        **extra,
    )


def _conclusive_grounds(
    j: Journey, cast: Cast, referral_id: str, since: datetime
) -> Standing | None:
    """The CG decision, log-normal around the published median wait, and where it stands."""
    if j.chance(CG_STUCK_SHARE):
        return None
    delay = j.long_tail(
        j.cal.median_days_referral_to_cg, j.cal.assumption("rg_to_cg_lognormal_sigma")
    )
    decided = since + max(delay, timedelta(days=45))
    positive = j.chance(j.cal.cg_positive_share)
    _decided(j, cast, referral_id, "conclusive-grounds", decided, positive)
    j.record(
        "recovery-period.ended",
        decided,
        cast.authority,
        referral_id=referral_id,
        reason="conclusive_grounds_decided",
    )
    if positive:
        return Standing(decided, True)
    standing = _reconsideration(j, cast, referral_id, "conclusive_grounds", decided)
    return standing or Standing(decided, False)


def _reconsideration(
    j: Journey, cast: Cast, referral_id: str, decision: str, decided: datetime
) -> Standing | None:
    """Maybe someone asks to reconsider a negative decision; if so, where it then stands."""
    if not j.chance(j.cal.assumption("reconsideration_requested_share")):
        return None
    in_time = j.chance(0.85)  # asked within the 30 days, or late
    requested = decided + (j.days(2, 30) if in_time else j.days(31, 60))
    j.record(
        "reconsideration.requested",
        requested,
        cast.authority,
        referral_id=referral_id,
        decision=decision,
        requested_by=j.pick(RECONSIDERATION_REQUESTERS),
    )
    reconsidered = requested + j.days(14, 150)
    overturned = j.chance(j.cal.figure("reconsideration_success_share"))
    j.record(
        "reconsideration.decided",
        reconsidered,
        cast.authority,
        referral_id=referral_id,
        decision=decision,
        outcome="overturned" if overturned else "upheld_original",
    )
    return Standing(reconsidered, overturned)


def _recovery(j: Journey, person: Person, cast: Cast, referral_id: str, since: datetime) -> None:
    """A positive Reasonable Grounds decision stands: recovery period, support, Conclusive."""
    nation = recovery.nation_of(person.region)  # as the referral service records it
    j.record(
        "recovery-period.started",
        since,
        cast.authority,
        referral_id=referral_id,
        minimum_days=recovery.MINIMUM_DAYS[nation],
        nation=nation,
    )
    conclusion = _conclusive_grounds(j, cast, referral_id, since)
    support(j, person, cast, since, conclusion)


def _withdrawal(j: Journey, cast: Cast, referral_id: str, at: datetime) -> None:
    """The referral is withdrawn: the journey stops, and what was running ends with it."""
    reason = j.pick(WITHDRAWAL_REASONS)
    j.record("referral.withdrawn", at, cast.authority, referral_id=referral_id, reason=reason)
    if j.has("recovery-period.started") and not j.has("recovery-period.ended"):
        j.record(
            "recovery-period.ended", at, cast.authority, referral_id=referral_id, reason="withdrawn"
        )
    support_case = next(
        (e.data["support_case_id"] for e in j.events if e.type == "uk.nrm.support.accepted"),
        None,
    )
    if support_case is not None and not j.has("support.ended"):
        ending = "left_uk" if reason == "left_uk" else "other"
        j.record(
            "support.ended", at, cast.support_provider, support_case_id=support_case, reason=ending
        )


def _detention(j: Journey, entered: datetime) -> None:
    detention_id = j.new_id()
    j.record(
        "immigration-detention.entered",
        entered,
        IECA,
        detention_id=detention_id,
        reason=j.pick(DETENTION_REASONS),
    )
    if j.chance(0.85):
        j.record(
            "immigration-detention.left",
            entered + j.long_tail(20, 0.9),
            IECA,
            detention_id=detention_id,
            reason=j.pick(DETENTION_ENDINGS),
        )
