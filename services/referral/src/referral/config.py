"""Referral service settings (environment variables of the same names, upper case)."""

from __future__ import annotations

from journey_api.config import ApiSettings
from journey_api.sealing import DEVELOPMENT_MASTER_KEY, MasterKey, master_keys


class ReferralSettings(ApiSettings):
    service_name: str = "referral"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/referral"
    http_port: int = 8001
    secret_keys = ("pseudonym_key", "identity_master_key")
    # Seals each journey's data key (journey_api.sealing). During a rotation the key it
    # replaces is the previous one: keys it sealed still open (`journey keys rotate`).
    identity_master_key: MasterKey = DEVELOPMENT_MASTER_KEY
    identity_master_key_previous: MasterKey | None = None

    def master_keys(self) -> list[bytes]:
        """The master key, then the previous one if any."""
        return master_keys(self.identity_master_key, self.identity_master_key_previous)
