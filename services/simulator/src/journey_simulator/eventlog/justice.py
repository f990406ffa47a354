"""Criminal justice in the offline log: a referral to the police, the crime recorded (or
not), the investigation and the victim's engagement with it, a charge and a trial; and now
and then a Section 45 defence, the victim suspected of an offence they were compelled to
commit (Modern Slavery Act 2015 s.45).

Shares: `calibration.json` (as the planner's `justice` module draws them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journey_simulator.eventlog.record import Cast, Journey
from journey_simulator.people import CPS, Person
from journey_simulator.vocabulary import (
    CONTACT_MODES,
    ENGAGEMENT_REASONS,
    NO_FURTHER_ACTION,
    NOT_CHARGED,
    NOT_CONVICTED,
    OFFENCES,
    POLICE_REFERRAL_BASES,
    SECTION_45_OFFENCES,
    STATEMENT_TYPES,
    VICTIM_CONTACT_INITIATORS,
)

SECTION_45_SHARE = 0.15  # of people referred for criminal exploitation


@dataclass(frozen=True)
class CriminalCase:
    """One criminal case in which the person is the victim, recorded by the police or CPS."""

    journey: Journey
    id: str
    police: str

    def record(self, kind: str, at: datetime, by: str | None = None, **data: Any) -> None:
        self.journey.record(kind, at, by or self.police, case_id=self.id, **data)


def criminal_justice(
    j: Journey, person: Person, cast: Cast, referral_id: str, referred: datetime
) -> None:
    """A referral to the police, and what the police and the CPS make of it."""
    cal = j.cal
    referred_to_police = referred + j.days(0, 10)
    j.record(
        "police-referral.made",
        referred_to_police,
        cast.first_responder,
        referral_id=referral_id,
        police_referral_id=j.new_id(),
        basis=j.pick(POLICE_REFERRAL_BASES),
        region=person.region,
    )
    if "criminal" in person.exploitation_types and j.chance(SECTION_45_SHARE):
        _section_45_defence(j, referred + j.days(0, 120))
    roll = j.rng.random()
    in_time = cal.assumption("crime_recorded_in_time_share")
    if roll >= (1 + in_time) / 2:
        return  # no crime recorded
    delay = j.days(1, 27) if roll < in_time else j.days(29, 120)
    crime = CriminalCase(j, j.new_id(), cast.police)
    crime.record(
        "crime.recorded",
        referred_to_police + delay,
        offence=j.pick(OFFENCES),
        police_force_region=person.region,
    )
    opened = referred_to_police + delay + j.days(0, 14)
    crime.record("investigation.opened", opened)
    last_heard, withdrew = _victim_engagement(crime, opened)
    closed = max(opened + j.long_tail(200, 0.6), last_heard + j.days(1, 30))
    if withdrew:
        outcome = "no_further_action_victim_withdrew"
    elif j.chance(cal.assumption("referred_to_cps_share")):
        outcome = "referred_to_cps"
    else:
        outcome = j.pick(NO_FURTHER_ACTION)
    crime.record("investigation.closed", closed, outcome=outcome)
    if outcome == "referred_to_cps":
        _prosecution(crime, closed)


def _victim_engagement(crime: CriminalCase, opened: datetime) -> tuple[datetime, bool]:
    """Contact with the victim, their statement, and whether they withdrew for good:
    (when last heard of, withdrew)."""
    j, cal = crime.journey, crime.journey.cal
    roll = j.rng.random()
    in_time = cal.assumption("victim_contact_in_time_share")
    if roll >= (1 + in_time) / 2:
        return opened, False  # never contacted
    contacted = opened + (j.days(0, 27) if roll < in_time else j.days(29, 120))
    crime.record(
        "victim-contact.made",
        contacted,
        contact_mode=j.pick(CONTACT_MODES),
        initiated_by=j.pick(VICTIM_CONTACT_INITIATORS),
    )
    last_heard = contacted
    if j.chance(0.75):
        last_heard = contacted + j.days(1, 30)
        crime.record("statement.given", last_heard, statement_type=j.pick(STATEMENT_TYPES))
    if not j.chance(cal.figure("victim_withdrew_share")):
        return last_heard, False
    last_heard += j.days(10, 250)
    reason = j.pick(ENGAGEMENT_REASONS)
    crime.record("victim-engagement.changed", last_heard, status="withdrew", reason=reason)
    if not j.chance(cal.assumption("re_engaged_share")):
        return last_heard, True
    last_heard += j.days(14, 180)
    crime.record("victim-engagement.changed", last_heard, status="re_engaged", reason="other")
    return last_heard, False


def _prosecution(crime: CriminalCase, referred_to_cps: datetime) -> None:
    j = crime.journey
    decided = referred_to_cps + j.days(14, 200)
    charged = j.chance(j.cal.assumption("charged_share"))
    decision = "charged" if charged else j.pick(NOT_CHARGED)
    offences = j.rng.randint(1, 6) if charged else 0
    crime.record("charge.decided", decided, CPS, decision=decision, offences_charged=offences)
    if not charged:
        return
    convicted = j.chance(j.cal.conviction_share)
    crime.record(
        "trial.concluded",
        decided + j.days(150, 700),
        CPS,
        outcome="convicted" if convicted else j.pick(NOT_CONVICTED),
        modern_slavery_conviction=convicted and j.chance(0.6),
    )


def _section_45_defence(j: Journey, raised: datetime) -> None:
    """The person is themselves suspected of an offence they were compelled to commit."""
    j.record(
        "section-45-defence.raised",
        raised,
        CPS,
        case_id=j.new_id(),
        person_role="defendant" if j.chance(0.6) else "suspect",
        offence_category=j.pick(SECTION_45_OFFENCES),
        schedule_4_excluded=j.chance(0.05),
    )
