"""Webhook settings (environment variables of the same names, upper case).

`FlagsSettings` inherits them; the dispatcher and the webhook routes take this class so
that they can be built (and tested) without the rest of the flags service.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from journey_api.sealing import DEVELOPMENT_MASTER_KEY, MasterKey, key_bytes
from journey_platform.settings import PlatformSettings


class WebhookSettings(PlatformSettings):
    secret_keys: ClassVar[tuple[str, ...]] = ("webhook_master_key",)
    # Plain http is refused, except to a loopback address in development (the demo's
    # receiver) or where this is set explicitly (a test rig). Never in production.
    webhook_allow_loopback_http: bool = False
    # Standard Webhooks: retry with exponential backoff for a while, then give up. The
    # issue fixes the while at 24 hours after the first attempt.
    webhook_retry_horizon_seconds: float = 24 * 3600
    webhook_backoff_base_seconds: float = 5.0
    webhook_backoff_cap_seconds: float = 3600.0
    # A subscription is disabled after this many consecutive failed attempts, once its
    # failures have also gone on this long: a dead endpoint, not a brief outage.
    webhook_disable_after_failures: int = 20
    webhook_disable_after_failing_seconds: float = 6 * 3600
    webhook_request_timeout_seconds: float = 10.0
    # A claimed delivery is invisible to other dispatchers for this long; if its
    # dispatcher dies mid-request, the delivery becomes due again when the lease ends.
    webhook_claim_lease_seconds: float = 60.0
    # After a rotation the previous secret still signs deliveries for this long.
    webhook_secret_overlap_seconds: float = 24 * 3600
    webhook_poll_interval_seconds: float = 0.2
    webhook_batch_size: int = 20
    # Seals each subscription's signing secrets at rest (AES-256-GCM). Production reads
    # it from a secret store (or a KMS).
    webhook_master_key: MasterKey = DEVELOPMENT_MASTER_KEY

    @model_validator(mode="after")
    def _lease_outlasts_request(self) -> WebhookSettings:
        # Otherwise a slow but live request could be claimed and sent a second time.
        if self.webhook_claim_lease_seconds <= self.webhook_request_timeout_seconds:
            raise ValueError("webhook_claim_lease_seconds must exceed the request timeout")
        return self

    @property
    def webhook_allows_loopback(self) -> bool:
        return self.deployment_environment == "development" or self.webhook_allow_loopback_http

    def webhook_key(self) -> bytes:
        return key_bytes(self.webhook_master_key)
