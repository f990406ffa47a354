"""Kaplan-Meier time to event on a fixture small enough to work by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.domain.period import Period
from analytics.domain.survival import MEASURES, Fitted, kaplan_meier, observations, summary

# Ten journeys waiting for a decision: days waited, and whether the decision came (1) or
# the journey is still waiting, censored (0).
DAYS = [2, 3, 3, 5, 6, 8, 9, 10, 12, 15]
DECIDED = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1]
# By hand, S(t) = product over event times u <= t of (1 - d_u / n_u):
#   t=2:  n=10, d=1 -> S = 9/10                    = 0.9
#   t=3:  n=9,  d=1 -> S = 0.9 * 8/9               = 0.8    (and one censored at 3)
#   t=5:  n=7,  d=1 -> S = 0.8 * 6/7               = 0.685714
#   t=6:  n=6,  d=1 -> S = 0.685714 * 5/6          = 0.571429
#   t=8:  censored (n drops to 4)
#   t=9:  n=4,  d=1 -> S = 0.571429 * 3/4          = 0.428571  <- first S <= 0.5
#   t=10: n=3,  d=1 -> S = 0.428571 * 2/3          = 0.285714
#   t=12: censored
#   t=15: n=1,  d=1 -> S = 0
# The median survival time is the first t with S(t) <= 0.5: 9 days. (The naive median of
# the decided journeys alone, [2, 3, 5, 6, 9, 10, 15], would be 6.)
BY_HAND = {2: 0.9, 3: 0.8, 5: 0.685714, 6: 0.571429, 9: 0.428571, 10: 0.285714, 15: 0.0}


def test_kaplan_meier_matches_the_hand_calculation() -> None:
    fitted = kaplan_meier([float(d) for d in DAYS], [bool(o) for o in DECIDED])
    assert fitted.median_days == 9.0
    assert fitted.at_risk == 10 and fitted.events == 7
    assert {days: round(s, 6) for days, s, _ in fitted.curve} == pytest.approx(BY_HAND)
    assert [n for _, _, n in fitted.curve] == [10, 9, 7, 6, 4, 3, 1]


def test_a_median_never_reached_is_none() -> None:
    fitted = kaplan_meier([1.0, 2.0, 3.0, 4.0], [True, False, False, False])
    assert fitted.median_days is None


def test_the_curve_stops_while_fewer_than_the_threshold_are_at_risk() -> None:
    fitted = kaplan_meier([float(d) for d in DAYS], [bool(o) for o in DECIDED])
    answer = summary(
        MEASURES["referral_to_reasonable_grounds"], fitted, period=Period(), threshold=3
    )
    assert answer["at_risk"] == 10 and answer["events"] == 7 and answer["censored"] == 3
    assert answer["median_days"] == 9.0
    assert [p["days"] for p in answer["curve"]] == [0.0, 2.0, 3.0, 5.0, 6.0, 9.0, 10.0]
    assert answer["curve"][0] == {"days": 0.0, "survival": 1.0}


def test_small_counts_hide_their_partner_and_the_median() -> None:
    fitted = kaplan_meier([float(d) for d in DAYS], [bool(o) for o in DECIDED])
    answer = summary(
        MEASURES["referral_to_reasonable_grounds"], fitted, period=Period(), threshold=5
    )
    # 3 censored is below 5; at_risk = events + censored would give it away, so events go.
    assert (answer["at_risk"], answer["events"], answer["censored"]) == (10, None, None)
    assert answer["median_days"] is None
    # The curve's drops would add up to the hidden events count: no curve either.
    assert answer["curve"] == []


def test_too_few_journeys_publish_nothing() -> None:
    fitted = kaplan_meier([1.0, 2.0], [True, True])
    answer = summary(MEASURES["support_entry_to_exit"], fitted, period=Period(), threshold=10)
    assert answer["at_risk"] is None and answer["median_days"] is None
    assert answer["curve"] == []
    empty = summary(MEASURES["support_entry_to_exit"], Fitted(0, 0, None, []), period=Period(),
                    threshold=10)  # fmt: skip
    assert empty["at_risk"] is None and empty["curve"] == []


def test_waits_without_an_end_are_censored_when_the_journey_ended_or_at_the_as_of_time() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    as_of = start + timedelta(days=30)
    durations, observed = observations(
        [
            (start, start + timedelta(days=4), None),  # decided after 4 days
            (start, None, start + timedelta(days=10)),  # withdrawn on day 10
            (start, None, None),  # still waiting
            (start, start - timedelta(days=1), None),  # records disagree: counts as 0
        ],
        as_of,
    )
    assert durations == [4.0, 10.0, 30.0, 0.0]
    assert observed == [True, False, False, True]
