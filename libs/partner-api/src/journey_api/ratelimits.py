"""Rate limits per OAuth2 client: a token bucket each, sized by the agency registry.

The buckets live in this process. With N replicas behind a load balancer a client may
make N times its limit in all; the README says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from journey_api.agencies import AgencyRegistry, RateLimit
from journey_api.auth import Principal
from journey_api.problems import Problem


@dataclass
class TokenBucket:
    """`limit.burst` tokens at most, refilled at `limit.per_second`; a request takes one."""

    limit: RateLimit
    tokens: float
    updated: float  # the clock's reading when `tokens` was last brought up to date

    @classmethod
    def full(cls, limit: RateLimit, now: float) -> TokenBucket:
        return cls(limit, float(limit.burst), now)

    def take(self, now: float) -> float:
        """Take a token: 0 when there was one, else the seconds until there will be one."""
        elapsed = max(0.0, now - self.updated)  # a clock that steps back refills nothing
        self.tokens = min(self.limit.burst, self.tokens + elapsed * self.limit.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.limit.per_second


class RateLimiter:
    """One bucket per client id (the token's `sub`), at its agency type's limit."""

    def __init__(
        self, registry: AgencyRegistry, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._registry = registry
        self._clock = clock
        # Only verified clients get a bucket, so this grows with the partners' clients,
        # not with what strangers send.
        self._buckets: dict[str, TokenBucket] = {}
        self._refusing: set[str] = set()

    def admit(self, principal: Principal) -> None:
        """Let the request through, or refuse it with a 429 problem saying when to retry."""
        now = self._clock()
        bucket = self._buckets.get(principal.client_id)
        if bucket is None:
            limit = self._registry.rate_limit(principal.agency_type)
            bucket = self._buckets[principal.client_id] = TokenBucket.full(limit, now)
        wait = bucket.take(now)
        if not wait:
            self._refusing.discard(principal.client_id)
            return
        # Audit the first refusal of each run of refusals: a client hammering away cannot
        # make the audit log grow faster than its own limit lets requests through.
        first = principal.client_id not in self._refusing
        self._refusing.add(principal.client_id)
        retry_after = max(1, math.ceil(wait))
        limit = bucket.limit
        raise Problem(
            429,
            "Too many requests",
            f"This client may make {limit.per_second:g} requests per second, in bursts of "
            f"up to {limit.burst}; retry after {retry_after} s.",
            kind="rate-limited",
            headers={"Retry-After": str(retry_after)},
            audit_as="rate_limited" if first else None,
            limit_per_second=limit.per_second,
            burst=limit.burst,
            retry_after_seconds=retry_after,
        )
