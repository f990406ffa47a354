"""RFC 9457 problem details for every 4xx and 5xx.

Validation errors name the fields and what is wrong with them, never the values sent
(a value in the wrong field may be exactly the personal data we must not echo). A 500
says only that something failed and which request it was; details go to the log. A
database that does not answer is a 503 with Retry-After: nothing was written (the
transaction never committed), and the same request, with its Idempotency-Key, may be
sent again after the pause.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journey_api.context import request_id
from journey_api.domain.errors import DomainError, StateConflict
from journey_api.field_rules import field_rule
from journey_platform.db import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://victim-journey.dev/problems/"
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
RETRY_AFTER_SECONDS = 2


class FieldError(BaseModel):
    field: str  # where, e.g. body.person.date_of_birth or query.limit
    message: str  # what is wrong, never quoting the value sent
    code: str  # pydantic's error type, e.g. missing, literal_error, value_error
    rule: str | None = Field(
        default=None, description="What the field allows: its values, format or bounds."
    )
    allowed: list[Any] | None = Field(default=None, description="An enum's allowed values.")


class ProblemDetails(BaseModel):
    """The body of every error response (RFC 9457), as the OpenAPI document shows it."""

    model_config = ConfigDict(extra="allow", title="Problem")  # kinds may add members

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[FieldError] = Field(default_factory=list)  # validation problems: which fields


# The content of every documented error response; `problem_schemas` supplies the $ref.
PROBLEM: dict[str, Any] = {
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
}


def problem_schemas() -> dict[str, Any]:
    """The JSON Schemas `PROBLEM` refers to, for the OpenAPI document's components."""
    schema = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"Problem": schema, **schema.pop("$defs", {})}


class Problem(Exception):
    """An error a client can act on; becomes a problem+json response.

    `headers` go on the response (Retry-After); `audit_as` names the outcome of the audit
    row a refusal leaves (every 403 is audited as "denied" without saying so)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
        audit_as: str | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.headers = dict(headers or {})
        self.audit_as = audit_as or ("denied" if status == 403 else None)
        self.extensions = extensions


# A service that learns journeys from others' events and knows it has some left to apply
# asks for a retry after this long (propagation takes well under it: learning.py).
CATCHING_UP_RETRY_SECONDS = 1
# How long after a referral's 201 a 404 about its journey may still change.
JUST_REFERRED_RETRY_SECONDS = 5


def not_found(what: str, *, catching_up: bool = False) -> Problem:
    # Also the answer for things that exist but the caller may not see: 404, never 403,
    # so that whether a journey exists does not leak. `catching_up` is about the service,
    # never the journey: every 404 gets the same Retry-After while it holds.
    headers = {"Retry-After": str(CATCHING_UP_RETRY_SECONDS)} if catching_up else {}
    return Problem(
        404, "Not found", f"No {what} here that you can see.", kind="not-found", headers=headers
    )


def conflict(detail: str) -> Problem:
    """The journey's state does not allow this record (yet); nothing was written."""
    return Problem(409, "Conflict with the journey's state", detail, kind="state-conflict")


# How each domain error is answered; one the table does not name is a 500 (a bug).
_DOMAIN_PROBLEMS: dict[type[DomainError], Callable[[str], Problem]] = {StateConflict: conflict}


def domain_problem(error: DomainError) -> Problem:
    """The problem+json that answers a domain rule's refusal."""
    for kind in type(error).__mro__:
        if kind in _DOMAIN_PROBLEMS:
            return _DOMAIN_PROBLEMS[kind](str(error))
    raise error


def problem_response(
    problem: Problem, request: Request, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        "request_id": request_id(),
        **problem.extensions,
    }
    sent = {**problem.headers, **(headers or {})}
    if problem.status == 401:
        sent["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=problem.status, media_type=MEDIA_TYPE, headers=sent)


def _field(location: Sequence[Any]) -> str:
    return ".".join(str(part) for part in location)


def invalid(errors: Sequence[Mapping[str, Any]]) -> Problem:
    """A 422 naming each invalid field and the rule it broke (`errors`: FieldError's)."""
    described = [
        f"{e['field']} ({e['rule']})" if e.get("rule") else e["field"]
        for e in sorted(errors, key=lambda e: str(e["field"]))
    ]
    return Problem(
        422,
        "Invalid request",
        f"Check these fields: {'; '.join(dict.fromkeys(described))}.",
        kind="validation",
        errors=list(errors),
    )


def invalid_field(location: Sequence[Any], message: str, code: str = "value_error") -> Problem:
    """A 422 about one field that a rule beyond its schema refused (`message` says which)."""
    return invalid([{"field": _field(location), "message": message, "code": code}])


def _field_error(document: Mapping[str, Any], path: str, method: str, error: Any) -> dict[str, Any]:
    # A parsing message may quote part of the input ("found `x` at 1"): keep its first clause.
    message = str(error["msg"])
    if str(error["type"]).endswith("_parsing"):
        message = message.split(",", 1)[0]
    described: dict[str, Any] = {
        "field": _field(error["loc"]),
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


# OpenAPI `responses` for the problems a write or a read may answer with.
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Idempotency-Key missing or malformed, or a body that cannot be parsed",
        **PROBLEM,
    },
    401: {"description": "No valid bearer token", **PROBLEM},
    403: {"description": "Scope or agency type does not allow this", **PROBLEM},
    404: {
        "description": "No such journey or resource visible to you. A journey referred a "
        "moment ago may not be known here yet: see the API's description.",
        "headers": {
            "Retry-After": {
                "description": "Present while the service knows it has journeys left to "
                "learn: retry after this many seconds",
                "schema": {"type": "integer"},
            }
        },
        **PROBLEM,
    },
    409: {
        "description": "The journey's state does not allow it, or a duplicate is in flight",
        **PROBLEM,
    },
    413: {"description": "The body is larger than the service takes", **PROBLEM},
    422: {
        "description": "Invalid body, a body nested too deep or too long, or Idempotency-Key "
        "reused with another body",
        **PROBLEM,
    },
    429: {
        "description": "Over this client's rate limit: retry after Retry-After seconds",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        },
        **PROBLEM,
    },
    503: {"description": "The database does not answer; retry after Retry-After", **PROBLEM},
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    **{k: v for k, v in WRITE_ERRORS.items() if k in (401, 403, 404, 422, 429)},
    400: {"description": "Malformed request, e.g. a cursor this API did not issue", **PROBLEM},
}
