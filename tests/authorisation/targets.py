"""A target in the right state for each write, for an agency of type `t` allowed to make it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.authorisation.scene import Made, Scene, Target, dtn_body
from tests.authorisation.tables import (
    COUNCIL,
    FIRST_RESPONDERS,
    POLICE,
    ROUTED_TO,
    SUPPORT,
    S,
    path_of,
)
from tests.integration.journeys import days_ago, referral_body, synthetic_person
from tests.integration.services import BY_TYPE

Prepare = Callable[[Scene, str], Awaitable[Target]]
PREPARE: dict[str, Prepare] = {}


def prepares(key: str) -> Callable[[Prepare], Prepare]:
    def register(function: Prepare) -> Prepare:
        PREPARE[key] = function
        return function

    return register


def on(key: str, made: Made | None = None, body: dict[str, Any] | None = None) -> Target:
    ids = {"resource_id": made.resource_id, "journey_id": made.journey_id} if made else {}
    return Target(path_of(key).format(**ids), body, made.journey_id if made else None)


@prepares("referral:/v1/referrals")
async def _submit(scene: Scene, t: str) -> Target:
    return on("referral:/v1/referrals", body=referral_body(synthetic_person()))


@prepares("referral:/v1/duty-to-notify-reports")
async def _notify(scene: Scene, t: str) -> Target:
    return on("referral:/v1/duty-to-notify-reports", body=dtn_body())


@prepares("referral:/v1/referrals/{resource_id}/reasonable-grounds-decisions")
async def _rg(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca=ROUTED_TO[t])
    body = {"occurred_at": days_ago(35), "outcome": "positive"}
    return on("referral:/v1/referrals/{resource_id}/reasonable-grounds-decisions", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/conclusive-grounds-decisions")
async def _cg(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca=ROUTED_TO[t])
    await scene.grounds(referral, "positive")
    body = {"occurred_at": days_ago(8), "outcome": "positive"}
    return on("referral:/v1/referrals/{resource_id}/conclusive-grounds-decisions", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/reconsideration-requests")
async def _ask_again(scene: Scene, t: str) -> Target:
    referral = await scene.referral(agency=BY_TYPE[t] if t in FIRST_RESPONDERS else None)
    await scene.grounds(referral, "negative")
    body = {"occurred_at": days_ago(30), "decision": "reasonable_grounds"}
    return on("referral:/v1/referrals/{resource_id}/reconsideration-requests", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/reconsideration-decisions")
async def _reconsider(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca=ROUTED_TO[t])
    await scene.grounds(referral, "negative")
    await scene.reconsideration_request(referral, agency=BY_TYPE[POLICE])
    body = {"occurred_at": days_ago(25), "decision": "reasonable_grounds", "outcome": "overturned"}
    return on("referral:/v1/referrals/{resource_id}/reconsideration-decisions", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/withdrawal")
async def _withdraw(scene: Scene, t: str) -> Target:
    if t in FIRST_RESPONDERS:  # the referrer withdraws its own referral
        referral = await scene.referral(agency=BY_TYPE[t])
    else:
        referral = await scene.referral(ca=ROUTED_TO[t])
    body = {"occurred_at": days_ago(20), "reason": "consent_withdrawn"}
    return on("referral:/v1/referrals/{resource_id}/withdrawal", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/police-referrals")
async def _to_police(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca=ROUTED_TO[t])
    body = {"occurred_at": days_ago(30), "basis": "with_consent", "region": "london"}
    return on("referral:/v1/referrals/{resource_id}/police-referrals", referral, body)


@prepares("referral:/v1/journeys/{journey_id}/erasure")
async def _erase(scene: Scene, t: str) -> Target:
    return on("referral:/v1/journeys/{journey_id}/erasure", await scene.referral(ca=ROUTED_TO[t]))


@prepares("referral:/v1/immigration-detentions")
async def _detain(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca="ieca")
    body = {"occurred_at": days_ago(20), "journey_id": referral.journey_id, "reason": "other"}
    return on("referral:/v1/immigration-detentions", body=body)


@prepares("referral:/v1/immigration-detentions/{resource_id}/release")
async def _release(scene: Scene, t: str) -> Target:
    detention = await scene.detention((await scene.referral(ca="ieca")).journey_id)
    body = {"occurred_at": days_ago(10), "reason": "released"}
    return on("referral:/v1/immigration-detentions/{resource_id}/release", detention, body)


@prepares("support:/v1/support-cases")
async def _request_support(scene: Scene, t: str) -> Target:
    body = {
        "occurred_at": days_ago(34),
        "journey_id": scene.adult.journey_id,
        "support_route": "msvcc_adult",
        "provider_agency_id": BY_TYPE[SUPPORT],
    }
    return on("support:/v1/support-cases", body=body)


def _route(t: str) -> str:
    return "local_authority_child" if t == COUNCIL else "msvcc_adult"


@prepares("support:/v1/support-cases/{resource_id}/offers")
async def _offer(scene: Scene, t: str) -> Target:
    case = await scene.support_case(BY_TYPE[t])
    body = {"occurred_at": days_ago(34), "support_route": _route(t)}
    return on("support:/v1/support-cases/{resource_id}/offers", case, body)


@prepares("support:/v1/support-cases/{resource_id}/acceptance")
async def _accept(scene: Scene, t: str) -> Target:
    case = await scene.support_case(BY_TYPE[t], state="offered")
    body = {"occurred_at": days_ago(33)}
    return on("support:/v1/support-cases/{resource_id}/acceptance", case, body)


@prepares("support:/v1/support-cases/{resource_id}/decline")
async def _decline(scene: Scene, t: str) -> Target:
    case = await scene.support_case(BY_TYPE[t], state="offered")
    body = {"occurred_at": days_ago(33), "reason": "own_arrangements"}
    return on("support:/v1/support-cases/{resource_id}/decline", case, body)


IN_SUPPORT_BODIES: dict[str, dict[str, Any]] = {
    "first-contact": {"contact_mode": "in_person"},
    "accommodation-stays": {"accommodation_type": "safe_house"},
    "contacts": {"contact_mode": "phone", "initiated_by": "support_worker"},
    "needs-assessments": {"need_areas": ["legal", "medical"], "priority": "high"},
    "legal-representation-requests": {"matter": "immigration"},
    "legal-representation": {"matter": "immigration", "legal_aid": True},
    "recovery-needs-assessments": {"outcome": "support_extended", "extension_days": 90},
    "move-on-plans": {"support_days": 90, "destination": "mainstream_housing"},
}


def _in_support(key: str, fields: dict[str, Any]) -> Prepare:
    async def prepare(scene: Scene, t: str) -> Target:
        # Repeatable records: the provider's one accepted case serves every cell.
        return on(key, scene.in_support[t], {"occurred_at": days_ago(30), **fields})

    return prepare


for _name, _fields in IN_SUPPORT_BODIES.items():
    _key = f"support:/v1/support-cases/{{resource_id}}/{_name}"
    PREPARE[_key] = _in_support(_key, _fields)


@prepares("support:/v1/support-cases/{resource_id}/accommodation-departures")
async def _leave(scene: Scene, t: str) -> Target:
    case = scene.in_support[t]
    body = {"occurred_at": days_ago(31), "accommodation_type": "safe_house"}
    stay = await scene.api.record(
        S, f"/v1/support-cases/{case.resource_id}/accommodation-stays", body, agency=BY_TYPE[t]
    )
    body = {"occurred_at": days_ago(5), "stay_id": stay.attributes["stay_id"], "reason": "moved_on"}
    return on("support:/v1/support-cases/{resource_id}/accommodation-departures", case, body)


def _missing() -> dict[str, Any]:
    return {
        "occurred_at": days_ago(20),
        "from_accommodation_type": "safe_house",
        "risk_level": "high",
    }


@prepares("support:/v1/support-cases/{resource_id}/missing-episodes")
async def _go_missing(scene: Scene, t: str) -> Target:
    case = scene.in_support[COUNCIL if t == COUNCIL else SUPPORT]
    return on("support:/v1/support-cases/{resource_id}/missing-episodes", case, _missing())


@prepares("support:/v1/support-cases/{resource_id}/missing-episode-ends")
async def _come_back(scene: Scene, t: str) -> Target:
    case = scene.in_support[COUNCIL if t == COUNCIL else SUPPORT]
    episode = await scene.api.record(
        S, f"/v1/support-cases/{case.resource_id}/missing-episodes", _missing(), agency=BY_TYPE[t]
    )
    body = {
        "occurred_at": days_ago(19),
        "episode_id": episode.attributes["episode_id"],
        "outcome": "found_by_police" if t == POLICE else "returned",
        "duration_hours": 30,
    }
    return on("support:/v1/support-cases/{resource_id}/missing-episode-ends", case, body)


@prepares("support:/v1/support-cases/{resource_id}/end")
async def _end(scene: Scene, t: str) -> Target:
    case = await scene.support_case(BY_TYPE[t], state="accepted")
    body = {"occurred_at": days_ago(1), "reason": "move_on_completed"}
    return on("support:/v1/support-cases/{resource_id}/end", case, body)


@prepares("prosecution:/v1/criminal-cases")
async def _record_crime(scene: Scene, t: str) -> Target:
    body = {
        "occurred_at": days_ago(29),
        "journey_id": scene.adult.journey_id,
        "offence": "modern_slavery_act_s1_slavery_servitude_forced_labour",
        "police_force_region": "london",
    }
    return on("prosecution:/v1/criminal-cases", body=body)


@prepares("prosecution:/v1/criminal-cases/{resource_id}/investigation")
async def _open(scene: Scene, t: str) -> Target:
    case = await scene.criminal_case()
    return on(
        "prosecution:/v1/criminal-cases/{resource_id}/investigation",
        case,
        {"occurred_at": days_ago(28)},
    )


@prepares("prosecution:/v1/criminal-cases/{resource_id}/investigation-closure")
async def _close(scene: Scene, t: str) -> Target:
    case = await scene.criminal_case()
    await scene.investigate(case)
    body = {"occurred_at": days_ago(12), "outcome": "referred_to_cps"}
    return on("prosecution:/v1/criminal-cases/{resource_id}/investigation-closure", case, body)


@prepares("prosecution:/v1/criminal-cases/{resource_id}/charge-decision")
async def _charge(scene: Scene, t: str) -> Target:
    case = await scene.criminal_case()
    await scene.investigate(case, close=True)
    body = {"occurred_at": days_ago(10), "decision": "charged", "offences_charged": 1}
    return on("prosecution:/v1/criminal-cases/{resource_id}/charge-decision", case, body)


@prepares("prosecution:/v1/criminal-cases/{resource_id}/trial-outcome")
async def _try(scene: Scene, t: str) -> Target:
    case = await scene.criminal_case()
    await scene.investigate(case, charge=True)
    body = {"occurred_at": days_ago(2), "outcome": "convicted", "modern_slavery_conviction": True}
    return on("prosecution:/v1/criminal-cases/{resource_id}/trial-outcome", case, body)


CASE_BODIES: dict[str, dict[str, Any]] = {
    "victim-contacts": {"contact_mode": "in_person", "initiated_by": "police"},
    "statements": {"statement_type": "witness_statement"},
    "engagement-changes": {"status": "withdrew", "reason": "fear_of_reprisal"},
    "section-45-defences": {
        "person_role": "suspect",
        "offence_category": "drugs",
        "schedule_4_excluded": False,
    },
}


def _on_case(key: str, fields: dict[str, Any]) -> Prepare:
    async def prepare(scene: Scene, t: str) -> Target:
        return on(key, scene.crime, {"occurred_at": days_ago(21), **fields})  # repeatable

    return prepare


for _name, _fields in CASE_BODIES.items():
    _key = f"prosecution:/v1/criminal-cases/{{resource_id}}/{_name}"
    PREPARE[_key] = _on_case(_key, _fields)
