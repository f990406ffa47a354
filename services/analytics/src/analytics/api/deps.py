"""What every analytics route depends on: the analyst (audited), the period, one snapshot
of the database and the deployment's disclosure control.

Every route needs a bearer token of an `analyst` agency with the `analytics:read` scope
(the event log and the CTDC export: `analytics:export`), and every request is audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request

from analytics.domain.period import Period
from analytics.domain.structure import RuleStructure
from journey_api.audit import audit
from journey_api.auth import CurrentPrincipal, Principal, allow
from journey_api.problems import Problem
from journey_api.runtime import CurrentRuntime, Runtime
from journey_platform.db import Connection
from nrm_domain.agencies import AgencyType

READ, EXPORT = "analytics:read", "analytics:export"
ANALYSTS = frozenset({AgencyType.ANALYST})


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
