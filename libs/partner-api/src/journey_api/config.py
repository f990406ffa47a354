"""The settings every partner API takes (environment variables of the same names)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from journey_api.tokens import DEV_AUDIENCE, DEV_ISSUER
from journey_platform.settings import PlatformSettings, find_schemas_dir


def project_file(*parts: str) -> Path:
    return find_schemas_dir().parent.joinpath(*parts)


class ApiSettings(PlatformSettings):
    """Settings of a partner API (environment variables of the same names, upper case)."""

    agency_registry_path: Path = Field(
        default_factory=lambda: project_file("deploy", "local", "agencies.yaml")
    )
    # Production: the identity provider's JWKS URL. Development: the JWKS file that
    # `journey token` writes beside its signing key.
    auth_jwks_url: str | None = None
    auth_jwks_file: Path | None = None
    auth_issuer: str = DEV_ISSUER
    auth_audience: str = DEV_AUDIENCE
    create_database: bool = True
    # Consumer groups are named <prefix>-<purpose>. Two deployments sharing one Kafka
    # cluster (or two test runs) need different prefixes, or they split the partitions.
    consumer_group_prefix: str = ""

    def consumer_group(self, purpose: str) -> str:
        return f"{self.consumer_group_prefix or self.service_name}-{purpose}"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # The largest request body taken (413 beyond it): partner records are a few kB.
    max_body_bytes: int = 64 * 1024
    # Demos and tests only: take the recorded time from the Simulated-Time header (clock.py).
    accept_simulated_time: bool = False
