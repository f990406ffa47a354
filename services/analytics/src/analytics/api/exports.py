"""The analysts' answers as files: `GET /v1/exports/{funnel,dropoffs,time-to-event}.{fmt}`
(the same numbers as their JSON routes in analytics.api.answers) and the event log for
process mining, streamed; CSV or Parquet (written by analytics.api.files)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from analytics.adapters import eventlog
from analytics.api import files
from analytics.api.answers import MeasureName, answer_dropoffs, answer_funnel, answer_time_to_event
from analytics.api.deps import Analyst, Control, CurrentPeriod, Exporter, snapshot
from analytics.domain.dropoffs import Dimension
from journey_api.audit import audit
from journey_api.problems import READ_ERRORS
from journey_api.runtime import CurrentRuntime

TableFormat = Literal["csv", "parquet"]


def table_response(
    name: str,
    rows: list[dict[str, Any]],
    columns: dict[str, Any],
    fmt: str,
    labels: dict[str, str] | None = None,
) -> Response:
    return Response(
        files.render(rows, columns, fmt, labels),
        media_type=files.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


TABLE_DOCS: dict[int | str, dict[str, Any]] = {
    200: {"content": {t: {} for t in files.FORMATS.values()}, "description": "The table"}
}
router = APIRouter(prefix="/v1", tags=["analytics"], responses=READ_ERRORS)


@router.get("/exports/funnel.{fmt}", response_class=Response, responses=TABLE_DOCS)
async def export_funnel(
    _: Analyst,
    runtime: CurrentRuntime,
    control: Control,
    when: CurrentPeriod,
    fmt: TableFormat,
) -> Response:
    """The funnel as CSV or Parquet (the same numbers as /v1/funnel)."""
    answer = await answer_funnel(runtime, when, control)
    rows, columns = files.funnel_rows(answer)
    return table_response("funnel", rows, columns, fmt, answer["labels"])


@router.get("/exports/dropoffs.{fmt}", response_class=Response, responses=TABLE_DOCS)
async def export_dropoffs(
    _: Analyst,
    runtime: CurrentRuntime,
    control: Control,
    when: CurrentPeriod,
    fmt: TableFormat,
    by: Dimension = "rule",
) -> Response:
    """Drop-offs by one dimension as CSV or Parquet, the total row last."""
    answer = await answer_dropoffs(runtime, by, when, control)
    rows, columns = files.dropoff_rows(answer)
    return table_response(f"dropoffs-by-{by}", rows, columns, fmt, answer["labels"])


@router.get("/exports/time-to-event.{fmt}", response_class=Response, responses=TABLE_DOCS)
async def export_time_to_event(
    _: Analyst,
    runtime: CurrentRuntime,
    control: Control,
    when: CurrentPeriod,
    fmt: TableFormat,
    measure: MeasureName = "referral_to_reasonable_grounds",
) -> Response:
    """A time-to-event curve as CSV or Parquet, its summary on every row."""
    answer = await answer_time_to_event(runtime, measure, when, control)
    rows, columns = files.time_to_event_rows(answer)
    return table_response(f"time-to-event-{measure}", rows, columns, fmt, answer["labels"])


@router.get(
    "/event-log.{fmt}",
    response_class=Response,
    responses={
        **TABLE_DOCS,
        200: {
            **TABLE_DOCS[200],
            "headers": {
                "X-Truncated-Cases": {"description": "Journeys cut where their path is rare"},
                "X-Dropped-Cases": {"description": "Journeys left out (a rare first step)"},
                "X-Dropped-Events": {"description": "Events not exported"},
            },
        },
    },
)
async def export_event_log(
    request: Request,
    principal: Exporter,
    runtime: CurrentRuntime,
    control: Control,
    when: CurrentPeriod,
    fmt: TableFormat,
) -> Response:
    """The event log (case_id, activity, timestamp) for process mining; audited.

    Case ids are pseudonymised afresh for each export, timestamps are cut to the day,
    and each journey is cut to the longest beginning of its path that at least the
    threshold of journeys share. Streamed, in constant memory for any size.
    """
    # Both passes read one snapshot, held open until the last row is sent (or the client
    # goes): the background task after the response closes it.
    held = AsyncExitStack()
    try:
        conn = await held.enter_async_context(snapshot(runtime))
        prefixes = await eventlog.count(conn, when)
        summary = prefixes.summary(control.threshold)
        async with runtime.pool.acquire() as audit_conn:
            await audit(
                audit_conn,
                principal,
                action="export:event-log",
                journey_id=None,
                resource_id=(
                    f"format={fmt};period={when.json()};cases={summary.cases};"
                    f"truncated={summary.truncated_cases};dropped={summary.dropped_cases}"
                ),
            )
    except BaseException:
        await held.aclose()
        raise
    batches = eventlog.rows(conn, when, prefixes, threshold=control.threshold)
    return StreamingResponse(
        files.stream(batches, files.event_log_schema(), fmt),
        media_type=files.FORMATS[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="event-log.{fmt}"',
            "X-Truncated-Cases": str(summary.truncated_cases),
            "X-Dropped-Cases": str(summary.dropped_cases),
            "X-Dropped-Events": str(summary.dropped_events),
        },
        background=BackgroundTask(held.aclose),
    )
