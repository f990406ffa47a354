"""The composition root every partner service shares.

`create_service_app` builds a FastAPI app whose lifespan creates the database pool,
applies migrations, starts the idempotent producer, the outbox relay and any event
consumers, and on shutdown stops taking work, drains the relay and closes everything.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI, Request
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from journey_api.agencies import AgencyRegistry
from journey_api.auth import TokenVerifier
from journey_api.bodies import BodyLimits
from journey_api.config import ApiSettings, project_file
from journey_api.headers import install_docs
from journey_api.health import health_router
from journey_api.idempotency import HEADER as IDEMPOTENCY_HEADER
from journey_api.idempotency import MAX_KEY_LENGTH
from journey_api.middleware import RequestContext, WakeRelayAfterWrites
from journey_api.problem_handlers import install_problem_handlers
from journey_api.problems import Problem, problem_schemas
from journey_api.ratelimits import RateLimiter
from journey_api.records import JourneyRecords
from journey_api.runtime import (
    ConsumersFactory,
    Runtime,
    exit_status,
    stop_the_service_if_it_ends_early,
)
from journey_platform.contracts import Contracts
from journey_platform.db import create_pool, ensure_database
from journey_platform.kafka import start_producer
from journey_platform.logs import configure_logging
from journey_platform.migrations import migrate
from journey_platform.outbox import Outbox
from journey_platform.relay import OutboxRelay
from journey_platform.telemetry import start_telemetry

log = logging.getLogger(__name__)
API_MIGRATIONS = Path(__file__).parent / "migrations"


async def keep_session(conn: asyncpg.Connection[Any]) -> None:
    """Give a connection back to the pool as it is: asyncpg's default reset (UNLISTEN,
    RESET ALL, unlock advisory locks...) is a round trip on every release, and these
    services leave no session state behind: their advisory locks are transaction-scoped,
    they SET, LISTEN and DECLARE nothing, and asyncpg still rolls back an open transaction
    before this runs."""


def create_service_app(
    *,
    settings: ApiSettings,
    contracts: Contracts,
    registry: AgencyRegistry,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    migrations: Path,
    consumers: ConsumersFactory | None = None,
) -> FastAPI:
    """`consumers(runtime)` gives the background work started with the service: event
    consumers and any other `Background` loop; all stop, and are awaited, on shutdown."""
    configure_logging(settings.service_name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await _start(app, settings, contracts, registry, migrations, consumers)
        try:
            yield
        finally:
            await _stop(runtime)

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # install_docs serves it, under a policy of its own
        redoc_url=None,
        # The server span comes from opentelemetry-instrumentation-fastapi (below), which
        # CI's trace tests follow; FastAPI's own telemetry would stand aside for it, but
        # only after searching the middleware stack for it on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.rate_limiter = RateLimiter(registry)
    install_problem_handlers(app, on_problem=_audit_refusal)
    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes)
    app.add_middleware(WakeRelayAfterWrites)
    # Outermost, so it sees every answer.
    app.add_middleware(RequestContext, service=settings.service_name)
    # The server span of each request, continuing the caller's trace (W3C traceparent);
    # health probes, polled every few seconds, would only bury the traces that matter.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="livez,readyz", exclude_spans=["receive", "send"]
    )
    for router in routers:
        app.include_router(router)
    app.include_router(health_router())
    install_docs(app, title=title)
    _complete_openapi(app)
    return app


def token_verifier(settings: ApiSettings, registry: AgencyRegistry) -> TokenVerifier:
    return TokenVerifier(
        registry=registry,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        jwks_url=settings.auth_jwks_url,
        jwks_file=settings.auth_jwks_file or project_file(".devstack", "auth", "jwks.json"),
    )


async def _start(
    app: FastAPI,
    settings: ApiSettings,
    contracts: Contracts,
    registry: AgencyRegistry,
    migrations: Path,
    consumers: ConsumersFactory | None,
) -> Runtime:
    """Verifier, database (migrated), producer, relay and consumers, started in order."""
    app.state.verifier = token_verifier(settings, registry)
    if settings.create_database:
        await ensure_database(settings.database_url)
    pool = await create_pool(
        settings.database_url,
        statement_span_ms=settings.db_statement_span_ms,
        min_size=2,
        max_size=20,
        reset=keep_session,
    )
    async with pool.acquire() as conn:
        await migrate(conn, ("api", API_MIGRATIONS), (settings.service_name, migrations))
    producer = await start_producer(
        settings.kafka_bootstrap_servers, settings.service_name, settings.kafka_security
    )
    relay = OutboxRelay(
        pool,
        producer,
        batch_size=settings.outbox_batch_size,
        poll_interval=settings.outbox_poll_interval_seconds,
        retention=settings.outbox_retention_seconds,
    )
    stop = asyncio.Event()
    runtime = Runtime(
        settings,
        contracts,
        pool,
        producer,
        JourneyRecords(outbox=Outbox(contracts), source=settings.service_name),
        relay,
        stop,
        [],
    )
    runtime.tasks.append(asyncio.create_task(relay.run(stop)))
    for work in consumers(runtime) if consumers else ():
        runtime.background.append(work)
        runtime.tasks.append(asyncio.create_task(work.run(stop)))
    for task in runtime.tasks:
        task.add_done_callback(
            partial(stop_the_service_if_it_ends_early, stop=stop, ended=runtime.ended_early)
        )
    app.state.runtime = runtime
    # What start-up built (app, routes, models, contracts, pool) lives as long as the
    # process: keep it out of the collector's full passes, each of which would otherwise
    # rescan it all and stall every request in flight (see bench/referral_writes.py).
    gc.freeze()
    log.info("service started")
    return runtime


async def _stop(runtime: Runtime) -> None:
    # Uvicorn has finished in-flight requests; now drain the relay and stop consumers.
    runtime.stop.set()
    await asyncio.gather(*runtime.tasks, return_exceptions=True)
    await runtime.producer.stop()
    await runtime.pool.close()
    log.info("service stopped")


def _complete_openapi(app: FastAPI) -> None:
    """Say in the OpenAPI document what FastAPI cannot tell from the routes:

    - the problem+json body schema every error response refers to (FastAPI collects only
      the models routes return);
    - that Idempotency-Key is required on the writes that take it: it is declared optional
      so that `run_once` answers its absence with a 400 problem, not validation a 422.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        # Completed once: every 422 reads its fields' rules from the document (problems.py).
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()  # FastAPI keeps it as app.openapi_schema
        document.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
        for operations in document["paths"].values():
            for operation in operations.values():
                for parameter in operation.get("parameters", ()):
                    if (parameter["in"], parameter["name"]) == ("header", IDEMPOTENCY_HEADER):
                        parameter["required"] = True
                        parameter["schema"] = {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_KEY_LENGTH,
                        }
        return document

    app.openapi = openapi  # type: ignore[method-assign]


