"""The RED metric's labels: the route template, never the path with its ids."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import REGISTRY

from journey_api.middleware import RequestContext

METRIC = "journey_http_request_duration_seconds_count"


def count(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value(METRIC, labels) or 0.0


async def test_a_request_is_counted_under_its_route_template_and_status() -> None:
    app = FastAPI()

    @app.get("/v1/referrals/{resource_id}")
    async def read(resource_id: str) -> dict[str, str]:
        return {"id": resource_id}

    # As create_service_app stacks them: the instrumentation's middleware outermost.
    app.add_middleware(RequestContext, service="referral")
    FastAPIInstrumentor.instrument_app(app)
    before_ok = count("GET", "/v1/referrals/{resource_id}", "200")
    before_missing = count("GET", "unmatched", "404")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/v1/referrals/journey-123")).status_code == 200
        assert (await client.get("/nowhere/journey-123")).status_code == 404

    assert count("GET", "/v1/referrals/{resource_id}", "200") == before_ok + 1
    assert count("GET", "unmatched", "404") == before_missing + 1
    paths = {
        sample.labels.get("route")
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name == METRIC
    }
    assert not any("journey-123" in str(path) for path in paths)
