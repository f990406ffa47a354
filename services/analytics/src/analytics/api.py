"""The analytics API: read-only, disclosure-controlled answers for analysts.

Every route needs a bearer token of an `analyst` agency with the `analytics:read` scope
(the event log: `analytics:export`), and every request is audited. Answers carry no row
about one person: counts below the threshold are null (see analytics.domain.disclosure).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from analytics import exports
from analytics.adapters import served
from analytics.config import STATIC
from analytics.domain.dropoffs import Dimension
from analytics.domain.period import Period
from analytics.domain.served import Answers
from analytics.domain.structure import RuleStructure
from analytics.domain.survival import MEASURES
from analytics.models import Dropoffs, Funnel, TimeToEvent
from journey_api.audit import audit
from journey_api.auth import CurrentPrincipal, Principal, allow
from journey_api.problems import PROBLEM, READ_ERRORS, Problem, not_found
from journey_api.runtime import CurrentRuntime, Runtime
from journey_platform.db import Connection
from nrm_domain.agencies import AgencyType

READ, EXPORT = "analytics:read", "analytics:export"
ANALYSTS = frozenset({AgencyType.ANALYST})

MeasureName = Literal[
    "referral_to_reasonable_grounds",
    "reasonable_grounds_to_conclusive_grounds",
    "support_entry_to_exit",
]
TableFormat = Literal["csv", "parquet"]
ChartName = Literal["funnel", "dropoff-rates", "time-to-event"]
ChartFormat = Literal["svg", "png"]
assert set(get_args(MeasureName)) == set(MEASURES)

CHART_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def period(
    start: Annotated[
        date | None, Query(alias="from", description="First referral date (inclusive)")
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", description="Last referral date (inclusive)")
    ] = None,
) -> Period:
    if start and end and start > end:
        raise Problem(400, "Bad request", "The period ends before it starts.", kind="bad-period")
    return Period(start, end)


CurrentPeriod = Annotated[Period, Depends(period)]


async def _audited(
    request: Request, principal: Principal, runtime: Runtime, scope: str
) -> Principal:
    allow(principal, scope=scope, agency_types=ANALYSTS, action="read analytics")
    route = request.scope.get("route")
    async with runtime.pool.acquire() as conn:
        await audit(
            conn,
            principal,
            action=f"{request.method} {getattr(route, 'path', request.url.path)}",
            journey_id=None,
            resource_id=request.url.query[:500] or None,  # coded query parameters only
        )
    return principal


async def analyst(
    request: Request, principal: CurrentPrincipal, runtime: CurrentRuntime
) -> Principal:
    """An analyst with the analytics:read scope; the request is audited."""
    return await _audited(request, principal, runtime, READ)


async def exporter(
    request: Request, principal: CurrentPrincipal, runtime: CurrentRuntime
) -> Principal:
    """An analyst with the analytics:export scope; the request is audited."""
    return await _audited(request, principal, runtime, EXPORT)


Analyst = Annotated[Principal, Depends(analyst)]
Exporter = Annotated[Principal, Depends(exporter)]


@asynccontextmanager
async def snapshot(runtime: Runtime) -> AsyncIterator[Connection]:
    """A read-only connection on one snapshot, so an answer's numbers agree."""
    async with (
        runtime.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        yield conn


@dataclass(frozen=True)
class DisclosureControl:
    """The deployment's threshold, and what the rules catalogue makes zero by construction
    (both set on the app by analytics.main)."""

    threshold: int
    structure: RuleStructure


def disclosure_control(request: Request) -> DisclosureControl:
    state = request.app.state
    return DisclosureControl(int(state.disclosure_threshold), state.rule_structure)


Control = Annotated[DisclosureControl, Depends(disclosure_control)]
router = APIRouter(prefix="/v1", tags=["analytics"], responses=READ_ERRORS)


async def answers(runtime: Runtime, when: Period, control: DisclosureControl) -> Answers:
    """Every table the API serves, disclosure-controlled together (see analytics.domain.served)."""
    async with snapshot(runtime) as conn:
        return await served.get(
            conn, period=when, threshold=control.threshold, structure=control.structure
        )


async def answer_funnel(
    runtime: Runtime, when: Period, control: DisclosureControl
) -> dict[str, Any]:
    return (await answers(runtime, when, control)).funnel


async def answer_dropoffs(
    runtime: Runtime, by: str, when: Period, control: DisclosureControl
) -> dict[str, Any]:
    return (await answers(runtime, when, control)).dropoffs[by]


async def answer_time_to_event(
    runtime: Runtime, measure: str, when: Period, control: DisclosureControl
) -> dict[str, Any]:
    return (await answers(runtime, when, control)).waits[measure]


@router.get("/funnel", response_model=Funnel)
async def get_funnel(
    _: Analyst, runtime: CurrentRuntime, control: Control, when: CurrentPeriod
) -> Any:
    """Journeys that reached each step from referral to conviction, with conversions."""
    return await answer_funnel(runtime, when, control)


@router.get("/dropoffs", response_model=Dropoffs)
async def get_dropoffs(
    _: Analyst,
    runtime: CurrentRuntime,
    control: Control,
    when: CurrentPeriod,
    by: Dimension = "rule",
) -> Any:
    """Drop-off flags raised, open and resolved, by one dimension, with a total row."""
    return await answer_dropoffs(runtime, by, when, control)


@router.get("/time-to-event", response_model=TimeToEvent)
async def get_time_to_event(
    _: Analyst,
    runtime: CurrentRuntime,
    control: Control,
    when: CurrentPeriod,
    measure: MeasureName = "referral_to_reasonable_grounds",
) -> Any:
    """Kaplan-Meier time to event, journeys still waiting counted as censored."""
    return await answer_time_to_event(runtime, measure, when, control)


def table_response(
    name: str,
    rows: list[dict[str, Any]],
    columns: dict[str, Any],
    fmt: str,
    labels: dict[str, str] | None = None,
) -> Response:
    return Response(
        exports.render(rows, columns, fmt, labels),
        media_type=exports.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


TABLE_DOCS: dict[int | str, dict[str, Any]] = {
    200: {"content": {t: {} for t in exports.FORMATS.values()}, "description": "The table"}
}


@router.get(
    "/charts/{name}.{fmt}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in CHART_TYPES.values()}}},
)
async def get_chart(
    _: Analyst,
    runtime: CurrentRuntime,
    control: Control,
    when: CurrentPeriod,
    name: ChartName,
    fmt: ChartFormat,
) -> Response:
    """A chart of the same answers: funnel, drop-off rates by stage, time to event."""
    data: dict[str, Any] | list[dict[str, Any]]
    if name == "funnel":
        data = await answer_funnel(runtime, when, control)
    elif name == "dropoff-rates":
        data = await answer_dropoffs(runtime, "stage", when, control)
    else:
        data = list((await answers(runtime, when, control)).waits.values())
    charts = importlib.import_module("analytics.charts")  # drawn by its own module
    image: bytes = await run_in_threadpool(charts.render, name, data, fmt)
    return Response(image, media_type=CHART_TYPES[fmt])


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
