"""The referral service: identification and NRM decisions (composition root)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from journey_api.agencies import AgencyRegistry
from journey_api.endpoints import build_router
from journey_api.learning import learning_journeys
from journey_api.reads import timeline_router
from journey_api.service import create_service_app
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_platform.pseudonyms import Pseudonymiser
from referral.adapters.identity import IdentityVault, Vault
from referral.api.identity import identity_router
from referral.api.referrals import (
    IMMIGRATION_DETENTION,
    REFERRALS,
    duty_to_notify,
)
from referral.api.submission import submission_router
from referral.config import ReferralSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SUPPORT_REQUESTED = "uk.nrm.support.requested"


def provider_facts(event: Event) -> dict[str, Any] | None:
    """What the support service's events teach here: nothing about the journey itself, which
    this service referred, but who supports the person (`provider_joins`)."""
    return {} if event.type == SUPPORT_REQUESTED and "provider_agency_id" in event.data else None


def provider_joins(event: Event) -> list[str]:
    """The provider a support request names takes part in the journey here too: a support
    provider may ask for a negative decision to be reconsidered, which it could not do on
    a journey it does not take part in."""
    return [event.data["provider_agency_id"]]


def create_app(settings: ReferralSettings, *, vault: Vault | None = None) -> FastAPI:
    """`vault`: where identifying details are kept; tests give an in-memory one."""
    contracts = Contracts.load(settings.schemas_dir)
    registry = AgencyRegistry.load(settings.agency_registry_path)
    vault = vault or IdentityVault(*settings.master_keys())
    pseudonyms = Pseudonymiser(settings.pseudonym_key.get_secret_value().encode())
    return create_service_app(
        settings=settings,
        contracts=contracts,
        registry=registry,
        title="Referral service",
        description="Identification and decisions in the National Referral Mechanism: "
        "referrals, Duty to Notify reports, Reasonable and Conclusive Grounds "
        "decisions, reconsiderations, withdrawals, police referrals, immigration "
        "detention, and erasure of identifying details.\n\nThe support and prosecution "
        "services learn a referred journey from this service's events a fraction of a second "
        "after the 201; until then they answer 404 about it, as about any journey they do not "
        "know (their descriptions say how to retry).\n\nLikewise a support provider takes "
        "part in a journey here a moment after a support request naming it is recorded "
        "(this service learns it from `nrm.support`): until then its reconsideration request "
        "gets the same 404, with `Retry-After` while this service knows it is catching up.",
        routers=[
            submission_router(contracts, registry, vault, pseudonyms),
            identity_router(vault),
            build_router(REFERRALS, contracts),
            build_router(duty_to_notify(registry), contracts),
            build_router(IMMIGRATION_DETENTION, contracts),
            timeline_router(["referrals:read"]),
        ],
        migrations=MIGRATIONS,
        consumers=learning_journeys(
            topics=["nrm.support"], facts_of=provider_facts, joining=provider_joins
        ),
    )
