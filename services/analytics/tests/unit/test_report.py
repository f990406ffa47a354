"""The report's text: aligned columns, suppressed counts never printed as zero."""

from __future__ import annotations

from analytics.funnel import funnel
from analytics.period import Period
from analytics.report import aligned, funnel_text


def test_columns_align() -> None:
    text = aligned(["Step", "Journeys"], [["Referral", "1,234"], ["Charged", "9"]])
    assert text.splitlines() == [
        "Step      Journeys",
        "--------  --------",
        "Referral     1,234",
        "Charged          9",
    ]


def test_suppressed_counts_print_as_below_the_threshold() -> None:
    text = funnel_text(funnel({"referred": 1234, "charged": 3}, period=Period(), threshold=10))
    assert (
        next(line for line in text.splitlines() if line.startswith("Referral")).split()[-1]
        == "1,234"
    )
    charged = next(line for line in text.splitlines() if line.startswith("Charged"))
    assert charged.split()[1] == "<10"
    assert charged.split()[-2:] == ["Crime", "recorded"]  # what it converts from
