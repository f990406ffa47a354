"""Referral service settings (environment variables of the same names, upper case)."""

from __future__ import annotations

from journey_api.sealing import DEVELOPMENT_MASTER_KEY, MasterKey, key_bytes
from journey_api.service import ApiSettings


class ReferralSettings(ApiSettings):
    service_name: str = "referral"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/referral"
    http_port: int = 8001
    secret_keys = ("pseudonym_key", "identity_master_key")
    # Seals each journey's data key (journey_api.sealing).
    identity_master_key: MasterKey = DEVELOPMENT_MASTER_KEY

    def master_key(self) -> bytes:
        return key_bytes(self.identity_master_key)
