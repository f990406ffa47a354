"""`GET /v1/nrm-statistics`: the Home Office's quarterly tables, live, beside the published."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from analytics.adapters import nrm_statistics
from analytics.api.deps import Analyst, Control, snapshot
from analytics.api.models import NrmStatistics
from analytics.domain.nrm_layout import Quarter
from journey_api.problems import READ_ERRORS, Problem
from journey_api.runtime import CurrentRuntime


def quarter(
    text: Annotated[str, Query(alias="quarter", description="A calendar quarter, such as 2024Q4")],
) -> Quarter:
    try:
        return Quarter.parse(text)
    except ValueError as error:
        raise Problem(400, "Bad request", str(error), kind="bad-quarter") from None


router = APIRouter(prefix="/v1", tags=["analytics"], responses=READ_ERRORS)


@router.get("/nrm-statistics", response_model=NrmStatistics)
async def get_nrm_statistics(
    _: Analyst,
    runtime: CurrentRuntime,
    control: Control,
    when: Annotated[Quarter, Depends(quarter)],
) -> Any:
    """The Home Office's quarterly NRM tables for one quarter, measured live, with the
    published figures beside them and the difference."""
    async with snapshot(runtime) as conn:
        return await nrm_statistics.get(conn, quarter=when, threshold=control.threshold)
