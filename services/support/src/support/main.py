"""The support service: protection, from support requested to support ended (composition root)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from journey_api.agencies import AgencyRegistry
from journey_api.endpoints import build_router
from journey_api.learning import LEARNED_JOURNEYS, learning_journeys
from journey_api.reads import timeline_router
from journey_api.service import create_service_app
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from support.api.cases import support_cases
from support.config import SupportSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def journey_facts(event: Event) -> dict[str, Any] | None:
    """What support needs to know from identification events.

    A referral makes the journey known (support can be requested from referral on); a
    positive Reasonable Grounds decision opens MSVCC eligibility and the recovery period.
    """
    if event.type == "uk.nrm.referral.submitted":
        return {}
    if event.type == "uk.nrm.reasonable-grounds.decided" and event.data["outcome"] == "positive":
        return {"support_eligible": True}
    return None


def create_app(settings: SupportSettings) -> FastAPI:
    contracts = Contracts.load(settings.schemas_dir)
    registry = AgencyRegistry.load(settings.agency_registry_path)

    return create_service_app(
        settings=settings,
        contracts=contracts,
        registry=registry,
        title="Support service",
        description="Protection of potential victims: support requested, offered, accepted or "
        "declined; first contact; accommodation; contacts; needs assessments; legal "
        "representation; missing episodes; Recovery Needs Assessments; move-on "
        "plans; support ended." + LEARNED_JOURNEYS,
        routers=[
            build_router(support_cases(registry), contracts),
            timeline_router(["support:read"]),
        ],
        migrations=MIGRATIONS,
        consumers=learning_journeys(topics=["nrm.identification"], facts_of=journey_facts),
    )
