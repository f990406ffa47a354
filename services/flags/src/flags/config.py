"""Flags service settings (environment variables of the same names, upper case)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from flags.webhooks.settings import WebhookSettings
from journey_api.config import ApiSettings
from journey_api.sealing import DEVELOPMENT_MASTER_KEY, MasterKey, master_keys
from journey_platform.settings import find_schemas_dir


def _catalogue() -> Path:
    rules = ("services", "journey-processor", "src", "journey_processor", "core", "rules")
    return find_schemas_dir().parent.joinpath(*rules, "catalogue.yaml")


class FlagsSettings(ApiSettings, WebhookSettings):
    service_name: str = "flags"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/flags"
    http_port: int = 8005  # analytics has 8004
    secret_keys = ("notes_master_key", "webhook_master_key")
    # The journey processor's rules catalogue: the rules' titles and rationales.
    rules_catalogue_path: Path = Field(default_factory=_catalogue)
    # Seals each journey's data key, which seals acknowledgement notes (journey_api.sealing).
    notes_master_key: MasterKey = DEVELOPMENT_MASTER_KEY
    # During a rotation, the key it replaces: notes' keys it sealed still open.
    notes_master_key_previous: MasterKey | None = None
    # Where partners read a journey's timeline (links in a flag).
    referral_api_url: str = "http://127.0.0.1:8001"
    support_api_url: str = "http://127.0.0.1:8002"
    prosecution_api_url: str = "http://127.0.0.1:8003"

    def notes_keys(self) -> list[bytes]:
        """The notes' master key, then the previous one if any."""
        return master_keys(self.notes_master_key, self.notes_master_key_previous)
