"""The cohort planner: generated people, each with the requests their journey makes and the
drop-offs those requests inject.

Pure and seeded: the same seed, window and size give the same cohort. Every timing is
either safely inside a rule's threshold or safely outside it (the margins are below), so
the ground truth does not hinge on seconds: an RG decision in time comes within 4 days
(the target is 5 working days), a late one after 15 working days or more; support contacts
come every 8-12 days (the rule allows 14), a gap lasts 20-40. An expectation counts only
if its deadline falls by the window's end, the moment of the final clock tick; referrals
start at least 90 days before the end so that their own early deadlines are all decided.

The rule ids are the journey processor's catalogue's (`journey/rules/catalogue.yaml`).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from journey_simulator import calibration
from journey_simulator.justice import criminal_justice
from journey_simulator.marginals import marginals
from journey_simulator.people import (
    IECA,
    RESPONDER_AGENCIES,
    Person,
    draw_person,
    duty_to_notify_body,
)
from journey_simulator.plan import Action, Cohort, JourneyPlan
from journey_simulator.referral import Referral
from journey_simulator.support import plan_support
from journey_simulator.timeline import DAY, HOUR, Journey
from journey_simulator.vocabulary import DETENTION_ENDINGS, DETENTION_REASONS, WITHDRAWAL_REASONS

REFERRALS_END_BEFORE = timedelta(days=90)  # no referral in the window's last 90 days
QUIET_BEFORE_RE_REFERRAL = timedelta(days=110)
RULE_IDS = (
    "reasonable-grounds-overdue",
    "adult-declined-referral",
    "no-first-contact",
    "no-support-contact",
    "missing-episode",
    "support-ended-conclusive-grounds-pending",
    "move-on-cliff-edge",
    "conclusive-grounds-pending",
    "negative-decision-not-reconsidered",
    "no-legal-representation",
    "police-referral-no-crime",
    "investigation-no-victim-contact",
    "victim-withdrew",
    "re-referral",
    "detained-while-decision-stands-or-pending",
)


# -- the cohort -------------------------------------------------------------------------------


def plan_cohort(
    journeys: int,
    *,
    seed: int,
    start: datetime,
    end: datetime,
    run_tag: str = "",
    cal: calibration.Calibration | None = None,
) -> Cohort:
    """`journeys` generated people between `start` and `end` (the final tick).

    `run_tag` goes into every name, so that two runs against the same referral service
    never match each other's people as re-referrals.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the window's times must carry a time zone")
    if end - start < REFERRALS_END_BEFORE + 30 * DAY:
        raise ValueError("the window must be at least four months long")
    cal = cal or calibration.load()
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrets
    plans: list[JourneyPlan] = []
    for index in range(journeys):
        key = f"p{index:06d}"
        if rng.random() < cal.duty_to_notify_share:
            plans.append(_duty_to_notify(rng, cal, key, start, end))
        else:
            plans.append(_referred(rng, cal, key, run_tag, start, end))
    for plan in plans:
        plan.actions.sort(key=lambda a: a.at)
    return Cohort(seed, start, end, plans, marginals(plans, cal))


def _moment(rng: random.Random, first: datetime, last: datetime) -> datetime:
    return first + timedelta(seconds=round(rng.uniform(0, (last - first).total_seconds())))


def _duty_to_notify(
    rng: random.Random, cal: calibration.Calibration, key: str, start: datetime, end: datetime
) -> JourneyPlan:
    plan = JourneyPlan(key, "duty_to_notify", {"age_group": "adult"})
    journey = Journey(rng, cal, end, plan)
    reported = _moment(rng, start, end - 2 * DAY)
    agency, body = duty_to_notify_body(rng, cal)
    plan.profile.update({"region": body["region"], "nationality_group": body["nationality_group"]})
    journey.add(
        reported,
        "referral",
        agency,
        "/v1/duty-to-notify-reports",
        body,
        "uk.nrm.duty-to-notify.reported",
        captures=(("journey", "journey_id"),),
    )
    journey.inject("adult-declined-referral")
    return plan


def _referred(
    rng: random.Random,
    cal: calibration.Calibration,
    key: str,
    run_tag: str,
    start: datetime,
    end: datetime,
) -> JourneyPlan:
    referred = _moment(rng, start, end - REFERRALS_END_BEFORE)
    person = draw_person(rng, cal, key=key, run_tag=run_tag, referred=referred)
    plan = JourneyPlan(key, "referral", person.profile())
    journey = Journey(rng, cal, end, plan)
    _first_referral(journey, person, referred)
    eligible = journey.quiet_since() <= end - QUIET_BEFORE_RE_REFERRAL
    if eligible and journey.chance(cal.assumption("re_referral_share_of_eligible")):
        _re_referral(journey, person, end - journey.days(40, 50))
    plan.profile["re_referred"] = plan.injected["re-referral"] > 0
    _detention_truth(journey)
    return plan


# -- identification: referral, decisions, reconsideration ------------------------------------


