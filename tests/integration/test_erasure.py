"""Identifying details: sealed per journey, linked on re-referral, destroyed on erasure."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.integration.journeys import Partner, identifying_values, referral_body, synthetic_person
from tests.integration.services import RunningService, Tokens

pytestmark = pytest.mark.integration


async def _tables_mentioning(database_url: str, values: list[str]) -> list[str]:
    """Every (table, value) where a row's text contains the value, across the whole schema."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        hits = []
        for table in tables:
            for value in values:
                found = await conn.fetchval(
                    f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE $1', f"%{value}%"
                )
                if found:
                    hits.append(f"{table}: {value}")
        return hits
    finally:
        await conn.close()


async def test_re_referral_links_to_the_same_journey_without_storing_identifiers_in_clear(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    person = synthetic_person()
    async with httpx.AsyncClient() as client:
        police = Partner(client, referral, tokens, "police_force")
        council = Partner(client, referral, tokens, "local_authority")
        first = await police.post("/v1/referrals", referral_body(person))
        # Another agency, other spelling of the same name: still the same person.
        respelled = {**person, "given_name": person["given_name"].upper() + " "}
        second = await council.post("/v1/referrals", referral_body(respelled))
    assert second["journey_id"] == first["journey_id"]
    assert second["attributes"]["is_re_referral"] is True
    assert second["attributes"]["previous_referral_count"] == 1
    assert await _tables_mentioning(referral.database_url, identifying_values(person)) == []


async def test_one_person_referred_by_several_agencies_at_once_gets_one_journey(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    """Simultaneous first referrals race for the person's match key: one creates the
    journey, the others wait for it and link to it, each counting those before it."""
    referral = partner_services["referral"]
    person = synthetic_person()
    async with httpx.AsyncClient() as client:
        agencies = ("police_force", "local_authority", "police_force", "local_authority")
        partners = [Partner(client, referral, tokens, agency) for agency in agencies]
        made = await asyncio.gather(
            *(p.post("/v1/referrals", referral_body(person)) for p in partners)
        )
    assert len({m["journey_id"] for m in made}) == 1
    counts = sorted(m["attributes"]["previous_referral_count"] for m in made)
    assert counts == [0, 1, 2, 3]


async def test_erasure_destroys_the_details_and_keeps_the_statistics(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    person = synthetic_person()
    async with httpx.AsyncClient() as client:
        police = Partner(client, referral, tokens, "police_force")
        sca = Partner(client, referral, tokens, "competent_authority_sca")
        submitted = await police.post("/v1/referrals", referral_body(person))
        journey, referral_id = submitted["journey_id"], submitted["resource_id"]
        identity = await sca.get(f"/v1/referrals/{referral_id}/identity")
        assert identity["person"]["family_name"] == person["family_name"]

        erased = await sca.post(f"/v1/journeys/{journey}/erasure", {}, expect=200)
        assert erased["erased"] is True

        gone = await sca.get(f"/v1/referrals/{referral_id}/identity", expect=410)
        assert gone["type"].endswith("erased")
        # The coded referral still counts.
        listed = await sca.get(f"/v1/referrals?journey_id={journey}")
        assert [item["resource_id"] for item in listed["items"]] == [referral_id]
        assert listed["items"][0]["records"][0]["attributes"]["age_band"]
        # Referred again after erasure: nothing links the person to the erased journey.
        again = await police.post("/v1/referrals", referral_body(person))
        assert again["journey_id"] != journey
        assert again["attributes"]["is_re_referral"] is False

    conn = await asyncpg.connect(referral.database_url)
    try:
        assert (
            await conn.fetchval("SELECT count(*) FROM journey_keys WHERE journey_id = $1", journey)
            == 0
        )
        assert (
            await conn.fetchval("SELECT count(*) FROM identities WHERE journey_id = $1", journey)
            == 1
        ), "the ciphertext may stay: without its key it is noise"
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM journey_records WHERE journey_id = $1 AND kind = 'referral'",
                journey,
            )
            == 1
        )
        actions = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_log WHERE journey_id = $1 ORDER BY audit_id", journey
            )
        ]
        assert actions[:3] == ["write:referral", "read:identity", "erase:identity"]
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_log WHERE journey_id = $1", journey)
    finally:
        await conn.close()
    assert await _tables_mentioning(referral.database_url, identifying_values(person)) == []


async def test_a_refused_attempt_to_read_identifying_details_is_audited(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    async with httpx.AsyncClient() as client:
        submitted = await Partner(client, referral, tokens, "police_force").post(
            "/v1/referrals", referral_body(synthetic_person())
        )
        await Partner(client, referral, tokens, "cps").get(
            f"/v1/referrals/{submitted['resource_id']}/identity", expect=403
        )
    conn = await asyncpg.connect(referral.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT agency_id, action, outcome FROM audit_log WHERE resource_id = $1 "
            "AND outcome = 'denied'",
            submitted["resource_id"],
        )
    finally:
        await conn.close()
    assert row is not None
    assert dict(row) == {
        "agency_id": "cps",
        "action": "GET /v1/referrals/{resource_id}/identity",
        "outcome": "denied",
    }
