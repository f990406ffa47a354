"""Opaque page cursors: where a page ended, which clients hand back unread."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TypeVar

from journey_api.problems import Problem

T = TypeVar("T")


def opaque(text: str) -> str:
    """A cursor holding `text`, URL-safe."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def opened(cursor: str, parse: Callable[[str], T]) -> T:
    """What `opaque` put in `cursor`, read by `parse` (which raises ValueError on anything
    it does not take); a 400 problem if this API did not issue it."""
    try:
        return parse(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        raise Problem(
            400, "Bad request", "The cursor is not one this API issued.", kind="invalid-cursor"
        ) from None


def _position(text: str) -> int:
    position = int(text[1:]) if text.startswith("p") else -1
    if not 0 <= position < 2**63:  # a bigint, as the position column is
        raise ValueError(text)
    return position


def encode_cursor(position: int) -> str:
    return opaque(f"p{position}")


def decode_cursor(cursor: str | None) -> int:
    return opened(cursor, _position) if cursor else 0
