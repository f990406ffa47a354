"""Flag webhooks on the real stack: the API on PostgreSQL and Kafka, a real HTTP receiver
on loopback, and the dispatcher in this process or (for SIGKILL) in its own.

What a receiving agency would notice: only its own subscriptions; a secret shown once;
signatures its Standard Webhooks library verifies (and refuses when tampered with or
stale); both secrets during a rotation; every flag at least once, per journey in the
order raised, with the same webhook-id on a retry; a dead endpoint disabled with the
reason shown, and resumed on enable; nothing lost when the dispatcher is killed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from flags.config import FlagsSettings
from flags.domain.flags import FlagTransition
from flags.webhooks import Dispatcher, WebhookSettings, enqueue, webhooks_router
from flags.webhooks.signing import signed_headers
from journey_api.service import create_service_app
from journey_cli.devstack.processes import free_port
from journey_platform.contracts import Contracts
from tests.integration.conftest import Servers
from tests.integration.services import (
    AGENCIES,
    BY_TYPE,
    Tokens,
    running,
    service_environment,
)
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.integration

FLAGS_MIGRATIONS = Path(__file__).parents[2] / "services" / "flags" / "src" / "flags" / "migrations"
SUPPORT = BY_TYPE["support_provider"]  # haven-support
NGO = BY_TYPE["ngo_first_responder"]
ANALYSTS = BY_TYPE["analyst"]
# Fast retries for tests, through the settings a deployment would set.
FAST = {
    "webhook_backoff_base_seconds": 0.05,
    "webhook_backoff_cap_seconds": 0.3,
    "webhook_poll_interval_seconds": 0.05,
    "webhook_request_timeout_seconds": 2.0,
    "webhook_claim_lease_seconds": 4.0,
    # Not the development key, which a dispatcher outside development refuses (one test
    # runs it as production does); the API seals the signing secrets under it too.
    "webhook_master_key": base64.b64encode(os.urandom(32)).decode(),
}


class Api:
    def __init__(self, url: str, tokens: Tokens, pool: asyncpg.Pool, database_url: str) -> None:
        self.url, self.tokens, self.pool, self.database_url = url, tokens, pool, database_url

    async def call(
        self, method: str, path: str, agency: str = SUPPORT, *, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = self.tokens.headers(agency, idempotency_key=key)
        async with httpx.AsyncClient(base_url=self.url) as client:
            return await client.request(method, path, headers=headers, **kw)

    async def subscribe(self, receiver: Receiver, agency: str = SUPPORT) -> dict[str, Any]:
        types = ["flag.raised", "flag.resolved"]
        response = await self.call(
            "POST", "/v1/webhooks", agency, json={"url": receiver.url, "event_types": types}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def dispatcher_settings(self, **overrides: Any) -> WebhookSettings:
        return WebhookSettings(database_url=self.database_url, **{**FAST, **overrides})


@pytest.fixture(scope="module")
async def api(servers: Servers, kafka: str, tokens: Tokens) -> AsyncIterator[Api]:
    base = servers.database_url.rsplit("/", 1)[0]
    database_url = f"{base}/flag_webhooks_{uuid.uuid4().hex[:8]}"
    port = free_port()
    settings = FlagsSettings.model_validate(
        {
            **service_environment(database_url, kafka, tokens.signer.jwks_file),
            "http_port": port,
            "webhook_master_key": FAST["webhook_master_key"],
        }
    )
    app = create_service_app(
        settings=settings,
        contracts=Contracts.load(settings.schemas_dir),
        registry=AGENCIES,
        title="Flag webhooks under test",
        description="The webhook routes of the flags service.",
        routers=[webhooks_router(settings)],
        migrations=FLAGS_MIGRATIONS,
    )
    async with running("flags", app, port):
        yield Api(f"http://127.0.0.1:{port}", tokens, app.state.runtime.pool, database_url)


@pytest.fixture
async def receiver(api: Api) -> AsyncIterator[Receiver]:
    receiver = Receiver(free_port())
    receiver.up()
    yield receiver
    receiver.release.set()
    receiver.down()
    await api.pool.execute("DELETE FROM webhook_subscriptions")  # the next test starts clean


def notice(journey: str, n: int, event_type: str = "flag.raised", **kw: Any) -> FlagTransition:
    fields: dict[str, Any] = {
        "kind": event_type.removeprefix("flag."),
        "flag_id": f"flg_{journey}_{n}",
        "journey_id": journey,
        "rule_id": "missing-from-support",
        "occurred_at": datetime(2025, 3, 4, 10, 15, tzinfo=UTC),
        "recorded_at": datetime(2025, 3, 4, 10, 16, tzinfo=UTC),
        "resolution": "retracted" if event_type == "flag.resolved" else None,
        "agencies": frozenset({SUPPORT}),
        **kw,
    }
    return FlagTransition(**fields)


async def enqueued(pool: asyncpg.Pool, *notices: FlagTransition) -> int:
    async with pool.acquire() as conn, conn.transaction():
        return sum([await enqueue(conn, n) for n in notices])


def journey_id() -> str:
    return "jny_" + "".join("abcdefghijklmnopqrstuvwxyz234567"[b % 32] for b in os.urandom(26))


PROCESS = 180  # seconds: generous, a deadline for a process to start and act, not a target


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def dispatching(api: Api, **overrides: Any) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(Dispatcher(api.pool, api.dispatcher_settings(**overrides)).run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def deliveries_of(api: Api, subscription_id: str) -> dict[str, Any]:
    response = await api.call("GET", f"/v1/webhooks/{subscription_id}/deliveries")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- registration and management -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.215.14/hooks", "https"),
        ("https://10.0.0.1/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::ffff:192.168.0.1]/hooks", "private"),
        ("https://224.0.0.1/hooks", "multicast"),
    ],
)
async def test_unsafe_endpoints_are_refused_saying_what_is_allowed(
    api: Api, receiver: Receiver, url: str, why: str
) -> None:
    types = ["flag.raised"]
    response = await api.call("POST", "/v1/webhooks", json={"url": url, "event_types": types})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert why in problem["detail"] and "Allowed: an https URL" in problem["detail"]
    assert (await api.call("GET", "/v1/webhooks")).json() == {"items": []}


async def test_the_secret_is_shown_once_and_only_to_its_agency(
    api: Api, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "event_types": ["flag.raised"]}
    key = str(uuid.uuid4())
    first = await api.call("POST", "/v1/webhooks", key=key, json=body)
    assert first.status_code == 201
    created = first.json()
    assert created["secret"].startswith("whsec_") and created["status"] == "active"
    replay = await api.call("POST", "/v1/webhooks", key=key, json=body)
    assert (replay.status_code, replay.json()["id"]) == (201, created["id"])
    assert replay.json()["secret"] is None  # never kept in the clear, not even to replay
    path = f"/v1/webhooks/{created['id']}"
    shown = (await api.call("GET", path)).json()
    assert "secret" not in shown and shown["url"] == receiver.url
    listed = (await api.call("GET", "/v1/webhooks")).json()["items"]
    assert [s["id"] for s in listed] == [created["id"]]
    sealed = await api.pool.fetchval("SELECT sealed FROM webhook_secrets")
    assert created["secret"].encode() not in sealed

    for method, suffix in [("GET", ""), ("GET", "/deliveries"), ("DELETE", "")]:
        other = await api.call(method, path + suffix, NGO)
        assert other.status_code == 404, (method, suffix)
    assert (await api.call("GET", "/v1/webhooks", NGO)).json() == {"items": []}
    assert (await api.call("GET", "/v1/webhooks", ANALYSTS)).status_code == 403
    no_scope = api.tokens.headers(SUPPORT, scopes=["support:read"])
    async with httpx.AsyncClient(base_url=api.url) as client:
        assert (await client.get("/v1/webhooks", headers=no_scope)).status_code == 403

    actions = await api.pool.fetch(
        "SELECT action, outcome, agency_id FROM audit_log WHERE resource_id = $1", created["id"]
    )
    audited = {(r["action"], r["outcome"], r["agency_id"]) for r in actions}
    assert ("webhooks:register", "ok", SUPPORT) in audited
    assert ("webhooks:read", "ok", SUPPORT) in audited
    assert ("webhooks:read", "not_found", NGO) in audited

    assert (await api.call("DELETE", path)).status_code == 204
    assert (await api.call("GET", path)).status_code == 404


# -- signed deliveries ------------------------------------------------------------------


async def test_deliveries_verify_with_the_subscription_secret_and_only_the_entitled_hear(
    api: Api, receiver: Receiver
) -> None:
    subscription = await api.subscribe(receiver)
    bystander = Receiver(free_port())
    bystander.up()
    try:
        await api.subscribe(bystander, NGO)
        journey = journey_id()
        raised, resolved = notice(journey, 1), notice(journey, 1, "flag.resolved")
        assert await enqueued(api.pool, raised, resolved) == 2  # the NGO is not entitled
        async with dispatching(api):
            await eventually(lambda: _count(receiver, 2), "both deliveries")
        assert bystander.arrivals == []
    finally:
        bystander.down()

    webhook = Webhook(subscription["secret"])
    bodies = [webhook.verify(a.body, a.headers) for a in receiver.delivered()]
    assert [b["type"] for b in bodies] == ["flag.raised", "flag.resolved"]
    assert bodies[1]["data"] == {
        "flag_id": resolved.flag_id,
        "journey_id": journey,
        "rule_id": "missing-from-support",
        "occurred_at": "2025-03-04T10:15:00Z",
        "recorded_at": "2025-03-04T10:16:00Z",
        "resolution": "retracted",
    }
    assert "resolution" not in bodies[0]["data"]

    arrival = receiver.delivered()[0]
    with pytest.raises(WebhookVerificationError):
        webhook.verify(arrival.body.replace("flag.raised", "flag.resolved"), arrival.headers)
    stale = signed_headers(
        webhook_id=arrival.webhook_id,
        timestamp=datetime.now(UTC) - timedelta(minutes=5, seconds=10),
        body=arrival.body,
        secrets_=[subscription["secret"]],
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhook.verify(arrival.body, stale)  # a delivery replayed later is refused
    aged = {**arrival.headers, "webhook-timestamp": stale["webhook-timestamp"]}
    with pytest.raises(WebhookVerificationError):
        webhook.verify(arrival.body, aged)


async def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new(
    api: Api, receiver: Receiver
) -> None:
    subscription = await api.subscribe(receiver)
    rotated = await api.call("POST", f"/v1/webhooks/{subscription['id']}/secrets")
    assert rotated.status_code == 201, rotated.text
    old, new = Webhook(subscription["secret"]), Webhook(rotated.json()["secret"])
    assert rotated.json()["previous_secret_expires_at"] is not None
    journey = journey_id()
    async with dispatching(api):
        await enqueued(api.pool, notice(journey, 1))
        await eventually(lambda: _count(receiver, 1), "the delivery during the overlap")
        during = receiver.delivered()[0]
        old.verify(during.body, during.headers)
        new.verify(during.body, during.headers)

        await api.pool.execute(  # the overlap ends
            "UPDATE webhook_secrets SET expires_at = now() WHERE expires_at IS NOT NULL"
        )
        await enqueued(api.pool, notice(journey, 2))
        await eventually(lambda: _count(receiver, 2), "the delivery after the overlap")
    after = receiver.delivered()[1]
    new.verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        old.verify(after.body, after.headers)


async def test_the_address_is_checked_again_at_delivery_time(api: Api, receiver: Receiver) -> None:
    """Registered when loopback was allowed; delivered by a dispatcher where it is not (as
    when a name is re-pointed at an internal address after registration): nothing sent."""
    subscription = await api.subscribe(receiver)
    await enqueued(api.pool, notice(journey_id(), 1))
    async with dispatching(api, deployment_environment="production"):

        async def refused() -> bool:
            [item] = (await deliveries_of(api, subscription["id"]))["items"]
            return bool(item["last_error"] == "unsafe-address")

        await eventually(refused, "the delivery refused before any request")
    assert receiver.arrivals == []


# -- at least once, in order ---------------------------------------------------------------


async def test_a_receiver_down_then_failing_then_up_gets_everything_in_order_per_journey(
    api: Api, receiver: Receiver
) -> None:
    subscription = await api.subscribe(receiver)
    receiver.down()
    journeys = [journey_id() for _ in range(3)]
    notices = [notice(j, n) for n in range(3) for j in journeys]  # raises interleaved
    order: dict[str, str] = {}
    async with dispatching(api):
        await enqueued(api.pool, *notices)
        ids = await api.pool.fetch("SELECT webhook_id, flag_id FROM webhook_deliveries")
        order = {r["webhook_id"]: r["flag_id"] for r in ids}

        async def refused_twice() -> bool:
            items = (await deliveries_of(api, subscription["id"]))["items"]
            return any(i["attempts"] >= 2 and i["last_error"] == "connect" for i in items)

        await eventually(refused_twice, "connection refused, then retried")
        receiver.up("fail")
        await eventually(lambda: _count_all(receiver, 6), "503s answered")
        receiver.mode = "ok"
        await eventually(lambda: _delivered_ids(receiver, set(order)), "every delivery")

    arrivals = receiver.arrivals
    assert all(a.webhook_id in order for a in arrivals)
    failed_ids = {a.webhook_id for a in arrivals if a.status == 503}
    ok_ids = [a.webhook_id for a in arrivals if a.status == 200]
    assert failed_ids <= set(ok_ids)  # each retry carried the webhook-id it failed with
    for journey in journeys:
        raised = [order[i] for i in dict.fromkeys(ok_ids) if journey in order[i]]
        assert raised == [f"flg_{journey}_{n}" for n in range(3)]
    page = await deliveries_of(api, subscription["id"])
    assert {i["state"] for i in page["items"]} == {"delivered"}
    assert max(i["attempts"] for i in page["items"]) >= 2


async def test_a_dead_endpoint_is_disabled_with_its_reason_and_resumes_on_enable(
    api: Api, receiver: Receiver
) -> None:
    subscription = await api.subscribe(receiver)
    receiver.mode = "fail"
    journey = journey_id()
    quick_to_disable = {
        "webhook_disable_after_failures": 3,
        "webhook_disable_after_failing_seconds": 0,
    }
    async with dispatching(api, **quick_to_disable):
        await enqueued(api.pool, notice(journey, 1))

        async def disabled() -> bool:
            page = await deliveries_of(api, subscription["id"])
            return bool(page["subscription"]["status"] == "disabled")

        await eventually(disabled, "the subscription disabled")
    page = await deliveries_of(api, subscription["id"])
    assert "3 consecutive failed delivery attempts" in page["subscription"]["disabled_reason"]
    assert "http-503" in page["subscription"]["disabled_reason"]
    [pending] = page["items"]
    assert (pending["state"], pending["last_status"]) == ("pending", 503)
    # While disabled nothing is sent, even once due, and a new flag is not queued for it.
    assert await enqueued(api.pool, notice(journey, 2)) == 0
    await api.pool.execute("UPDATE webhook_deliveries SET next_attempt_at = now()")
    async with httpx.AsyncClient() as client:
        assert await Dispatcher(api.pool, api.dispatcher_settings()).dispatch_once(client) == 0

    receiver.mode = "ok"
    enabled = await api.call("POST", f"/v1/webhooks/{subscription['id']}/enable")
    assert (enabled.status_code, enabled.json()["status"]) == (200, "active")
    async with dispatching(api):
        await eventually(lambda: _count(receiver, 1), "the pending delivery after enable")
    assert receiver.delivered()[0].webhook_id == pending["webhook_id"]


# -- a dispatcher killed mid-delivery ----------------------------------------------------


async def test_nothing_is_lost_when_the_dispatcher_is_killed_mid_delivery(
    api: Api, receiver: Receiver
) -> None:
    await api.subscribe(receiver)
    receiver.mode = "hold"  # slow to answer: the kill lands while requests are in flight
    journeys = [journey_id(), journey_id()]
    await enqueued(api.pool, *[notice(j, n) for n in range(2) for j in journeys])
    rows = await api.pool.fetch("SELECT webhook_id FROM webhook_deliveries ORDER BY position")
    ids = {r["webhook_id"] for r in rows}
    # Each wait below includes a Python process starting, which took 24 s at load 15.
    with _dispatcher_process(api) as first:
        await eventually(lambda: _holding(receiver), "a delivery in flight", within=PROCESS)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    in_flight = {a.webhook_id for a in receiver.held()}
    receiver.mode = "ok"
    receiver.release.set()  # the killed process's requests are answered into the void
    with _dispatcher_process(api):
        await eventually(lambda: _delivered_ids(receiver, ids), "every delivery", within=PROCESS)
    # The ones in flight at the kill came again, with the same webhook-id, once the
    # dead process's lease ran out.
    assert in_flight and in_flight <= {a.webhook_id for a in receiver.delivered()}
    undelivered = await api.pool.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL"
    )
    assert undelivered == 0


# -- helpers -------------------------------------------------------------------------------


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.delivered()) >= n


async def _count_all(receiver: Receiver, n: int) -> bool:
    return len(receiver.arrivals) >= n


async def _delivered_ids(receiver: Receiver, ids: set[str]) -> bool:
    return ids <= {a.webhook_id for a in receiver.delivered()}


async def _holding(receiver: Receiver) -> bool:
    return bool(receiver.held())


@contextmanager
def _dispatcher_process(api: Api) -> Iterator[subprocess.Popen[bytes]]:
    """The dispatcher as a deployment runs it: its own process, settings from the environment."""
    fast = {f"{name.upper()}": str(value) for name, value in FAST.items()}
    env = {**os.environ, **fast, "DATABASE_URL": api.database_url}
    script = Path(__file__).with_name("webhook_dispatcher_process.py")
    process = subprocess.Popen([sys.executable, str(script)], env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(20)
