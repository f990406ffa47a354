"""Referrals and what is recorded on them, as record tables: decisions, reconsiderations,
withdrawals and police referrals; Duty to Notify reports; immigration detention."""

from __future__ import annotations

from typing import Any

from journey_api.agencies import AgencyRegistry
from journey_api.domain.errors import StateConflict
from journey_api.domain.records import Actor, Resource
from journey_api.specs import Collection, RecordSpec
from nrm_domain import recovery
from nrm_domain.agencies import AgencyType
from referral.domain import actions, decisions
from referral.domain.people import FIRST_RESPONDER_TYPE


def _recovery_start(
    resource: Resource, attributes: dict[str, Any]
) -> list[tuple[Any, dict[str, Any]]]:
    if attributes["outcome"] != "positive":
        return []
    nation = recovery.nation_of(resource.attribute("referral", "region"))
    return [
        (
            actions.START_RECOVERY_PERIOD,
            {"minimum_days": recovery.MINIMUM_DAYS[nation], "nation": nation},
        )
    ]


def _recovery_end(reason: str):  # type: ignore[no-untyped-def]
    def follow(resource: Resource, _: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
        if not decisions.recovery_period_open(resource):
            return []
        return [(actions.END_RECOVERY_PERIOD, {"reason": reason})]

    return follow


def _competent_authority(resource: Resource, _: dict[str, Any], __: Actor) -> dict[str, Any]:
    return {"competent_authority": resource.attribute("referral", "competent_authority")}


def _conclusive(resource: Resource, attributes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    status = "actual" if attributes["outcome"] == "positive" else "not_a_victim"
    return {**_competent_authority(resource, attributes, actor), "trafficking_status": status}


def _requested_by(_: Resource, __: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return {"requested_by": actor.agency_type.value}


REFERRAL_SPECS = [
    RecordSpec(
        actions.DECIDE_REASONABLE_GROUNDS,
        "/{resource_id}/reasonable-grounds-decisions",
        "Record the Reasonable Grounds decision on a referral.",
        "referral_id",
        derived=("competent_authority",),
        derive=_competent_authority,
        rule=decisions.check_reasonable_grounds,
        follow_ups=_recovery_start,
    ),
    RecordSpec(
        actions.DECIDE_CONCLUSIVE_GROUNDS,
        "/{resource_id}/conclusive-grounds-decisions",
        "Record the Conclusive Grounds decision on a referral.",
        "referral_id",
        derived=("competent_authority", "trafficking_status"),
        derive=_conclusive,
        rule=decisions.check_conclusive_grounds,
        follow_ups=_recovery_end("conclusive_grounds_decided"),
    ),
    RecordSpec(
        actions.REQUEST_RECONSIDERATION,
        "/{resource_id}/reconsideration-requests",
        "Ask the competent authority to reconsider a negative decision.",
        "referral_id",
        derived=("requested_by",),
        derive=_requested_by,
        rule=decisions.check_reconsideration_request,
    ),
    RecordSpec(
        actions.DECIDE_RECONSIDERATION,
        "/{resource_id}/reconsideration-decisions",
        "Record the outcome of a reconsideration.",
        "referral_id",
        rule=decisions.check_reconsideration_decision,
    ),
    RecordSpec(
        actions.WITHDRAW_REFERRAL,
        "/{resource_id}/withdrawal",
        "Withdraw a referral.",
        "referral_id",
        rule=decisions.check_withdrawal,
        follow_ups=_recovery_end("withdrawn"),
    ),
    RecordSpec(
        actions.REFER_TO_POLICE,
        "/{resource_id}/police-referrals",
        "Refer the case to the police, with consent or as a third-party referral.",
        "referral_id",
        minted=("police_referral_id",),
        rule=decisions.check_police_referral,
    ),
]

REFERRALS = Collection(
    "/v1/referrals",
    "referral",
    "referral",
    "referrals:read",
    REFERRAL_SPECS,
    summarise=decisions.summary,
    tag="referrals",
)


def _first_responder(_: Resource, __: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return {"first_responder_type": FIRST_RESPONDER_TYPE[actor.agency_type]}


def duty_to_notify(registry: AgencyRegistry) -> Collection:
    """MS1 reports; the Single Competent Authority, which receives them for the Home Office,
    takes part in each report's journey with the public authority that sent it."""
    receivers = [a.id for a in registry if a.type is AgencyType.COMPETENT_AUTHORITY_SCA]

    def received_by_sca(_: Resource, __: dict[str, Any]) -> list[str]:
        return receivers

    return Collection(
        "/v1/duty-to-notify-reports",
        "Duty to Notify report",
        "duty_to_notify_report",
        "referrals:read",
        [
            RecordSpec(
                actions.REPORT_DUTY_TO_NOTIFY,
                "",
                "Notify the Home Office of an adult who did not consent to referral (MS1); "
                "anonymous: a new journey id, no identity.",
                "notification_id",
                creates=True,
                new_journey=True,
                derived=("first_responder_type",),
                derive=_first_responder,
                participants=received_by_sca,
            )
        ],
        tag="duty to notify",
    )


def _detention_open(resource: Resource, _: dict[str, Any], __: Actor) -> None:
    if resource.latest("immigration_detention_end") is not None:
        raise StateConflict("This detention has already ended.")


IMMIGRATION_DETENTION = Collection(
    "/v1/immigration-detentions",
    "immigration detention",
    "immigration_detention",
    "referrals:read",
    [
        RecordSpec(
            actions.ENTER_DETENTION,
            "",
            "Record that the person entered immigration detention.",
            "detention_id",
            creates=True,
        ),
        RecordSpec(
            actions.LEAVE_DETENTION,
            "/{resource_id}/release",
            "Record that the person left immigration detention.",
            "detention_id",
            rule=_detention_open,
        ),
    ],
    tag="immigration detention",
)