def _first_referral(journey: Journey, person: Person, referred: datetime) -> None:
    j, cal = journey, journey.cal
    responder = j.rng.choice(RESPONDER_AGENCIES[person.responder_type])
    referral = Referral(j, person, "referral", responder)
    submitted = referral.submit(referred)
    assert submitted is not None  # referrals start well before the end
    if j.chance(cal.assumption("withdrawn_before_decision_share")):
        # Withdrawn before any decision: the RG expectation is called off in time.
        j.add(
            referred + j.hours(6, 30),
            "referral",
            referral.authority,
            referral.path("withdrawal"),
            {"reason": j.pick(WITHDRAWAL_REASONS)},
            "uk.nrm.referral.withdrawn",
        )
        j.plan.profile["withdrawn"] = True
        return
    decision = referral.reasonable_grounds(submitted, may_be_late=True)
    assert decision is not None
    j.plan.profile["rg_positive"] = decision.body["outcome"] == "positive"
    if j.chance(cal.assumption("police_referral_share")):
        criminal_justice(
            j,
            person,
            authority=referral.authority,
            police_referrals=referral.path("police-referrals"),
            referred=decision.at + j.days(1, 40),
        )
    if decision.body["outcome"] == "negative":
        standing = referral.negative("rg", decision)
        if standing is None:
            _maybe_detained_after_negative(j, referral, decision)
            return
        decision = standing
    _positive_reasonable_grounds(j, person, referral, decision)


def _positive_reasonable_grounds(
    j: Journey, person: Person, referral: Referral, decision: Action
) -> None:
    """A positive RG stands: CG decision (long-tailed), legal representation, support."""
    cal = j.cal
    cg_positive = j.chance(cal.cg_positive_share)
    j.plan.profile["cg_positive"] = cg_positive
    # Log-normal around the published median referral-to-CG wait, never inside the
    # recovery period, and never within a week of the one-year rule's deadline.
    median = cal.median_days_referral_to_cg
    delay = j.rng.lognormvariate(math.log(median), cal.assumption("rg_to_cg_lognormal_sigma"))
    delay = max(delay, 60.0)
    if 358 <= delay <= 372:
        delay = 350.0 if delay < 365 else 380.0
    decided = decision.occurred + timedelta(seconds=round(delay * 86400))
    conclusive = referral.decide("cg", decided, cg_positive)
    j.expect("conclusive-grounds-pending", decision, decision.occurred + 365 * DAY, conclusive)
    if conclusive is not None and not cg_positive:
        referral.negative("cg", conclusive)
    legal = plan_support(j, person, decision, decided, conclusive)
    j.expect("no-legal-representation", decision, decision.occurred + 60 * DAY, legal)
    if j.chance(cal.assumption("detention_share")[referral.authority]):
        _detained(j, decision.at + j.days(5, 200))


def _re_referral(journey: Journey, person: Person, referred: datetime) -> None:
    """The same person referred again, 40-50 days before the end: a re-referral drop-off.
    Its RG decision comes in time; a negative one is asked to be reconsidered in time;
    its later deadlines (legal representation, CG) fall after the end."""
    j = journey
    responder = j.rng.choice(RESPONDER_AGENCIES[person.responder_type])
    referral = Referral(j, person, "referral2", responder)
    submitted = referral.submit(referred)
    if submitted is None:
        return
    j.inject("re-referral")
    decision = referral.reasonable_grounds(submitted, may_be_late=False)
    if decision is None or decision.body["outcome"] == "positive":
        return
    request = j.add(
        decision.at + j.days(2, 15),
        "referral",
        responder,
        referral.path("reconsideration-requests"),
        {"decision": "reasonable_grounds"},
        "uk.nrm.reconsideration.requested",
    )
    j.expect("negative-decision-not-reconsidered", decision, decision.occurred + 30 * DAY, request)


# -- immigration detention --------------------------------------------------------------------


def _detained(j: Journey, entered: datetime) -> None:
    entry = j.add(
        entered,
        "referral",
        IECA,
        "/v1/immigration-detentions",
        {"journey_id": "$ref:journey", "reason": j.pick(DETENTION_REASONS)},
        "uk.nrm.immigration-detention.entered",
        captures=(("detention", "resource_id"),),
    )
    if entry is None:
        return
    j.add(
        entered + j.days(5, 90),
        "referral",
        IECA,
        "/v1/immigration-detentions/{detention}/release",
        {"reason": j.pick(DETENTION_ENDINGS)},
        "uk.nrm.immigration-detention.left",
    )


def _maybe_detained_after_negative(j: Journey, referral: Referral, decision: Action) -> None:
    """Detention after a negative decision that stands: not a drop-off by the rule."""
    if referral.authority == IECA and j.chance(j.cal.assumption("detention_after_negative_share")):
        _detained(j, max(decision.occurred + j.days(3, 60), decision.at + HOUR))


def _detention_truth(j: Journey) -> None:
    """A detention is a drop-off unless the latest RG or CG decision before it is negative."""
    for action in j.plan.actions:
        if action.event != "uk.nrm.immigration-detention.entered":
            continue
        before = [d for d in j.decisions if d[0] <= action.occurred]
        if not before or max(before)[1] != "negative":
            j.inject("detained-while-decision-stands-or-pending")
