"""The request id, set once per request and read wherever a log line or audit row needs it."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("request_id", default="")


def request_id() -> str:
    return _request_id.get()


def new_request_id(offered: str | None) -> str:
    """Accept a well-formed caller-supplied id (for tracing across agencies), else mint one."""
    value = (
        offered
        if offered and len(offered) <= 64 and offered.isascii() and offered.isprintable()
        else str(uuid.uuid4())
    )
    _request_id.set(value)
    return value
