"""Working days as the journey processor counts them: weekends and the bank holidays of
the journey's nation skipped (the `holidays` package), England when the region is unknown.

Kept here rather than imported from the processor so the simulator depends only on the
partner APIs' contracts; `tests/unit/test_planner.py` checks both count alike.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

import holidays

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
