"""One journey through all three partner APIs, as the right agencies, and its events."""

from __future__ import annotations

from collections import defaultdict

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from journey_platform.contracts import Contracts
from journey_platform.envelope import decode
from tests.integration.journeys import Partner, days_ago, referral_body, synthetic_person
from tests.integration.kafka_helpers import collect
from tests.integration.services import BY_TYPE, RunningService, Tokens

pytestmark = pytest.mark.integration

EXPECTED = {
    "nrm.identification": [
        "uk.nrm.referral.submitted",
        "uk.nrm.reasonable-grounds.decided",
        "uk.nrm.recovery-period.started",
        "uk.nrm.police-referral.made",
        "uk.nrm.conclusive-grounds.decided",
        "uk.nrm.recovery-period.ended",
    ],
    "nrm.support": [
        "uk.nrm.support.requested",
        "uk.nrm.support.offered",
        "uk.nrm.support.accepted",
        "uk.nrm.support.first-contact-made",
        "uk.nrm.accommodation.entered",
        "uk.nrm.needs-assessment.completed",
        "uk.nrm.legal-representation.requested",
        "uk.nrm.legal-representation.secured",
        "uk.nrm.missing-episode.reported",
        "uk.nrm.missing-episode.ended",
        "uk.nrm.support.contact-recorded",
        "uk.nrm.recovery-needs-assessment.completed",
        "uk.nrm.move-on-plan.agreed",
        "uk.nrm.accommodation.left",
        "uk.nrm.support.ended",
    ],
    "nrm.criminal-justice": [
        "uk.nrm.crime.recorded",
        "uk.nrm.investigation.opened",
        "uk.nrm.victim-contact.made",
        "uk.nrm.statement.given",
        "uk.nrm.victim-engagement.changed",
        "uk.nrm.victim-engagement.changed",
        "uk.nrm.investigation.closed",
        "uk.nrm.charge.decided",
        "uk.nrm.section-45-defence.raised",
        "uk.nrm.trial.concluded",
    ],
}


