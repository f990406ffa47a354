"""The stream processor's incremental outcome fold against `summarise`, the declarative
outcome over a journey's whole event set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from journey_processor.core.codec import Ids, Reader, Writer
from journey_processor.core.outcome_fold import OutcomeFold
from journey_processor.core.outcomes import OUTCOME_EVENT_TYPES, Happened, record, summarise

START = datetime(2024, 12, 20, 9, 0, tzinfo=UTC)
PROFILE = {"region": "wales", "age_group": "adult", "exploitation_types": ["labour"]}
DATA = st.fixed_dictionaries(
    {},
    optional={
        "outcome": st.sampled_from(["positive", "negative", "convicted", "referred_to_cps"]),
        "decision": st.sampled_from(["charged", "no_further_action"]),
        "region": st.sampled_from(["london", "scotland"]),
        "age_group": st.just("child"),
    },
)


@st.composite
def happenings(draw: st.DrawFn) -> list[Happened]:
    # Few types, few distinct times and ids drawn from a small pool: ties on time happen.
    types = draw(st.lists(st.sampled_from(sorted(OUTCOME_EVENT_TYPES)), min_size=1, max_size=5))
    count = draw(st.integers(min_value=0, max_value=14))
    events = {}
    for _ in range(count):
        event_id = draw(st.sampled_from([f"e{n:02}" for n in range(30)]))
        hours = draw(st.integers(min_value=0, max_value=6)) * draw(st.sampled_from([1, 24, 700]))
        data = draw(DATA) | draw(st.sampled_from([{}, PROFILE]))
        when = START + timedelta(hours=hours)
        events[event_id] = Happened(event_id, draw(st.sampled_from(types)), when, data)
    return list(events.values())


@settings(max_examples=500, deadline=None)
@given(happenings(), st.data(), st.lists(st.sampled_from("abc")))
def test_the_fold_in_any_order_gives_the_summary_of_the_whole_set(
    events: list[Happened], data: st.DataObject, open_flags: list[str]
) -> None:
    fold = OutcomeFold()
    for happened in data.draw(st.permutations(events)):
        fold.fold(happened.type, happened.time.timestamp(), happened.id, happened.data)
    ids = Ids(e.id for e in events)
    base = 1_734_000_000  # as the state writes it: whole seconds from a base
    stored = OutcomeFold.decode(fold.encode(Writer(ids, base)), Reader(list(ids), base))
    expected = summarise(events, open_flags)
    assert record(fold.facts(), open_flags) == expected
    assert record(stored.facts(), open_flags) == expected
