"""Time to event, with censoring: how long journeys wait, counting those still waiting.

A plain median of decided cases would flatter the system: the longest waits are the
ones not decided yet. Kaplan-Meier counts every journey that started the wait; one
without the end event is censored (still waiting, as far as we know) when its journey
ended otherwise (`final.ended_at`, e.g. a withdrawal) or else at the data's as-of time:
the latest outcome time the sink has seen, which is the latest time (event time or
clock tick) the journey processor had reached when it last published. Durations the
records put below zero (a decision dated before its referral) count as zero. Support is
measured from the first time it was entered to when it ended, if the journey is out of
support now (the outcome's `support_ended`); a journey back in support is still waiting.

Published: at risk (journeys that started the wait), events and censored (suppressed with
their total, as any table), the median only over at least `threshold` journeys and
`threshold` events, and the survival curve only while at least `threshold` are at risk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analytics.domain.disclosure import Relation, enough, hidden_count, hidden_statistic, protect
from analytics.domain.period import Period

DAY = 86400.0


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    start: str  # milestone
    end: str  # milestone


MEASURES = {
    m.name: m
    for m in (
        Measure(
            "referral_to_reasonable_grounds",
            "Referral to Reasonable Grounds decision",
            "referred",
            "reasonable_grounds_decided",
        ),
        Measure(
            "reasonable_grounds_to_conclusive_grounds",
            "Positive Reasonable Grounds to Conclusive Grounds decision",
            "reasonable_grounds_positive",
            "conclusive_grounds_decided",
        ),
        Measure(
            "support_entry_to_exit",
            "Support entered to support ended",
            "support_entered",
            "support_ended",
        ),
    )
}


@dataclass(frozen=True)
class Fitted:
    at_risk: int
    events: int
    median_days: float | None  # None when survival never falls to a half
    curve: list[tuple[float, float, int]]  # (days, survival after that time, at risk before)


def kaplan_meier(durations: Sequence[float], observed: Sequence[bool]) -> Fitted:
    """The Kaplan-Meier estimate over these durations (days) and end-event flags."""
    if not durations:
        return Fitted(0, 0, None, [])
    from lifelines import KaplanMeierFitter  # heavy: loaded when first needed

    fitter = KaplanMeierFitter().fit(list(durations), [bool(o) for o in observed])
    median = float(fitter.median_survival_time_)
    table = fitter.event_table
    survival = fitter.survival_function_.iloc[:, 0]
    curve = [
        (float(t), float(survival.loc[t]), int(table.loc[t, "at_risk"]))
        for t in table.index
        if table.loc[t, "observed"] > 0
    ]
    return Fitted(
        at_risk=len(durations),
        events=sum(1 for o in observed if o),
        median_days=None if math.isinf(median) else median,
        curve=curve,
    )


def observations(
    rows: Sequence[tuple[datetime, datetime | None, datetime | None]], as_of: datetime
) -> tuple[list[float], list[bool]]:
    """(start, end or None, journey ended at or None) -> durations in days and event flags."""
    durations, observed = [], []
    for start, end, ended in rows:
        stop = end if end is not None else min(ended or as_of, as_of)
        durations.append(max(0.0, (stop - start).total_seconds() / DAY))
        observed.append(end is not None)
    return durations, observed


NOT_REACHED = "not reached (fewer than half have come to the end of the wait)"
# No wait is zero by construction: every count here can be small for a period.
STRUCTURAL_ZEROS: frozenset[str] = frozenset()

Key = tuple[str, str, str]


def key(measure: Measure, field: str) -> Key:
    return ("time-to-event", measure.name, field)


def declare(measure: Measure, fitted: Fitted) -> tuple[dict[Key, int], list[Relation[Key]]]:
    """A wait's counts: at risk = events + censored."""
    cells = {
        key(measure, "at_risk"): fitted.at_risk,
        key(measure, "events"): fitted.events,
        key(measure, "censored"): fitted.at_risk - fitted.events,
    }
    parts = [key(measure, "events"), key(measure, "censored")]
    return cells, [Relation(key(measure, "at_risk"), parts)]


def render(
    measure: Measure,
    fitted: Fitted,
    shown: Mapping[Key, int | None],
    *,
    period: Period,
    threshold: int,
) -> dict[str, Any]:
    """The time-to-event JSON from the published cells."""
    counts = {f: shown[key(measure, f)] for f in ("at_risk", "events", "censored")}
    publishable = counts["at_risk"] is not None and counts["events"] is not None
    median = fitted.median_days if publishable and enough(fitted.events, threshold) else None
    curve: list[dict[str, float]] = []
    # The curve's drops add up to the events: no curve where the events count is hidden.
    if publishable:
        curve.append({"days": 0.0, "survival": 1.0})
        for days, survival, at_risk in fitted.curve:
            if at_risk < threshold:
                break
            curve.append({"days": round(days, 2), "survival": round(survival, 4)})
    return {
        "measure": measure.name,
        "label": measure.label,
        "period": period.json(),
        "threshold": threshold,
        **counts,
        "median_days": None if median is None else round(median, 2),
        "curve": curve,
        "labels": {
            **{f: hidden_count(threshold, "journeys") for f in counts},
            # A null median beside published counts: fewer than half have reached the end.
            "median_days": NOT_REACHED
            if publishable and fitted.median_days is None
            else hidden_statistic(threshold, "journeys or events"),
        },
    }


def summary(measure: Measure, fitted: Fitted, *, period: Period, threshold: int) -> dict[str, Any]:
    """One wait on its own (disclosure-controlled here)."""
    cells, relations = declare(measure, fitted)
    shown = protect(cells, relations, threshold)
    return render(measure, fitted, shown, period=period, threshold=threshold)
