"""What-if replays: a hand-worked example, and no difference when nothing changes."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.domain.whatif import RuleDifference, answer, differences, flags_of, one_way, replay
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_platform.settings import find_schemas_dir
from journey_processor.core.events import JourneyEvent
from journey_processor.core.processor import JourneyProcessor
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import Within, load
from journey_processor.testing.replay import replay_order
from journey_simulator.eventlog import generate

CONTRACTS = Contracts.load(find_schemas_dir())
DEPLOYED = RuleBook.of(load(CONTRACTS).values())
TEN_DAYS = RuleBook.of(
    load(CONTRACTS, overrides={"reasonable-grounds-overdue": {"working_days": 10}}).values()
)
MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # no bank holiday in March 2025


def event(journey: str, event_type: str, time: datetime) -> Event:
    body: dict[str, Any] = dict(CONTRACTS.schema(event_type, 1).document["examples"][0])
    return Event(
        type=event_type,
        subject=journey,
        time=time,
        data=body,
        source="tests",
        recorded_by="test-agency",
        recorded_time=time,
        id=str(uuid.uuid4()),
    )


def journey(name: str, decided_after: timedelta) -> list[Event]:
    return [
        event(name, "uk.nrm.referral.submitted", MONDAY),
        event(name, "uk.nrm.reasonable-grounds.decided", MONDAY + decided_after),
    ]


def hourly(until: datetime) -> list[datetime]:
    return [MONDAY + timedelta(hours=h) for h in range(int((until - MONDAY) / timedelta(hours=1)))]


def test_a_longer_reasonable_grounds_deadline_worked_by_hand() -> None:
    # Referred on Monday 3 March. Five working days: due Monday 10 March; ten: Monday 17.
    # j-7: decided on 12 March (7 working days): flagged today, not under ten days.
    # j-15: decided on 24 March (15 working days): flagged either way, a week later.
    # j-2: decided on 5 March: never flagged.
    history = [
        *journey("j-7", timedelta(days=9)),
        *journey("j-15", timedelta(days=21)),
        *journey("j-2", timedelta(days=2)),
    ]
    ticks = hourly(datetime(2025, 3, 31, tzinfo=UTC))  # before any 30- or 60-day rule
    actual = replay(history, ticks, DEPLOYED)
    assert {(j, rule) for j, rule, _ in actual} == {
        ("j-7", "reasonable-grounds-overdue"),
        ("j-15", "reasonable-grounds-overdue"),
    }
    assert {state.due_at for state in actual.values()} == {datetime(2025, 3, 10, 9, tzinfo=UTC)}

    rules = differences(actual, replay(history, ticks, TEN_DAYS))
    overdue = rules.pop("reasonable-grounds-overdue")
    assert overdue.counts == {
        "actual": 2, "whatif": 1, "added": 0, "removed": 1, "earlier": 0, "later": 1,
        "whatif_resolved": 1,
    }  # fmt: skip
    assert overdue.journeys == {"j-7", "j-15"}
    assert rules == {}

    # Two flags and two journeys: all under ten, all hidden.
    published = answer({"reasonable-grounds-overdue": overdue}, threshold=10)
    assert published["rules"][0]["actual"] is None and published["journeys_affected"] is None
    assert published["labels"]["added"] == "suppressed (fewer than 10 flags, or would reveal one)"


def live(history: list[Event], partitions: int) -> list[Event]:
    """What the live processor published: journeys spread over partitions by key, the
    clock ticking every partition, events in recorded order (as the engines run)."""
    core = JourneyProcessor(DEPLOYED, lambda _partition, _key: None)
    for partition in range(partitions):
        core.assign(partition, [])
    items, _ = replay_order(history, every=timedelta(hours=1), partitions=partitions)
    published: list[Event] = []
    for item in items:
        if isinstance(item, Event):
            partition = hash(item.subject) % partitions
            data = JourneyEvent(item.id, item.type, item.time, item.recorded_time, item.data)
            published += core.apply(partition, item.subject, data, None)
        else:
            published += core.tick(*item)
    return published


def test_the_deployed_thresholds_replay_to_exactly_what_was_flagged() -> None:
    history = generate(120, seed=20250303, start=MONDAY, contracts=CONTRACTS)
    flagged = flags_of(live(history, partitions=3))
    assert len(flagged) > 50  # the simulated log raises plenty: the test has something to hold
    _, last = replay_order(history, every=timedelta(hours=1), partitions=1)
    ticks = [
        MONDAY + timedelta(hours=h) for h in range(int((last - MONDAY) / timedelta(hours=1)) + 1)
    ]
    ticks = [t for t in ticks if t >= min(e.time for e in history)]
    rules = differences(flagged, replay(history, ticks, DEPLOYED))
    changed: defaultdict[str, int] = defaultdict(int)
    for rule_id, found in rules.items():
        for name in ("added", "removed", "earlier", "later"):
            changed[f"{rule_id}:{name}"] += found.counts[name]
        assert found.counts["actual"] == found.counts["whatif"], rule_id
    assert sum(changed.values()) == 0, {k: v for k, v in changed.items() if v}


def test_a_deadline_moved_one_way_cannot_make_some_differences() -> None:
    assert one_way(Within(working_days=5), Within(working_days=10)) == {"added", "earlier"}
    assert one_way(Within(days=30), Within(days=14)) == {"removed", "later"}
    assert one_way(Within(hours=48), Within(hours=48)) == {"added", "removed", "earlier", "later"}
    assert one_way(Within(hours=48), Within(days=3)) == frozenset()  # units not compared


def test_zeros_by_construction_are_shown_and_free_the_counts_they_protected() -> None:
    # The Reasonable Grounds deadline at 10 working days on a 2,000-journey cohort.
    counts = {"actual": 612, "whatif": 352, "added": 0, "removed": 260, "earlier": 0,
              "later": 352, "whatif_resolved": 321}  # fmt: skip
    rules = {"reasonable-grounds-overdue": RuleDifference(counts, {"journey-1"})}
    lengthened = {"reasonable-grounds-overdue": frozenset({"added", "earlier"})}

    plain = answer(rules, threshold=10)["rules"][0]
    known = answer(rules, threshold=10, structural=lengthened)["rules"][0]

    # Without: the added 0 is hidden, and 260 removed with it (it would give the 0 away).
    assert (plain["added"], plain["removed"]) == (None, None)
    assert {k: known[k] for k in counts} == counts
    # A declared zero that is not zero is hidden like any small count.
    rules["reasonable-grounds-overdue"].counts["added"] = 3
    wrong = answer(rules, threshold=10, structural=lengthened)["rules"][0]
    assert wrong["added"] is None and wrong["earlier"] == 0
