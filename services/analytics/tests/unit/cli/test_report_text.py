"""The report's text: aligned columns, suppressed counts never printed as zero."""

from __future__ import annotations

from analytics.cli.report_text import aligned, funnel_text
from analytics.domain.funnel import funnel
from analytics.domain.period import Period


def test_columns_align() -> None:
    text = aligned(["Step", "Journeys"], [["Referral", "1,234"], ["Charged", "9"]])
    assert text.splitlines() == [
        "Step      Journeys",
        "--------  --------",
        "Referral     1,234",
        "Charged          9",
    ]


def test_suppressed_counts_say_what_was_hidden_and_why() -> None:
    text = funnel_text(funnel({"referred": 1234, "charged": 3}, period=Period(), threshold=10))
    assert "<10" not in text  # reads as "under ten": never
    assert (
        next(line for line in text.splitlines() if line.startswith("Referral")).split()[-1]
        == "1,234"
    )
    charged = next(line for line in text.splitlines() if line.startswith("Charged"))
    assert charged.split()[1:3] == ["suppressed", "[1]"]
    assert charged.split()[-2:] == ["Crime", "recorded"]  # what it converts from
    notes = text.splitlines()[-2:]
    assert notes == [
        "[1] suppressed (fewer than 10 journeys, or would reveal one)",
        "[2] not published (a count it is worked out from is suppressed)",
    ]
