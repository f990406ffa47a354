"""The Home Office's quarterly tables, live, on real Kafka and PostgreSQL.

Generated journeys in a quarter of their own are published as the journey processor and
the partner services would publish them; the analytics sink folds them (the gender from
the referrals and reports), and `GET /v1/nrm-statistics` and `journey report
nrm-statistics` answer for that quarter, under disclosure control, with the published
shares beside the live ones.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from analytics.adapters.sink import prepare
from analytics.cli.nrm_report import nrm_text
from analytics.main import create_app
from journey_cli.devstack.processes import free_port
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from tests.integration.analytics_events import journey_event, outcome, publish
from tests.integration.analytics_sink import caught_up, settings_for, sink_running
from tests.integration.events import new_journey_id
from tests.integration.kafka_helpers import end_offsets, start_at_end
from tests.integration.services import Tokens, running

pytestmark = pytest.mark.integration

REFERRAL = "uk.nrm.referral.submitted"
REPORT = "uk.nrm.duty-to-notify.reported"


@dataclass(frozen=True)
class Kind:
    """A kind of generated journey: its profile and what it reached in the quarter."""

    count: int
    profile: dict[str, Any]
    gender: str
    rg: str | None = None  # first Reasonable Grounds decision in the quarter
    cg: str | None = None  # first Conclusive Grounds decision in the quarter


KINDS = (
    # 24 adults from Albania referred by the police for labour: RG decided for all (14
    # positive, 10 negative), CG decided, positive, for 12 of them 60 days on.
    *[
        Kind(1, {"first_responder_type": "police", "age_group": "adult", "competent_authority":
              "sca", "exploitation_types": ["labour"], "nationality_group": "albania"}, "male",
             rg="positive" if i < 14 else "negative", cg="positive" if i < 12 else None)
        for i in range(24)
    ],
    # 12 children from the UK referred by councils for criminal and labour exploitation.
    Kind(12, {"first_responder_type": "local_authority", "age_group": "child",
              "competent_authority": "sca", "exploitation_types": ["criminal", "labour"],
              "nationality_group": "uk"}, "female"),
    # 3 adults from Iran referred by an NGO to the IECA for sexual exploitation.
    Kind(3, {"first_responder_type": "ngo", "age_group": "adult", "competent_authority":
             "ieca", "exploitation_types": ["sexual"], "nationality_group": "iran"}, "female"),
)  # fmt: skip
REPORTS = 11  # Duty to Notify reports in the quarter: adults who declined referral


def journeys(contracts: Contracts, year: int) -> list[Event]:
    """The kinds' referrals, outcomes and reports, in the second quarter of `year`."""
    start = datetime(year, 4, 2, 9, tzinfo=UTC)
    events: list[Event] = []
    for n, kind in enumerate(k for k in KINDS for _ in range(k.count)):
        journey, referred = new_journey_id(), start + timedelta(hours=n)
        milestones = {}
        if kind.rg:
            milestones["reasonable_grounds_decided"] = referred + timedelta(days=6)
            if kind.rg == "positive":
                milestones["reasonable_grounds_positive"] = referred + timedelta(days=6)
        if kind.cg:
            milestones["conclusive_grounds_decided"] = referred + timedelta(days=60)
            milestones["conclusive_grounds_positive"] = referred + timedelta(days=60)
        made = outcome(journey, referred=referred, region="london", milestones=milestones)
        made.data["profile"] = {**made.data["profile"], **kind.profile}  # type: ignore[index]
        events += [journey_event(contracts, REFERRAL, journey, referred, gender=kind.gender), made]
    for n in range(REPORTS):
        journey, reported = new_journey_id(), start + timedelta(days=3, hours=n)
        made = outcome(journey, referred=reported, region="london", milestones={})
        reported_at = made.data["milestones"]["referred"]
        made.data["milestones"] = {"duty_to_notify_reported": reported_at}  # type: ignore[index]
        events += [journey_event(contracts, REPORT, journey, reported, gender="male"), made]
    return events


