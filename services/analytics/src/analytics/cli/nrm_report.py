"""`journey report nrm-statistics`: the quarterly tables as text, live beside published.

Shares are compared, not counts: a simulated cohort is not the country's size. A row
outside the tolerance is marked "differs", and the end says which rows those are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analytics.cli.report_text import Notes, aligned


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _points(value: float | None) -> str:
    return "" if value is None else f"{value * 100:+.1f} pts"


def table_text(table: Mapping[str, Any], notes: Notes) -> str:
    year = table["published_year"]
    rows = [
        [
            row["label"],
            notes.cell(row["count"], "count"),
            _share(row["share"])
            if row["count"] is None or row["share"] is not None
            else notes.cell(None, "share"),
            _share(row["published_share"]),
            _points(row["difference"]),
            {True: "", False: "differs", None: ""}[row["within_tolerance"]],
        ]
        for row in table["rows"]
    ]
    annual = table["published_annual_total"]
    rows.append(
        ["Total", notes.cell(table["total"], "count"), "", "", "",
         "" if annual is None else f"{year}: {annual:,}"]
    )  # fmt: skip
    headers = ["", "Live", "Share", f"Published {year or ''}".strip(), "Difference", ""]
    note = f"\n  note: {table['note']}" if table.get("note") else ""
    return f"{table['title']}\n" + aligned(headers, rows) + note


def nrm_text(answer: Mapping[str, Any]) -> str:
    notes = Notes(answer["labels"])
    parts = [
        f"NRM statistics {answer['quarter']} ({answer['period']['from']} to "
        f"{answer['period']['to']}): live, beside the Home Office's published shares "
        f"(a difference counts over {answer['tolerance'] * 100:g} points and the sampling error)",
        *(table_text(t, notes) for t in answer["tables"]),
    ]
    median = answer["median_days_referral_to_conclusive_grounds"]
    days = notes.cell(median["days"], "days")
    over = "" if median["n_low"] is None else _over(median["n_low"], median["n_high"])
    published = (
        "" if median["published_days"] is None
        else f"; published {median['published_year']}: {median['published_days']:,} days"
        + ("" if median["difference_days"] is None else f" ({median['difference_days']:+,.1f})")
    )  # fmt: skip
    parts.append(
        f"Median days from referral to a Conclusive Grounds decision: {days}{over}{published}"
    )
    differ = answer["differ"]
    parts.append(
        "Outside the tolerance: " + ", ".join(differ)
        if differ
        else "Every compared share is within the tolerance."
    )
    return notes.under("\n\n".join(parts))


def _over(low: int, high: int | None) -> str:
    if low == high:
        return f" (over {low:,} decisions)"
    return (
        f" (over {low:,} or more decisions)"
        if high is None
        else f" (over {low:,} to {high:,} decisions)"
    )
