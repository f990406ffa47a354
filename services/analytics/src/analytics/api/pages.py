"""The analysts' dashboard: a static page with no data of its own; it calls the API."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from analytics.config import STATIC
from journey_api.problems import PROBLEM, not_found


def pages_router() -> APIRouter:
    router = APIRouter(tags=["dashboard"])

    @router.get(
        "/dashboard",
        response_class=FileResponse,
        responses={404: {"description": "The dashboard is not installed", **PROBLEM}},
    )
    async def dashboard() -> FileResponse:
        """The analysts' dashboard: a page with no data of its own, it calls this API."""
        page = STATIC / "dashboard.html"
        if not page.is_file():
            raise not_found("dashboard")
        return FileResponse(page, media_type="text/html")

    return router
