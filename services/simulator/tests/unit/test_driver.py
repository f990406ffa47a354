"""The driver against fake partner services: order, ids carried forward, simulated time in
the header, 404 retried while a service has not learned the journey, ticks after each step."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from journey_simulator.driver import Driver
from journey_simulator.partners import Partners, SimulationError, Statistics
from journey_simulator.plan import Action, Cohort, JourneyPlan

START = datetime(2024, 1, 1, tzinfo=UTC)
END = START + timedelta(days=5)


class Ticks:
    def __init__(self) -> None:
        self.moments: list[datetime] = []
        self.flushed = False

    async def tick(self, moment: datetime) -> None:
        self.moments.append(moment)

    async def flush(self) -> None:
        self.flushed = True


def _action(at: datetime, service: str, path: str, body: dict[str, Any], **kw: Any) -> Action:
    return Action(at, at - timedelta(hours=1), service, "sca", path, body, "x", **kw)


def _cohort() -> Cohort:
    plan = JourneyPlan("p000000", "referral", {})
    plan.actions = [
        _action(
            START + timedelta(hours=10),
            "referral",
            "/v1/referrals",
            {"a": 1},
            captures=(("journey", "journey_id"), ("referral", "resource_id")),
        ),
        _action(
            START + timedelta(days=2, hours=3),
            "support",
            "/v1/support-cases",
            {"journey_id": "$ref:journey"},
            captures=(("case", "resource_id"),),
            wait_known=True,
        ),
        _action(
            START + timedelta(days=2, hours=5), "support", "/v1/support-cases/{case}/offers", {}
        ),
    ]
    return Cohort(1, START, END, [plan], {})


Handler = Callable[[httpx.Request], httpx.Response]


def _partners(handler: Handler, statistics: Statistics) -> Partners:
    clients = {
        service: httpx.AsyncClient(
            base_url=f"http://{service}.test", transport=httpx.MockTransport(handler)
        )
        for service in ("referral", "support", "prosecution")
    }
    return Partners(
        clients,
        lambda agency: f"token-of-{agency}",
        run_tag="t",
        known_within=5,
        statistics=statistics,
    )


async def test_writes_go_in_order_with_ids_and_simulated_time_then_a_tick_per_day() -> None:
    seen: list[tuple[str, dict[str, Any], dict[str, str]]] = []
    unknown = {"left": 2}  # the support service learns the journey after two tries

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((str(request.url), body, dict(request.headers)))
        if request.url.path == "/v1/support-cases" and unknown["left"]:
            unknown["left"] -= 1
            return httpx.Response(404, json={"detail": "No journey here that you can see."})
        minted = "case-1" if "support" in str(request.url) else "ref-1"
        record = f"record-{len(seen)}"
        return httpx.Response(
            201, json={"journey_id": "jny_1", "resource_id": minted, "record_id": record}
        )

    statistics = Statistics()
    ticks = Ticks()
    driver = Driver(_cohort(), _partners(handler, statistics), ticks)
    await driver.run()

    urls = [url for url, _, _ in seen]
    assert urls == [
        "http://referral.test/v1/referrals",
        *["http://support.test/v1/support-cases"] * 3,
        "http://support.test/v1/support-cases/case-1/offers",
    ]
    assert seen[1][1]["journey_id"] == "jny_1"
    assert seen[0][1]["occurred_at"] == "2024-01-01T09:00:00Z"
    assert seen[0][2]["simulated-time"] == "2024-01-01T10:00:00Z"
    assert seen[0][2]["authorization"] == "Bearer token-of-sca"
    assert seen[1][2]["idempotency-key"] == seen[3][2]["idempotency-key"]  # a retry replays
    assert seen[1][2]["idempotency-key"] != seen[4][2]["idempotency-key"]
    assert driver.journey_ids() == {"p000000": "jny_1"}
    assert statistics.retries_not_known == 2
    assert {(a.service, a.record_id) for a in statistics.acknowledged} == {
        ("referral", "record-1"),
        ("support", "record-4"),
        ("support", "record-5"),
    }
    assert ticks.moments == [START + timedelta(days=d) for d in range(1, 6)]
    assert ticks.flushed


async def test_any_other_failure_stops_the_simulation_with_the_response_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/offers"):
            return httpx.Response(409, json={"detail": "Support has ended for this case."})
        return httpx.Response(
            201, json={"journey_id": "jny_1", "resource_id": "r", "record_id": "x"}
        )

    driver = Driver(_cohort(), _partners(handler, Statistics()), Ticks())
    with pytest.raises(SimulationError, match=r"409.*Support has ended"):
        await driver.run()


async def test_a_journey_the_service_never_learns_fails_after_the_deadline() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/support-cases":
            return httpx.Response(404, json={"detail": "No journey here that you can see."})
        return httpx.Response(
            201, json={"journey_id": "jny_1", "resource_id": "r", "record_id": "x"}
        )

    partners = _partners(handler, Statistics())
    partners.known_within = 0.2
    with pytest.raises(SimulationError, match="404"):
        await Driver(_cohort(), partners, Ticks()).run()


async def test_an_unavailable_service_is_retried_after_retry_after_and_never_counted_as_acked() -> (
    None
):
    answers = [
        httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "database down"}),
        httpx.Response(201, json={"journey_id": "jny_1", "resource_id": "r", "record_id": "x"}),
    ]
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["idempotency-key"])
        return answers.pop(0) if answers else httpx.Response(201, json=_CREATED)

    statistics = Statistics()
    await Driver(_cohort(), _partners(handler, statistics), Ticks()).run()
    assert keys[0] == keys[1], "the retry replays the same write"
    assert statistics.retries_unavailable == 1
    assert ("referral", "x") in {(a.service, a.record_id) for a in statistics.acknowledged}
    assert len(statistics.acknowledged) == 2  # the 503 counted for nothing


_CREATED = {"journey_id": "jny_1", "resource_id": "r", "record_id": "y"}
