"""`POST /v1/whatif` on the real stack: the hand-worked history (tests.integration.
whatif_cases) on real Kafka, replayed by the analytics service under a longer Reasonable
Grounds deadline and under the deployed one; overrides the catalogue does not allow are
refused with what is allowed; only analysts may ask, and every what-if is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from journey_platform.contracts import Contracts
from tests.integration.analytics_service import analytics_service, last_audit
from tests.integration.conftest import Servers
from tests.integration.services import RunningService, Tokens
from tests.integration.whatif_cases import DEPLOYED, TEN_WORKING_DAYS, Published, publish_history

pytestmark = pytest.mark.integration

RULE = "reasonable-grounds-overdue"


@pytest.fixture(scope="module")
async def analytics(servers: Servers, kafka: str, tokens: Tokens) -> AsyncIterator[RunningService]:
    async with analytics_service(servers, kafka, tokens, "analytics_whatif") as service:
        yield service


@pytest.fixture(scope="module")
async def published(producer: AIOKafkaProducer, contracts: Contracts) -> Published:
    return await publish_history(producer, contracts, range(1800, 1900))


@pytest.fixture(scope="module")
def analyst(tokens: Tokens) -> dict[str, str]:
    return {"Authorization": tokens.headers("nrm-analysts")["Authorization"]}


async def whatif(
    service: RunningService, headers: dict[str, str], published: Published, overrides: Any
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=60) as client:
        return await client.post(
            "/v1/whatif",
            params={"from": published.monday.date().isoformat(),
                    "to": published.until.date().isoformat()},
            json={"overrides": overrides, "until": published.until.isoformat()},
        )  # fmt: skip


def row(answer: dict[str, Any]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = answer["rules"]
    return next(r for r in rows if r["rule_id"] == RULE)


async def test_a_longer_deadline_worked_by_hand(
    analytics: RunningService, analyst: dict[str, str], published: Published
) -> None:
    response = await whatif(analytics, analyst, published, TEN_WORKING_DAYS)

    assert response.status_code == 200, response.text
    answer = response.json()
    # Flagged 24; under ten working days 12 flags (the 7-day journeys' go), and the
    # 15-day journeys' 12 fall due a week later, all resolved. A longer deadline cannot
    # add a flag or move one earlier: those zeros are by construction, so shown.
    assert row(answer) == {
        "rule_id": RULE, "actual": 24, "whatif": 12, "added": 0, "removed": 12,
        "earlier": 0, "later": 12, "whatif_resolved": 12,
    }  # fmt: skip
    assert answer["journeys_affected"] == 24
    assert answer["labels"]["added"] == "suppressed (fewer than 10 flags, or would reveal one)"
    assert answer["overrides"] == TEN_WORKING_DAYS
    assert answer["period"] == {
        "from": published.monday.date().isoformat(),
        "to": published.until.date().isoformat(),
    }
    assert set(answer["timing"]) == {"read_seconds", "replay_seconds"}


async def test_the_deployed_deadline_changes_nothing(
    analytics: RunningService, analyst: dict[str, str], published: Published
) -> None:
    response = await whatif(analytics, analyst, published, DEPLOYED)

    assert response.status_code == 200, response.text
    answer = response.json()
    found = row(answer)
    assert found["actual"] == found["whatif"] == 24
    # Zero differences, shown as zeros: the same deadline can make none by construction.
    assert [found[c] for c in ("added", "removed", "earlier", "later")] == [0, 0, 0, 0]
    for other in answer["rules"]:  # other rules' zeros are not known in advance: hidden
        if other["rule_id"] != RULE:
            assert [other[c] for c in ("added", "removed", "earlier", "later")] == [None] * 4
    assert answer["journeys_affected"] is None


@pytest.mark.parametrize(
    ("overrides", "kind", "says"),
    [
        ({"no-such-rule": {"days": 3}}, "bad-override", "Overrides are allowed for: "),
        ({"adult-declined-referral": {"days": 3}}, "bad-override", RULE),  # immediate: no deadline
        ({RULE: {}}, "bad-override", "positive number of hours, days or working_days"),
        ({RULE: {"working_days": 0}}, "validation", "overrides.reasonable-grounds-overdue"),
        ({RULE: {"weeks": 2}}, "validation", "overrides.reasonable-grounds-overdue.weeks"),
        ({}, "validation", "overrides"),
    ],
)
async def test_an_override_the_catalogue_does_not_allow_is_refused(
    analytics: RunningService,
    analyst: dict[str, str],
    published: Published,
    overrides: Any,
    kind: str,
    says: str,
) -> None:
    response = await whatif(analytics, analyst, published, overrides)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith(kind)
    assert says in problem["detail"]
    if kind == "bad-override":
        assert problem["allowed"][RULE] == {"working_days": 5}


async def test_the_rules_a_whatif_can_change_with_their_deployed_deadlines(
    analytics: RunningService, analyst: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=analytics.url, headers=analyst) as client:
        response = await client.get("/v1/whatif/rules")

    assert response.status_code == 200
    rules = {r["rule_id"]: r for r in response.json()}
    assert rules[RULE]["deployed"] == {"working_days": 5}
    assert "adult-declined-referral" not in rules  # an immediate rule has no deadline


async def test_only_analysts_ask_and_every_whatif_is_audited(
    analytics: RunningService, tokens: Tokens, analyst: dict[str, str], published: Published
) -> None:
    no_scope = {"Authorization": tokens.headers("nrm-analysts", scopes=["analytics:export"])[
        "Authorization"]}  # fmt: skip
    police = {"Authorization": tokens.headers("northshire-police")["Authorization"]}
    for headers in (no_scope, police):
        assert (await whatif(analytics, headers, published, DEPLOYED)).status_code == 403

    assert (await whatif(analytics, analyst, published, TEN_WORKING_DAYS)).status_code == 200

    audited = await last_audit(analytics.database_url, "whatif")
    assert audited is not None
    assert audited["agency_id"] == "nrm-analysts"
    assert audited["resource_id"] == '{"reasonable-grounds-overdue": {"working_days": 10}}'
