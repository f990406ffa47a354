"""The analysts' answers: the funnel, drop-offs by one dimension, time to event, and
charts of them; read-only and disclosure-controlled as one (analytics.domain.served).

Answers carry no row about one person: counts below the threshold are null (see
analytics.domain.disclosure).
"""

from __future__ import annotations

import importlib
from typing import Any, Literal, get_args

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from analytics.adapters import served
from analytics.api.deps import Analyst, Control, CurrentPeriod, DisclosureControl, snapshot
from analytics.api.models import Dropoffs, Funnel, TimeToEvent
from analytics.domain.dropoffs import Dimension
from analytics.domain.period import Period
from analytics.domain.served import Answers
from analytics.domain.survival import MEASURES
from journey_api.problems import READ_ERRORS
from journey_api.runtime import CurrentRuntime, Runtime

MeasureName = Literal[
    "referral_to_reasonable_grounds",
    "reasonable_grounds_to_conclusive_grounds",
    "support_entry_to_exit",
]
ChartName = Literal["funnel", "dropoff-rates", "time-to-event"]
ChartFormat = Literal["svg", "png"]
assert set(get_args(MeasureName)) == set(MEASURES)

CHART_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
router = APIRouter(prefix="/v1", tags=["analytics"], responses=READ_ERRORS)


async def answers(runtime: Runtime, when: Period, control: DisclosureControl) -> Answers:
    """Every table the API serves, disclosure-controlled together."""
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
    charts = importlib.import_module("analytics.api.charts")  # drawn by its own module
    image: bytes = await run_in_threadpool(charts.render, name, data, fmt)
    return Response(image, media_type=CHART_TYPES[fmt])
