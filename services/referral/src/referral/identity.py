"""Identifying details, encrypted per journey, and crypto-shredding.

Each journey gets a random AES-256 data key, stored sealed by the master key. A
person's details are sealed by their journey's key, with the journey and referral ids as
associated data so a ciphertext cannot be moved to another record. Erasure deletes the
journey's key: every ciphertext of that journey becomes noise, backups included.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from journey_api.sealing import KEY_ROW_SQL, JourneyKeys, Sealed, seal, unseal
from journey_platform.db import Connection


class Erased(Exception):
    """The journey's key was destroyed: its identifying details are gone for good."""


_IDENTITY = """INSERT INTO identities (referral_id, journey_id, nonce, ciphertext)
               VALUES ($1, $2, $3, $4)"""
_WITH_NEW_KEY = f"""WITH journey_key AS ({KEY_ROW_SQL})
                    INSERT INTO identities (referral_id, journey_id, nonce, ciphertext)
                    VALUES ($5, $6, $7, $8)"""  # noqa: S608 (a constant statement)


class IdentityVault:
    def __init__(self, master_key: bytes, *previous: bytes) -> None:
        self._keys = JourneyKeys(master_key, *previous)

    async def _journey_key(self, conn: Connection, journey_id: str, *, create: bool) -> AESGCM:
        key = await self._keys.existing(conn, journey_id)
        if key is not None:
            return key
        if not create or await conn.fetchval(
            "SELECT true FROM erasures WHERE journey_id = $1", journey_id
        ):
            raise Erased(journey_id)
        return await self._keys.create(conn, journey_id)

    async def store(
        self,
        conn: Connection,
        *,
        journey_id: str,
        referral_id: uuid.UUID,
        details: dict[str, Any],
        new_journey: bool = False,
    ) -> None:
        """Seal `details` under the journey's key. `new_journey`: the journey was created in
        this transaction, so it has neither a key nor an erasure yet: no need to look."""
        key_row: tuple[object, ...] = ()
        if new_journey:  # its key is stored with these details, in one round trip
            cipher, key_row = self._keys.generate(journey_id)
        else:
            cipher = await self._journey_key(conn, journey_id, create=True)
        sealed = seal(cipher, json.dumps(details).encode(), _aad(journey_id, referral_id))
        await conn.execute(
            _WITH_NEW_KEY if key_row else _IDENTITY,
            *key_row,
            referral_id,
            journey_id,
            sealed.nonce,
            sealed.ciphertext,
        )

    async def read(
        self, conn: Connection, *, journey_id: str, referral_id: uuid.UUID
    ) -> dict[str, Any]:
        row = await conn.fetchrow(
            "SELECT nonce, ciphertext FROM identities WHERE referral_id = $1", referral_id
        )
        if row is None:
            raise Erased(journey_id)
        cipher = await self._journey_key(conn, journey_id, create=False)
        plain = unseal(
            cipher, Sealed(row["nonce"], row["ciphertext"]), _aad(journey_id, referral_id)
        )
        details: dict[str, Any] = json.loads(plain)
        return details

    async def shred(self, conn: Connection, *, journey_id: str, agency_id: str) -> bool:
        """Destroy the journey's key and its re-referral match keys; False if already erased."""
        inserted = await conn.fetchval(
            """INSERT INTO erasures (journey_id, agency_id) VALUES ($1, $2)
               ON CONFLICT DO NOTHING RETURNING true""",
            journey_id,
            agency_id,
        )
        await self._keys.destroy(conn, journey_id)
        await conn.execute("DELETE FROM person_matches WHERE journey_id = $1", journey_id)
        return bool(inserted)


def _aad(journey_id: str, referral_id: uuid.UUID) -> bytes:
    return f"{journey_id}/{referral_id}".encode()
