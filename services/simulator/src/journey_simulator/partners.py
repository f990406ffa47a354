"""HTTP to the partner services, as the APIs ask a client to behave: one Idempotency-Key
per planned write (a retry replays it), a retry after Retry-After while a service is
unavailable, and a poll while a service has not yet learned a journey from Kafka."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from journey_platform.envelope import rfc3339
from journey_simulator.plan import REF, Action, JourneyPlan

SIMULATED_TIME_HEADER = "Simulated-Time"
KEYS = uuid.UUID("6f0c2d0e-6a43-4c1e-9a53-5b1d1d7c2f10")  # namespace of Idempotency-Keys


class SimulationError(RuntimeError):
    """A request the simulation cannot go on without failed."""


@dataclass(frozen=True)
class Acknowledged:
    """A write a partner service answered 201: its record is durable there."""

    service: str
    record_id: str


@dataclass
class Statistics:
    requests: int = 0
    retries_not_known: int = 0
    retries_unavailable: int = 0
    acknowledged: set[Acknowledged] = field(default_factory=set)  # writes answered 201
    ticks: int = 0
    journeys_started: int = 0
    began: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.began

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self, journeys: int) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "acknowledged": len(self.acknowledged),
            "requests_per_journey": round(self.requests / journeys, 2) if journeys else 0,
            "retries_while_not_known": self.retries_not_known,
            "retries_while_unavailable": self.retries_unavailable,
            "ticks": self.ticks,
            "seconds": round(self.seconds, 1),
            "requests_per_second": round(self.requests_per_second, 1),
        }


class Partners:
    """HTTP to the three partner services, one token per agency (minted once)."""

    def __init__(
        self,
        clients: Mapping[str, httpx.AsyncClient],
        token_for: Callable[[str], str],
        *,
        run_tag: str,
        known_within: float,
        statistics: Statistics,
        unavailable_within: float = 5.0,
    ) -> None:
        self.clients, self.token_for = dict(clients), token_for
        self.tokens: dict[str, str] = {}
        self.run_tag, self.known_within, self.statistics = run_tag, known_within, statistics
        self.unavailable_within = unavailable_within

    def headers(self, agency: str, key: str, at: datetime) -> dict[str, str]:
        if agency not in self.tokens:
            self.tokens[agency] = self.token_for(agency)
        return {
            "Authorization": f"Bearer {self.tokens[agency]}",
            "Idempotency-Key": key,
            SIMULATED_TIME_HEADER: rfc3339(at),
        }

    async def post(
        self, plan: JourneyPlan, index: int, action: Action, refs: dict[str, str]
    ) -> dict[str, Any]:
        client = self.clients[action.service]
        url = action.path.format_map(refs)
        body = {k: _resolve(v, refs) for k, v in action.body.items()}
        body["occurred_at"] = rfc3339(action.occurred)
        # One key per planned write: a retry (404 while not known, a dropped connection)
        # replays it rather than writing twice.
        key = str(uuid.uuid5(KEYS, f"{self.run_tag}/{plan.key}/{index}"))
        headers = self.headers(action.agency, key, action.at)
        deadline = time.monotonic() + self.known_within
        pause, unavailable_since = 0.02, None
        while True:
            try:
                response = await client.post(url, json=body, headers=headers)
            except httpx.TransportError as error:
                unavailable_since = unavailable_since or time.monotonic()
                if time.monotonic() - unavailable_since > self.unavailable_within:
                    raise SimulationError(
                        f"POST {client.base_url}{url} as {action.agency}: {error!r}"
                    ) from error
                self.statistics.retries_unavailable += 1
                await asyncio.sleep(0.5)
                continue
            self.statistics.requests += 1
            if response.status_code == 503:
                unavailable_since = unavailable_since or time.monotonic()
                if time.monotonic() - unavailable_since <= self.unavailable_within:
                    self.statistics.retries_unavailable += 1
                    await asyncio.sleep(_retry_after(response))
                    continue
            if response.status_code == 404 and action.wait_known and time.monotonic() < deadline:
                self.statistics.retries_not_known += 1
                await asyncio.sleep(pause)  # the service has not learned the journey yet
                pause = min(pause * 2, 0.5)
                continue
            if not response.is_success:
                raise SimulationError(
                    f"POST {client.base_url}{url} as {action.agency} ({plan.key}, action {index}, "
                    f"simulated {rfc3339(action.at)}): {response.status_code} {response.text}"
                )
            if response.status_code == 201:
                record = response.json()
                self.statistics.acknowledged.add(
                    Acknowledged(action.service, str(record["record_id"]))
                )
            return dict(response.json())


def _retry_after(response: httpx.Response) -> float:
    """The pause a 503 asks for (Retry-After in seconds), within reason."""
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.1), 10.0)
    except ValueError:
        return 1.0


def _resolve(value: Any, refs: Mapping[str, str]) -> Any:
    if isinstance(value, str) and value.startswith(REF):
        return refs[value[len(REF) :]]
    return value
