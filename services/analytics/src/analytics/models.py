"""The analytics API's answers, as documented in its OpenAPI schema.

A null count is a suppressed one (statistical disclosure control), never a zero.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: date | None = Field(None, alias="from", description="First referral date, inclusive")
    end: date | None = Field(None, alias="to", description="Last referral date, inclusive")


class FunnelStep(BaseModel):
    step: str
    label: str
    count: int | None = Field(description="Journeys that reached the step; null if suppressed")
    conversion: float | None = Field(
        description="count over the count of the step it converts from; null if either is "
        "suppressed, or for the first step"
    )
    conversion_from: str | None = Field(
        description="the step it converts from: the one before it in its branch (the NRM "
        "decisions and support, or the criminal-justice steps)"
    )


class Funnel(BaseModel):
    period: PeriodOut
    threshold: int = Field(description="Counts below this, zeros included, are suppressed")
    steps: list[FunnelStep]


class DropoffRow(BaseModel):
    group: str
    label: str
    raised: int | None = Field(description="Flags raised (retracted flags never count)")
    open: int | None
    resolved: int | None
    journeys: int | None = Field(description="Journeys with at least one such flag")
    median_days_to_resolution: float | None = Field(
        description="Median days from a flag falling due to its resolution (resolved flags)"
    )


class Dropoffs(BaseModel):
    by: str
    period: PeriodOut
    threshold: int
    journeys_in_period: int | None
    rows: list[DropoffRow] = Field(description="By raised, largest first; suppressed rows last")
    total: DropoffRow


class CurvePoint(BaseModel):
    days: float
    survival: float


class TimeToEvent(BaseModel):
    measure: str
    label: str
    period: PeriodOut
    threshold: int
    at_risk: int | None = Field(description="Journeys that started the wait")
    events: int | None = Field(description="Journeys whose wait ended")
    censored: int | None = Field(description="Journeys still waiting, or that ended otherwise")
    median_days: float | None = Field(description="Kaplan-Meier median; null if not reached")
    curve: list[CurvePoint] = Field(
        description="Kaplan-Meier survival, only while enough journeys are at risk"
    )
