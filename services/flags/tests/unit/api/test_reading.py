"""Cursors are opaque, round-trip, and refuse what this API did not issue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from flags.api.reading import decode_cursor, encode_cursor
from journey_api.problems import Problem


def test_a_cursor_round_trips() -> None:
    due, flag = datetime(2025, 3, 10, 9, tzinfo=UTC), uuid.uuid4()
    after = decode_cursor(encode_cursor(due, flag))
    assert after is not None and (after.due_at, after.flag_id) == (due, flag)


@pytest.mark.parametrize("cursor", ["x", "cDEy", "MjAyNS0wMy0xMFQwOTowMA", "%%%"])
def test_a_cursor_this_api_did_not_issue_is_a_400(cursor: str) -> None:
    with pytest.raises(Problem) as refused:
        decode_cursor(cursor)
    assert refused.value.status == 400
