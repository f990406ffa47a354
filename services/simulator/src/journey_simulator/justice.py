"""Criminal justice after a police referral: crime recorded (within 28 days, late or
never), investigation, contact with the victim (within 28 days or late), statement,
the victim withdrawing (and sometimes re-engaging), and for a few a CPS charge and trial.

Shares: calibration.json (CPS prosecutions and convictions 2024; victim withdrew 14%,
one force 2018; the rest assumptions, each explained there).
"""

from __future__ import annotations

from datetime import datetime

from journey_simulator.people import CPS, POLICE_FORCES, Person
from journey_simulator.plan import Action
from journey_simulator.timeline import DAY, Journey
from journey_simulator.vocabulary import (
    CONTACT_MODES,
    ENGAGEMENT_REASONS,
    NO_FURTHER_ACTION,
    NOT_CHARGED,
    NOT_CONVICTED,
    OFFENCES,
    POLICE_REFERRAL_BASES,
    STATEMENT_TYPES,
    VICTIM_CONTACT_INITIATORS,
)


def criminal_justice(
    j: Journey, person: Person, *, authority: str, police_referrals: str, referred: datetime
) -> None:
    """The competent authority refers the case to the police; a crime recorded (or not),
    an investigation, the victim's engagement, and for a few a charge and a trial."""
    cal = j.cal
    police = j.rng.choice(POLICE_FORCES)
    made = j.add(
        referred,
        "referral",
        authority,
        police_referrals,
        {
            "basis": j.pick(POLICE_REFERRAL_BASES),
            "region": person.region,
        },
        "uk.nrm.police-referral.made",
    )
    if made is None:
        return
    roll = j.rng.random()
    in_time = cal.assumption("crime_recorded_in_time_share")
    recorded = None
    if roll < in_time:
        recorded = referred + j.days(2, 20)
    elif roll < (1 + in_time) / 2:
        recorded = referred + j.days(40, 120)
    crime = None
    if recorded is not None:
        crime = j.add(
            recorded,
            "prosecution",
            police,
            "/v1/criminal-cases",
            {
                "journey_id": "$ref:journey",
                "offence": j.pick(OFFENCES),
                "police_force_region": person.region,
            },
            "uk.nrm.crime.recorded",
            captures=(("crime", "resource_id"),),
            wait_known=True,
        )
    j.expect("police-referral-no-crime", made, referred + 28 * DAY, crime)
    if crime is not None:
        _investigation(j, police, crime)


def _investigation(j: Journey, police: str, crime: Action) -> None:
    cal = j.cal
    case = "/v1/criminal-cases/{crime}"
    opened = j.add(
        crime.at + j.hours(1, 168),
        "prosecution",
        police,
        f"{case}/investigation",
        {},
        "uk.nrm.investigation.opened",
    )
    if opened is None:
        return
    if j.chance(cal.assumption("victim_contact_in_time_share")):
        contacted = opened.occurred + j.days(1, 20)
    else:
        contacted = opened.occurred + j.days(35, 90)
    contact = j.add(
        contacted,
        "prosecution",
        police,
        f"{case}/victim-contacts",
        {"contact_mode": j.pick(CONTACT_MODES), "initiated_by": j.pick(VICTIM_CONTACT_INITIATORS)},
        "uk.nrm.victim-contact.made",
    )
    j.expect("investigation-no-victim-contact", opened, opened.occurred + 28 * DAY, contact)
    if contact is None:
        return
    stated = contacted + j.days(1, 30)
    last = j.add(  # statements are often written up days later: a backdated record
        stated,
        "prosecution",
        police,
        f"{case}/statements",
        {"statement_type": j.pick(STATEMENT_TYPES)},
        "uk.nrm.statement.given",
        recorded=stated + j.days(1, 10),
    )
    last, withdrawn = _engagement(j, police, contacted, last)
    if last is None:
        return
    closed = max(opened.occurred + j.days(60, 240), last.at + j.days(1, 5))
    if withdrawn:
        outcome = "no_further_action_victim_withdrew"
    elif j.chance(cal.assumption("referred_to_cps_share")):
        outcome = "referred_to_cps"
    else:
        outcome = j.pick(NO_FURTHER_ACTION)
    closure = j.add(
        closed,
        "prosecution",
        police,
        f"{case}/investigation-closure",
        {"outcome": outcome},
        "uk.nrm.investigation.closed",
    )
    if closure is None or outcome != "referred_to_cps":
        return
    _prosecution(j, closure)


def _engagement(
    j: Journey, police: str, contacted: datetime, last: Action | None
) -> tuple[Action | None, bool]:
    """The victim withdrawing, and perhaps coming back: the last record of the
    investigation so far, and whether the victim stayed withdrawn."""
    case = "/v1/criminal-cases/{crime}"
    withdrew = rejoined = False
    if j.chance(j.cal.figure("victim_withdrew_share")):
        left = contacted + j.days(5, 120)
        withdrawal = j.add(
            left,
            "prosecution",
            police,
            f"{case}/engagement-changes",
            {"status": "withdrew", "reason": j.pick(ENGAGEMENT_REASONS)},
            "uk.nrm.victim-engagement.changed",
        )
        if withdrawal is not None:
            withdrew = True
            j.inject("victim-withdrew")
            last = withdrawal
            if j.chance(j.cal.assumption("re_engaged_share")):
                back = j.add(
                    left + j.days(10, 90),
                    "prosecution",
                    police,
                    f"{case}/engagement-changes",
                    {"status": "re_engaged", "reason": "other"},
                    "uk.nrm.victim-engagement.changed",
                )
                rejoined, last = back is not None, back or last
    return last, withdrew and not rejoined


def _prosecution(j: Journey, closure: Action) -> None:
    case = "/v1/criminal-cases/{crime}"
    charged = j.chance(j.cal.assumption("charged_share"))
    decision = {"decision": "charged", "offences_charged": j.rng.randint(1, 3)}
    if not charged:
        decision = {
            "decision": j.pick(NOT_CHARGED),
            "offences_charged": 0,
        }
    charge = j.add(
        closure.at + j.days(20, 120),
        "prosecution",
        CPS,
        f"{case}/charge-decision",
        decision,
        "uk.nrm.charge.decided",
    )
    if charge is None or not charged:
        return
    convicted = j.chance(j.cal.conviction_share)
    j.add(
        charge.at + j.days(120, 360),
        "prosecution",
        CPS,
        f"{case}/trial-outcome",
        {
            "outcome": "convicted" if convicted else j.pick(NOT_CONVICTED),
            "modern_slavery_conviction": convicted,
        },
        "uk.nrm.trial.concluded",
    )
