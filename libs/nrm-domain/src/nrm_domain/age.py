"""Age bands: the events' coarse stand-in for a date of birth, fine enough for analysis and
too coarse to identify anyone. The referral service derives them; the simulator predicts
them to know what its referrals will publish."""

from __future__ import annotations

from datetime import date

BANDS = (
    (0, 11, "0-11"),
    (12, 15, "12-15"),
    (16, 17, "16-17"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
)


def age_on(born: date, on: date) -> int:
    """Age in whole years on `on`: a birthday counts from its day."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_band(born: date, on: date) -> str:
    age = age_on(born, on)
    for low, high, band in BANDS:
        if low <= age <= high:
            return band
    return "65+" if age >= 65 else "unknown"
