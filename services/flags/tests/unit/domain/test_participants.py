"""Who takes part in a journey, from its events: as the partner APIs decide it."""

from __future__ import annotations

from typing import Any

from flags.domain.participants import participants
from journey_api.agencies import AgencyRegistry
from journey_platform.settings import find_schemas_dir

REGISTRY = AgencyRegistry.load(find_schemas_dir().parent / "deploy" / "local" / "agencies.yaml")


def named(event_type: str, recorded_by: str, **data: Any) -> frozenset[str]:
    return participants(REGISTRY, event_type=event_type, recorded_by=recorded_by, data=data)


def test_a_referral_brings_in_its_competent_authority() -> None:
    assert named("uk.nrm.referral.submitted", "harbour-trust", competent_authority="ieca") == {
        "harbour-trust",
        "ieca",
    }
    assert named("uk.nrm.referral.submitted", "northshire-police", competent_authority="sca") == {
        "northshire-police",
        "sca",
    }


def test_a_duty_to_notify_report_brings_in_the_sca() -> None:
    assert named("uk.nrm.duty-to-notify.reported", "eastvale-council") == {
        "eastvale-council",
        "sca",
    }


def test_an_investigation_referred_to_the_cps_brings_in_the_cps_and_no_other_does() -> None:
    closed = "uk.nrm.investigation.closed"
    assert named(closed, "northshire-police", outcome="referred_to_cps") == {
        "northshire-police",
        "cps",
    }
    assert named(closed, "northshire-police", outcome="no_further_action_evidential") == {
        "northshire-police"
    }


def test_support_requested_brings_in_the_provider_when_the_event_names_it() -> None:
    requested = "uk.nrm.support.requested"
    assert named(requested, "sca", provider_agency_id="haven-support") == {"sca", "haven-support"}
    assert named(requested, "sca") == {"sca"}  # an event from before the field existed


def test_any_other_event_brings_in_whoever_recorded_it() -> None:
    assert named("uk.nrm.missing-episode.reported", "northshire-police") == {"northshire-police"}
