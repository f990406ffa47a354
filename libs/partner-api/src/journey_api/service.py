"""The composition root every partner service shares.

`create_service_app` builds a FastAPI app whose lifespan creates the database pool,
applies migrations, starts the idempotent producer, the outbox relay and any event
consumers, and on shutdown stops taking work, drains the relay and closes everything.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Protocol

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from pydantic import Field
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journey_api.adapters.postgres import PostgresRecordStore
from journey_api.agencies import AgencyRegistry
from journey_api.audit import audit
from journey_api.auth import TokenVerifier
from journey_api.bodies import BodyLimits
from journey_api.context import new_request_id
from journey_api.headers import add_security_headers, install_docs
from journey_api.idempotency import HEADER as IDEMPOTENCY_HEADER
from journey_api.idempotency import MAX_KEY_LENGTH
from journey_api.problems import (
    CATCHING_UP_RETRY_SECONDS,
    JUST_REFERRED_RETRY_SECONDS,
    PROBLEM,
    TYPE_BASE,
    Problem,
    install_problem_handlers,
    problem_response,
    problem_schemas,
)
from journey_api.ratelimits import RateLimiter
from journey_api.records import JourneyRecords
from journey_api.store import RecordStore
from journey_api.tokens import DEV_AUDIENCE, DEV_ISSUER
from journey_platform.consumer import EventConsumer, idempotent_batch
from journey_platform.contracts import Contracts
from journey_platform.db import Connection, ensure_database
from journey_platform.envelope import Event
from journey_platform.kafka import start_producer
from journey_platform.logs import configure_logging
from journey_platform.metrics import HTTP_REQUEST_DURATION
from journey_platform.migrations import migrate
from journey_platform.outbox import Outbox, OutboxRelay
from journey_platform.settings import PlatformSettings, find_schemas_dir
from journey_platform.telemetry import start_telemetry

log = logging.getLogger(__name__)
API_MIGRATIONS = Path(__file__).parent / "migrations"


def stop_the_service_if_it_ends_early(
    task: asyncio.Task[None], *, stop: asyncio.Event, signal_self: Callable[[], None] | None = None
) -> None:
    """A relay or consumer that ends before shutdown leaves the API answering 201 while
    nothing is published or learned, and nobody awaits its task to see why (the fault
    suite met both after a PostgreSQL stop). Say why, then stop the process (SIGTERM: a
    clean stop), so that it is restarted whole rather than running half."""
    if stop.is_set() or task.cancelled():
        return
    log.critical(
        "background task ended; stopping the service",
        exc_info=task.exception(),
        extra={"task": task.get_coro().__qualname__},  # type: ignore[union-attr]
    )
    (signal_self or (lambda: os.kill(os.getpid(), signal.SIGTERM)))()


def _project_file(*parts: str) -> Path:
    return find_schemas_dir().parent.joinpath(*parts)


class ApiSettings(PlatformSettings):
    """Settings of a partner API (environment variables of the same names, upper case)."""

    agency_registry_path: Path = Field(
        default_factory=lambda: _project_file("deploy", "local", "agencies.yaml")
    )
    # Production: the identity provider's JWKS URL. Development: the JWKS file that
    # `journey token` writes beside its signing key.
    auth_jwks_url: str | None = None
    auth_jwks_file: Path | None = None
    auth_issuer: str = DEV_ISSUER
    auth_audience: str = DEV_AUDIENCE
    create_database: bool = True
    # Consumer groups are named <prefix>-<purpose>. Two deployments sharing one Kafka
    # cluster (or two test runs) need different prefixes, or they split the partitions.
    consumer_group_prefix: str = ""

    def consumer_group(self, purpose: str) -> str:
        return f"{self.consumer_group_prefix or self.service_name}-{purpose}"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # The largest request body taken (413 beyond it): partner records are a few kB.
    max_body_bytes: int = 64 * 1024
    # Demos and tests only: take the recorded time from the Simulated-Time header (clock.py).
    accept_simulated_time: bool = False


@dataclass
class Runtime:
    """What the lifespan builds; routes reach it through the `CurrentRuntime` dependency."""

    settings: ApiSettings
    contracts: Contracts
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    records: JourneyRecords
    relay: OutboxRelay
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]]
    background: list[Background] = field(default_factory=list)
    store: Callable[[Connection], RecordStore] = PostgresRecordStore  # the records' adapter

    def catching_up(self) -> bool:
        """Whether this service knows it has events from other services left to apply."""
        return any(isinstance(w, EventConsumer) and w.catching_up() for w in self.background)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


CurrentRuntime = Annotated[Runtime, Depends(get_runtime)]


class Background(Protocol):
    """Work a service runs beside its requests until `stop` is set: an EventConsumer, or
    any loop of the same shape (such as a webhook dispatcher)."""

    async def run(self, stop: asyncio.Event) -> None: ...


ConsumersFactory = Callable[[Runtime], Sequence[Background]]


FactsOf = Callable[[Event], dict[str, Any] | None]


def journey_learner(runtime: Runtime, *, topics: Sequence[str], facts_of: FactsOf) -> EventConsumer:
    """A consumer that teaches this service the journeys another service knows.

    `facts_of(event)` says what to remember about the journey (an empty dict just makes
    it known; None ignores the event). Each event is applied once, however redelivered.
    """

    group = runtime.settings.consumer_group("journeys")

    async def learn(conn: Connection, event: Event) -> None:
        facts = facts_of(event)
        if facts is None:
            return
        await conn.execute(
            """INSERT INTO journeys (journey_id, facts) VALUES ($1, $2::jsonb)
               ON CONFLICT (journey_id) DO UPDATE SET facts = journeys.facts || EXCLUDED.facts""",
            event.subject,
            json.dumps(facts),
        )
        # The agency that recorded it (the referring first responder, the deciding
        # competent authority) takes part in the journey here too.
        await conn.execute(
            """INSERT INTO journey_participants (journey_id, agency_id) VALUES ($1, $2)
               ON CONFLICT DO NOTHING""",
            event.subject,
            event.recorded_by,
        )

    return EventConsumer(
        bootstrap_servers=runtime.settings.kafka_bootstrap_servers,
        group_id=group,
        topics=topics,
        contracts=runtime.contracts,
        batch_handler=idempotent_batch(runtime.pool, group, learn),
        producer=runtime.producer,
        dead_letter_topic=runtime.settings.dead_letter_topic,
        security=runtime.settings.kafka_security,
    )


# The contract of a service that learns journeys from the referral service's events: in
# its OpenAPI description, so a partner's developer reads it where the 404 is documented.
LEARNED_JOURNEYS = f"""

