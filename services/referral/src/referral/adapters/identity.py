"""Identifying details, encrypted per journey, and crypto-shredding.

Each journey gets a random AES-256 data key, stored sealed by the master key. A
person's details are sealed by their journey's key, with the journey and referral ids as
associated data so a ciphertext cannot be moved to another record. Erasure deletes the
journey's key: every ciphertext of that journey becomes noise, backups included.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from journey_api.sealing import KEY_ROW_SQL, JourneyKeys, Sealed, seal, unseal
from journey_platform.db import Connection
from journey_platform.pseudonyms import anonymous_journey_id


class Erased(Exception):
    """The journey's key was destroyed: its identifying details are gone for good."""


_IDENTITY = """INSERT INTO identities (referral_id, journey_id, nonce, ciphertext)
               VALUES ($1, $2, $3, $4)"""
# A person not referred before, in one round trip: their match key, their journey, its new
# key and their sealed details. If another referral is writing the same match key (the
# same person, at the same time), this waits until that one commits, then writes nothing:
# every part is made from the one row `matched` returns.
_NEW_PERSON = f"""WITH matched AS (
                      INSERT INTO person_matches (match_key, journey_id) VALUES ($5, $1)
                      ON CONFLICT (match_key) DO NOTHING RETURNING journey_id),
                  journey AS (INSERT INTO journeys (journey_id) SELECT journey_id FROM matched),
                  journey_key AS ({KEY_ROW_SQL} FROM matched)
                  INSERT INTO identities (referral_id, journey_id, nonce, ciphertext)
                  SELECT $6, journey_id, $7, $8 FROM matched
                  RETURNING journey_id"""  # noqa: S608 (a constant statement)


class Vault(Protocol):
    """Where a person's identifying details are kept: `IdentityVault` on PostgreSQL, sealed
    per journey; `referral.testing.MemoryVault` for fast tests."""

    async def journey_for(
        self, conn: Connection, *, match_key: str, referral_id: uuid.UUID, details: dict[str, Any]
    ) -> tuple[str, int]:
        """The person's journey (new, or theirs if `match_key` was referred before) with
        their `details` kept in it, and how many referrals it had before this one."""

    async def read(
        self, conn: Connection, *, journey_id: str, referral_id: uuid.UUID
    ) -> dict[str, Any]:
        """The details given with the referral; raises Erased once the journey's are erased."""

    async def shred(self, conn: Connection, *, journey_id: str, agency_id: str) -> bool:
        """Erase the journey's details for good; False if they were erased already."""


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

    async def journey_for(
        self, conn: Connection, *, match_key: str, referral_id: uuid.UUID, details: dict[str, Any]
    ) -> tuple[str, int]:
        while True:
            created = await self.store_new_person(
                conn, match_key=match_key, referral_id=referral_id, details=details
            )
            if created is not None:
                return created, 0
            # Referred before. Two re-referrals of one person at once take turns, so the
            # second counts the first.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 2))", match_key)
            row = await conn.fetchrow(
                """SELECT m.journey_id,
                          (SELECT count(*) FROM journey_records r
                           WHERE r.journey_id = m.journey_id AND r.kind = 'referral') AS previous
                   FROM person_matches m WHERE m.match_key = $1""",
                match_key,
            )
            if row is not None:
                journey_id = str(row["journey_id"])
                await self.store(
                    conn, journey_id=journey_id, referral_id=referral_id, details=details
                )
                return journey_id, int(row["previous"])
            # Its journey was erased (match keys and all) meanwhile: the person is new again.

    async def store_new_person(
        self, conn: Connection, *, match_key: str, referral_id: uuid.UUID, details: dict[str, Any]
    ) -> str | None:
        """A new journey for a person not referred before, with `details` sealed under its
        new key; its id. None, having written nothing: the match key is taken (the
        person was referred before, or is being referred right now)."""
        journey_id = anonymous_journey_id()
        cipher, key_row = self._keys.generate(journey_id)
        sealed = self._seal(cipher, journey_id, referral_id, details)
        created: str | None = await conn.fetchval(
            _NEW_PERSON, *key_row, match_key, referral_id, sealed.nonce, sealed.ciphertext
        )
        return created

    async def store(
        self, conn: Connection, *, journey_id: str, referral_id: uuid.UUID, details: dict[str, Any]
    ) -> None:
        """Seal `details` under the key of a journey that exists."""
        cipher = await self._journey_key(conn, journey_id, create=True)
        sealed = self._seal(cipher, journey_id, referral_id, details)
        await conn.execute(_IDENTITY, referral_id, journey_id, sealed.nonce, sealed.ciphertext)

    @staticmethod
    def _seal(
        cipher: AESGCM, journey_id: str, referral_id: uuid.UUID, details: dict[str, Any]
    ) -> Sealed:
        return seal(cipher, json.dumps(details).encode(), _aad(journey_id, referral_id))

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
