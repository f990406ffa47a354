"""Limits on what a request body may be, checked before any route or model sees it.

A body is at most `max_bytes` (413), whether it declares a Content-Length or streams in
chunks; a JSON body may nest only so deep and hold only so many items or characters in
one array or string (422). Partners send small coded records; anything far larger is a
mistake or an attack, and should cost a refusal, not a parse.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journey_api.problems import Problem, problem_response

MAX_DEPTH = 16  # of nested objects and arrays; the deepest partner record nests 4
MAX_ITEMS = 1_000  # in one array or object
MAX_STRING = 10_000  # characters in one string or member name
METHODS_WITH_BODIES = frozenset({"POST", "PUT", "PATCH"})


def too_large(max_bytes: int) -> Problem:
    return Problem(
        413,
        "Body too large",
        f"A request body may be at most {max_bytes} bytes.",
        kind="body-too-large",
        max_bytes=max_bytes,
    )


def _too_complex(rule: str, detail: str) -> Problem:
    return Problem(422, "Body too complex", detail, kind="json-limits", rule=rule)


def _too_deep() -> Problem:
    return _too_complex("max-depth", f"Objects and arrays may nest at most {MAX_DEPTH} deep.")


def json_limit_broken(document: Any) -> Problem | None:
    """The first JSON limit `document` breaks, as the problem to answer, or None."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                return _too_complex(
                    "max-string-length", f"A string may hold at most {MAX_STRING} characters."
                )
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            return _too_deep()
        if len(value) > MAX_ITEMS:
            return _too_complex(
                "max-items", f"An array or object may hold at most {MAX_ITEMS} items."
            )
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children)
    return None


def _parsed_as_json(scope: Scope) -> bool:
    """Whether FastAPI will parse the body as JSON: a JSON media type, or none at all."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type = value.split(b";", 1)[0].strip().lower()
            return bool(media_type == b"application/json" or media_type.endswith(b"+json"))
    return True


class BodyLimits:
    """ASGI middleware: reads a request's body up to the limit, refuses it if it breaks a
    rule, and otherwise hands the app the same body, already read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS_WITH_BODIES:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
        except ClientDisconnect:
            return  # nobody left to answer
        problem = too_large(self.max_bytes) if body is None else self._check_json(scope, body)
        if problem is not None:
            await problem_response(problem, Request(scope))(scope, receive, send)
            return
        assert body is not None
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:  # the body is spent: from here on, wait for the disconnect
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is known to be over the limit."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                return None  # refused before a byte of it is read
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _check_json(scope: Scope, body: bytes) -> Problem | None:
        if not body or not _parsed_as_json(scope):
            return None
        try:
            document = json.loads(body)
        except RecursionError:  # nested past what the parser itself can take
            return _too_deep()
        except ValueError:
            return None  # not JSON: the route answers that in its own words
        return json_limit_broken(document)
