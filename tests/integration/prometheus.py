"""Asking the real Prometheus, through its HTTP API."""

from __future__ import annotations

import os
import time
from typing import Any

import httpx


def prometheus_url() -> str:
    url = os.environ.get("PROMETHEUS_URL")
    assert url, (
        "PROMETHEUS_URL is not set: `make test` runs the tests inside `journey devstack run`"
    )
    return url


def query(expression: str) -> list[dict[str, Any]]:
    """The instant vector `expression` gives now: each series' labels and value."""
    answer = httpx.get(
        f"{prometheus_url()}/api/v1/query", params={"query": expression}, timeout=10
    ).raise_for_status()
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


def wait_for(expression: str, *, timeout: float = 120) -> list[dict[str, Any]]:
    """Poll until `expression` gives at least one series (scrapes come every 2 s locally);
    fail with the expression if it never does."""
    deadline = time.monotonic() + timeout
    while not (result := query(expression)):
        assert time.monotonic() < deadline, f"Prometheus never answered {expression!r}"
        time.sleep(1)
    return result
