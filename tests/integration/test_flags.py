"""The flags service on the real stack: a drop-off raised by the journey processor
reaches the agency that can act on it and no other; acknowledgements are published
without their notes; a retracted flag leaves the lists.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from standardwebhooks import Webhook

from flags.adapters.folding import concerned
from journey_cli.devstack.processes import free_port
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from tests.integration.analytics_events import dropoff, journey_event, publish
from tests.integration.events import new_journey_id
from tests.integration.flags_client import delivered_to, eventually, flags_of, subscribe
from tests.integration.journeys import Partner, days_ago, referred_and_decided
from tests.integration.kafka_helpers import collect, read_all
from tests.integration.processor_run import Workers
from tests.integration.services import AGENCIES, RunningService, Tokens
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.integration


async def journey_in_support(
    client: httpx.AsyncClient, services: dict[str, RunningService], tokens: Tokens
) -> tuple[str, str]:
    """Referred by northshire-police, positive Reasonable Grounds, support requested from
    haven-support and accepted: the journey and its support case path."""
    support = services["support"]
    submitted = await referred_and_decided(client, services["referral"], tokens, "positive")
    journey = submitted["journey_id"]
    case = await Partner(client, support, tokens, "competent_authority_sca").post_when_known(
        "/v1/support-cases",
        {
            "occurred_at": days_ago(34),
            "journey_id": journey,
            "support_route": "msvcc_adult",
            "provider_agency_id": "haven-support",
        },
    )
    provider = Partner(client, support, tokens, "support_provider")
    case_path = f"/v1/support-cases/{case['resource_id']}"
    await provider.post(
        f"{case_path}/offers", {"occurred_at": days_ago(34), "support_route": "msvcc_adult"}
    )
    await provider.post(f"{case_path}/acceptance", {"occurred_at": days_ago(33)})
    return journey, case_path


async def test_a_missing_episode_reaches_the_provider_and_not_an_unrelated_ngo(
    partner_services: dict[str, RunningService],
    flags_service: RunningService,
    tokens: Tokens,
    kafka: str,
    producer: AIOKafkaProducer,
    contracts: Contracts,
    service_logs: list[str],
    tmp_path: Path,
) -> None:
    workers = Workers(kafka, tmp_path)
    await workers.prepare()
    workers.start("a")
    # The provider's and the unrelated NGO's webhook endpoints: real HTTP servers.
    hooks = {agency: Receiver(free_port()) for agency in ("haven-support", "harbour-trust")}
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            secret = {}
            for agency, receiver in hooks.items():
                receiver.up()
                secret[agency] = await subscribe(client, flags_service, tokens, agency, receiver)
            journey, case_path = await journey_in_support(client, partner_services, tokens)
            police = Partner(client, partner_services["support"], tokens, "police_force")
            await police.post(
                f"{case_path}/missing-episodes",
                {
                    "occurred_at": days_ago(1),
                    "from_accommodation_type": "safe_house",
                    "risk_level": "high",
                },
            )
            get = flags_of(client, flags_service, tokens)

            async def listed() -> list[dict[str, Any]]:
                response = await get(
                    "haven-support", journey_id=journey, status="open", rule="missing-episode"
                )
                assert response.status_code == 200, response.text
                return list(response.json()["items"])

            [flag] = await eventually(listed, "the missing-episode flag at haven-support")
            workers.assert_alive()
            # ...and its webhook, signed with the subscription's secret.
            raised = await eventually(
                lambda: delivered_to(hooks["haven-support"], "flag.raised", flag["flag_id"]),
                "the flag.raised delivery at haven-support",
            )
    finally:
        workers.stop_all()

    assert flag["rule_id"] == "missing-episode" and flag["status"] == "open"
    assert flag["title"] == "Missing episode" and "missing after referral" in flag["rationale"]
    flag_path = f"/v1/flags/{flag['flag_id']}"
    async with httpx.AsyncClient(timeout=30) as client:
        get = flags_of(client, flags_service, tokens)
        # The police reported it, and a missing person is theirs to find: they see it too.
        assert [
            f["flag_id"]
            for f in (await get("northshire-police", journey_id=journey)).json()["items"]
        ] == [flag["flag_id"]]
        # An NGO with no part in this journey: nothing listed, 404 on the flag itself.
        assert (await get("harbour-trust", journey_id=journey)).json()["items"] == []
        assert (await get("harbour-trust", flag_path)).status_code == 404
        # The SCA takes part, but a missing person is not a rule it acts on: 404 too.
        assert (await get("sca", flag_path)).status_code == 404
        assert (await get("nrm-analysts", journey_id=journey)).status_code == 403

        detail = (await get("haven-support", flag_path)).json()
        assert [h["kind"] for h in detail["history"]] == ["raised"]
        timeline = detail["links"]["timeline"]
        assert (
            timeline["href"] == f"{partner_services['support'].url}/v1/journeys/{journey}/timeline"
        )
        # The link works for the provider: the support service holds the journey.
        followed = await client.get(timeline["href"], headers=tokens.headers("haven-support"))
        assert followed.status_code == 200

        note = f"Synthnote{secrets.token_hex(6)} called her sister, no answer"
        await acknowledge_with_a_note(client, flags_service, tokens, flag, note, kafka)

        detail = (await get("haven-support", flag_path)).json()
        assert detail["status"] == "open", "acknowledging never resolves a flag"
        [ack] = detail["acknowledgements"]
        assert (ack["action"], ack["agency_id"], ack["note"]) == (
            "referred_to_police",
            "haven-support",
            note,
        )
        police_view = (await get("northshire-police", flag_path)).json()
        assert police_view["acknowledgements"][0]["note"] is None  # another agency's note

        await retract(kafka, producer, contracts, flag)

        async def gone() -> bool:
            response = await get("haven-support", journey_id=journey, status="open")
            return flag["flag_id"] not in {f["flag_id"] for f in response.json()["items"]}

        await eventually(gone, "the retracted flag to leave the list")
        detail = (await get("haven-support", flag_path)).json()
        assert detail["status"] == "retracted"
        assert [h["kind"] for h in detail["history"]] == ["raised", "retracted"]
        resolved = await eventually(
            lambda: delivered_to(hooks["haven-support"], "flag.resolved", flag["flag_id"]),
            "the flag.resolved delivery at haven-support",
        )
    for receiver in hooks.values():
        receiver.down()

    message = Webhook(secret["haven-support"]).verify(raised.body, raised.headers)
    assert message["data"] == {
        "flag_id": flag["flag_id"],
        "journey_id": journey,
        "rule_id": "missing-episode",
        "occurred_at": message["data"]["occurred_at"],
        "recorded_at": flag["raised_at"].replace("+00:00", "Z"),
    }, "thin: ids, the rule and times, nothing about the person"
    retracted = Webhook(secret["haven-support"]).verify(resolved.body, resolved.headers)
    assert retracted["data"]["resolution"] == "retracted"
    # The unrelated NGO was told nothing (its notices would have been enqueued with the
    # provider's, in the same transaction, and delivered by the same dispatcher).
    assert hooks["harbour-trust"].arrivals == []

    await the_note_is_nowhere_in_clear(kafka, contracts, flags_service, service_logs, note)
    assert note not in workers.log("a")

    # Whom a change of this flag tells (the webhooks' recipients): the agencies taking
    # part whose type the rule concerns; the SCA takes part, but not for this rule.
    conn = await asyncpg.connect(flags_service.database_url)
    try:
        told = await concerned(conn, AGENCIES, journey, "missing-episode")
    finally:
        await conn.close()
    assert told == {"haven-support", "northshire-police"}


async def acknowledge_with_a_note(
    client: httpx.AsyncClient,
    flags: RunningService,
    tokens: Tokens,
    flag: dict[str, Any],
    note: str,
    kafka: str,
) -> None:
    path = f"{flags.url}/v1/flags/{flag['flag_id']}/acknowledgements"
    body = {"action": "referred_to_police", "note": note}
    # A (simulated) time before the raise is refused: time to act cannot be negative.
    raised_at = datetime.fromisoformat(flag["raised_at"])
    before = {
        **tokens.headers("haven-support"),
        "Simulated-Time": (raised_at - timedelta(days=1)).isoformat(),
    }
    early = await client.post(path, json=body, headers=before)
    assert early.status_code == 409, early.text
    assert "before the flag was raised" in early.json()["detail"]
    headers = tokens.headers("haven-support")
    first = await client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post(path, json=body, headers=headers)  # same Idempotency-Key
    assert again.json() == first.json(), "the first response replayed, one acknowledgement"
    assert "note" not in first.text or first.json()["note"] is None
    refused = await client.post(path, json=body, headers=tokens.headers("harbour-trust"))
    assert refused.status_code == 404

    acknowledgement = first.json()["acknowledgement_id"]
    [record] = await collect(
        kafka,
        "journey.flag-acknowledgements",
        until=lambda kept: bool(kept),
        keep=lambda r: json.loads(r.value).get("acknowledgement_id") == acknowledgement,
    )
    data = json.loads(record.value)
    assert record.key.decode() == flag["journey_id"]
    assert (data["flag_id"], data["rule_id"], data["action"], data["acknowledged_by"]) == (
        flag["flag_id"],
        "missing-episode",
        "referred_to_police",
        "support_provider",
    )
    assert "note" not in data


async def retract(
    kafka: str, producer: AIOKafkaProducer, contracts: Contracts, flag: dict[str, Any]
) -> None:
    """What the processor publishes when evidence recorded in time reaches it late: the
    flag's next event, resolved as retracted."""
    journey = flag["journey_id"].encode()  # other tests leave unreadable records there
    published = [
        json.loads(r.value) for r in await read_all(kafka, "journey.dropoffs") if r.key == journey
    ]
    last = max(
        (d for d in published if d["flag_id"] == flag["flag_id"]),
        key=lambda d: d.get("sequence", 0),
    )
    data = {
        **{k: last[k] for k in ("flag_id", "rule_id", "stage", "severity", "started_by", "due_at")},
        "sequence": last.get("sequence", 0) + 1,
        "resolved_at": last["due_at"],
        "resolution": "retracted",
        "resolved_by": None,
    }
    event = Event(
        type="uk.nrm.dropoff.resolved",
        subject=flag["journey_id"],
        time=datetime.fromisoformat(last["due_at"].replace("Z", "+00:00")),
        data=data,
        source="integration-tests",
        recorded_by="journey-processor",
    )
    await publish(producer, contracts, [event])


