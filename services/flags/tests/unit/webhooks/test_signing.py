"""Signing against the Standard Webhooks reference: its published test vector, and its
own verifier accepting what we send (one secret, or two during a rotation)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from flags.webhooks.signing import SecretBox, new_secret, signed_headers

# The reference library's sign test (standard-webhooks, libraries/python/tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = datetime.fromtimestamp(1614265330, UTC)
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_published_vector_signs_as_published() -> None:
    headers = signed_headers(
        webhook_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY, secrets_=[VECTOR_SECRET]
    )
    assert headers == {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": VECTOR_SIGNATURE,
    }


def test_the_reference_verifier_accepts_a_fresh_delivery_and_refuses_a_tampered_one() -> None:
    secret, body = new_secret(), '{"type":"flag.raised"}'
    headers = signed_headers(
        webhook_id="msg_1", timestamp=datetime.now(UTC), body=body, secrets_=[secret]
    )
    assert Webhook(secret).verify(body, headers) == {"type": "flag.raised"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("raised", "resolved"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_a_timestamp_older_than_five_minutes_is_refused() -> None:
    secret, body = new_secret(), "{}"
    old = datetime.now(UTC) - timedelta(minutes=5, seconds=5)
    headers = signed_headers(webhook_id="msg_1", timestamp=old, body=body, secrets_=[secret])
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, headers)


def test_during_a_rotation_either_secret_verifies() -> None:
    new, previous, body = new_secret(), new_secret(), "{}"
    headers = signed_headers(
        webhook_id="msg_1", timestamp=datetime.now(UTC), body=body, secrets_=[new, previous]
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, previous):
        Webhook(secret).verify(body, headers)


def test_secrets_are_in_the_standard_format() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64


def test_a_sealed_secret_opens_only_for_its_own_subscription() -> None:
    box, secret = SecretBox(bytes(32)), new_secret()
    sealed = box.seal(secret, subscription_id="sub-a")
    assert secret.encode() not in sealed
    assert box.open(sealed, subscription_id="sub-a") == secret
    with pytest.raises(InvalidTag):
        box.open(sealed, subscription_id="sub-b")
    with pytest.raises(InvalidTag):
        SecretBox(bytes([1] * 32)).open(sealed, subscription_id="sub-a")