**A journey referred a moment ago.** This service learns each journey from the referral
service's events, a fraction of a second after the referral's 201
(`bench/journey_propagation.py`). Until then it answers about that journey as about one
that does not exist or that you may not see: 404, `type` `{TYPE_BASE}not-found`, the same
title and detail, so an answer never tells whether a journey exists. While this service
knows it has journeys left to learn, every such 404 (whatever the journey) carries
`Retry-After: {CATCHING_UP_RETRY_SECONDS}`. A client that has just referred a journey
retries a 404 about it, after Retry-After when given, for up to
{JUST_REFERRED_RETRY_SECONDS} seconds; after that the 404 is final."""


def learning_journeys(*, topics: Sequence[str], facts_of: FactsOf) -> ConsumersFactory:
    """The consumers of a service that learns journeys from other services' topics."""
    return lambda runtime: [journey_learner(runtime, topics=topics, facts_of=facts_of)]


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
        app.state.verifier = TokenVerifier(
            registry=registry,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            jwks_url=settings.auth_jwks_url,
            jwks_file=settings.auth_jwks_file or _project_file(".devstack", "auth", "jwks.json"),
        )
        if settings.create_database:
            await ensure_database(settings.database_url)
        pool = await asyncpg.create_pool(
            settings.database_url, min_size=2, max_size=20, reset=keep_session
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
            task.add_done_callback(partial(stop_the_service_if_it_ends_early, stop=stop))
        app.state.runtime = runtime
        # What start-up built (app, routes, models, contracts, pool) lives as long as the
        # process: keep it out of the collector's full passes, each of which would otherwise
        # rescan it all and stall every request in flight (see bench/referral_writes.py).
        gc.freeze()
        log.info("service started")
        try:
            yield
        finally:
            # Uvicorn has finished in-flight requests; now drain the relay and stop consumers.
            stop.set()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            await producer.stop()
            await pool.close()
            log.info("service stopped")

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
    _install_request_context(app, settings.service_name)  # outermost: sees every answer
    # The server span of each request, continuing the caller's trace (W3C traceparent);
    # health probes, polled every few seconds, would only bury the traces that matter.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="livez,readyz", exclude_spans=["receive", "send"]
    )
    for router in routers:
        app.include_router(router)
    app.include_router(_health_router())
    install_docs(app, title=title)
    _complete_openapi(app)
    return app


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
    async with request.app.state.runtime.pool.acquire() as conn:
        await audit(
            conn,
            principal,
            action=f"{request.method} {getattr(route, 'path', request.url.path)}",
            journey_id=params.get("journey_id"),
            resource_id=params.get("resource_id"),
            outcome=problem.audit_as,
        )


class WakeRelayAfterWrites:
    """ASGI middleware: once a POST has succeeded, its transaction (and any outbox row it
    staged) has committed, so the outbox relay is woken to publish at once: the other
    services learn a journey within milliseconds of its 201, not a poll interval later."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        async def send_then_wake(message: Message) -> None:
            runtime = getattr(scope["app"].state, "runtime", None)  # None before the lifespan
            if message["type"] == "http.response.start" and message["status"] < 300 and runtime:
                runtime.relay.wake()
            await send(message)

        await self.app(scope, receive, send_then_wake)


def _install_request_context(app: FastAPI, service: str) -> None:
    app.add_middleware(RequestContext, service=service)


class RequestContext:
    """Per request: its id (X-Request-ID), its duration in the RED metric, and one access
    log line. (The server span comes from the FastAPI instrumentation.)

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs
    the rest of the app in another task and copies each response through a memory stream,
    a cost every request paid (see bench/referral_writes.py).
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.access = logging.getLogger(f"{service}.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        rid = new_request_id(request.headers.get("x-request-id"))
        started = time.perf_counter()
        status, ms = 0, 0.0

        async def send_with_id(message: Message) -> None:
            nonlocal status, ms
            if message["type"] == "http.response.start":
                status, ms = message["status"], (time.perf_counter() - started) * 1000
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                add_security_headers(headers, scope)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # The router has now put the matched route in the scope: its template, never
            # the path itself, is the label (a path holds ids: unbounded, and not for
            # metrics). An unmatched path is one label, "unmatched".
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUEST_DURATION.labels(
                method=request.method, route=route, status=str(status or 500)
            ).observe(time.perf_counter() - started)
        # Paths carry only pseudonymous ids and record uuids, never personal data.
        self.access.info(
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": status,
                "ms": round(ms, 1),
                "request_id": rid,
            },
        )


def _health_router() -> APIRouter:
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
