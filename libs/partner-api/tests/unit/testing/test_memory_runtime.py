"""The in-memory Idempotency-Key answers as the PostgreSQL one does (tests/integration/
test_idempotency.py holds that one): the first response replayed, the work done once."""

from __future__ import annotations

from typing import Any, cast

import asyncpg
import orjson
import pytest

from journey_api.adapters.memory import MemoryRecordStore
from journey_api.idempotency import Claim
from journey_api.problems import Problem
from journey_api.testing.memory import MemoryIdempotency, MemoryPool

POOL = cast(asyncpg.Pool, MemoryPool())


async def test_a_key_runs_its_work_once_and_replays_the_first_answer() -> None:
    runs: list[int] = []

    async def work(_: object, claim: Claim) -> tuple[int, dict[str, Any]]:
        runs.append(1)
        return 200, {"run": len(runs)}

    once = MemoryIdempotency(MemoryRecordStore())
    answers = [
        await once.respond_once(POOL, client_id="c", key="k", fingerprint="f", work=work)
        for _ in range(2)
    ]
    assert [(a.status_code, orjson.loads(a.body)) for a in answers] == [(200, {"run": 1})] * 2
    assert runs == [1]
    other = await once.respond_once(POOL, client_id="d", key="k", fingerprint="f", work=work)
    assert orjson.loads(other.body) == {"run": 2}, "keys are per client"


@pytest.mark.parametrize(
    ("key", "fingerprint", "status"), [(None, "f", 400), ("x" * 256, "f", 400), ("k", "g", 422)]
)
async def test_a_missing_long_or_reused_key_is_refused(
    key: str | None, fingerprint: str, status: int
) -> None:
    async def work(_: object, claim: Claim) -> tuple[int, dict[str, Any]]:
        return 200, {}

    once = MemoryIdempotency(MemoryRecordStore())
    await once.respond_once(POOL, client_id="c", key="k", fingerprint="f", work=work)
    with pytest.raises(Problem) as refused:
        await once.respond_once(POOL, client_id="c", key=key, fingerprint=fingerprint, work=work)
    assert refused.value.status == status
