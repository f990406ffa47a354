"""The ground truth a simulation writes, and how a detector's flags score against it.

The truth lists every simulated journey by the pseudonymous `journey_id` the referral
service returned, with the drop-offs (catalogue rule ids, with counts) its plan injected,
judged as of the final clock tick (`final_tick`). Journeys with none are listed too, so
that a flag on them counts as a false positive.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from journey_simulator.plan import Cohort


def document(
    cohort: Cohort,
    journey_ids: Mapping[str, str],
    *,
    run_tag: str,
    statistics: Mapping[str, Any],
) -> dict[str, Any]:
    """The truth for a driven cohort; `journey_ids` maps each plan's key to its journey."""
    journeys = {}
    for plan in cohort.journeys:
        journey_id = journey_ids.get(plan.key)
        if journey_id is None:
            continue  # never reached the APIs (only if the run was cut short)
        journeys[journey_id] = {
            "person": plan.key,
            "kind": plan.kind,
            "injected": dict(sorted(plan.injected.items())),
        }
    return {
        "seed": cohort.seed,
        "journeys": len(journeys),
        "run_tag": run_tag,
        "window": {"start": _iso(cohort.start), "end": _iso(cohort.end)},
        "final_tick": _iso(cohort.end),
        "truth": journeys,
        "marginals": cohort.marginals,
        "statistics": dict(statistics),
    }


def write(truth: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(truth, indent=1, sort_keys=False) + "\n")
    temporary.replace(path)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def score(truth: Mapping[str, Any], flags: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Recall and precision of `flags` against the truth, count-aware per (journey, rule).

    `flags` holds one (journey_id, rule_id) per non-retracted flag the processor raised,
    open or resolved. A journey with two injected missing episodes and one flag scores one
    true positive and one false negative. Flags on journeys the truth does not list (other
    runs sharing the topics) are left out and counted as `ignored_flags`.
    """
    known: Mapping[str, Any] = truth["truth"]
    expected: Counter[tuple[str, str]] = Counter()
    for journey_id, entry in known.items():
        for rule_id, count in entry["injected"].items():
            expected[(journey_id, rule_id)] += int(count)
    raised: Counter[tuple[str, str]] = Counter()
    ignored = 0
    for journey_id, rule_id in flags:
        if journey_id in known:
            raised[(journey_id, rule_id)] += 1
        else:
            ignored += 1
    by_rule: dict[str, Counter[str]] = {}
    for key in expected.keys() | raised.keys():
        counts = by_rule.setdefault(key[1], Counter())
        counts["true_positives"] += min(expected[key], raised[key])
        counts["false_negatives"] += max(expected[key] - raised[key], 0)
        counts["false_positives"] += max(raised[key] - expected[key], 0)
    total: Counter[str] = Counter()
    for counts in by_rule.values():
        total.update(counts)
    tp, fn, fp = (total[k] for k in ("true_positives", "false_negatives", "false_positives"))
    return {
        "recall": _ratio(tp, tp + fn),
        "precision": _ratio(tp, tp + fp),
        "true_positives": tp,
        "false_negatives": fn,
        "false_positives": fp,
        "ignored_flags": ignored,
        "by_rule": {
            rule: {
                "recall": _ratio(c["true_positives"], c["true_positives"] + c["false_negatives"]),
                "precision": _ratio(
                    c["true_positives"], c["true_positives"] + c["false_positives"]
                ),
                "true_positives": c["true_positives"],
                "false_negatives": c["false_negatives"],
                "false_positives": c["false_positives"],
            }
            for rule, c in sorted(by_rule.items())
        },
    }