async def test_one_journey_through_all_three_services_publishes_its_events_in_order(
    partner_services: dict[str, RunningService],
    tokens: Tokens,
    kafka: str,
    contracts: Contracts,
    spans: InMemorySpanExporter,
) -> None:
    referral, support, justice = (
        partner_services[n] for n in ("referral", "support", "prosecution")
    )
    async with httpx.AsyncClient(timeout=30) as client:
        police = Partner(client, referral, tokens, "police_force")
        sca = Partner(client, referral, tokens, "competent_authority_sca")
        submitted = await police.post("/v1/referrals", referral_body(synthetic_person()))
        journey, referral_id = submitted["journey_id"], submitted["resource_id"]
        await sca.post(
            f"/v1/referrals/{referral_id}/reasonable-grounds-decisions",
            {"occurred_at": days_ago(35), "outcome": "positive"},
        )

        requester = Partner(client, support, tokens, "competent_authority_sca")
        case = await requester.post_when_known(
            "/v1/support-cases",
            {
                "occurred_at": days_ago(34),
                "journey_id": journey,
                "support_route": "msvcc_adult",
                "provider_agency_id": BY_TYPE["support_provider"],
            },
        )
        provider = Partner(client, support, tokens, "support_provider")
        case_path = f"/v1/support-cases/{case['resource_id']}"
        await provider.post(
            f"{case_path}/offers", {"occurred_at": days_ago(34), "support_route": "msvcc_adult"}
        )
        await provider.post(f"{case_path}/acceptance", {"occurred_at": days_ago(33)})
        await provider.post(
            f"{case_path}/first-contact", {"occurred_at": days_ago(33), "contact_mode": "in_person"}
        )
        stay = await provider.post(
            f"{case_path}/accommodation-stays",
            {"occurred_at": days_ago(33), "accommodation_type": "safe_house"},
        )
        await provider.post(
            f"{case_path}/needs-assessments",
            {"occurred_at": days_ago(32), "need_areas": ["legal", "medical"], "priority": "high"},
        )
        await provider.post(
            f"{case_path}/legal-representation-requests",
            {"occurred_at": days_ago(31), "matter": "immigration"},
        )
        await provider.post(
            f"{case_path}/legal-representation",
            {"occurred_at": days_ago(25), "matter": "immigration", "legal_aid": True},
        )
        missing = await provider.post(
            f"{case_path}/missing-episodes",
            {
                "occurred_at": days_ago(20),
                "from_accommodation_type": "safe_house",
                "risk_level": "high",
            },
        )
        await provider.post(
            f"{case_path}/missing-episode-ends",
            {
                "occurred_at": days_ago(19),
                "outcome": "returned",
                "episode_id": missing["attributes"]["episode_id"],
                "duration_hours": 30,
            },
        )
        await provider.post(
            f"{case_path}/contacts",
            {
                "occurred_at": days_ago(18),
                "contact_mode": "phone",
                "initiated_by": "support_worker",
            },
        )

        await sca.post(
            f"/v1/referrals/{referral_id}/police-referrals",
            {"occurred_at": days_ago(30), "basis": "with_consent", "region": "london"},
        )
        police_justice = Partner(client, justice, tokens, "police_force")
        crime = await police_justice.post_when_known(
            "/v1/criminal-cases",
            {
                "occurred_at": days_ago(29),
                "journey_id": journey,
                "offence": "modern_slavery_act_s2_human_trafficking",
                "police_force_region": "london",
            },
        )
        crime_path = f"/v1/criminal-cases/{crime['resource_id']}"
        await police_justice.post(f"{crime_path}/investigation", {"occurred_at": days_ago(28)})
        await police_justice.post(
            f"{crime_path}/victim-contacts",
            {"occurred_at": days_ago(27), "contact_mode": "in_person", "initiated_by": "police"},
        )
        await police_justice.post(
            f"{crime_path}/statements",
            {"occurred_at": days_ago(26), "statement_type": "achieving_best_evidence_interview"},
        )
        await police_justice.post(
            f"{crime_path}/engagement-changes",
            {"occurred_at": days_ago(21), "status": "withdrew", "reason": "fear_of_reprisal"},
        )
        await police_justice.post(
            f"{crime_path}/engagement-changes",
            {"occurred_at": days_ago(15), "status": "re_engaged", "reason": "other"},
        )
        await police_justice.post(
            f"{crime_path}/investigation-closure",
            {"occurred_at": days_ago(12), "outcome": "referred_to_cps"},
        )
        cps = Partner(client, justice, tokens, "cps")
        await cps.post(
            f"{crime_path}/charge-decision",
            {"occurred_at": days_ago(10), "decision": "charged", "offences_charged": 2},
        )
        await cps.post(
            f"{crime_path}/section-45-defences",
            {
                "occurred_at": days_ago(9),
                "person_role": "defendant",
                "offence_category": "drugs",
                "schedule_4_excluded": False,
            },
        )
        await cps.post(
            f"{crime_path}/trial-outcome",
            {"occurred_at": days_ago(2), "outcome": "convicted", "modern_slavery_conviction": True},
        )

        await sca.post(
            f"/v1/referrals/{referral_id}/conclusive-grounds-decisions",
            {"occurred_at": days_ago(8), "outcome": "positive"},
        )
        await provider.post(
            f"{case_path}/recovery-needs-assessments",
            {"occurred_at": days_ago(7), "outcome": "support_extended", "extension_days": 90},
        )
        await provider.post(
            f"{case_path}/move-on-plans",
            {"occurred_at": days_ago(6), "support_days": 90, "destination": "mainstream_housing"},
        )
        await provider.post(
            f"{case_path}/accommodation-departures",
            {
                "occurred_at": days_ago(1),
                "stay_id": stay["attributes"]["stay_id"],
                "reason": "moved_on",
            },
        )
        await provider.post(
            f"{case_path}/end", {"occurred_at": days_ago(1), "reason": "move_on_completed"}
        )

        view = await sca.get(f"/v1/referrals/{referral_id}")
        assert view["summary"]["status"] == "conclusive_grounds_positive"
        assert not view["summary"]["recovery_period_open"]

    seen: dict[str, list[str]] = defaultdict(list)
    traces: dict[str, str | None] = {}
    for topic, expected in EXPECTED.items():
        wanted = len(expected)
        records = await collect(
            kafka,
            topic,
            keep=lambda r: r.key == journey.encode(),
            until=lambda kept: len(kept) >= wanted,  # noqa: B023 - used before the loop moves on
        )
        for record in records:
            event = decode(
                topic=record.topic,
                key=record.key,
                value=record.value,
                headers=record.headers,
                contracts=contracts,
            )  # validates
            assert event.subject == journey
            seen[topic].append(event.type)
            traces[event.type] = event.traceparent
    assert dict(seen) == EXPECTED

    # Operations can follow one trace from the partner's request, through the outbox, to Kafka.
    traceparent = traces["uk.nrm.referral.submitted"]
    assert traceparent is not None
    trace_id = int(traceparent.split("-")[1], 16)
    in_trace = {s.name for s in spans.get_finished_spans() if s.context.trace_id == trace_id}
    assert {"POST /v1/referrals", "nrm.identification publish"} <= in_trace


async def test_a_simulation_sets_the_recorded_time_and_cannot_record_before_it_happened(
    partner_services: dict[str, RunningService], tokens: Tokens, kafka: str, contracts: Contracts
) -> None:
    """The simulator plays months in minutes: the event's recordedtime is its clock's."""
    referral = partner_services["referral"]
    simulated = "2024-05-02T10:00:00+00:00"
    async with httpx.AsyncClient(timeout=30) as client:
        headers = {**tokens.headers(BY_TYPE["police_force"]), "Simulated-Time": simulated}
        body = referral_body(synthetic_person(), occurred_at="2024-05-01T09:00:00+00:00")
        response = await client.post(f"{referral.url}/v1/referrals", json=body, headers=headers)
        assert response.status_code == 201, response.text
        journey = response.json()["journey_id"]

        late = referral_body(synthetic_person(), occurred_at="2024-05-03T09:00:00+00:00")
        headers = {**tokens.headers(BY_TYPE["police_force"]), "Simulated-Time": simulated}
        refused = await client.post(f"{referral.url}/v1/referrals", json=late, headers=headers)
        assert refused.status_code == 422, refused.text
        assert "after the time of recording" in refused.json()["detail"]

    [record] = await collect(
        kafka,
        "nrm.identification",
        keep=lambda r: r.key == journey.encode(),
        until=lambda kept: len(kept) >= 1,
    )
    event = decode(
        topic=record.topic,
        key=record.key,
        value=record.value,
        headers=record.headers,
        contracts=contracts,
    )
    assert event.recorded_time.isoformat() == simulated
    assert event.time.isoformat() == "2024-05-01T09:00:00+00:00"
