"""The retry schedule: exponential ceilings, full jitter under them, a hard 24-hour end,
and disabling only a long streak of failures."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from flags.webhooks.backoff import RetryPolicy
from flags.webhooks.settings import WebhookSettings

POLICY = RetryPolicy.of(WebhookSettings())
START = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    ceilings = [POLICY.ceiling(n).total_seconds() for n in range(1, 13)]
    assert ceilings[:6] == [5, 10, 20, 40, 80, 160]
    assert ceilings[-1] == 3600
    assert POLICY.ceiling(10_000) == timedelta(hours=1)


def test_each_wait_is_drawn_under_its_ceiling() -> None:
    rng = random.Random(7)
    for attempts in range(1, 20):
        waits = [
            POLICY.next_attempt(first_attempt=START, now=START, attempts=attempts, rng=rng)
            for _ in range(200)
        ]
        assert all(w is not None and START <= w < START + POLICY.ceiling(attempts) for w in waits)
        # full jitter: spread over the whole interval, not bunched at its top
        spread = {int((w - START) / POLICY.ceiling(attempts) * 4) for w in waits if w}
        assert spread == {0, 1, 2, 3}


def test_retrying_ends_at_the_horizon_with_a_last_try_there() -> None:
    horizon = START + timedelta(hours=24)
    near = horizon - timedelta(seconds=1)
    last = POLICY.next_attempt(first_attempt=START, now=near, attempts=40, rng=_top())
    assert last == horizon
    assert POLICY.next_attempt(first_attempt=START, now=horizon, attempts=41, rng=_top()) is None


def test_a_whole_schedule_spans_the_day_and_stops() -> None:
    rng, now, attempts = random.Random(1), START, 1
    while retry := POLICY.next_attempt(first_attempt=START, now=now, attempts=attempts, rng=rng):
        now, attempts = retry, attempts + 1
    assert now == START + timedelta(hours=24)
    assert 20 < attempts < 80  # about one an hour once the cap is reached


def test_only_a_long_streak_disables() -> None:
    long_ago = START - timedelta(hours=7)
    assert POLICY.should_disable(failure_streak=20, failing_since=long_ago, now=START)
    assert not POLICY.should_disable(failure_streak=19, failing_since=long_ago, now=START)
    # many journeys failing at once during a short outage is not a dead endpoint
    recent = START - timedelta(minutes=10)
    assert not POLICY.should_disable(failure_streak=500, failing_since=recent, now=START)


def _top() -> random.Random:
    class Top(random.Random):
        def random(self) -> float:
            return 0.999999

    return Top()
