"""Replaying a log: the clock's ticks cover it on every partition, in time order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_platform.settings import find_schemas_dir
from journey_processor.testing.replay import replay_order, ticks
from journey_simulator.eventlog import generate

CONTRACTS = Contracts.load(find_schemas_dir())
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
EVENTS = generate(50, seed=20250106, start=START, contracts=CONTRACTS)


def test_ticks_cover_the_log_on_every_partition_in_time_order() -> None:
    every = timedelta(hours=6)
    pairs = ticks(EVENTS, every=every, partitions=6)
    moments = [moment for _, moment in pairs]
    assert moments == sorted(moments)
    assert moments[0] == min(e.time for e in EVENTS)
    assert moments[-1] >= max(e.recorded_time for e in EVENTS) + timedelta(days=400)
    per_partition: dict[int, list[datetime]] = defaultdict(list)
    for partition, moment in pairs:
        per_partition[partition].append(moment)
    assert sorted(per_partition) == list(range(6))
    for times in per_partition.values():
        assert times == moments[::6]
        assert all(later - earlier == every for earlier, later in pairwise(times))


def test_ticks_stop_at_the_time_asked_for() -> None:
    until = START + timedelta(days=10)
    pairs = ticks(EVENTS, every=timedelta(days=1), partitions=2, until=until)
    assert pairs[-2:] == [(0, pairs[-1][1]), (1, pairs[-1][1])]
    assert until <= pairs[-1][1] < until + timedelta(days=1)
    assert ticks([], every=timedelta(days=1), partitions=2) == []


def test_replay_puts_each_event_after_the_ticks_before_its_recording() -> None:
    items, last = replay_order(EVENTS, every=timedelta(days=1), partitions=2)
    assert len(items) == len(EVENTS) + len(ticks(EVENTS, every=timedelta(days=1), partitions=2))
    moments = [item.recorded_time if isinstance(item, Event) else item[1] for item in items]
    assert moments == sorted(moments)
    assert last >= max(e.recorded_time for e in EVENTS)
