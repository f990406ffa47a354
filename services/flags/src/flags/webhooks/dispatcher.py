"""The dispatcher: works through the webhook outbox, one signed POST per due delivery.

At least once, in order per (subscription, journey): a delivery is leased, posted
(no redirects followed, a timeout), then marked delivered on a 2xx or given a retry
time with backoff and jitter until 24 hours after its first attempt. A dispatcher that
dies mid-request leaves a lease that ends; the delivery is then sent again with the
same webhook-id, which is how receivers de-duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from flags.webhooks import deliveries, subscriptions
from flags.webhooks.backoff import RetryPolicy
from flags.webhooks.deliveries import Claimed
from flags.webhooks.endpoints import Endpoint, Resolver, UnsafeEndpoint, check, system_resolver
from flags.webhooks.settings import WebhookSettings
from flags.webhooks.signing import SecretBox, signed_headers
from journey_platform.db import DATABASE_UNAVAILABLE
from journey_platform.metrics import WEBHOOK_BACKLOG, WEBHOOK_DELIVERIES, WEBHOOK_DELIVERY_LATENCY

log = logging.getLogger(__name__)
MEASURE_EVERY_SECONDS = 5.0
# What a batch or a measurement may meet and try again: the database unavailable (asyncpg
# raises InterfaceError or InternalClientError, not a PostgresError, for a connection the
# server dropped under it, as when PostgreSQL stops) or refusing one statement. Anything
# else ends the task, and with it the service (journey_api.service), saying why.
RETRIED: tuple[type[Exception], ...] = (*DATABASE_UNAVAILABLE, asyncpg.PostgresError)


class Dispatcher:
    def __init__(
        self, pool: asyncpg.Pool, settings: WebhookSettings, *, resolver: Resolver = system_resolver
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.policy = RetryPolicy.of(settings)
        self.box = SecretBox(settings.webhook_key())
        self.resolver = resolver
        self.lease = timedelta(seconds=settings.webhook_claim_lease_seconds)
        self._rng = random.Random()  # jitter only: nothing secret depends on it  # noqa: S311

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set; deliveries in flight then finish."""
        async with self._client() as client:
            measured = 0.0
            while not stop.is_set():
                if time.monotonic() - measured >= MEASURE_EVERY_SECONDS:
                    measured = time.monotonic()
                    await self._measure()
                try:
                    sent = await self.dispatch_once(client)
                except RETRIED as error:
                    log.warning("webhook dispatch retrying", extra={"error": type(error).__name__})
                    sent = 0
                if not sent:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            stop.wait(), self.settings.webhook_poll_interval_seconds
                        )

    async def dispatch_once(self, client: httpx.AsyncClient) -> int:
        """Claim one batch of due deliveries and attempt each; return how many."""
        async with self.pool.acquire() as conn:
            claimed = await deliveries.claim(
                conn, limit=self.settings.webhook_batch_size, lease=self.lease
            )
        await asyncio.gather(*(self._attempt(client, delivery) for delivery in claimed))
        return len(claimed)

    def _client(self) -> httpx.AsyncClient:
        # No redirects: a 3xx could point anywhere, past the address check. No proxies
        # from the environment: the checked address is the one connected to.
        return httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=self.settings.webhook_request_timeout_seconds,
        )

    async def _attempt(self, client: httpx.AsyncClient, delivery: Claimed) -> None:
        started = time.monotonic()
        try:
            endpoint = await check(
                delivery.url,
                allow_loopback=self.settings.webhook_allows_loopback,
                resolver=self.resolver,
            )
        except UnsafeEndpoint:
            await self._failed(delivery, started, status=None, error="unsafe-address")
            return
        async with self.pool.acquire() as conn:
            secrets = await subscriptions.active_secrets(conn, self.box, delivery.subscription_id)
        if not secrets:  # deleted meanwhile: its deliveries went with it
            return
        status, error = await self._post(client, endpoint, delivery, secrets)
        if error is None:
            await self._delivered(delivery, status)
        else:
            await self._failed(delivery, started, status=status, error=error)

    async def _post(
        self, client: httpx.AsyncClient, endpoint: Endpoint, delivery: Claimed, secrets: list[str]
    ) -> tuple[int | None, str | None]:
        """POST to the checked address; (status, None) on a 2xx, else (status, error class)."""
        headers = signed_headers(
            webhook_id=delivery.webhook_id,
            timestamp=datetime.now(UTC),
            body=delivery.payload,
            secrets_=secrets,
        )
        url = endpoint.url
        # Connect to the address that was checked; the name still goes in Host and,
        # for TLS, in SNI and the certificate check.
        pinned = url.copy_with(host=str(endpoint.address))
        headers["host"] = url.netloc.decode("ascii")
        headers["content-type"] = "application/json"
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        try:
            # The timeout bounds the whole exchange (httpx's bounds each phase), so that a
            # receiver trickling bytes cannot outlast the lease. The body is never read.
            async with (
                asyncio.timeout(self.settings.webhook_request_timeout_seconds),
                client.stream(
                    "POST",
                    pinned,
                    content=delivery.payload.encode(),
                    headers=headers,
                    extensions=extensions,
                ) as response,
            ):
                pass
        except (TimeoutError, httpx.TimeoutException):
            return None, "timeout"
        except httpx.ConnectError:
            return None, "connect"
        except httpx.TransportError:
            return None, "transport"
        if response.is_success:
            return response.status_code, None
        kind = "redirect" if response.is_redirect else f"http-{response.status_code}"
        return response.status_code, kind

    async def _delivered(self, delivery: Claimed, status: int | None) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await deliveries.delivered(conn, delivery, status=status or 200)
        WEBHOOK_DELIVERIES.labels(outcome="delivered").inc()
        WEBHOOK_DELIVERY_LATENCY.observe(
            max((datetime.now(UTC) - delivery.created_at).total_seconds(), 0.0)
        )

    async def _failed(
        self, delivery: Claimed, started: float, *, status: int | None, error: str
    ) -> None:
        now = delivery.claimed_at + timedelta(seconds=time.monotonic() - started)
        retry_at = self.policy.next_attempt(
            first_attempt=delivery.first_attempt_at,
            now=now,
            attempts=delivery.attempts,
            rng=self._rng,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            streak, since = await deliveries.attempt_failed(
                conn, delivery, status=status, error=error, retry_at=retry_at
            )
            if self.policy.should_disable(failure_streak=streak, failing_since=since, now=now):
                reason = (
                    f"{streak} consecutive failed delivery attempts since "
                    f"{since.astimezone(UTC).isoformat()}; the last: {error}"
                )
                await deliveries.disable(conn, delivery.subscription_id, reason=reason)
                log.warning("webhook subscription disabled", extra={"error": error})
        outcome = "refused" if error == "unsafe-address" else "retrying" if retry_at else "failed"
        WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()

    async def _measure(self) -> None:
        try:
            async with self.pool.acquire() as conn:
                WEBHOOK_BACKLOG.set(await deliveries.backlog(conn))
        except RETRIED as error:
            log.warning("webhook backlog not measured", extra={"error": type(error).__name__})
