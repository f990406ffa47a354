"""The period an analysis covers: journeys referred between two dates, both inclusive.

Every analysis counts journeys by their referral date (the `referred` milestone). Without
a period it covers every journey the sink knows, Duty to Notify reports without a
referral included; with one, only journeys referred within it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class Period:
    start: date | None = None  # "from"
    end: date | None = None  # "to", inclusive

    def json(self) -> dict[str, str | None]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) as UTC instants."""
        start = datetime.combine(self.start, time(), UTC) if self.start else None
        end = datetime.combine(self.end + timedelta(days=1), time(), UTC) if self.end else None
        return start, end
