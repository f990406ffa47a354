"""Support cases: the record table partners write through, and the request that opens one."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from journey_api.agencies import AgencyRegistry
from journey_api.domain.errors import StateConflict
from journey_api.domain.records import Actor, Resource
from journey_api.specs import Collection, RecordSpec
from nrm_domain.agencies import AgencyType
from support.domain import actions, cases

PROVIDER_TYPES = {AgencyType.SUPPORT_PROVIDER, AgencyType.LOCAL_AUTHORITY}


def requested_by(_: Resource, __: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return {"requested_by": actor.agency_type.value}


def reported_by(_: Resource, __: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return {"reported_by": actor.agency_type.value}


in_support = cases.check_in_support

# What happens on a case once requested: the routes under /v1/support-cases/{id}.
FOLLOW_UPS = [
    RecordSpec(
        actions.OFFER,
        "/{resource_id}/offers",
        "Offer support.",
        "support_case_id",
        rule=cases.check_offer,
    ),
    RecordSpec(
        actions.ACCEPT,
        "/{resource_id}/acceptance",
        "Record that the person accepted the support offered.",
        "support_case_id",
        rule=cases.check_answer,
    ),
    RecordSpec(
        actions.DECLINE,
        "/{resource_id}/decline",
        "Record that the person declined the support offered.",
        "support_case_id",
        rule=cases.check_answer,
    ),
    RecordSpec(
        actions.FIRST_CONTACT,
        "/{resource_id}/first-contact",
        "Record the provider's first contact (expected within 48 hours of acceptance).",
        "support_case_id",
        rule=in_support,
    ),
    RecordSpec(
        actions.ENTER_ACCOMMODATION,
        "/{resource_id}/accommodation-stays",
        "Record that the person moved into accommodation; returns the stay_id.",
        "support_case_id",
        minted=("stay_id",),
        rule=in_support,
    ),
    RecordSpec(
        actions.LEAVE_ACCOMMODATION,
        "/{resource_id}/accommodation-departures",
        "Record that the person left an accommodation stay.",
        "support_case_id",
        rule=cases.check_leave_accommodation,
    ),
    RecordSpec(
        actions.CONTACT,
        "/{resource_id}/contacts",
        "Record a support contact.",
        "support_case_id",
        rule=in_support,
    ),
    RecordSpec(
        actions.NEEDS_ASSESSMENT,
        "/{resource_id}/needs-assessments",
        "Record a needs assessment.",
        "support_case_id",
        rule=in_support,
    ),
    RecordSpec(
        actions.REQUEST_LEGAL,
        "/{resource_id}/legal-representation-requests",
        "Record a request for legal representation.",
        "support_case_id",
        rule=in_support,
    ),
    RecordSpec(
        actions.SECURE_LEGAL,
        "/{resource_id}/legal-representation",
        "Record that legal representation was secured.",
        "support_case_id",
        rule=in_support,
    ),
    RecordSpec(
        actions.REPORT_MISSING,
        "/{resource_id}/missing-episodes",
        "Report that the person went missing; returns the episode_id.",
        None,
        minted=("episode_id",),
        derived=("reported_by",),
        derive=reported_by,
    ),
    RecordSpec(
        actions.END_MISSING,
        "/{resource_id}/missing-episode-ends",
        "Record the end of a missing episode.",
        None,
        rule=cases.check_end_missing,
    ),
    RecordSpec(
        actions.RECOVERY_NEEDS,
        "/{resource_id}/recovery-needs-assessments",
        "Record a Recovery Needs Assessment (after a positive Conclusive Grounds decision).",
        "support_case_id",
        rule=in_support,
    ),
    RecordSpec(
        actions.MOVE_ON,
        "/{resource_id}/move-on-plans",
        "Record an agreed move-on plan (at least 45 days of move-on support).",
        "support_case_id",
        rule=in_support,
    ),
    RecordSpec(
        actions.END,
        "/{resource_id}/end",
        "End support, with the reason.",
        "support_case_id",
        rule=cases.check_end,
    ),
]


def support_cases(registry: AgencyRegistry) -> Collection:
    """The collection: the request that opens a case, then its follow-ups."""

    def check_request(_: Resource, attributes: dict[str, Any], __: Actor) -> None:
        provider = registry.get(attributes["provider_agency_id"])
        if provider is None or provider.type not in PROVIDER_TYPES:
            raise StateConflict(
                "provider_agency_id must name a support provider or local authority."
            )

    def provider(_: Resource, attributes: dict[str, Any]) -> list[str]:
        return [attributes["provider_agency_id"]]  # the provider takes part from the request on

    request = RecordSpec(
        actions.REQUEST,
        "",
        "Request support for a person, naming the provider.",
        "support_case_id",
        creates=True,
        derived=("requested_by",),
        derive=requested_by,
        rule=check_request,
        participants=provider,
        # On the event too (optional there), so the flags service learns the provider.
        stricter={
            "provider_agency_id": (
                str,
                Field(
                    min_length=2,
                    max_length=63,
                    pattern=r"^[a-z0-9][a-z0-9-]+$",
                    description="Agency id of the support provider or local authority.",
                    examples=["haven-support"],
                ),
            )
        },
    )
    return Collection(
        "/v1/support-cases",
        "support case",
        "support_case",
        "support:read",
        [request, *FOLLOW_UPS],
        summarise=cases.summary,
        tag="support cases",
    )
