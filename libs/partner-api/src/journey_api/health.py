"""/livez and /readyz, the probes every partner service answers."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from journey_api.problems import PROBLEM, Problem, problem_response
from journey_api.runtime import CurrentRuntime


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/livez", summary="The process is alive.")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="The database and Kafka answer.",
        responses={503: {"description": "Not ready", **PROBLEM}},
    )
    async def readyz(request: Request, runtime: CurrentRuntime) -> Any:
        try:
            await runtime.pool.fetchval("SELECT 1")
            await asyncio.wait_for(runtime.producer.client.fetch_all_metadata(), 5)
        except Exception as error:  # any failure means not ready; say which part
            return problem_response(
                Problem(
                    503,
                    "Not ready",
                    f"A dependency does not answer ({type(error).__name__}).",
                    kind="not-ready",
                ),
                request,
            )
        return JSONResponse({"status": "ready"})

    return router
