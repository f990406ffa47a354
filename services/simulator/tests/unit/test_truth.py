"""Scoring a detector's flags against the ground truth, count by count."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from journey_simulator.planner import plan_cohort
from journey_simulator.truth import document, score

TRUTH = {
    "truth": {
        "jny_a": {"injected": {"missing-episode": 2, "re-referral": 1}},
        "jny_b": {"injected": {}},
        "jny_c": {"injected": {"reasonable-grounds-overdue": 1}},
    }
}


def test_a_perfect_detector_scores_one_and_one() -> None:
    flags = [
        ("jny_a", "missing-episode"),
        ("jny_a", "missing-episode"),
        ("jny_a", "re-referral"),
        ("jny_c", "reasonable-grounds-overdue"),
    ]
    result = score(TRUTH, flags)
    assert (result["recall"], result["precision"]) == (1.0, 1.0)
    assert result["true_positives"] == 4
    assert result["false_negatives"] == result["false_positives"] == 0


def test_counts_are_matched_per_journey_and_rule() -> None:
    flags = [
        ("jny_a", "missing-episode"),  # one of two found
        ("jny_b", "no-first-contact"),  # not injected
        ("jny_c", "reasonable-grounds-overdue"),
        ("jny_c", "reasonable-grounds-overdue"),  # one more than injected
        ("jny_a", "re-referral"),
        ("jny_other", "re-referral"),  # another run's journey: ignored
    ]
    result = score(TRUTH, flags)
    assert result["true_positives"] == 3
    assert result["false_negatives"] == 1
    assert result["false_positives"] == 2
    assert result["ignored_flags"] == 1
    assert result["recall"] == pytest.approx(3 / 4)
    assert result["precision"] == pytest.approx(3 / 5)
    by_rule = result["by_rule"]
    assert by_rule["missing-episode"] == {
        "recall": 0.5,
        "precision": 1.0,
        "true_positives": 1,
        "false_negatives": 1,
        "false_positives": 0,
    }
    assert by_rule["no-first-contact"]["false_positives"] == 1
    assert by_rule["no-first-contact"]["precision"] == 0.0
    assert by_rule["reasonable-grounds-overdue"]["false_positives"] == 1


def test_no_flags_at_all_finds_nothing() -> None:
    result = score(TRUTH, [])
    assert result["recall"] == 0.0
    assert result["false_negatives"] == 4
    assert result["precision"] == 1.0  # nothing claimed, nothing wrong


def test_the_document_lists_every_driven_journey_with_its_injected_drop_offs() -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)
    cohort = plan_cohort(50, seed=3, start=start, end=end, run_tag="t")
    ids = {plan.key: f"jny_{plan.key}" for plan in cohort.journeys[:40]}  # 10 never driven
    truth = document(cohort, ids, run_tag="t", statistics={"requests": 1})
    assert truth["journeys"] == 40
    assert truth["final_tick"] == "2025-07-01T00:00:00Z"
    assert set(truth["truth"]) == set(ids.values())
    planned = {f"jny_{p.key}": dict(p.injected) for p in cohort.journeys[:40]}
    assert {k: v["injected"] for k, v in truth["truth"].items()} == planned
    # Scoring the truth against itself is perfect.
    flags = [
        (journey, rule)
        for journey, entry in truth["truth"].items()
        for rule, count in entry["injected"].items()
        for _ in range(count)
    ]
    assert Counter(r for _, r in flags)
    assert score(truth, flags)["recall"] == score(truth, flags)["precision"] == 1.0
