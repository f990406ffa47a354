"""The analytics sink that stops on an unexpected error says why in its log and exits as a
failure, so a supervisor restarts it rather than taking it for a clean end."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator

import pytest

import analytics.adapters.sink
import journey_platform.telemetry
from analytics.__main__ import _sink
from analytics.config import AnalyticsSettings


async def _fails(settings: AnalyticsSettings, stop: asyncio.Event) -> None:
    raise RuntimeError("CommitFailedError after a rebalance")


@pytest.fixture
def own_logging() -> Iterator[None]:
    """The sink configures the root logger (JSON on stderr): put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_sink_that_fails_exits_as_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], own_logging: None
) -> None:
    monkeypatch.setattr(analytics.adapters.sink, "run_sink", _fails)
    monkeypatch.setattr(journey_platform.telemetry, "start_telemetry", lambda *a, **k: None)
    settings = AnalyticsSettings(database_url="postgresql://unused/analytics")

    assert _sink(settings) == os.EX_SOFTWARE

    said = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    stopped = [s for s in said if s["message"] == "sink stopped"]
    assert len(stopped) == 1 and stopped[0]["level"] == "CRITICAL"
    assert "CommitFailedError after a rebalance" in stopped[0]["exception"]
