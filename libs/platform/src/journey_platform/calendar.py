"""Working days in the four UK nations: weekends and each nation's bank holidays skipped.

Scotland and Northern Ireland keep bank holidays of their own, so a deadline counted in
working days depends on where the journey is (the `holidays` package knows the dates).
The one home of this calendar: the journey processor counts its deadlines with it and the
simulator plans its timings with it, so the two can never count differently.

Nations are the `holidays` package's codes for the GB subdivisions (ENG, SCT, WLS, NIR);
`nation_of` maps the event vocabulary's `uk_region` to one, England when unknown.
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
