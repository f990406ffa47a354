"""Support service settings (environment variables of the same names, upper case)."""

from __future__ import annotations

from journey_api.config import ApiSettings


class SupportSettings(ApiSettings):
    service_name: str = "support"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/support"
    http_port: int = 8002
