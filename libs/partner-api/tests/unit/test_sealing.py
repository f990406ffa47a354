"""Sealing under a master key: what the settings accept, and that a sealed value is bound
to what it was sealed for."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, SecretStr, ValidationError

from journey_api.sealing import DEVELOPMENT_MASTER_KEY, MasterKey, key_bytes, seal, unseal


class Settings(BaseModel):
    master_key: MasterKey = DEVELOPMENT_MASTER_KEY


def test_a_master_key_is_32_bytes_of_base64() -> None:
    good = base64.b64encode(bytes(range(32))).decode()
    assert key_bytes(Settings(master_key=SecretStr(good)).master_key) == bytes(range(32))
    assert len(key_bytes(Settings().master_key)) == 32


@pytest.mark.parametrize("key", [base64.b64encode(b"short").decode(), "not base64 at all!", ""])
def test_anything_else_is_refused_without_echoing_it(key: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(master_key=SecretStr(key))
    assert "32 bytes" in str(refused.value)
    assert not key or key not in str(refused.value)


def test_a_sealed_value_opens_only_with_its_own_associated_data() -> None:
    cipher = AESGCM(AESGCM.generate_key(bit_length=256))
    sealed = seal(cipher, b"a note", b"jny_a/ack-1")
    assert b"a note" not in sealed.ciphertext
    assert unseal(cipher, sealed, b"jny_a/ack-1") == b"a note"
    with pytest.raises(InvalidTag):
        unseal(cipher, sealed, b"jny_a/ack-2")  # moved to another row
