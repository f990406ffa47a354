"""The prosecution service: criminal justice, from crime recorded to trial (composition root)."""

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
from prosecution.api.cases import criminal_cases
from prosecution.config import ProsecutionSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def journey_facts(event: Event) -> dict[str, Any] | None:
    """Journeys the police may record crimes for: every journey in the NRM (a crime can be
    recorded without a formal police referral); a police referral is remembered as a fact."""
    if event.type == "uk.nrm.referral.submitted":
        return {}
    if event.type == "uk.nrm.police-referral.made":
        return {"police_referral": event.data["basis"]}
    return None


def create_app(settings: ProsecutionSettings) -> FastAPI:
    contracts = Contracts.load(settings.schemas_dir)
    registry = AgencyRegistry.load(settings.agency_registry_path)

    return create_service_app(
        settings=settings,
        contracts=contracts,
        registry=registry,
        title="Prosecution service",
        description="Criminal justice for victims of modern slavery: crimes recorded, "
        "investigations, victim contact and statements, engagement, charge "
        "decisions, trials and the Section 45 defence." + LEARNED_JOURNEYS,
        routers=[
            build_router(criminal_cases(registry), contracts),
            timeline_router(["justice:read"]),
        ],
        migrations=MIGRATIONS,
        consumers=learning_journeys(topics=["nrm.identification"], facts_of=journey_facts),
    )
