"""Prosecution service settings (environment variables of the same names, upper case)."""

from __future__ import annotations

from journey_api.config import ApiSettings


class ProsecutionSettings(ApiSettings):
    service_name: str = "prosecution"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/prosecution"
    http_port: int = 8003