@pytest.fixture
async def served(
    kafka: str, database: str, contracts: Contracts, producer: AIOKafkaProducer, tokens: Tokens
) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    # A quarter no other test's journeys are in, before 1950: test people are born
    # 1950-1999, and test_privacy would take an event on one's birthday for a leak.
    year = random.randint(1900, 1949)
    settings = settings_for(database, kafka, tokens)
    group = settings.consumer_group("sink")
    for topic in settings.sink_topics:  # only what this test publishes
        await start_at_end(kafka, group, topic)
    await publish(producer, contracts, journeys(contracts, year))
    after = await end_offsets(kafka, settings.sink_topics)
    pool = await prepare(settings)
    try:
        async with sink_running(settings, contracts, pool, producer) as sink:
            await caught_up(kafka, group, after, sink)
    finally:
        await pool.close()
    port = free_port()
    async with (
        running("analytics", create_app(settings.model_copy(update={"http_port": port})), port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        yield client, year


async def test_the_quarterly_tables_are_measured_live_beside_the_published(
    served: tuple[httpx.AsyncClient, int], tokens: Tokens
) -> None:
    client, year = served
    headers = tokens.headers("nrm-analysts", scopes=["analytics:read"])
    response = await client.get(
        "/v1/nrm-statistics", params={"quarter": f"{year}Q2"}, headers=headers
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["period"] == {"from": f"{year}-04-01", "to": f"{year}-06-30"}
    tables = {t["name"]: t for t in answer["tables"]}
    counts = {n: {r["group"]: r["count"] for r in t["rows"]} for n, t in tables.items()}

    assert tables["referrals_by_age"]["total"] == 39
    # The NGO's 3 and the government agencies' 0 add up to 3: the councils' 12 goes too,
    # or each would be pinned to 0-3.
    assert counts["referrals_by_first_responder"] == {
        "government_agency": None, "police": 24, "local_authority": None, "ngo_and_other": None,
    }  # fmt: skip
    assert counts["referrals_by_exploitation_type"]["labour"] == 24
    assert counts["referrals_by_exploitation_type"]["multiple"] is None  # 12, beside 3 sexual
    assert counts["referrals_by_nationality"]["albania"] == 24
    assert counts["referrals_by_nationality"]["other"] is None  # 3 from Iran
    # Gender comes from the referrals (the outcome does not carry it).
    # 24 men and 15 women: none other or unknown, so the women's count goes to protect it.
    assert counts["referrals_by_gender"] == {"male": 24, "female": None, "other_or_unknown": None}
    assert counts["reasonable_grounds_decisions"] == {"positive": 14, "negative": 10}
    rg = {r["group"]: r for r in tables["reasonable_grounds_decisions"]["rows"]}
    assert rg["positive"]["share"] == round(14 / 24, 4)
    # 1900-1949: the nearest published year is the first after it.
    assert tables["reasonable_grounds_decisions"]["published_year"] == 2023
    assert rg["positive"]["published_share"] == 0.55
    assert rg["positive"]["difference"] == round(14 / 24 - 0.55, 4)
    # 3.3 points over, but 24 decisions wander by up to 20 points by chance alone.
    assert rg["positive"]["sampling_error"] == round(1.96 * (0.55 * 0.45 / 24) ** 0.5, 4)
    assert rg["positive"]["within_tolerance"] is True
    # 12 positive, 0 negative: the zero hidden, and the positive count to protect it.
    assert counts["conclusive_grounds_decisions"] == {"positive": None, "negative": None}
    assert tables["conclusive_grounds_decisions"]["total"] == 12
    assert tables["duty_to_notify_reports"]["total"] == REPORTS
    median = answer["median_days_referral_to_conclusive_grounds"]
    assert (median["days"], median["n_low"], median["n_high"]) == (60.0, 12, 12)
    assert median["published_days"] == 526

    text = nrm_text(answer)
    assert "<10" not in text and "suppressed [1]" in text
    assert any(line.startswith("Police") and "24" in line for line in text.splitlines())

    bad = await client.get("/v1/nrm-statistics", params={"quarter": "2024Q5"}, headers=headers)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "2024Q5" not in bad.text  # errors never echo what was sent
    assert (
        await client.get("/v1/nrm-statistics", params={"quarter": f"{year}Q2"})
    ).status_code == 401
