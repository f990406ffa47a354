"""`GET /v1/exports/ctdc.{fmt}`: one row per journey, k-anonymised as CTDC publishes
(analytics.domain.ctdc); the analytics:export scope, audited with what was lost."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from analytics.adapters import ctdc
from analytics.api.deps import Control, CurrentPeriod, Exporter, snapshot
from analytics.api.exports import TABLE_DOCS, TableFormat, table_response
from analytics.domain.ctdc import SCHEMA
from journey_api.audit import audit
from journey_api.problems import READ_ERRORS, Problem
from journey_api.runtime import CurrentRuntime

LOSS_HEADERS = {
    "X-Rows-Suppressed": "Journeys left out: still in a combination rarer than k",
    "X-Cells-Generalised": "Quasi-identifier cells published coarser than recorded",
    "X-Generalisation-Levels": "JSON: quasi-identifier -> level published (0: as recorded)",
}
router = APIRouter(prefix="/v1", tags=["analytics"], responses=READ_ERRORS)


@router.get(
    "/exports/ctdc.{fmt}",
    response_class=Response,
    responses={
        200: {
            **TABLE_DOCS[200],
            "headers": {name: {"description": said} for name, said in LOSS_HEADERS.items()},
        }
    },
)
async def export_ctdc(
    principal: Exporter,
    runtime: CurrentRuntime,
    control: Control,
    when: CurrentPeriod,
    fmt: TableFormat,
    k: Annotated[
        int, Query(description="Every quasi-identifier combination shared by k rows")
    ] = 11,
) -> Response:
    """One row per journey referred in the period: coded profile, milestones as months
    after referral, outcome and flags by stage, with CTDC and HTCDS field names,
    k-anonymised (generalised, then suppressed); what was lost in the headers."""
    if k < control.threshold:
        raise Problem(
            422,
            "Invalid request",
            f"k must be at least the disclosure threshold, {control.threshold} "
            "(CTDC publishes with k = 11).",
            kind="bad-k",
        )
    async with snapshot(runtime) as conn:
        done = await ctdc.get(conn, period=when, k=k)
    summary = done.summary()
    async with runtime.pool.acquire() as conn:
        await audit(
            conn,
            principal,
            action="export:ctdc",
            journey_id=None,
            resource_id=(
                f"format={fmt};period={when.json()};k={k};rows={summary['rows']};"
                f"suppressed={summary['rows_suppressed']}"
            ),
        )
    response = table_response("ctdc", done.anonymised.rows, SCHEMA, fmt)
    response.headers["X-Rows-Suppressed"] = str(summary["rows_suppressed"])
    response.headers["X-Cells-Generalised"] = str(summary["cells_generalised"])
    response.headers["X-Generalisation-Levels"] = json.dumps(summary["levels"])
    return response