async def the_note_is_nowhere_in_clear(
    kafka: str,
    contracts: Contracts,
    flags: RunningService,
    service_logs: list[str],
    note: str,
) -> None:
    secret = note.encode()
    for topic in contracts.topics:
        records = await read_all(kafka, topic)
        blob = b"\n".join((r.value or b"") + b"".join(v for _, v in r.headers) for r in records)
        assert secret not in blob, f"{topic} carries the note"
    assert service_logs and not [line for line in service_logs if note in line]
    conn = await asyncpg.connect(flags.database_url)
    try:
        [row] = await conn.fetch(
            "SELECT note_ciphertext FROM acknowledgements WHERE note_ciphertext IS NOT NULL"
        )
        assert secret not in row["note_ciphertext"]
        replies = await conn.fetch("SELECT response_body::text AS body FROM idempotency_keys")
        assert replies and not [r for r in replies if note in r["body"]]
    finally:
        await conn.close()


async def test_a_flag_read_before_its_journeys_agencies_still_reaches_them(
    flags_service: RunningService,
    tokens: Tokens,
    producer: AIOKafkaProducer,
    contracts: Contracts,
) -> None:
    """An immediate flag is published a moment after the very event that names its agency,
    on another topic: the flags service may read the flag first. The agency is told when
    it is learned, once, and an agency that does not concern the rule is not."""
    police = Receiver(free_port())
    police.up()
    journey = new_journey_id()
    flag_id = str(uuid.uuid4())
    reported = datetime.now(UTC) - timedelta(hours=1)
    async with httpx.AsyncClient(timeout=30) as client:
        secret = await subscribe(client, flags_service, tokens, "northshire-police", police)
        sca_hook = Receiver(free_port())
        sca_hook.up()
        await subscribe(client, flags_service, tokens, "sca", sca_hook)
        flag = dropoff(journey, flag_id, rule_id="adult-declined-referral", due=reported)
        await publish(producer, contracts, [flag])  # the flag first...
        get = flags_of(client, flags_service, tokens)

        async def stored() -> bool:
            conn = await asyncpg.connect(flags_service.database_url)
            try:
                return bool(
                    await conn.fetchval("SELECT true FROM flags WHERE flag_id = $1", flag_id)
                )
            finally:
                await conn.close()

        await eventually(stored, "the flag folded, with no agency known yet")
        assert police.arrivals == []
        # ...then the Duty to Notify report that makes the police (and the SCA) take part.
        report = journey_event(contracts, "uk.nrm.duty-to-notify.reported", journey, reported)
        await publish(producer, contracts, [replace(report, recorded_by="northshire-police")])
        arrival = await eventually(
            lambda: delivered_to(police, "flag.raised", flag_id), "the late flag.raised"
        )
        listed = (await get("northshire-police", journey_id=journey)).json()["items"]
    police.down()
    sca_hook.down()
    message = Webhook(secret).verify(arrival.body, arrival.headers)
    assert message["data"]["rule_id"] == "adult-declined-referral"
    assert [f["flag_id"] for f in listed] == [flag_id]
    assert len(police.delivered()) == 1, "told once"
    # The SCA takes part (every Duty to Notify report goes to it) but does not act on a
    # declined referral: not told.
    assert sca_hook.arrivals == []
