"""Subscription secrets: minted in the Standard Webhooks format, sealed at rest, and
used to sign each delivery (HMAC-SHA256 over `id.timestamp.body`, by `standardwebhooks`).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from standardwebhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
NONCE_BYTES = 12


def new_secret() -> str:
    """A fresh signing secret, `whsec_` and base64, as receivers' libraries expect it."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SecretBox:
    """Seals secrets with the master key; the subscription id is the associated data,
    so a sealed secret copied onto another subscription does not open."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(master_key)

    def seal(self, secret: str, *, subscription_id: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), subscription_id.encode())

    def open(self, sealed: bytes, *, subscription_id: str) -> str:
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, subscription_id.encode()).decode()


def signed_headers(
    *, webhook_id: str, timestamp: datetime, body: str, secrets_: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every active secret.

    During a rotation's overlap there are two; the spec lets `webhook-signature` carry
    several space-separated `v1,<signature>` entries, and a receiver accepts any match.
    """
    signatures = [Webhook(s).sign(webhook_id, timestamp, body) for s in secrets_]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
