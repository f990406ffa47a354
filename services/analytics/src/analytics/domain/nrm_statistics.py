"""The Home Office's quarterly NRM tables, measured live, beside the published figures.

What the system measured end to end for one quarter, in the published layouts
(analytics.domain.nrm_layout), under the same disclosure control as every other answer: every
table's cells and relations go through one suppression (each referral table adds up to
the quarter's referrals, which they share; a decisions table to its decisions), and the
median days to a Conclusive Grounds decision is published over at least the threshold
of decisions, its n banded where the count is hidden. Beside each row: the published
share for the year (or the nearest year published), and the difference in points, with
whether it is within the simulator's calibration tolerance or the sampling error of a
quarter's few hundred journeys, whichever is wider (see analytics.domain.nrm_layout.TOLERANCE).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analytics.domain.disclosure import Published, Relation, hidden_count, hidden_statistic
from analytics.domain.dropoffs import label
from analytics.domain.nrm_layout import (
    FIRST_RESPONDER_GROUPS,
    LABELS,
    MEDIAN_NOTE,
    NAMED_NATIONALITIES,
    NOTES,
    REFERRAL_TABLES,
    STRUCTURAL_ZEROS,
    TABLES,
    TOLERANCE,
    Quarter,
    Table,
    Z,
    published_figure,
    published_shares,
)
from analytics.domain.period import Period

Key = tuple[str, str]
TOTAL = "all"
REFERRALS_TOTAL: Key = ("referrals", TOTAL)
MEDIAN = "median_days_referral_to_conclusive_grounds"
SHARE_HIDDEN = "not published (a count it is worked out from is suppressed)"


@dataclass(frozen=True)
class Referral:
    """The coded profile of one referral in the quarter."""

    first_responder_type: str | None
    age_group: str | None
    competent_authority: str | None
    exploitation_types: Sequence[str]
    nationality_group: str | None
    gender: str | None


@dataclass(frozen=True)
class Measured:
    referrals: list[Referral]
    decisions: dict[str, tuple[int, int]]  # table -> (positive, negative) first decisions
    duty_to_notify_reports: int
    days_to_conclusive_grounds: list[float]  # for decisions made in the quarter


def group_of(table: str, referral: Referral) -> str:
    """The row of a referral table that a referral counts in."""
    if table == "referrals_by_first_responder":
        return FIRST_RESPONDER_GROUPS.get(referral.first_responder_type or "", "ngo_and_other")
    if table == "referrals_by_age":
        return referral.age_group or "unknown"
    if table == "referrals_by_competent_authority":
        return referral.competent_authority or "sca"
    if table == "referrals_by_exploitation_type":
        types = list(referral.exploitation_types) or ["unknown"]
        return types[0] if len(types) == 1 else "multiple"
    if table == "referrals_by_nationality":
        found = referral.nationality_group
        return found if found in NAMED_NATIONALITIES else "other"
    if table == "referrals_by_gender":
        return referral.gender if referral.gender in ("male", "female") else "other_or_unknown"
    raise ValueError(f"{table!r} is not a referral table")


def key(table: Table, group: str) -> Key:
    if group == TOTAL:
        return REFERRALS_TOTAL if table.name in REFERRAL_TABLES else (table.name, TOTAL)
    return (table.name, group)


def declare(measured: Measured) -> tuple[dict[Key, int], list[Relation[Key]]]:
    """Every table's cells, and each table's rows adding up to its total."""
    cells: dict[Key, int] = {REFERRALS_TOTAL: len(measured.referrals)}
    relations: list[Relation[Key]] = []
    for table in TABLES:
        if table.name in REFERRAL_TABLES:
            counts = Counter(group_of(table.name, r) for r in measured.referrals)
            counts[TOTAL] = len(measured.referrals)
        elif table.name == "duty_to_notify_reports":
            counts = Counter({TOTAL: measured.duty_to_notify_reports})
        else:
            positive, negative = measured.decisions[table.name]
            counts = Counter(
                {"positive": positive, "negative": negative, TOTAL: positive + negative}
            )
        cells |= {key(table, g): counts[g] for g in (*table.groups, TOTAL)}
        if table.groups:
            relations.append(Relation(key(table, TOTAL), [key(table, g) for g in table.groups]))
    return cells, relations


def render(measured: Measured, quarter: Quarter, *, threshold: int) -> dict[str, Any]:
    """The JSON answer (disclosure-controlled here)."""
    cells, relations = declare(measured)
    published = Published.of(cells, relations, threshold, STRUCTURAL_ZEROS)
    tables = [_table(table, published.shown, quarter) for table in TABLES]
    median = _median(measured, published, quarter, threshold)
    return {
        "quarter": str(quarter),
        "period": Period(quarter.first_day, quarter.last_day).json(),
        "threshold": threshold,
        "tolerance": TOLERANCE,
        "tables": tables,
        MEDIAN: median,
        "labels": {
            "count": hidden_count(threshold, "referrals, decisions or reports"),
            "share": SHARE_HIDDEN,
            "days": hidden_statistic(threshold, "decisions"),
        },
        "differ": [
            f"{t['name']}:{row['group']}"
            for t in tables
            for row in t["rows"]
            if row["within_tolerance"] is False
        ],
    }


def _table(table: Table, shown: Mapping[Key, int | None], quarter: Quarter) -> dict[str, Any]:
    found = published_shares(table.name, quarter.year)
    year, shares = found if found else (None, {})
    total = shown[key(table, TOTAL)]
    rows = []
    for group in table.groups:
        count = shown[key(table, group)]
        share = None if count is None or not total else round(count / total, 4)
        expected = shares.get(group)
        difference = None if share is None or expected is None else round(share - expected, 4)
        noise = (
            None
            if expected is None or not total
            else Z * math.sqrt(expected * (1 - expected) / total)
        )
        allowed = None if noise is None else max(TOLERANCE, noise)
        rows.append(
            {
                "group": group,
                "label": LABELS.get(group) or label(group),
                "count": count,
                "share": share,
                "published_share": expected,
                "difference": difference,
                "sampling_error": None if noise is None else round(noise, 4),
                "within_tolerance": None
                if difference is None or allowed is None
                else abs(difference) <= allowed,
            }
        )
    annual = _annual(table.name, quarter.year)
    return {
        "name": table.name,
        "title": table.title,
        "published_year": year if rows else (annual[0] if annual else None),
        "rows": rows,
        "total": total,
        "published_annual_total": annual[1] if annual else None,
        "note": NOTES.get(table.name),
    }


def _annual(table: str, year: int) -> tuple[int, Any] | None:
    figure = {
        "reasonable_grounds_decisions": "rg_decisions",
        "conclusive_grounds_decisions": "cg_decisions",
        "duty_to_notify_reports": "duty_to_notify_reports",
    }.get(table, "referrals")
    return published_figure(figure, year)


def _median(
    measured: Measured, published: Published[Key], quarter: Quarter, threshold: int
) -> dict[str, Any]:
    days = measured.days_to_conclusive_grounds
    decisions: Key = ("conclusive_grounds_decisions", TOTAL)
    enough = len(days) >= threshold and len(days) == sum(measured.decisions[decisions[0]])
    band = published.band(decisions) if enough else None
    value = round(statistics.median(days), 1) if band else None
    found = published_figure("median_days_referral_to_cg", quarter.year)
    return {
        "days": value,
        "n_low": band[0] if band else None,
        "n_high": band[1] if band else None,
        "published_days": found[1] if found else None,
        "published_year": found[0] if found else None,
        "difference_days": None if value is None or not found else round(value - found[1], 1),
        "note": MEDIAN_NOTE,
    }
