"""The processor's step function against the batch oracle, on generated journeys.

Hypothesis generates journeys from the event types the catalogue reads, with backdated
recordings, duplicates, clock ticks, shuffled arrival and restarts (the state saved and
loaded in the middle); the flags the step function ends up publishing must be the
oracle's, and so must the outcome record. "Now" is the latest tick or the latest
recorded_time, whichever is later, on both sides.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journey_platform.contracts import Contracts
from journey_platform.envelope import encode
from journey_platform.settings import find_schemas_dir
from journey_processor.core.events import JourneyEvent
from journey_processor.core.outcomes import Happened, summarise
from journey_processor.core.outputs import outputs
from journey_processor.core.rulebook import RuleBook, matches_of
from journey_processor.core.rules.catalogue import load
from journey_processor.core.state import RETRACTED, JourneyState
from journey_processor.testing.oracle import evaluate

CONTRACTS = Contracts.load(find_schemas_dir())
RULES = load(CONTRACTS)
JOURNEY = "jny_" + "a" * 26
BOOK = RuleBook.of(RULES.values())
# Late December: Christmas and New Year bank holidays fall inside working-day windows.
START = datetime(2024, 12, 20, 9, 0, tzinfo=UTC)

KINDS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "referral.submitted": st.fixed_dictionaries(
        {
            "region": st.sampled_from(["london", "scotland", "wales", "northern_ireland"]),
            "is_re_referral": st.booleans(),
        }
    ),
    "duty-to-notify.reported": st.fixed_dictionaries({"region": st.sampled_from(["london"])}),
    "reasonable-grounds.decided": st.fixed_dictionaries(
        {"outcome": st.sampled_from(["positive", "negative"])}
    ),
    "conclusive-grounds.decided": st.fixed_dictionaries(
        {"outcome": st.sampled_from(["positive", "negative"])}
    ),
    "reconsideration.requested": st.just({}),
    "referral.withdrawn": st.just({}),
    "support.accepted": st.just({}),
    "support.declined": st.just({}),
    "support.first-contact-made": st.just({}),
    "support.contact-recorded": st.just({}),
    "support.ended": st.just({}),
    "missing-episode.reported": st.fixed_dictionaries({"episode_id": st.sampled_from("ab")}),
    "missing-episode.ended": st.fixed_dictionaries({"episode_id": st.sampled_from("ab")}),
    "recovery-needs-assessment.completed": st.just({}),
    "move-on-plan.agreed": st.just({}),
    "legal-representation.secured": st.just({}),
    "police-referral.made": st.just({}),
    "crime.recorded": st.just({}),
    "investigation.opened": st.just({}),
    "investigation.closed": st.just({"outcome": "no_further_action_other"}),
    "victim-contact.made": st.just({}),
    "victim-engagement.changed": st.fixed_dictionaries(
        {"status": st.sampled_from(["withdrew", "re_engaged"])}
    ),
    "immigration-detention.entered": st.fixed_dictionaries({"detention_id": st.sampled_from("xy")}),
    "immigration-detention.left": st.fixed_dictionaries({"detention_id": st.sampled_from("xy")}),
    "charge.decided": st.just({"decision": "charged"}),
    "trial.concluded": st.fixed_dictionaries({"outcome": st.sampled_from(["convicted", "other"])}),
}


FAMILIES = {
    rule_id: {t for m in matches_of(rule) for t in m.event_types} for rule_id, rule in RULES.items()
}


@st.composite
def journey_events(draw: st.DrawFn) -> list[JourneyEvent]:
    # A few kinds per journey, in a window of days to a year, on a grid of whole hours or
    # days, so that rules interact, ties happen and deadlines are hit exactly.
    # Mostly the kinds one or two rules read, so that every rule's edges get exercised.
    rules = draw(st.lists(st.sampled_from(sorted(RULES)), min_size=1, max_size=2))
    kinds = sorted({t.removeprefix("uk.nrm.") for r in rules for t in FAMILIES[r]} & set(KINDS))
    kinds += draw(st.lists(st.sampled_from(sorted(KINDS)), max_size=2))
    # Ids as agencies send them (UUIDs, stored as 16 bytes) or not (stored as they are).
    uuids = draw(st.booleans())
    span = draw(st.sampled_from([3, 20, 60, 420]))
    step = draw(st.sampled_from([1, 24]))
    count = draw(st.integers(min_value=1, max_value=16))
    events = []
    for n in range(count):
        kind = draw(st.sampled_from(kinds))
        hours = step * draw(st.integers(min_value=0, max_value=span * 24 // step))
        time = START + timedelta(hours=hours)
        delay = draw(st.one_of(st.just(0), st.integers(min_value=0, max_value=24 * 90)))
        high = draw(st.integers(0, 2**120 - 1))  # random order, unique by the low byte
        event_id = str(uuid.UUID(int=high << 8 | n)) if uuids else f"e{n}"
        recorded = time + timedelta(hours=delay)
        events.append(JourneyEvent(event_id, f"uk.nrm.{kind}", time, recorded, draw(KINDS[kind])))
    return events


Step = tuple[str, Any]  # ("event", JourneyEvent) | ("tick", datetime) | ("restart", None)


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[JourneyEvent], list[Step]]:
    events = draw(journey_events())
    duplicates = draw(st.lists(st.sampled_from(events), max_size=3))
    ticks = draw(st.lists(st.integers(min_value=0, max_value=24 * 520), min_size=1, max_size=6))
    ticks.append(draw(st.sampled_from([24 * 5, 24 * 30, 24 * 100, 24 * 520])))
    steps: list[Step] = [("event", e) for e in events + duplicates]
    steps += [("tick", START + timedelta(hours=h)) for h in ticks]
    steps += [("restart", None)] * draw(st.integers(min_value=0, max_value=2))
    return events, draw(st.permutations(steps))


def run(steps: list[Step]) -> JourneyState:
    state = JourneyState(JOURNEY)
    for kind, value in steps:
        if kind == "restart":
            state = JourneyState.loads(state.dumps())
            continue
        changes = state.apply(value, BOOK) if kind == "event" else state.tick(value, BOOK)
        for published in outputs(state, changes, None):
            encode(published, CONTRACTS)  # what the processor publishes keeps its contract
    return state


def oracle_flags(events: list[JourneyEvent], now: datetime) -> list[tuple[Any, ...]]:
    flags = evaluate(RULES.values(), events, now)
    return sorted((f.rule_id, f.started_by, f.due_at, f.resolved_at, f.resolution) for f in flags)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrivals())
def test_the_step_function_ends_where_the_oracle_does(
    case: tuple[list[JourneyEvent], list[Step]],
) -> None:
    events, steps = case
    now = max(value for kind, value in steps if kind == "tick")
    state = run(steps)
    assert state.flags() == oracle_flags(events, now)

    open_rules = [f.rule_id for f in evaluate(RULES.values(), events, now) if f.open]
    expected = summarise([Happened(e.id, e.type, e.time, e.data) for e in events], open_rules)
    assert {k: v for k, v in (state.outcome or {}).items() if k != "flags_raised"} == expected


def test_evidence_known_in_time_but_seen_late_retracts_the_flag() -> None:
    referral = JourneyEvent("r", "uk.nrm.referral.submitted", START, START, {"region": "london"})
    # Decided and recorded on day 2, but the processor sees a tick past the deadline first.
    decided = START + timedelta(days=2)
    decision = JourneyEvent(
        "d", "uk.nrm.reasonable-grounds.decided", decided, decided, {"outcome": "positive"}
    )
    state = JourneyState(JOURNEY)
    state.apply(referral, BOOK)
    raised = state.tick(START + timedelta(days=30), BOOK).dropoffs
    assert [(d.kind, d.rule.id) for d in raised] == [("raised", "reasonable-grounds-overdue")]
    [retraction] = state.apply(decision, BOOK).dropoffs
    assert (retraction.kind, retraction.resolution) == ("resolved", RETRACTED)
    assert retraction.flag_id == raised[0].flag_id
    assert state.flags() == oracle_flags([referral, decision], START + timedelta(days=30)) == []


def test_a_duplicate_changes_nothing_and_ids_are_stable_across_a_rerun() -> None:
    referral = JourneyEvent("r", "uk.nrm.referral.submitted", START, START, {"region": "london"})
    first, second = JourneyState(JOURNEY), JourneyState(JOURNEY)
    first.apply(referral, BOOK)
    assert first.apply(referral, BOOK).duplicate
    second.apply(referral, BOOK)
    later = START + timedelta(days=30)
    assert [d.event_id for d in first.tick(later, BOOK).dropoffs] == [
        d.event_id for d in second.tick(later, BOOK).dropoffs
    ]
