"""When to try a failed delivery again, and when to give up on an endpoint: pure policy.

Exponential backoff with full jitter (delay drawn uniformly from zero to the capped
exponential), so that receivers coming back from an outage are not hit by every
sender's retries at the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flags.webhooks.settings import WebhookSettings


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta
    cap: timedelta
    horizon: timedelta
    disable_after_failures: int
    disable_after_failing: timedelta

    @classmethod
    def of(cls, settings: WebhookSettings) -> RetryPolicy:
        return cls(
            base=timedelta(seconds=settings.webhook_backoff_base_seconds),
            cap=timedelta(seconds=settings.webhook_backoff_cap_seconds),
            horizon=timedelta(seconds=settings.webhook_retry_horizon_seconds),
            disable_after_failures=settings.webhook_disable_after_failures,
            disable_after_failing=timedelta(seconds=settings.webhook_disable_after_failing_seconds),
        )

    def ceiling(self, attempts: int) -> timedelta:
        """The longest wait after the `attempts`-th failed attempt (1 = the first)."""
        # In float seconds: timedelta overflows long before the exponent stops mattering.
        exponent = min(max(attempts - 1, 0), 64)
        seconds = self.base.total_seconds() * 2.0**exponent
        return min(self.cap, timedelta(seconds=min(seconds, self.cap.total_seconds())))

    def next_attempt(
        self, *, first_attempt: datetime, now: datetime, attempts: int, rng: random.Random
    ) -> datetime | None:
        """When to try again after a failure at `now`, or None: give up.

        The last try is at the horizon itself, so an endpoint is tried for the whole
        24 hours and not a moment after.
        """
        deadline = first_attempt + self.horizon
        if now >= deadline:
            return None
        wait = self.ceiling(attempts) * rng.random()
        return min(now + wait, deadline)

    def should_disable(
        self, *, failure_streak: int, failing_since: datetime, now: datetime
    ) -> bool:
        return (
            failure_streak >= self.disable_after_failures
            and now - failing_since >= self.disable_after_failing
        )
