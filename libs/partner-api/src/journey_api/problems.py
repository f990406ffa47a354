"""RFC 9457 problem details for every 4xx and 5xx.

Validation errors name the fields and what is wrong with them, never the values sent
(a value in the wrong field may be exactly the personal data we must not echo). A 500
says only that something failed and which request it was; details go to the log. A
database that does not answer is a 503 with Retry-After: nothing was written (the
transaction never committed), and the same request, with its Idempotency-Key, may be
sent again after the pause.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from journey_api.context import request_id
from journey_api.domain.errors import DomainError, StateConflict

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://victim-journey.dev/problems/"


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


def field_path(location: Sequence[Any]) -> str:
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
    return invalid([{"field": field_path(location), "message": message, "code": code}])


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
