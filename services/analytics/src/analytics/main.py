"""The analytics service (composition root): the read-only analytics API and dashboard.

The sink that fills its database runs as its own process (`journey-analytics sink`).
"""

from __future__ import annotations

import yaml
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from analytics.api import answers, ctdc, exports, nrm_statistics, pages, whatif
from analytics.config import MIGRATIONS, STATIC, AnalyticsSettings
from analytics.domain.structure import RuleStructure
from journey_api.agencies import AgencyRegistry
from journey_api.service import create_service_app
from journey_platform.contracts import Contracts


def create_app(settings: AnalyticsSettings) -> FastAPI:
    contracts = Contracts.load(settings.schemas_dir)
    app = create_service_app(
        settings=settings,
        contracts=contracts,
        registry=AgencyRegistry.load(settings.agency_registry_path),
        title="Analytics service",
        description="Where journeys through the National Referral Mechanism break down: the "
        "funnel from referral to conviction, drop-offs by rule, stage and profile, and time "
        "to decisions and through support, all under statistical disclosure control (counts "
        f"below {settings.analytics_disclosure_threshold} are null). Analysts only.",
        routers=[
            answers.router,
            exports.router,
            nrm_statistics.router,
            whatif.router,
            ctdc.router,
            pages.pages_router(),
        ],
        migrations=MIGRATIONS,
    )
    app.state.disclosure_threshold = settings.analytics_disclosure_threshold
    app.state.rule_structure = RuleStructure.load(contracts)
    overrides = settings.processor_rule_overrides
    app.state.whatif = whatif.WhatIfSetup(
        settings.kafka_bootstrap_servers,
        contracts,
        (yaml.safe_load(overrides.read_text()) or {}) if overrides else {},
    )
    app.state.whatif.expectations()  # a deployment's thresholds are checked at start
    # The dashboard's page, script and styles: no data, they call the API with the
    # analyst's token.
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    return app
