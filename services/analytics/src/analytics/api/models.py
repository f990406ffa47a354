"""The analytics API's answers, as documented in its OpenAPI schema.

A null count is a suppressed one (statistical disclosure control), never a zero; each
answer's `labels` says, per field, what a null there means and why it is hidden, in the
words the CLI, the CSV exports and the dashboard show. A zero is published only where it
is zero by construction (a structural zero, such as a rule nothing resolves).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

LABELS = Field(
    description="Per field: what a null there says, e.g. 'suppressed (fewer than 10 "
    "journeys, or would reveal one)'"
)


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
    labels: dict[str, str] = LABELS


class DropoffRow(BaseModel):
    group: str
    label: str
    raised: int | None = Field(description="Flags raised (retracted flags never count)")
    open: int | None
    resolved: int | None
    journeys: int | None = Field(description="Journeys with at least one such flag")
    median_days_to_resolution: float | None = Field(
        description="Median days from a flag falling due to its resolution (resolved flags); "
        "shown over at least the threshold of resolved flags, even where their count is hidden"
    )
    median_n_low: int | None = Field(
        description="The median's n (resolved flags), at least: equal to median_n_high when "
        "the resolved count is published, a band where it is hidden"
    )
    median_n_high: int | None = Field(description="The median's n, at most (null: unbounded)")


class Dropoffs(BaseModel):
    by: str
    period: PeriodOut
    threshold: int
    journeys_in_period: int | None
    rows: list[DropoffRow] = Field(description="By raised, largest first; suppressed rows last")
    total: DropoffRow
    labels: dict[str, str] = LABELS


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
    labels: dict[str, str] = LABELS


class NrmRow(BaseModel):
    group: str
    label: str
    count: int | None = Field(description="Measured in the quarter; null if suppressed")
    share: float | None = Field(description="Of the table's total; null if either is hidden")
    published_share: float | None = Field(description="The published share, for published_year")
    difference: float | None = Field(
        description="share - published_share, in shares (0.01: a point)"
    )
    sampling_error: float | None = Field(
        description="1.96 standard errors of the published share for the measured total"
    )
    within_tolerance: bool | None = Field(
        description="Whether the difference is within the tolerance (the simulator's "
        "calibration) or the sampling error, whichever is wider"
    )


class NrmTable(BaseModel):
    name: str
    title: str
    published_year: int | None = Field(description="The year the published figures are for")
    rows: list[NrmRow]
    total: int | None
    published_annual_total: int | None = Field(description="The published total for the year")
    note: str | None = Field(description="Why the shares are not like for like, where not")


class NrmMedian(BaseModel):
    days: float | None = Field(description="Median days from referral to the decision")
    n_low: int | None = Field(description="Decisions it is over, at least (a band if hidden)")
    n_high: int | None
    published_days: float | None
    published_year: int | None
    difference_days: float | None
    note: str = Field(description="How to read it beside the published figure")


class NrmStatistics(BaseModel):
    quarter: str
    period: PeriodOut
    threshold: int
    tolerance: float = Field(description="Differences within this share count as agreeing")
    tables: list[NrmTable]
    median_days_referral_to_conclusive_grounds: NrmMedian
    labels: dict[str, str] = LABELS
    differ: list[str] = Field(description="table:group of every row outside the tolerance")


class Within(BaseModel):
    """A rule's deadline: one or more of hours, days and working days (England and Wales's
    bank holidays, or the nation's), as in the rules catalogue."""

    model_config = ConfigDict(extra="forbid")

    hours: int | None = Field(None, gt=0)
    days: int | None = Field(None, gt=0)
    working_days: int | None = Field(None, gt=0)


class WhatIfRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overrides: dict[str, Within] = Field(
        min_length=1,
        description="Rule id -> its deadline under the what-if, e.g. "
        '{"reasonable-grounds-overdue": {"working_days": 10}}; only the expectation rules '
        "of the catalogue (GET /v1/whatif/rules) take one",
    )
    until: datetime | None = Field(
        None, description="Replay the clock up to this time (default: its last tick)"
    )


class WhatIfRule(BaseModel):
    rule_id: str
    actual: int | None = Field(description="Flags actually raised; null if suppressed")
    whatif: int | None = Field(description="Flags raised under the override")
    added: int | None = Field(description="Raised under the override, not actually")
    removed: int | None = Field(description="Actually raised, not under the override")
    earlier: int | None = Field(description="Raised under both, due earlier under the override")
    later: int | None = Field(description="Raised under both, due later under the override")
    whatif_resolved: int | None = Field(description="Raised and resolved under the override")


class WhatIfTiming(BaseModel):
    read_seconds: float = Field(description="Reading the history from the topics")
    replay_seconds: float = Field(description="Replaying it through the processor's core")


class WhatIf(BaseModel):
    period: PeriodOut
    threshold: int
    overrides: dict[str, dict[str, int]]
    rules: list[WhatIfRule]
    journeys_affected: int | None = Field(description="Journeys with any flag that differs")
    labels: dict[str, str] = LABELS
    timing: WhatIfTiming


class WhatIfThreshold(BaseModel):
    rule_id: str
    title: str
    stage: str
    deployed: dict[str, int] = Field(description="The deadline the deployment runs")