async def _audit_refusal(request: Request, problem: Problem) -> None:
    """A refused attempt is audited too: who tried what, on which record, and why not
    (denied, rate limited, a replayed token)."""
    principal = getattr(request.state, "principal", None)
    if problem.audit_as is None or principal is None:
        return
    route = request.scope.get("route")
    params = request.path_params
    runtime = request.app.state.runtime
    async with runtime.pool.acquire() as conn:
        await runtime.store(conn).audit(
            principal,
            action=f"{request.method} {getattr(route, 'path', request.url.path)}",
            journey_id=params.get("journey_id"),
            resource_id=params.get("resource_id"),
            outcome=problem.audit_as,
        )


# Longer than any client's idle pool (httpx keeps 5 s, load balancers about 60 s): the
# server must not close an idle connection just as a client reuses it, which the client
# sees as a dropped request (uvicorn's default of 5 s races httpx's 5 s exactly).
KEEP_ALIVE_SECONDS = 75


def serve(app: FastAPI, settings: ApiSettings) -> None:
    """Run a service under uvicorn; on SIGTERM it finishes in-flight requests, then the
    lifespan drains the outbox relay. The process's telemetry starts here, not in the
    app: tests build many apps in one process, under a tracer provider of their own."""
    import uvicorn

    start_telemetry(settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    status = exit_status(getattr(app.state, "runtime", None))
    if status:
        sys.exit(status)
