"""Crypto-shredding and PostgreSQL's write-ahead log: after an erasure and the operator's
steps of the README's privacy section, no WAL segment still on the server's disk holds the
erased journey's wrapped key (with the master key, it would open the erased details)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.integration.journeys import Partner, referral_body, synthetic_person
from tests.integration.services import RunningService, Tokens

pytestmark = pytest.mark.integration


async def segments_holding(conn: asyncpg.Connection, needle: bytes) -> list[str]:
    wal = Path(await conn.fetchval("SHOW data_directory")) / "pg_wal"
    if not wal.is_dir():
        pytest.skip(f"the server's files are not on this machine ({wal})")
    segments = [path for path in wal.iterdir() if path.is_file() and len(path.name) == 24]
    assert segments, f"no WAL segment in {wal}"
    return sorted(path.name for path in segments if needle in path.read_bytes())


async def test_after_erasure_and_a_wal_switch_no_segment_holds_the_wrapped_key(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    async with httpx.AsyncClient() as client:
        police = Partner(client, referral, tokens, "police_force")
        sca = Partner(client, referral, tokens, "competent_authority_sca")
        journey = (await police.post("/v1/referrals", referral_body(synthetic_person())))[
            "journey_id"
        ]
        conn = await asyncpg.connect(referral.database_url)
        try:
            wrapped = await conn.fetchval(
                "SELECT wrapped_key FROM journey_keys WHERE journey_id = $1", journey
            )
            await conn.execute("CHECKPOINT")
            assert await segments_holding(conn, wrapped), "the key is in the WAL once written"

            await sca.post(f"/v1/journeys/{journey}/erasure", {}, expect=200)
            # The README's steps after an erasure.
            await conn.execute("VACUUM journey_keys")
            await conn.execute("CHECKPOINT")
            await conn.execute("SELECT pg_switch_wal()")
            await conn.execute("CHECKPOINT")

            assert await segments_holding(conn, wrapped) == []
            # The table's page is read later: with data checksums on, setting its hint bits
            # logs a full image of it. VACUUM has removed the erased row from that page.
            await conn.fetchval("SELECT count(*) FROM journey_keys")
            await conn.execute("SELECT pg_switch_wal()")
            assert await segments_holding(conn, wrapped) == []
        finally:
            await conn.close()
