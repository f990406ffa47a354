"""The cohort planner: deterministic, calibrated, and injecting exactly what it says.

The strongest check is the last: the journey processor's batch oracle, run over each
planned journey's events as of the final tick, must flag exactly the drop-offs the plan
claims to inject, journey by journey and count by count.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from journey_platform.calendar import add_working_days, nation_of
from journey_simulator.calibration import TOP_NATIONALITIES, load
from journey_simulator.plan import REF, Cohort, JourneyPlan
from journey_simulator.planner import RULE_IDS, plan_cohort

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)
LARGE = 20_000


@cache
def large() -> Cohort:
    return plan_cohort(LARGE, seed=11, start=START, end=END, run_tag="unit")


def _fingerprint(cohort: Cohort) -> list[Any]:
    return [(j.key, j.profile, j.actions, dict(j.injected)) for j in cohort.journeys]


def test_the_same_seed_plans_the_same_cohort_and_another_seed_does_not() -> None:
    first = plan_cohort(300, seed=5, start=START, end=END, run_tag="t")
    again = plan_cohort(300, seed=5, start=START, end=END, run_tag="t")
    other = plan_cohort(300, seed=6, start=START, end=END, run_tag="t")
    assert _fingerprint(first) == _fingerprint(again)
    assert first.marginals == again.marginals
    assert _fingerprint(first) != _fingerprint(other)


@pytest.mark.parametrize(
    "name", ["age_group", "competent_authority", "rg_positive", "cg_positive", "nationality_top5"]
)
def test_marginals_are_within_two_points_of_the_published_figures(name: str) -> None:
    marginals = large().marginals
    target = load().marginal_targets()[name]
    for value, share in target.items():
        assert abs(marginals[name].get(value, 0.0) - share) <= 0.02, (name, value)


def test_the_targets_are_the_published_figures() -> None:
    targets = load().marginal_targets()
    assert targets["age_group"] == {"adult": 0.68, "child": 0.31, "unknown": 0.01}
    assert targets["competent_authority"]["ieca"] == pytest.approx(4335 / 19125)
    assert targets["rg_positive"] == {"positive": 0.53}
    assert targets["cg_positive"] == {"positive": 0.56}
    assert set(targets["nationality_top5"]) == set(TOP_NATIONALITIES)
    assert targets["nationality_top5"]["uk"] == pytest.approx(4441 / 19125)


def test_duty_to_notify_share_follows_reports_against_referrals() -> None:
    assert large().marginals["duty_to_notify_share"] == pytest.approx(
        5598 / (5598 + 19125), abs=0.01
    )


def test_every_rule_is_injected_in_a_default_sized_cohort() -> None:
    cohort = plan_cohort(2000, seed=1, start=START, end=END, run_tag="t")
    injected: Counter[str] = Counter()
    for journey in cohort.journeys:
        injected.update(journey.injected)
    assert set(RULE_IDS) == {rule for rule, count in injected.items() if count > 0}


def test_people_are_obviously_synthetic_and_tagged_with_the_run() -> None:
    cohort = plan_cohort(200, seed=2, start=START, end=END, run_tag="abc")
    for journey in cohort.journeys:
        for action in journey.actions:
            person = action.body.get("person")
            if person:
                assert person["given_name"].startswith("Synth")
                assert person["family_name"] == "Testpersonabc"
                assert person["date_of_birth"].endswith("-01")


def test_actions_are_in_recorded_order_within_the_window_and_never_ahead_of_recording() -> None:
    for journey in large().journeys[:3000]:
        times = [a.at for a in journey.actions]
        assert times == sorted(times)
        for action in journey.actions:
            assert START <= action.occurred <= action.at <= END


def _first(journey: JourneyPlan, event: str) -> Any:
    return next((a for a in journey.actions if a.event == event), None)


def test_reasonable_grounds_in_time_is_within_four_days_and_late_is_fifteen_working_days() -> None:
    """The margins: a decision either well inside the 5 working day target or well outside."""
    in_time = late = 0
    for journey in large().journeys:
        referral = _first(journey, "uk.nrm.referral.submitted")
        decision = _first(journey, "uk.nrm.reasonable-grounds.decided")
        if referral is None or decision is None or "{referral}" not in decision.path:
            continue  # no first decision (withdrawn first), only a re-referral's
        nation = nation_of(referral.body["region"])
        if journey.injected["reasonable-grounds-overdue"]:
            late += 1
            assert decision.occurred >= add_working_days(
                referral.occurred, 15, nation
            ) or decision.at >= add_working_days(referral.occurred, 10, nation)
        else:
            in_time += 1
            assert decision.at - referral.occurred <= timedelta(days=4, hours=4)
    assert in_time > 2 * late > 0


def test_contacts_in_support_are_at_most_twelve_days_apart_unless_a_gap_is_injected() -> None:
    for journey in large().journeys:
        contacts = [
            a.occurred
            for a in journey.actions
            if a.event in ("uk.nrm.support.first-contact-made", "uk.nrm.support.contact-recorded")
        ]
        gaps = [b - a for a, b in itertools.pairwise(contacts)]
        long = [g for g in gaps if g > timedelta(days=12)]
        assert all(g >= timedelta(days=20) for g in long)
        assert journey.injected["no-support-contact"] >= len(long) - 1  # the last may straddle


def test_expectations_whose_deadline_falls_after_the_end_are_not_injected() -> None:
    """Nothing injected for a deadline after the final tick: a journey referred late in the
    window cannot be overdue for a Conclusive Grounds decision yet."""
    for journey in large().journeys:
        decision = _first(journey, "uk.nrm.reasonable-grounds.decided")
        if decision is not None and decision.occurred + timedelta(days=365) > END:
            assert journey.injected["conclusive-grounds-pending"] == 0


# -- against the journey processor's oracle ----------------------------------------------------


def _events(journey: JourneyPlan) -> list[Any]:
    from journey_processor.core.events import JourneyEvent

    events, referrals = [], 0
    for index, action in enumerate(journey.actions):
        data = {
            k: v[len(REF) :] if isinstance(v, str) and v.startswith(REF) else v
            for k, v in action.body.items()
            if k != "person"
        }
        if action.event == "uk.nrm.referral.submitted":
            data["is_re_referral"] = referrals > 0  # the referral service works this out
            referrals += 1
        for name, _ in action.captures:  # ids the service mints, by the name they carry
            if name.startswith("episode"):
                data["episode_id"] = name
            if name == "detention":
                data["detention_id"] = name
        if action.event == "uk.nrm.immigration-detention.left":
            data["detention_id"] = "detention"
        events.append(
            JourneyEvent(f"{journey.key}-{index}", action.event, action.occurred, action.at, data)
        )
    return events


def test_the_processor_oracle_flags_exactly_what_the_plan_injects() -> None:
    oracle = pytest.importorskip("journey_processor.testing.oracle")
    from journey_platform.contracts import Contracts
    from journey_platform.settings import find_schemas_dir
    from journey_processor.core.rules.catalogue import load as load_rules

    rules = list(load_rules(Contracts.load(find_schemas_dir())).values())
    assert {rule.id for rule in rules} == set(RULE_IDS)
    cohort = plan_cohort(6000, seed=23, start=START, end=END, run_tag="oracle")
    wrong = []
    for journey in cohort.journeys:
        flagged = Counter(f.rule_id for f in oracle.evaluate(rules, _events(journey), cohort.end))
        if flagged != journey.injected:
            wrong.append((journey.key, dict(flagged), dict(journey.injected)))
    assert not wrong, wrong[:5]
