"""The analytics API's answers as text tables for a terminal. A hidden value never prints
as a number: it shows its note's mark, and the note under the table says why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class Notes:
    """The notes under a table: one per distinct reason a value is hidden."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self.labels = labels
        self.used: dict[str, int] = {}

    def cell(self, value: Any, field: str) -> str:
        if value is None:
            label = self.labels.get(field, "suppressed")
            number = self.used.setdefault(label, len(self.used) + 1)
            return f"{label.split(' (')[0]} [{number}]"
        if isinstance(value, float):
            return f"{value:,.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    def text(self) -> str:
        return "\n".join(f"[{number}] {label}" for label, number in self.used.items())

    def under(self, table: str) -> str:
        return f"{table}\n{self.text()}" if self.used else table


def aligned(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text columns: the first left-aligned, the rest right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        parts = [
            first.ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)),
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _percent(value: float | None, notes: Notes) -> str:
    return notes.cell(None, "conversion") if value is None else f"{value:.1%}"


def funnel_text(answer: Mapping[str, Any]) -> str:
    notes = Notes(answer.get("labels", {}))
    labels = {s["step"]: s["label"] for s in answer["steps"]}
    rows = [
        [
            s["label"],
            notes.cell(s["count"], "count"),
            "" if s["conversion_from"] is None else _percent(s["conversion"], notes),
            labels.get(s.get("conversion_from") or "", ""),
        ]
        for s in answer["steps"]
    ]
    return notes.under(aligned(["Step", "Journeys", "Conversion", "Of"], rows))


def dropoffs_text(answer: Mapping[str, Any], limit: int | None = None) -> str:
    notes = Notes(answer.get("labels", {}))
    fields = ("raised", "open", "resolved", "journeys", "median_days_to_resolution")
    rows = [
        [r["label"], *(notes.cell(r[f], f) for f in fields), _median_n(r)]
        for r in [*answer["rows"][:limit], answer["total"]]
    ]
    headers = ["Group", "Raised", "Open", "Resolved", "Journeys", "Median days", "Over"]
    text = aligned(headers, rows)
    journeys = notes.cell(answer["journeys_in_period"], "journeys_in_period")
    return notes.under(f"{text}\n(journeys in the period: {journeys})")


def _median_n(row: Mapping[str, Any]) -> str:
    """How many resolved flags a median is over: exact, or the band the table allows."""
    low, high = row.get("median_n_low"), row.get("median_n_high")
    if low is None:
        return ""
    if low == high:
        return f"{low:,}"
    return f"{low:,} or more" if high is None else f"{low:,} to {high:,}"


def time_to_event_text(answer: Mapping[str, Any]) -> str:
    notes = Notes(answer.get("labels", {}))
    lines = [
        answer["label"],
        f"  journeys at risk {notes.cell(answer['at_risk'], 'at_risk')}, "
        f"events {notes.cell(answer['events'], 'events')}, "
        f"censored {notes.cell(answer['censored'], 'censored')}",
        f"  median days: {notes.cell(answer['median_days'], 'median_days')}",
    ]
    return notes.under("\n".join(lines))
