"""Durations in calendar time and in working days.

Working days skip weekends and the bank holidays of the nation the journey is in
(Scotland and Northern Ireland keep their own), from the `holidays` package.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

import holidays

# The event vocabulary's regions, by the nation whose bank holidays apply.
NATION_OF_REGION = {"scotland": "SCT", "wales": "WLS", "northern_ireland": "NIR"}
ENGLAND = "ENG"


def nation_of(region: str | None) -> str:
    return NATION_OF_REGION.get(region or "", ENGLAND)


@cache
def _bank_holidays(nation: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv=nation, years=year)


def is_working_day(day: date, nation: str) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(nation, day.year)


def add_working_days(start: datetime, count: int, nation: str) -> datetime:
    """`count` working days after `start`, at the same time of day."""
    moment, remaining = start, count
    while remaining > 0:
        moment += timedelta(days=1)
        if is_working_day(moment.date(), nation):
            remaining -= 1
    return moment
