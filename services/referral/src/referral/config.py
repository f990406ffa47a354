"""Referral service settings (environment variables of the same names, upper case)."""

from __future__ import annotations

import base64

from pydantic import SecretStr, field_validator

from journey_api.service import ApiSettings


class ReferralSettings(ApiSettings):
    service_name: str = "referral"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/referral"
    http_port: int = 8001
    # Seals each journey's data key. Production reads it from a secret store (or a KMS).
    identity_master_key: SecretStr = SecretStr(
        base64.b64encode(b"development-only-master-key-32b!").decode()
    )

    @field_validator("identity_master_key")
    @classmethod
    def _aes_256(cls, key: SecretStr) -> SecretStr:
        if len(base64.b64decode(key.get_secret_value())) != 32:
            raise ValueError("identity_master_key must be 32 bytes, base64-encoded")
        return key

    def master_key(self) -> bytes:
        return base64.b64decode(self.identity_master_key.get_secret_value())
