"""Working days per UK nation: weekends and each nation's own bank holidays skipped."""

from __future__ import annotations

from datetime import UTC, datetime

from journey_platform.calendar import add_working_days, nation_of


def test_working_days_skip_weekends_and_the_nations_bank_holidays() -> None:
    friday = datetime(2025, 12, 19, 10, 0, tzinfo=UTC)
    # Christmas Day and Boxing Day are bank holidays everywhere in the UK.
    assert add_working_days(friday, 5, "ENG") == datetime(2025, 12, 30, 10, 0, tzinfo=UTC)
    # 2 January is a bank holiday in Scotland only.
    new_year = datetime(2025, 12, 31, 9, 0, tzinfo=UTC)
    assert add_working_days(new_year, 1, "ENG") == datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    assert add_working_days(new_year, 1, "SCT") == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert nation_of("scotland") == "SCT" and nation_of("london") == "ENG"
