"""Acknowledgements and their notes. A note is free text an agency wrote about a person:
sealed under the journey's data key, bound to its acknowledgement (associated data), and
never logged, published or returned to any agency but the one that wrote it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from journey_api.sealing import JourneyKeys, Sealed, seal, unseal
from journey_platform.db import Connection


@dataclass(frozen=True)
class Acknowledgement:
    acknowledgement_id: uuid.UUID
    flag_id: uuid.UUID
    journey_id: str
    action: str
    agency_id: str
    client_id: str
    acknowledged_at: datetime


def _bound_to(journey_id: str, acknowledgement_id: uuid.UUID) -> bytes:
    return f"{journey_id}/{acknowledgement_id}".encode()


class Acknowledgements:
    def __init__(self, master_key: bytes, *previous: bytes) -> None:
        self._keys = JourneyKeys(master_key, *previous)

    async def add(self, conn: Connection, ack: Acknowledgement, note: str | None) -> None:
        sealed: Sealed | None = None
        if note:
            cipher = await self._keys.existing_or_new(conn, ack.journey_id)
            sealed = seal(cipher, note.encode(), _bound_to(ack.journey_id, ack.acknowledgement_id))
        await conn.execute(
            """INSERT INTO acknowledgements
                   (acknowledgement_id, flag_id, journey_id, action, agency_id, client_id,
                    acknowledged_at, note_nonce, note_ciphertext)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            ack.acknowledgement_id,
            ack.flag_id,
            ack.journey_id,
            ack.action,
            ack.agency_id,
            ack.client_id,
            ack.acknowledged_at,
            sealed.nonce if sealed else None,
            sealed.ciphertext if sealed else None,
        )

    async def note(self, conn: Connection, row: asyncpg.Record) -> str | None:
        """The row's note in clear, or None (no note, or the journey's key is gone)."""
        if row["note_ciphertext"] is None:
            return None
        cipher = await self._keys.existing(conn, row["journey_id"])
        if cipher is None:
            return None
        sealed = Sealed(row["note_nonce"], row["note_ciphertext"])
        plain = unseal(cipher, sealed, _bound_to(row["journey_id"], row["acknowledgement_id"]))
        return plain.decode()
