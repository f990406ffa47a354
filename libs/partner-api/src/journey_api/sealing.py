"""Per-journey data keys sealed by a master key (envelope encryption, AES-256-GCM).

A service that must hold free text or identifying details about a person keeps each
journey's data under a random key of that journey's own, stored in its `journey_keys`
table sealed by the master key (with the journey id as associated data, so a sealed key
cannot be moved to another journey). Each ciphertext is sealed with associated data that
binds it to its row, so it cannot be moved to another record either. Deleting a journey's
key makes every ciphertext of that journey noise, backups included (crypto-shredding).

Rotating the master key re-seals every journey's key, never the data (`journey keys
rotate`, through `JourneyKeys.reseal`). Each sealed key records which master key sealed it
(`master_key_id`, a fingerprint of the key), and a service given the previous master key as
well opens keys sealed by either, so it keeps serving while the rotation runs.

The table each service creates in its own migrations:

    CREATE TABLE journey_keys (
        journey_id   text        PRIMARY KEY,
        wrapped_key  bytea       NOT NULL,   -- the data key, sealed by the master key
        nonce        bytea       NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        master_key_id text                   -- which master key sealed it; NULL: not recorded
    );
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from cryptography.exceptions import InvalidTag
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


def master_keys(current: SecretStr, previous: SecretStr | None) -> list[bytes]:
    """A service's master keys for `JourneyKeys`: the current one first."""
    return [key_bytes(key) for key in (current, previous) if key is not None]


def master_key_id(master_key: bytes) -> str:
    """A public name for a master key: a keyed hash of a constant, so it tells keys apart
    without telling anything about them."""
    return hmac.new(master_key, b"victim-journey master key id", hashlib.sha256).hexdigest()[:16]


class UnknownMasterKey(Exception):
    """A journey's key was sealed by a master key this process was not given."""


@dataclass(frozen=True)
class Sealed:
    nonce: bytes
    ciphertext: bytes


def seal(cipher: AESGCM, plain: bytes, associated: bytes) -> Sealed:
    nonce = os.urandom(NONCE_BYTES)
    return Sealed(nonce, cipher.encrypt(nonce, plain, associated))


def unseal(cipher: AESGCM, sealed: Sealed, associated: bytes) -> bytes:
    return cipher.decrypt(sealed.nonce, sealed.ciphertext, associated)


# A journey's new key, sealed, from parameters $1-$4 (`JourneyKeys.generate`). A SELECT,
# so a larger statement may add `FROM` a row that decides whether it is written at all.
KEY_ROW_SQL = """INSERT INTO journey_keys (journey_id, wrapped_key, nonce, master_key_id)
                 SELECT $1, $2, $3, $4"""


class JourneyKeys:
    """The journeys' data keys in `journey_keys`, sealed by the master key. New keys are
    sealed by `master_key`; keys sealed by a `previous` one open too (during a rotation)."""

    def __init__(self, master_key: bytes, *previous: bytes) -> None:
        self.master_key_id = master_key_id(master_key)
        self._masters = {master_key_id(key): AESGCM(key) for key in (master_key, *previous)}

    def _seal(self, key: bytes, journey_id: str) -> Sealed:
        return seal(self._masters[self.master_key_id], key, journey_id.encode())

    def _unseal(self, row: asyncpg.Record) -> bytes:
        journey_id, sealed_by = row["journey_id"], row["master_key_id"]
        wrapped = Sealed(row["nonce"], row["wrapped_key"])
        if sealed_by is not None:
            if sealed_by not in self._masters:
                raise UnknownMasterKey(f"journey keys sealed by master key {sealed_by}")
            return unseal(self._masters[sealed_by], wrapped, journey_id.encode())
        # Sealed before key ids were recorded: the master key that opens it is the one.
        for master in self._masters.values():
            try:
                return unseal(master, wrapped, journey_id.encode())
            except InvalidTag:
                continue
        raise UnknownMasterKey("journey keys sealed by a master key not given")

    async def existing(self, conn: Connection, journey_id: str) -> AESGCM | None:
        row = await conn.fetchrow(
            "SELECT journey_id, wrapped_key, nonce, master_key_id FROM journey_keys "
            "WHERE journey_id = $1",
            journey_id,
        )
        return None if row is None else AESGCM(self._unseal(row))

    def generate(self, journey_id: str) -> tuple[AESGCM, tuple[object, ...]]:
        """A new key for the journey, and the parameters of `KEY_ROW_SQL` that store it
        sealed (in a statement of the caller's, which may write more in the same trip)."""
        key = AESGCM.generate_key(bit_length=256)
        wrapped = self._seal(key, journey_id)
        return AESGCM(key), (journey_id, wrapped.ciphertext, wrapped.nonce, self.master_key_id)

    async def create(self, conn: Connection, journey_id: str) -> AESGCM:
        cipher, row = self.generate(journey_id)
        await conn.execute(KEY_ROW_SQL, *row)
        return cipher

    async def existing_or_new(self, conn: Connection, journey_id: str) -> AESGCM:
        """The journey's key, made on first use. Two first uses racing: one insert fails
        on the primary key and its transaction is retried by the caller."""
        return await self.existing(conn, journey_id) or await self.create(conn, journey_id)

    async def destroy(self, conn: Connection, journey_id: str) -> None:
        await conn.execute("DELETE FROM journey_keys WHERE journey_id = $1", journey_id)

    async def reseal(self, conn: Connection, *, after: str, limit: int) -> list[str]:
        """Re-seal under the master key up to `limit` journeys' keys that another master
        key sealed, in journey id order after `after`; the journey ids done (none: none
        left). Run it in a transaction: the rows stay locked until it commits, so an
        erasure waits for it rather than being undone by it."""
        rows = await conn.fetch(
            """SELECT journey_id, wrapped_key, nonce, master_key_id FROM journey_keys
               WHERE journey_id > $1 AND master_key_id IS DISTINCT FROM $2
               ORDER BY journey_id LIMIT $3 FOR UPDATE""",
            after,
            self.master_key_id,
            limit,
        )
        resealed = [
            (row["journey_id"], self._seal(self._unseal(row), row["journey_id"])) for row in rows
        ]
        await conn.executemany(
            """UPDATE journey_keys SET wrapped_key = $2, nonce = $3, master_key_id = $4
               WHERE journey_id = $1""",
            [(journey, w.ciphertext, w.nonce, self.master_key_id) for journey, w in resealed],
        )
        return [journey for journey, _ in resealed]

    async def sealed_by_others(self, conn: Connection) -> int:
        """How many journeys' keys another master key sealed (0 once a rotation is done)."""
        count: int = await conn.fetchval(
            "SELECT count(*) FROM journey_keys WHERE master_key_id IS DISTINCT FROM $1",
            self.master_key_id,
        )
        return count
