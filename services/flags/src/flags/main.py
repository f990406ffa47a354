"""The flags service: partners see and acknowledge the drop-off flags that concern them
(composition root)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from flags.adapters.catalogue import load_rules
from flags.adapters.consumers import flag_consumer
from flags.adapters.notes import Acknowledgements
from flags.api.acknowledgements import acknowledgements_router
from flags.api.flags import flags_router
from flags.api.pages import install_pages
from flags.api.reading import Shown
from flags.config import FlagsSettings
from flags.webhooks import Dispatcher, webhooks_router
from journey_api.agencies import AgencyRegistry
from journey_api.service import create_service_app
from journey_platform.contracts import Contracts

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: FlagsSettings) -> FastAPI:
    contracts = Contracts.load(settings.schemas_dir)
    registry = AgencyRegistry.load(settings.agency_registry_path)
    notes = Acknowledgements(*settings.notes_keys())
    shown = Shown(
        load_rules(settings.rules_catalogue_path),
        {
            "referral": settings.referral_api_url,
            "support": settings.support_api_url,
            "prosecution": settings.prosecution_api_url,
        },
    )
    app = create_service_app(
        settings=settings,
        contracts=contracts,
        registry=registry,
        title="Flags service",
        description="Drop-off flags for the partners who can act on them: each agency lists "
        "and reads the flags on journeys it takes part in whose rule concerns it, records "
        "what it did about them, and registers webhooks (Standard Webhooks 1.0) to be told "
        "when one is raised or resolved.",
        routers=[
            flags_router(shown, notes),
            acknowledgements_router(contracts, notes),
            webhooks_router(settings),
        ],
        migrations=MIGRATIONS,
        # The fold enqueues webhook deliveries with each flag; the dispatcher sends them.
        consumers=lambda runtime: [
            flag_consumer(runtime, registry),
            Dispatcher(runtime.pool, settings),
        ],
    )
    install_pages(app)
    return app
