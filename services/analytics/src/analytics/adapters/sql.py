"""What every analytics query shares: the period an analysis covers, as a SQL condition."""

from __future__ import annotations

from typing import Any

from analytics.domain.period import Period


def within(period: Period, column: str, first_parameter: int) -> tuple[str, list[Any]]:
    """A SQL condition on `column` (a fixed column name) and its parameters."""
    start, end = period.bounds()
    conditions, parameters = [], []
    number = first_parameter
    for operator, bound in ((">=", start), ("<", end)):
        if bound is not None:
            conditions.append(f"{column} {operator} ${number}")
            parameters.append(bound)
            number += 1
    return (" AND ".join(conditions) or "true"), parameters
