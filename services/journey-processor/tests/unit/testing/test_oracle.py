"""The batch oracle on hand-made journeys whose right answers are worked out by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir
from journey_processor.core.events import JourneyEvent
from journey_processor.core.rules.catalogue import load
from journey_processor.testing.oracle import Flag, evaluate

RULES = load(Contracts.load(find_schemas_dir()))
MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # no bank holiday for weeks either side
_ids = itertools.count()


def at(days: float) -> datetime:
    return MONDAY + timedelta(days=days)


def event(kind: str, day: float, recorded: float | None = None, **data: Any) -> JourneyEvent:
    return JourneyEvent(
        f"e{next(_ids)}",
        f"uk.nrm.{kind}",
        at(day),
        at(day if recorded is None else recorded),
        {"region": "london", **data},
    )


def flags(rule_id: str, *log: JourneyEvent, now: float = 400) -> list[Flag]:
    return evaluate([RULES[rule_id]], log, at(now))


REFERRAL = "referral.submitted"
RG = "reasonable-grounds.decided"


def test_reasonable_grounds_due_after_five_working_days() -> None:
    referral = event(REFERRAL, 0)  # Monday: due the next Monday
    assert flags("reasonable-grounds-overdue", referral, event(RG, 4, outcome="positive")) == []
    [late] = flags("reasonable-grounds-overdue", referral, event(RG, 9, outcome="positive"))
    assert (late.due_at, late.resolved_at, late.resolution) == (at(7), at(9), "arrived_late")
    [still_open] = flags("reasonable-grounds-overdue", referral, now=8)
    assert still_open.open and still_open.due_at == at(7)
    assert flags("reasonable-grounds-overdue", referral, now=6) == [], "not due yet"


def test_a_backdated_decision_recorded_after_the_deadline_resolves_the_flag() -> None:
    referral = event(REFERRAL, 0)
    backdated = event(RG, 3, recorded=10, outcome="negative")
    [flag] = flags("reasonable-grounds-overdue", referral, backdated)
    assert (flag.resolved_at, flag.resolution) == (at(10), "met_in_time_recorded_late")


def test_withdrawal_before_the_deadline_calls_the_expectation_off() -> None:
    log = (event(REFERRAL, 0), event("referral.withdrawn", 2, reason="left_uk"))
    assert flags("reasonable-grounds-overdue", *log) == []


def test_duplicates_do_not_double_flags() -> None:
    referral = event(REFERRAL, 0)
    assert len(flags("reasonable-grounds-overdue", referral, referral, now=30)) == 1


def test_a_missing_episode_clears_only_when_that_episode_ends() -> None:
    missing = event("missing-episode.reported", 1, episode_id="a")
    [found] = flags("missing-episode", missing, event("missing-episode.ended", 2, episode_id="a"))
    assert (found.resolution, found.resolved_at) == ("cleared", at(2))
    [gone] = flags("missing-episode", missing, event("missing-episode.ended", 2, episode_id="b"))
    assert gone.open


def test_detention_is_flagged_while_a_positive_decision_stands_or_a_decision_is_pending() -> None:
    detained = event("immigration-detention.entered", 5, detention_id="d")
    pending = (event(REFERRAL, 0), detained)
    positive = (event(REFERRAL, 0), event(RG, 2, outcome="positive"), detained)
    negative = (event(REFERRAL, 0), event(RG, 2, outcome="negative"), detained)
    assert len(flags("detained-while-decision-stands-or-pending", *pending)) == 1
    assert len(flags("detained-while-decision-stands-or-pending", *positive)) == 1
    assert flags("detained-while-decision-stands-or-pending", *negative) == []
    assert flags("detained-while-decision-stands-or-pending", detained) == [], "no referral"


def test_the_move_on_cliff_edge() -> None:
    positive = event("conclusive-grounds.decided", 0, outcome="positive")
    assert len(flags("move-on-cliff-edge", positive, event("support.ended", 20))) == 1
    planned = event("move-on-plan.agreed", 10, support_days=45, destination="other")
    assert flags("move-on-cliff-edge", positive, planned, event("support.ended", 20)) == []
    assert flags("move-on-cliff-edge", positive, event("support.ended", 50)) == []


def test_each_support_contact_restarts_the_fourteen_days() -> None:
    first = event("support.first-contact-made", 0)
    contacts = [event("support.contact-recorded", day) for day in (10, 20)]
    [gap] = flags("no-support-contact", first, *contacts, now=40)
    assert gap.started_by == contacts[-1].id and gap.due_at == at(34) and gap.open
    ended = event("support.ended", 25)
    assert flags("no-support-contact", first, *contacts, ended, now=40) == []


def test_recording_an_event_moves_the_journeys_clock_to_its_recorded_time() -> None:
    # The latest tick is day 1, but an agency recorded the report on day 3: it is day 3.
    reported = event("missing-episode.reported", 2, recorded=3, episode_id="a")
    [flag] = flags("missing-episode", reported, now=1)
    assert flag.open and flag.due_at == at(2)
    referral = event(REFERRAL, 0)  # due day 7, and a late decision recorded on day 9
    [late] = flags("reasonable-grounds-overdue", referral, event(RG, 9, outcome="positive"), now=1)
    assert (late.resolved_at, late.resolution) == (at(9), "arrived_late")


def test_the_result_does_not_depend_on_the_order_of_the_log() -> None:
    log = [
        event(REFERRAL, 0),
        event(RG, 9, outcome="negative"),
        event("reconsideration.requested", 45, decision="reasonable_grounds"),
        event("missing-episode.reported", 3, episode_id="x"),
    ]
    expected = evaluate(RULES.values(), log, at(60))
    assert expected, "the log raises flags"
    for order in itertools.permutations(log):
        assert evaluate(RULES.values(), order, at(60)) == expected
