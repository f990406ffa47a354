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

OFFENCES = {
    "modern_slavery_act_s1_slavery_servitude_forced_labour": 35,
    "modern_slavery_act_s2_human_trafficking": 45,
    "other": 20,
}
ENGAGEMENT_REASONS = {
    "fear_of_reprisal": 30,
    "distrust_of_authorities": 15,
    "immigration_concerns": 10,
    "trauma": 20,
    "lack_of_support": 8,
    "relocated": 5,
    "no_contact_from_police": 5,
    "other": 7,
}
CONTACT_MODES = {"in_person": 45, "phone": 40, "video": 10, "other": 5}


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
            "basis": j.pick({"with_consent": 70, "third_party_without_personal_details": 30}),
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
        {"contact_mode": j.pick(CONTACT_MODES), "initiated_by": "police"},
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
        {
            "statement_type": j.pick(
                {"witness_statement": 40, "achieving_best_evidence_interview": 60}
            )
        },
        "uk.nrm.statement.given",
        recorded=stated + j.days(1, 10),
    )
    withdrew = rejoined = False
    if j.chance(cal.figure("victim_withdrew_share")):
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
            if j.chance(cal.assumption("re_engaged_share")):
                back = j.add(
                    left + j.days(10, 90),
                    "prosecution",
                    police,
                    f"{case}/engagement-changes",
                    {"status": "re_engaged", "reason": "other"},
                    "uk.nrm.victim-engagement.changed",
                )
                rejoined, last = back is not None, back or last
    if last is None:
        return
    closed = max(opened.occurred + j.days(60, 240), last.at + j.days(1, 5))
    if withdrew and not rejoined:
        outcome = "no_further_action_victim_withdrew"
    elif j.chance(cal.assumption("referred_to_cps_share")):
        outcome = "referred_to_cps"
    else:
        outcome = j.pick({"no_further_action_evidential": 75, "no_further_action_other": 25})
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


def _prosecution(j: Journey, closure: Action) -> None:
    case = "/v1/criminal-cases/{crime}"
    charged = j.chance(j.cal.assumption("charged_share"))
    decision = {"decision": "charged", "offences_charged": j.rng.randint(1, 3)}
    if not charged:
        decision = {
            "decision": j.pick(
                {
                    "no_charge_evidential": 70,
                    "no_charge_public_interest": 10,
                    "out_of_court_disposal": 20,
                }
            ),
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
            "outcome": "convicted" if convicted else j.pick({"acquitted": 75, "discontinued": 25}),
            "modern_slavery_conviction": convicted,
        },
        "uk.nrm.trial.concluded",
    )
