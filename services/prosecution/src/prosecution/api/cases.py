"""Criminal cases: the record table police and the CPS write through."""

from __future__ import annotations

from typing import Any

from journey_api.agencies import AgencyRegistry
from journey_api.domain.records import Resource
from journey_api.specs import Collection, RecordSpec
from nrm_domain.agencies import AgencyType
from prosecution.domain import actions, cases


def criminal_cases(registry: AgencyRegistry) -> Collection:
    """The collection; a case referred to the CPS brings the CPS into the journey."""
    # Long because: a table, not logic: one RecordSpec per record partners may make.
    prosecutors = [a.id for a in registry if a.type is AgencyType.CPS]

    def to_cps(_: Resource, attributes: dict[str, Any]) -> list[str]:
        return prosecutors if attributes["outcome"] == "referred_to_cps" else []

    return Collection(
        "/v1/criminal-cases",
        "criminal case",
        "criminal_case",
        "justice:read",
        [
            RecordSpec(
                actions.RECORD_CRIME,
                "",
                "Record a modern slavery crime for a journey.",
                "case_id",
                creates=True,
            ),
            RecordSpec(
                actions.OPEN_INVESTIGATION,
                "/{resource_id}/investigation",
                "Open the investigation.",
                "case_id",
                rule=cases.check_open_investigation,
            ),
            RecordSpec(
                actions.CLOSE_INVESTIGATION,
                "/{resource_id}/investigation-closure",
                "Close the investigation, with its outcome.",
                "case_id",
                rule=cases.check_close_investigation,
                participants=to_cps,
            ),
            RecordSpec(
                actions.CONTACT_VICTIM,
                "/{resource_id}/victim-contacts",
                "Record contact between police and the victim.",
                "case_id",
            ),
            RecordSpec(
                actions.TAKE_STATEMENT,
                "/{resource_id}/statements",
                "Record that the victim gave a statement.",
                "case_id",
            ),
            RecordSpec(
                actions.CHANGE_ENGAGEMENT,
                "/{resource_id}/engagement-changes",
                "Record the victim engaging, withdrawing or re-engaging, with a coded reason.",
                "case_id",
            ),
            RecordSpec(
                actions.DECIDE_CHARGE,
                "/{resource_id}/charge-decision",
                "Record the CPS charge decision.",
                "case_id",
                rule=cases.check_charge,
            ),
            RecordSpec(
                actions.CONCLUDE_TRIAL,
                "/{resource_id}/trial-outcome",
                "Record the trial outcome.",
                "case_id",
                rule=cases.check_trial,
            ),
            RecordSpec(
                actions.RAISE_SECTION_45,
                "/{resource_id}/section-45-defences",
                "Record that the victim, as suspect or defendant, raised the Section 45 defence.",
                "case_id",
            ),
        ],
        summarise=cases.summary,
        tag="criminal cases",
    )
