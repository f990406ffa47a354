"""The simulator's offline log exercises the whole catalogue: every drop-off rule starts
somewhere in it, and through the batch oracle every rule fires in a 1,000-journey log."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir
from journey_processor.core.events import JourneyEvent
from journey_processor.core.rules.catalogue import load
from journey_processor.testing.oracle import evaluate
from journey_simulator.eventlog import generate

CONTRACTS = Contracts.load(find_schemas_dir())
RULES = list(load(CONTRACTS).values())
EVENTS = generate(
    1000, seed=20250106, start=datetime(2025, 1, 6, 9, 0, tzinfo=UTC), contracts=CONTRACTS
)


def test_every_rule_is_started_somewhere_in_the_log() -> None:
    for rule in RULES:
        starts = rule.after or rule.raised_by
        assert starts is not None
        assert any(starts.matches(e.type, e.data) for e in EVENTS), rule.id


def test_every_rule_fires_in_a_thousand_journeys() -> None:
    journeys: dict[str, dict[str, JourneyEvent]] = defaultdict(dict)
    for e in EVENTS:
        journeys[e.subject][e.id] = JourneyEvent(e.id, e.type, e.time, e.recorded_time, e.data)
    now = max(e.recorded_time for e in EVENTS)
    fired: Counter[str] = Counter()
    for log in journeys.values():
        fired.update(flag.rule_id for flag in evaluate(RULES, log.values(), now))
    assert {rule.id for rule in RULES} == set(fired), fired
