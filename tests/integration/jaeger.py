"""Reading what the real Jaeger holds, through its HTTP query API."""

from __future__ import annotations

import os
import time
from typing import Any

import httpx

from journey_cli.traces import jaeger_trace


def jaeger_url() -> str:
    url = os.environ.get("JAEGER_URL")
    assert url, "JAEGER_URL is not set: `make test` runs the tests inside `journey devstack run`"
    return url


def wait_for_trace(trace_id: str, *, has: set[str], timeout: float = 60) -> dict[str, Any]:
    """The trace once Jaeger holds every operation named in `has` (spans arrive in
    batches, a few seconds after they end)."""
    deadline = time.monotonic() + timeout
    while True:
        trace = jaeger_trace(jaeger_url(), trace_id)
        names = {span["operationName"] for span in trace["spans"]} if trace else set()
        if has <= names or time.monotonic() > deadline:
            assert has <= names, (
                f"trace {trace_id} lacks {sorted(has - names)}; has {sorted(names)}"
            )
            assert trace is not None
            return trace
        time.sleep(0.5)


def everything() -> bytes:
    """Every trace Jaeger holds, of every service, as the raw JSON its API answers."""
    with httpx.Client(base_url=jaeger_url(), timeout=120) as client:
        services = client.get("/api/services").raise_for_status().json()["data"] or []
        return b"\n".join(
            client.get(
                "/api/traces", params={"service": service, "lookback": "24h", "limit": 100_000}
            )
            .raise_for_status()
            .content
            for service in services
        )
