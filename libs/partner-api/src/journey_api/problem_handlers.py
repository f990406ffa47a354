"""How a partner API answers every error as problem+json (problems.py): the handlers for
its own problems, domain errors, validation, Starlette's HTTP errors, a database that does
not answer, and the middleware that turns anything else into one logged 500."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journey_api.domain.errors import DomainError
from journey_api.field_rules import field_rule
from journey_api.problems import Problem, domain_problem, field_path, invalid, problem_response
from journey_platform.db import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
RETRY_AFTER_SECONDS = 2


def _field_error(document: Mapping[str, Any], path: str, method: str, error: Any) -> dict[str, Any]:
    # A parsing message may quote part of the input ("found `x` at 1"): keep its first clause.
    message = str(error["msg"])
    if str(error["type"]).endswith("_parsing"):
        message = message.split(",", 1)[0]
    described: dict[str, Any] = {
        "field": field_path(error["loc"]),
        "message": message,
        "code": error["type"],
    }
    rule = field_rule(document, path, method, error["loc"])
    if rule is not None:
        described["rule"] = rule.text
        if rule.allowed is not None:
            described["allowed"] = rule.allowed
    return described


def _allowed_methods(request: Request) -> str:
    """The methods some route serves at this path. Starlette's own Allow names only the
    first route whose path matched, so GET and POST on one path, as two routes, say POST."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in HTTP_METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    )


OnProblem = Callable[[Request, Problem], Awaitable[None]]


def install_problem_handlers(app: FastAPI, on_problem: OnProblem | None = None) -> None:
    """Answer every error as problem+json; `on_problem` sees each Problem first (to audit)."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, problem: Problem) -> JSONResponse:
        if on_problem is not None:
            await on_problem(request, problem)
        return problem_response(problem, request)

    @app.exception_handler(DomainError)
    async def _refused(request: Request, error: DomainError) -> JSONResponse:
        return await _problem(request, domain_problem(error))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        route = request.scope.get("route")
        document = request.app.openapi()
        fields = [
            _field_error(document, getattr(route, "path_format", ""), request.method, e)
            for e in error.errors()
        ]
        return problem_response(invalid(fields), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        titles = {
            404: "Not found",
            405: "Method not allowed",
            401: "Unauthorised",
            403: "Forbidden",
            400: "Bad request",
        }
        title = titles.get(error.status_code, "Request failed")
        detail = error.detail if isinstance(error.detail, str) else title
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return problem_response(Problem(error.status_code, title, detail), request, headers)

    async def _unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning(
            "database unavailable", extra={"path": request.url.path, "error": type(error).__name__}
        )
        problem = Problem(
            503,
            "Service unavailable",
            f"The service's database does not answer; nothing was written. Send the same "
            f"request again (with the same Idempotency-Key) after {RETRY_AFTER_SECONDS} s.",
            kind="unavailable",
        )
        return problem_response(problem, request, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _unavailable)

    app.add_middleware(UnhandledErrors)  # the innermost middleware: added first


class UnhandledErrors:
    """ASGI middleware: an error nothing else handled becomes a 500 problem, logged once.

    Not `@app.exception_handler(Exception)`: Starlette calls that handler and then raises
    the error again for the server, so uvicorn logged the same traceback a second time.
    Here the error stops: it is logged, with its request id, and answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception as error:  # every error, so that none reaches the server's log
            request = Request(scope)
            log.error("unhandled error", exc_info=error, extra={"path": request.url.path})
            if started:  # too late for a problem: the client sees the response cut short
                return
            problem = Problem(
                500,
                "Internal error",
                "The request failed on our side; quote the request_id when reporting it.",
                kind="internal",
            )
            await problem_response(problem, request)(scope, receive, send)
