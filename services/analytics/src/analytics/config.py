"""Analytics settings (environment variables of the same names, upper case)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from analytics.domain.disclosure import DEFAULT_THRESHOLD
from journey_api.config import ApiSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
STATIC = Path(__file__).resolve().parent / "static"


class AnalyticsSettings(ApiSettings):
    service_name: str = "analytics"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/analytics"
    http_port: int = 8004
    # Counts below this (zeros included) are suppressed; statistics need this many
    # observations. Never below 2: no published figure may be about one person.
    analytics_disclosure_threshold: int = Field(default=DEFAULT_THRESHOLD, ge=2)
    # The sink reads these topics; records per fetch and per database transaction.
    sink_topics: list[str] = Field(
        default_factory=lambda: [
            "journey.outcomes",
            "journey.dropoffs",
            "nrm.identification",
            "nrm.support",
            "nrm.criminal-justice",
        ]
    )
    # The deployment's thresholds, the processor's own file (PROCESSOR_RULE_OVERRIDES: a
    # YAML mapping rule id -> within): what-ifs compare against what actually ran.
    processor_rule_overrides: Path | None = None
    sink_batch_size: int = Field(default=2000, ge=1)
