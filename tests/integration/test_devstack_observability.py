"""The devstack's Jaeger and Prometheus are real: a span goes in over OTLP/HTTP and comes back
through Jaeger's query API; a target registered with `Stack.scrape` is scraped and `up`.

Raw OTLP JSON and a plain http.server on purpose: the test checks the servers the stack
runs, not an SDK's exporter or a metrics library.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest

from journey_cli.devstack import Stack
from tests.integration.conftest import Servers

pytestmark = pytest.mark.integration

T = TypeVar("T")
WITHIN = 30.0  # seconds; Prometheus scrapes every 2s, Jaeger stores a span at once


@pytest.fixture(scope="module")
def stack(servers: Servers) -> Stack:
    # `servers` has brought the devstack up when `make test` had not (`journey devstack run`).
    return Stack.from_environment()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def test_a_span_sent_over_otlp_http_comes_back_through_jaegers_query_api(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    jaeger_url = stack.environment().get("JAEGER_URL")
    if jaeger_url is None:
        pytest.skip("traces go to an existing collector and JAEGER_URL names no Jaeger")
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    now = time.time_ns()
    span = {
        "traceId": trace_id,  # OTLP/JSON writes ids as hex, not base64
        "spanId": span_id,
        "name": "devstack probe",
        "kind": 2,  # SERVER
        "startTimeUnixNano": str(now - 5_000_000),
        "endTimeUnixNano": str(now),
    }
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attribute("service.name", "devstack-probe")]},
                "scopeSpans": [{"scope": {"name": "tests.integration"}, "spans": [span]}],
            }
        ]
    }

    sent = await http.post(f"{stack.otlp_endpoint}/v1/traces", json=body)
    assert sent.status_code == 200, sent.text

    spans = await _eventually(lambda: _spans_of(http, jaeger_url, trace_id))
    assert [(s["spanId"], s["name"]) for s in spans] == [(span_id, "devstack probe")]


async def test_a_scraped_target_is_discovered_and_up(
    stack: Stack, http: httpx.AsyncClient, metrics_port: int
) -> None:
    job = f"devstack-probe-{secrets.token_hex(3)}"
    prometheus = stack.environment()["PROMETHEUS_URL"]
    stack.scrape(job, metrics_port)
    try:
        target = await _eventually(lambda: _active_target(http, prometheus, job))
        assert target["scrapeUrl"] == f"http://127.0.0.1:{metrics_port}/metrics"

        up = await _eventually(lambda: _query(http, prometheus, f'up{{job="{job}"}} == 1'))
        assert up[0]["metric"]["job"] == job
        probe = f'devstack_probe{{job="{job}"}}'
        value = await _eventually(lambda: _query(http, prometheus, probe))
        assert value[0]["value"][1] == "1"
    finally:
        stack.unscrape(job)

    await _eventually(lambda: _target_gone(http, prometheus, job))


@pytest.fixture
def metrics_port() -> Iterator[int]:
    """A tiny /metrics endpoint in the Prometheus text format, on a free loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"# TYPE devstack_probe gauge\ndevstack_probe 1\n"
        self.send_response(200 if self.path == "/metrics" else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every 2s would fill the test output


def _attribute(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


async def _spans_of(http: httpx.AsyncClient, jaeger_url: str, trace_id: str) -> Any:
    """The trace's spans from the v3 query API, or None while Jaeger has not stored it."""
    response = await http.get(f"{jaeger_url}/api/v3/traces/{trace_id}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return [
        span
        for resource in response.json()["result"]["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]


async def _active_target(http: httpx.AsyncClient, prometheus: str, job: str) -> Any:
    response = await http.get(f"{prometheus}/api/v1/targets", params={"state": "active"})
    response.raise_for_status()
    targets = response.json()["data"]["activeTargets"]
    return next((t for t in targets if t["labels"].get("job") == job), None)


async def _target_gone(http: httpx.AsyncClient, prometheus: str, job: str) -> bool | None:
    return True if await _active_target(http, prometheus, job) is None else None


async def _query(http: httpx.AsyncClient, prometheus: str, query: str) -> Any:
    """The instant query's result vector, or None while it is empty."""
    response = await http.get(f"{prometheus}/api/v1/query", params={"query": query})
    response.raise_for_status()
    return response.json()["data"]["result"] or None


async def _eventually(probe: Callable[[], Awaitable[T | None]]) -> T:
    """Poll `probe` until it returns something other than None, within WITHIN seconds."""
    deadline = time.monotonic() + WITHIN
    while (result := await probe()) is None:
        assert time.monotonic() < deadline, f"nothing within {WITHIN:.0f}s"
        await asyncio.sleep(0.2)
    return result
