"""ASGI middleware every partner service runs: the request's context (id, metric, access
log) and the outbox relay's wake-up after a write."""

from __future__ import annotations

import logging
import time

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journey_api.context import new_request_id
from journey_api.headers import add_security_headers
from journey_platform.metrics import HTTP_REQUEST_DURATION


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
