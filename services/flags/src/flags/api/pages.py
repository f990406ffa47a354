"""The agencies' page: each agency's open flags, most overdue first (static/flags.html).

The page holds no data: it calls this API with the agency's own token, taken from the
link's fragment, so it shows exactly what `GET /v1/flags` shows that agency.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "static"


def install_pages(app: FastAPI) -> None:
    router = APIRouter(tags=["dashboard"])

    @router.get("/dashboard", response_class=FileResponse)
    async def dashboard() -> FileResponse:
        """Your agency's open flags as a page (token in the link's fragment: #token=...)."""
        return FileResponse(STATIC / "flags.html", media_type="text/html")

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
