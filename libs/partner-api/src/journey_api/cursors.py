"""Opaque page cursors: a position in a table, which clients hand back unread."""

from __future__ import annotations

import base64

from journey_api.problems import Problem


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        position = int(raw[1:]) if raw.startswith("p") else -1
        if not 0 <= position < 2**63:  # a bigint, as the position column is
            raise ValueError(cursor)
        return position
    except (ValueError, UnicodeDecodeError):
        raise Problem(
            400, "Bad request", "The cursor is not one this API issued.", kind="invalid-cursor"
        ) from None
