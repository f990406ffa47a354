"""Per-journey data keys sealed by a master key (envelope encryption, AES-256-GCM).

A service that must hold free text or identifying details about a person keeps each
journey's data under a random key of that journey's own, stored in its `journey_keys`
table sealed by the master key (with the journey id as associated data, so a sealed key
cannot be moved to another journey). Each ciphertext is sealed with associated data that
binds it to its row, so it cannot be moved to another record either. Deleting a journey's
key makes every ciphertext of that journey noise, backups included (crypto-shredding).

The table each service creates in its own migrations:

    CREATE TABLE journey_keys (
        journey_id   text        PRIMARY KEY,
        wrapped_key  bytea       NOT NULL,   -- the data key, sealed by the master key
        nonce        bytea       NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
    );
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Annotated

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import AfterValidator, SecretStr

from journey_platform.db import Connection

NONCE_BYTES = 12


def _aes_256(key: SecretStr) -> SecretStr:
    try:
        raw = base64.b64decode(key.get_secret_value(), validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError("a master key must be 32 bytes, base64-encoded")
    return key


# A setting holding a master key: 32 bytes, base64. Production reads it from a secret
# store (or a KMS); each service that seals data has one of its own.
MasterKey = Annotated[SecretStr, AfterValidator(_aes_256)]
DEVELOPMENT_MASTER_KEY = SecretStr(base64.b64encode(b"development-only-master-key-32b!").decode())


def key_bytes(key: SecretStr) -> bytes:
    return base64.b64decode(key.get_secret_value())


@dataclass(frozen=True)
class Sealed:
    nonce: bytes
    ciphertext: bytes


def seal(cipher: AESGCM, plain: bytes, associated: bytes) -> Sealed:
    nonce = os.urandom(NONCE_BYTES)
    return Sealed(nonce, cipher.encrypt(nonce, plain, associated))


def unseal(cipher: AESGCM, sealed: Sealed, associated: bytes) -> bytes:
    return cipher.decrypt(sealed.nonce, sealed.ciphertext, associated)


class JourneyKeys:
    """The journeys' data keys in `journey_keys`, sealed by the master key."""

    def __init__(self, master_key: bytes) -> None:
        self._master = AESGCM(master_key)

    async def existing(self, conn: Connection, journey_id: str) -> AESGCM | None:
        row = await conn.fetchrow(
            "SELECT wrapped_key, nonce FROM journey_keys WHERE journey_id = $1", journey_id
        )
        if row is None:
            return None
        wrapped = Sealed(row["nonce"], row["wrapped_key"])
        return AESGCM(unseal(self._master, wrapped, journey_id.encode()))

    async def create(self, conn: Connection, journey_id: str) -> AESGCM:
        key = AESGCM.generate_key(bit_length=256)
        wrapped = seal(self._master, key, journey_id.encode())
        await conn.execute(
            "INSERT INTO journey_keys (journey_id, wrapped_key, nonce) VALUES ($1, $2, $3)",
            journey_id,
            wrapped.ciphertext,
            wrapped.nonce,
        )
        return AESGCM(key)

    async def existing_or_new(self, conn: Connection, journey_id: str) -> AESGCM:
        """The journey's key, made on first use. Two first uses racing: one insert fails
        on the primary key and its transaction is retried by the caller."""
        return await self.existing(conn, journey_id) or await self.create(conn, journey_id)

    async def destroy(self, conn: Connection, journey_id: str) -> None:
        await conn.execute("DELETE FROM journey_keys WHERE journey_id = $1", journey_id)
